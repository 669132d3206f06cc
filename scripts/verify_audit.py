"""xueji-verify-audit: seal the audit log's new entries and check its hash chain.

Without --seal the database is only read. With --seal, entries written since
the last run are sealed first (one transaction, retried on a conflict with the
live site) — run it that way from cron every few minutes on a ZEO or
RelStorage site. The printed head (sequence and link) is worth keeping outside
the database (a log server, a notebook): it pins the chain as it was.
Exit status: 0 intact, 1 problems found (each printed), 2/3 usage or setup errors.
"""
from ZODB.POSException import ConflictError

from xueji_site import audit

from . import common

DESCRIPTION = __doc__.split("\n\n", 1)[1]
ATTEMPTS = 5


def parse_args(argv):
    parser = common.make_parser("xueji-verify-audit", DESCRIPTION)
    parser.add_argument("--seal", action="store_true", help="seal new entries before checking")
    return parser.parse_args(argv)


def seal(env):
    for attempt in range(ATTEMPTS):
        try:
            with common.site_transaction(env, "xueji-verify-audit --seal") as (_conn, site):
                return audit.seal(site.audit)
        except ConflictError:
            if attempt == ATTEMPTS - 1:
                raise common.ScriptError("could not seal: the log kept changing (conflicts)", 1)


def check(env):
    with common.site_transaction(env, "xueji-verify-audit") as (_conn, site):
        log = site.audit
        return audit.verify(log), len(log), log.head, len(log.unsealed)


def main_(argv):
    args = parse_args(argv)
    uri = common.config_uri(args.config)
    settings = common.app_settings(uri)
    common.require_initialised(settings)
    with common.open_app(uri) as env:
        if args.seal:
            print("sealed %d new entries" % seal(env))
        problems, total, (seq, link), waiting = check(env)
    for problem in problems:
        print("PROBLEM %s at %s: %s" % problem)
    print("entries: %d; sealed up to #%d, head %s; waiting to be sealed: %d" % (total, seq, link, waiting))
    print("audit log intact" if not problems else "audit log TAMPERED: %d problem(s)" % len(problems))
    return 1 if problems else 0


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    raise SystemExit(main())
