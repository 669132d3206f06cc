"""xueji-archive: move one year's graduates into their schools' archives.

Each pupil whose status is 毕业, 结业 or 肄业 and whose year of leaving is
--year becomes a frozen, read-only record under
``/.../{school}/archive/{year}/`` (archive.py), its certificate stays in the
verification index, and the pupil leaves its class (and the catalog).

Candidates come from the catalog's ``status`` postings, read in docid order
a batch at a time: nothing walks the tree and nothing holds a million ids.
Every --batch pupils the work is committed and the cache trimmed. An
archived pupil leaves the postings in the same transaction, so a run that
crashes (even kill -9) and is started again continues where the last commit
left off: nobody is archived twice and nobody is lost.
"""
import argparse
import os
import signal
import sys
import time
from collections import Counter

import transaction
import transaction.interfaces
from pyramid.traversal import resource_path
from tqdm import tqdm

from xueji_site.graduates import archive
from xueji_site.kernel import audit, chain
from xueji_site.status import changes as workflow
from xueji_site.scripts import common
from xueji_site.kernel.root import get_site

STATUSES = (workflow.GRADUATED, workflow.COMPLETED, workflow.INCOMPLETE)
MAX_PROBLEMS_SHOWN = 50


def parse(argv):
    parser = common.make_parser("xueji-archive", __doc__.splitlines()[0])
    parser.add_argument("--year", type=int, required=True, help="year of leaving, e.g. 2025")
    parser.add_argument("--scope", metavar="PATH", help="only this subtree, e.g. /330000/330100")
    parser.add_argument("--dry-run", action="store_true", help="report what would be archived; change nothing")
    parser.add_argument("--batch", type=int, default=1000, help="pupils per commit (default 1000)")
    # tests: SIGKILL this process after N pupils (mid-batch), to prove a rerun resumes cleanly
    parser.add_argument("--fail-after", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1900 < args.year < 2200:
        raise common.ScriptError("--year must be a year like 2025")
    if args.batch < 1:
        raise common.ScriptError("--batch must be at least 1")
    return args


class Run:
    """The state of one run: counts per school, problems, the cursor per status."""

    def __init__(self, args):
        self.args = args
        self.per_school = Counter()
        self.names = {}
        self.problems = []
        self.problem_count = 0
        self.done = 0

    def problem(self, path, message):
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_SHOWN:
            self.problems.append("%s: %s" % (path, message))


def _scope_set(site, scope):
    if not scope:
        return None
    node = common.resolve_path(site, scope)
    return site.catalog["ancestors"]._fwd_index.get(resource_path(node)) or ()


def _batch(site, status, after, size):
    """Up to ``size`` docids with ``status`` greater than ``after`` (read fresh each batch)."""
    postings = site.catalog["status"]._fwd_index.get(status)
    if postings is None:
        return []
    found = []
    for docid in postings.keys(min=after, excludemin=after is not None):
        found.append(docid)
        if len(found) >= size:
            break
    return found


def _one(site, run, pupil, registry):
    """Archive ``pupil`` if it is this year's graduate; returns True when it counts."""
    if getattr(pupil, "graduation_year", None) != run.args.year:
        return False
    if chain.has_open(site, pupil):
        run.problem(resource_path(pupil), "open request / 有未办结的申请")
        return False
    school = workflow.school_of(pupil)
    path = resource_path(school)
    run.names[path] = school.title
    if not archive.certificate_number(pupil):
        run.problem(resource_path(pupil), "no certificate number / 无证书编号")
    if not run.args.dry_run:
        record = archive.archive_pupil(pupil, registry)
        archive.reregister(site, record, school)
        audit.log(None, "archive", record, site=site, year=run.args.year)
    run.per_school[path] += 1
    run.done += 1
    if run.args.fail_after and run.done >= run.args.fail_after:
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return True


def _work(env, run, bar):
    tm = transaction.TransactionManager(explicit=True)
    conn = env.db.open(transaction_manager=tm)
    try:
        for status in STATUSES:
            after = None
            while True:
                tm.begin()
                site = get_site(conn)
                scope = _scope_set(site, run.args.scope)
                docids = _batch(site, status, after, run.args.batch)
                if not docids:
                    tm.abort()
                    break
                for docid in docids:
                    pupil = site.docmap.get(docid)
                    if pupil is not None and (scope is None or docid in scope):
                        _one(site, run, pupil, env.registry)
                    bar.update(1)
                after = docids[-1]
                tm.get().note("xueji-archive %d" % run.args.year)
                tm.abort() if run.args.dry_run else tm.commit()
                conn.cacheGC()
                if run.args.fail_after:
                    print("committed %d graduates" % run.done, flush=True)
    finally:
        try:
            tm.abort()  # the unfinished batch after an error
        except transaction.interfaces.NoTransaction:
            pass
        conn.close()


def _total(env):
    with common.site_transaction(env, "count") as (_conn, site):
        postings = site.catalog["status"]._fwd_index
        return sum(len(postings.get(s, ())) for s in STATUSES)


def report(run, seconds):
    verb = "would archive / 将归档" if run.args.dry_run else "archived / 已归档"
    print("%s %d graduates of %d in %.1f s" % (verb, run.done, run.args.year, seconds))
    for path in sorted(run.per_school):
        print("  %s  %s  %d" % (path, run.names.get(path, ""), run.per_school[path]))
    print("problems / 问题: %d" % run.problem_count)
    for line in run.problems:
        print("  " + line)
    if run.problem_count > len(run.problems):
        print("  … and %d more" % (run.problem_count - len(run.problems)))


def _main(argv):
    args = parse(argv)
    uri = common.config_uri(args.config)
    common.require_initialised(common.app_settings(uri))
    run = Run(args)
    started = time.time()
    with common.open_app(uri) as env:
        with common.site_transaction(env, "check") as (_conn, site):
            _scope_set(site, args.scope)  # a bad --scope fails before any work
        with tqdm(total=_total(env), unit="pupil", file=sys.stderr, desc="archive", disable=None) as bar:
            _work(env, run, bar)
    report(run, time.time() - started)
    return 0


def main(argv=None):
    return common.run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
