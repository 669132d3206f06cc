"""xueji-adduser: create an account if needed and grant it a role at a tree node."""
from xueji_site import registrations
from xueji_site.kernel import security
from xueji_site.kernel.users import new_one_time_password

from . import common

ROLES = security.roles_of(registrations())  # name -> Role, as the features register them

DESCRIPTION = """\
Grant ROLE to LOGIN at the tree node PATH, creating the account if it does not exist.
A new account must change its password at first login; without --password-file a
one-time password is printed. Roles and the node types where they may be granted:
""" + "\n".join("  %-17s at %s" % (name, ", ".join(role.grantable_on)) for name, role in ROLES.items()) + """
PATH is a tree path such as / (the site), /110000/110105 (a bureau),
/110000/110105/2111000001 (a school) or /110000/110105/2111000001/2024-03 (a class)."""


def parse_args(argv):
    parser = common.make_parser("xueji-adduser", DESCRIPTION)
    parser.add_argument("login", metavar="LOGIN", help="the account's login name")
    parser.add_argument("--role", required=True, metavar="ROLE",
                        help="one of: " + ", ".join(ROLES))
    parser.add_argument("--at", required=True, metavar="PATH", dest="path",
                        help="tree path of the node where the role is granted")
    parser.add_argument("--password-file", metavar="FILE",
                        help="initial password for a new account, from the first line of FILE")
    parser.add_argument("--title", metavar="NAME", default="",
                        help="display name for a new account (default: the login)")
    return parser.parse_args(argv)


def check_role(role):
    if role not in ROLES:
        raise common.ScriptError("unknown role %r / 未知角色; choose one of: %s" % (role, ", ".join(ROLES)))


def check_grantable(role, node, path):
    allowed = ROLES[role].grantable_on
    if node.content_type not in allowed:
        raise common.ScriptError(
            "role %s cannot be granted at %s, which is a %s; it may be granted at: %s "
            "/ 该角色不能在此类节点授予" % (role, path, node.content_type, ", ".join(allowed)))


def grant_role(env, args, login, password):
    """Returns (created, granted, one-time password to show or None)."""
    with common.site_transaction(env, "xueji-adduser %s %s at %s" % (login, args.role, args.path)) \
            as (conn, site):
        node = common.resolve_path(site, args.path)
        check_grantable(args.role, node, args.path)
        user = site.principals.by_login_name(login)
        created, shown = user is None, None
        if created:
            shown = None if password else new_one_time_password()
            user = site.principals.add_user(login, args.title or login,
                                            password=password or shown, must_change=True)
        granted = common.grant(site, user, node, args.role, env.registry)
        return created, granted, shown


def main_(argv):
    args = parse_args(argv)
    uri = common.config_uri(args.config)
    login = common.check_login(args.login)
    check_role(args.role)
    password = None
    if args.password_file:
        password = common.read_password_file(args.password_file)
        common.check_password_rules(password, login)
    settings = common.app_settings(uri)
    common.require_initialised(settings)
    with common.open_app(uri) as env:
        created, granted, shown = grant_role(env, args, login, password)
    print("account %s: %s" % (login, "created (must change the password at first login)"
                              if created else "exists"))
    print("role %s at %s: %s" % (args.role, args.path, "granted" if granted else "already held"))
    if shown:
        print("\none-time password for %s: %s\n(shown once)" % (login, shown))
    return 0


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    raise SystemExit(main())
