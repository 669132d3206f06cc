"""xueji-verify-audit: seal the audit log's new entries and check its hash chain.

Without --seal the database is only read. With --seal, entries written since
the last run are sealed first (one transaction, retried on a conflict with the
live site) and, when xueji.audit_mirror is set, shipped to that off-database
copy, and counted for the volume alerts (mailed to the security
administrators and auditors) — run it that way from cron every few minutes
on a ZEO or RelStorage site. The printed head (sequence and link) is worth keeping outside the
database (a log server, a notebook): it pins the chain as it was.
With --mirror, the database is also compared with the mirror: an entry or
seal changed or removed in the database (even with the key), seals rolled
back, and the mirror's own chain broken are reported; seals not shipped yet
are counted, not reported.
Exit status: 0 intact, 1 problems found (each printed), 2/3 usage or setup
errors (3 also when the mirror cannot be reached).
"""
from ZODB.POSException import ConflictError

from xueji_site.kernel import alerts, audit, audit_mirror

from . import common

DESCRIPTION = __doc__.split("\n\n", 1)[1]
ATTEMPTS = 5


def parse_args(argv):
    parser = common.make_parser("xueji-verify-audit", DESCRIPTION)
    parser.add_argument("--seal", action="store_true",
                        help="seal new entries (and ship them to the mirror) before checking")
    parser.add_argument("--mirror", action="store_true",
                        help="also compare the database with the mirror (xueji.audit_mirror)")
    parser.add_argument("--mirror-setup-sql", metavar="APP_ROLE",
                        help="print the SQL that creates the PostgreSQL mirror table for APP_ROLE "
                             "(run it as the table's owner) and exit")
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


def mirror_sink(settings):
    """The configured mirror, or ScriptError when the setting is missing or wrong."""
    try:
        sink = audit_mirror.sink_for(settings)
    except ValueError as exc:
        raise common.ScriptError(str(exc), common.EXIT_ENV)
    if sink is None:
        raise common.ScriptError("--mirror needs xueji.audit_mirror in [app:main]", common.EXIT_ENV)
    return sink


def ship(env, sink):
    """Ship what the mirror lacks; (number shipped, None) or (0, the reason it failed)."""
    try:
        with common.site_transaction(env, "xueji-verify-audit ship") as (_conn, site):
            return audit_mirror.ship(site.audit, sink), None
    except audit_mirror.MirrorError as exc:
        return 0, str(exc)


def compare(env, sink):
    """(problems, rows the mirror lacks) or ScriptError when the mirror cannot be read."""
    try:
        with common.site_transaction(env, "xueji-verify-audit --mirror") as (_conn, site):
            return audit_mirror.compare(site.audit, sink), audit_mirror.unshipped(site.audit, sink)
    except audit_mirror.MirrorError as exc:
        raise common.ScriptError(str(exc), common.EXIT_ENV)


def main_(argv):
    args = parse_args(argv)
    if args.mirror_setup_sql:
        try:
            print(audit_mirror.setup_sql(args.mirror_setup_sql), end="")
        except ValueError as exc:
            raise common.ScriptError(str(exc))
        return 0
    uri = common.config_uri(args.config)
    settings = common.app_settings(uri)
    common.require_initialised(settings)
    wanted = args.mirror or (args.seal and (settings.get("xueji.audit_mirror") or "").strip())
    sink = mirror_sink(settings) if wanted else None
    failed = None
    with common.open_app(uri) as env:
        if args.seal:
            print("sealed %d new entries" % seal(env))
            if sink is not None:
                shipped, failed = ship(env, sink)
                print("mirror %s: %s" % (sink, "shipped %d rows" % shipped if not failed
                                         else "NOT shipped: " + failed))
            raised = alerts.scan_database(env.db, env.registry)
            print("volume alerts raised: %d" % len(raised))
        problems, total, (seq, link), waiting = check(env)
        if args.mirror:
            mirrored, unshipped = compare(env, sink)
            problems = problems + mirrored
    for problem in problems:
        print("PROBLEM %s at %s: %s" % problem)
    print("entries: %d; sealed up to #%d, head %s; waiting to be sealed: %d" % (total, seq, link, waiting))
    if args.mirror:
        print("mirror %s: compared; seals not shipped yet: %d" % (sink, unshipped))
    print("audit log intact" if not problems else "audit log TAMPERED: %d problem(s)" % len(problems))
    if problems:
        return 1
    return common.EXIT_ENV if failed else 0


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    raise SystemExit(main())
