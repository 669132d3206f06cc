"""xueji-init: create the key file, the database and the first sysadmin.

Safe to run again: an existing key file is never overwritten and an existing
admin account is reported, not duplicated.
"""
import os
from urllib.parse import parse_qs, urlsplit

from xueji_site.kernel import crypto, security
from xueji_site.kernel.users import new_one_time_password

from . import common

DESCRIPTION = """\
Initialise a xueji site from an ini file:
  - create the directories of the database and key file if needed,
  - create the encryption key file (xueji.key_file) if it is missing (never overwritten),
  - create the database and the site (code tables are static modules: nothing to store),
  - create the first system administrator (role sysadmin at the site), who must change
    the password at first login. Without --password-file a one-time password is printed.
Re-running is harmless: nothing existing is replaced."""


def parse_args(argv):
    parser = common.make_parser("xueji-init", DESCRIPTION)
    parser.add_argument("--admin", metavar="LOGIN", default="admin",
                        help="login of the first sysadmin (default: admin)")
    parser.add_argument("--password-file", metavar="FILE",
                        help="read the admin's initial password from the first line of FILE "
                             "(default: print a generated one-time password)")
    return parser.parse_args(argv)


def make_directories(settings):
    """The key file's directory, the FileStorage's and its blob directory's."""
    wanted = [os.path.dirname(os.path.abspath(settings["xueji.key_file"]))]
    path = common.file_storage_path(settings)
    if path:
        wanted.append(os.path.dirname(path))
        query = parse_qs(urlsplit(settings["zodbconn.uri"]).query)
        wanted += [os.path.dirname(os.path.abspath(d)) for d in query.get("blobstorage_dir", [])]
    for directory in wanted:
        os.makedirs(directory, exist_ok=True)


def ensure_key_file(path):
    if os.path.exists(path):
        print("key file exists, kept:      %s" % path)
        return
    crypto.create_key_file(path)
    print("key file created:           %s  (back it up: without it sealed fields cannot be read)"
          % path)


def ensure_admin(env, login, password):
    """Create the sysadmin unless ``login`` exists; returns the password to show, or None."""
    with common.site_transaction(env, "xueji-init: first sysadmin") as (conn, site):
        user = site.principals.by_login_name(login)
        if user is not None:
            added = common.grant(site, user, site, security.SYSADMIN, env.registry)
            print("admin account exists:       %s%s" % (
                login, " (sysadmin role granted)" if added else " (unchanged)"))
            return None
        shown = password is None
        password = password or new_one_time_password()
        user = site.principals.add_user(login, "System administrator", password=password,
                                        must_change=True)
        common.grant(site, user, site, security.SYSADMIN, env.registry)
        print("admin account created:      %s (sysadmin, must change the password at first login)"
              % login)
        return password if shown else None


def main_(argv):
    args = parse_args(argv)
    uri = common.config_uri(args.config)
    settings = common.app_settings(uri)
    login = common.check_login(args.admin)
    password = None
    if args.password_file:
        password = common.read_password_file(args.password_file)
        common.check_password_rules(password, login)
    make_directories(settings)
    ensure_key_file(settings["xueji.key_file"])
    with common.open_app(uri) as env:
        print("database and site ready:    %s" % common.describe_storage(settings))
        shown = ensure_admin(env, login, password)
    if shown:
        print("\none-time password for %s: %s\n(shown once; it must be changed at first login)"
              % (login, shown))
    return 0


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    raise SystemExit(main())
