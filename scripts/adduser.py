"""xueji-adduser: create an account if needed and grant it a role at a tree node."""
from xueji_site import registrations
from xueji_site.kernel import audit, contacts, security
from xueji_site.kernel.users import new_one_time_password

from . import common

ROLES = security.roles_of(registrations())  # name -> Role, as the features register them

DESCRIPTION = """\
Grant ROLE to LOGIN at the tree node PATH, creating the account if it does not exist.
A new account must change its password at first login; without --password-file a
one-time password is printed. Roles and the node types where they may be granted:
""" + "\n".join("  %-17s at %s" % (name, ", ".join(role.grantable_on)) for name, role in ROLES.items()) + """
--email and --phone set the account's e-mail address (approval notices, alerts) and
mainland mobile number, for a new account or an existing one; they take effect at
once (an administrator's change needs no confirmation).
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
    parser.add_argument("--email", metavar="ADDRESS",
                        help="the account's e-mail address (new or existing account)")
    parser.add_argument("--phone", metavar="NUMBER",
                        help="the account's mobile number, 11 digits (new or existing account)")
    return parser.parse_args(argv)


def check_contacts(args):
    """(email, phone) normalised, None for those not given; ScriptError when refused."""
    email = phone = None
    if args.email is not None:
        email = contacts.normalise_email(args.email)
        problem = contacts.email_problem(email) if email else "empty"
        if problem:
            raise common.ScriptError("invalid e-mail address %r / 电子信箱格式不正确" % args.email)
    if args.phone is not None:
        phone = contacts.normalise_phone(args.phone)
        problem = contacts.phone_problem(phone) if phone else "empty"
        if problem:
            raise common.ScriptError("invalid mobile number %r: 11 digits starting 13-19 "
                                     "/ 请填写11位中国大陆手机号码" % args.phone)
    return email, phone


def set_contacts(site, user, email, phone):
    """Set what was given; audit the change (masked). Returns the names changed."""
    changed = []
    for name, value in (("email", email), ("phone", phone)):
        if value is not None and (getattr(user, name) or "") != value:
            setattr(user, name, value)
            changed.append(name)
    if "email" in changed:
        contacts.cancel_email_change(user)
    if changed:
        audit.log(None, "account-contact", site, target=user.login, fields=changed,
                  email=contacts.masked_email(user.email), phone=contacts.masked_phone(user.phone))
    return changed


def check_role(role):
    if role not in ROLES:
        raise common.ScriptError("unknown role %r / 未知角色; choose one of: %s" % (role, ", ".join(ROLES)))


def check_grantable(role, node, path):
    allowed = ROLES[role].grantable_on
    if node.content_type not in allowed:
        raise common.ScriptError(
            "role %s cannot be granted at %s, which is a %s; it may be granted at: %s "
            "/ 该角色不能在此类节点授予" % (role, path, node.content_type, ", ".join(allowed)))


def grant_role(env, args, login, password, email=None, phone=None):
    """Returns (created, granted, one-time password to show or None, contact fields changed)."""
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
        changed = set_contacts(site, user, email, phone)
        return created, granted, shown, changed


def main_(argv):
    args = parse_args(argv)
    uri = common.config_uri(args.config)
    login = common.check_login(args.login)
    check_role(args.role)
    email, phone = check_contacts(args)
    password = None
    if args.password_file:
        password = common.read_password_file(args.password_file)
        common.check_password_rules(password, login)
    settings = common.app_settings(uri)
    common.require_initialised(settings)
    with common.open_app(uri) as env:
        created, granted, shown, changed = grant_role(env, args, login, password, email, phone)
    print("account %s: %s" % (login, "created (must change the password at first login)"
                              if created else "exists"))
    print("role %s at %s: %s" % (args.role, args.path, "granted" if granted else "already held"))
    for name in ("email", "phone"):
        if (email if name == "email" else phone) is not None:
            print("%s: %s" % (name, "set" if name in changed else "unchanged"))
    if shown:
        print("\none-time password for %s: %s\n(shown once)" % (login, shown))
    return 0


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    raise SystemExit(main())
