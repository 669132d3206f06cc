"""xueji-disable-stale: deactivate accounts unused for a long time (MLPS 8.1.4.2c).

An account is stale when it is active and neither logged in nor was created
within the last DAYS days (default 183: six calendar months can be 184 days,
so 183 days of disuse always means "six months unused" or more). Each account
disabled leaves an audit entry ``account-disable-stale`` by actor ``system``;
its open sessions end. A security administrator re-enables it on /users.
"""
import time

from xueji_site.kernel import audit

from . import common

DEFAULT_DAYS = 183
DESCRIPTION = __doc__.split("\n\n", 1)[1]


def parse_args(argv):
    parser = common.make_parser("xueji-disable-stale", DESCRIPTION)
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS,
                        help="disable accounts unused for at least this many days (default %d)" % DEFAULT_DAYS)
    parser.add_argument("--dry-run", action="store_true", help="list the accounts, change nothing")
    args = parser.parse_args(argv)
    if args.days < 30:
        raise common.ScriptError("--days must be at least 30 / 天数至少为30")
    return args


def stale_users(site, days, now=None):
    """Active users whose last login (or creation, if never logged in) is older than ``days``."""
    cutoff = (time.time() if now is None else now) - days * 86400
    return [u for u in site.principals.users()
            if u.active and (u.last_login or u.created or 0) < cutoff]


def disable(site, users, days):
    for user in users:
        user.active = False
        user.sessions.clear()
        audit.log(None, "account-disable-stale", site, site=site, target=user.login, days=days)


def main_(argv):
    args = parse_args(argv)
    uri = common.config_uri(args.config)
    settings = common.app_settings(uri)
    common.require_initialised(settings)
    with common.open_app(uri) as env:
        with common.site_transaction(env, "xueji-disable-stale --days %d" % args.days) as (conn, site):
            users = stale_users(site, args.days)
            for user in users:
                print("%s\t%s" % (user.login, time.strftime(
                    "%Y-%m-%d", time.localtime(user.last_login or user.created))))
            if not args.dry_run:  # a dry run changes no object: the commit writes nothing
                disable(site, users, args.days)
    verb = "would disable" if args.dry_run else "disabled"
    print("%s %d account(s) unused for %d days or more" % (verb, len(users), args.days))
    return 0


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    raise SystemExit(main())
