"""xueji-retention: remove archived graduates' sensitive fields after the retention period.

The period is ``xueji.retention_years`` in the ini file (default 30): a
graduate who left in year Y is stripped from 1 January of Y + years + 1
(retention.py says what goes and what stays). Schools come from the
catalog, archive years from each archive's sorted keys, so only the
expired years are read. Commits every --batch records; a rerun skips what
is done (each record is marked), so an interrupted run simply continues.
"""
import datetime
import sys

import transaction
import transaction.interfaces
from tqdm import tqdm

from xueji_site.graduates import archive, retention
from xueji_site.kernel import audit
from xueji_site.kernel import settings as xueji_settings
from xueji_site.scripts import common
from xueji_site.kernel.root import get_site


def parse(argv):
    parser = common.make_parser("xueji-retention", __doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="count what would be removed; change nothing")
    parser.add_argument("--batch", type=int, default=1000, help="records per commit (default 1000)")
    parser.add_argument("--this-year", type=int, default=datetime.date.today().year, help=argparse_hidden())
    args = parser.parse_args(argv)
    if args.batch < 1:
        raise common.ScriptError("--batch must be at least 1")
    return args


def argparse_hidden():
    import argparse
    return argparse.SUPPRESS


def _school_docids(site):
    return list(site.catalog["content_type"]._fwd_index.get("School", ()))


def _expired_years(school, last):
    found = archive.archive_of(school)
    if found is None:
        return []
    return [found[key] for key in found.keys(max="%04d" % last)]


def _main(argv):
    args = parse(argv)
    uri = common.config_uri(args.config)
    common.require_initialised(common.app_settings(uri))
    stripped = seen = 0
    with common.open_app(uri) as env:
        last = retention.last_year_to_strip(args.this_year, xueji_settings.value(env.registry, "xueji.retention_years"))
        tm = transaction.TransactionManager(explicit=True)
        conn = env.db.open(transaction_manager=tm)
        tm.begin()
        try:
            site = get_site(conn)
            with tqdm(unit="record", file=sys.stderr, desc="retention", disable=None) as bar:
                for docid in _school_docids(site):
                    school = site.docmap.get(docid)
                    for year in _expired_years(school, last) if school is not None else ():
                        for record in year.values():
                            seen += 1
                            bar.update(1)
                            if record.retained_until is not None:
                                continue
                            stripped += 1
                            if args.dry_run:
                                continue
                            retention.strip(record)
                            audit.log(None, "retention", record, site=site)
                            if stripped % args.batch == 0:
                                tm.commit()
                                conn.cacheGC()
                                tm.begin()
            tm.abort() if args.dry_run else tm.commit()
        finally:
            try:
                tm.abort()
            except transaction.interfaces.NoTransaction:
                pass
            conn.close()
    verb = "would strip / 将清除" if args.dry_run else "stripped / 已清除"
    print("%s %d of %d archived graduates who left in %d or before" % (verb, stripped, seen, last))
    return 0


def main(argv=None):
    return common.run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
