"""xueji-verify-records: check the MAC of every pupil's record and archived graduate.

Walks the tree under --path (default: all of it), including the schools'
graduate archives, and checks each record's MAC (integrity.py) against its
stored core fields. Prints one line per problem:

  PROBLEM changed PATH     the stored record departs from its MAC (edited without the key)
  PROBLEM unstamped PATH   the record has no MAC (evolve step 0005 stamps every record
                           when the site starts, so this one was written around the
                           application, or its MAC was removed)
  PROBLEM misplaced PATH   its container holds another record under its key
  PROBLEM changed certificate-entry KEY
                           an entry of the public verification index departs from its
                           MAC (KEY: the start of its number's keyed hash)

Only reads: nothing is committed (starting the application applies pending
evolve steps, as for every script). Exit status: 0 all records intact, 1 problems
found, 2/3 usage or setup errors.
"""
import sys
from collections import Counter

import transaction
from pyramid.traversal import resource_path
from tqdm import tqdm

from xueji_site.kernel import integrity
from xueji_site.graduates import archive, verification
from xueji_site.kernel.root import get_site

from . import common

DESCRIPTION = __doc__.split("\n\n", 1)[1]
GC_EVERY = 1000


def parse_args(argv):
    parser = common.make_parser("xueji-verify-records", DESCRIPTION)
    parser.add_argument("--path", default="/", metavar="PATH",
                        help="only this subtree, e.g. /330000/330100 (default: everything)")
    return parser.parse_args(argv)


def verdict(record):
    """The problem with ``record`` ("changed", "unstamped", "misplaced") or None."""
    found = integrity.check(record)
    if found != integrity.OK:
        return found
    return None if integrity.placed(record) else "misplaced"


def verify(env, path, out=sys.stdout):
    """Check every record under ``path``; returns a Counter of verdicts."""
    counts = Counter()
    tm = transaction.TransactionManager(explicit=True)
    conn = env.db.open(transaction_manager=tm)
    tm.begin()
    try:
        node = common.resolve_path(get_site(conn), path)
        with tqdm(unit="record", file=sys.stderr, desc="verify", disable=None) as bar:
            for record in archive.records(node):
                problem = verdict(record)
                counts[problem or integrity.OK] += 1
                if problem:
                    bar.clear()
                    print("PROBLEM %s %s" % (problem, resource_path(record)), file=out, flush=True)
                bar.update(1)
                if sum(counts.values()) % GC_EVERY == 0:
                    conn.cacheGC()
        if path == "/":
            for key in verification.tampered_entries(get_site(conn)):
                counts[integrity.CHANGED] += 1
                print("PROBLEM changed certificate-entry %s" % key[:16], file=out, flush=True)
    finally:
        tm.abort()
        conn.close()
    return counts


def main_(argv):
    args = parse_args(argv)
    uri = common.config_uri(args.config)
    common.require_initialised(common.app_settings(uri))
    with common.open_app(uri) as env:
        counts = verify(env, args.path)
    total = sum(counts.values())
    bad = total - counts[integrity.OK]
    print("records: %d; ok: %d; changed: %d; unstamped: %d; misplaced: %d"
          % (total, counts[integrity.OK], counts[integrity.CHANGED], counts[integrity.UNSTAMPED],
             counts["misplaced"]))
    print("records intact" if not bad else "records TAMPERED: %d problem(s)" % bad)
    return 1 if bad else 0


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    raise SystemExit(main())
