"""xueji-import: import pupils into one school from an xlsx or csv file.

Every row is checked through the student schema first (the same messages as
the add form) and a report is written beside the input (FILE.report.xlsx,
or --report). Without --only-valid, one bad row means nothing is imported.

Rows are committed in batches. A row already registered in this school under
the same ID number / 学籍号, name and birth date is skipped, so re-running
the same command after a crash or an interruption finishes the job without
duplicates.
"""
import argparse
import os
import signal
import sys
import time

from xueji_site.kernel import audit, spreadsheets
from xueji_site.imports import importing
from xueji_site.imports.importfiles import Report
from xueji_site.tree import class_size

from . import common
from xueji_site.kernel.root import get_site

DESCRIPTION = __doc__.split("\n\n", 1)[1]
SHOWN_PROBLEMS = 10  # rows whose errors are printed; the report has them all


def parse_args(argv):
    parser = common.make_parser("xueji-import", DESCRIPTION)
    parser.add_argument("file", metavar="FILE", help="the .xlsx or .csv file (UTF-8 or GB18030)")
    parser.add_argument("--school", required=True, metavar="PATH",
                        help="tree path of the school, e.g. /330000/330100/330106/2133010601")
    parser.add_argument("--class", dest="klass", metavar="KEY",
                        help="class key (e.g. 2024-03) for rows whose 班级 column is empty")
    parser.add_argument("--only-valid", action="store_true",
                        help="import the valid rows even when other rows have errors")
    parser.add_argument("--dry-run", action="store_true", help="check and report; import nothing")
    parser.add_argument("--report", metavar="PATH", help="where to write the report (.xlsx)")
    parser.add_argument("--batch", type=int, default=500, help="rows per commit (default 500)")
    parser.add_argument("--max-rows", type=int, default=1_000_000, help="refuse larger files")
    parser.add_argument("--max-mb", type=int, default=200, help="refuse larger files (MB)")
    parser.add_argument("--fail-after", type=int, help=argparse.SUPPRESS)  # test hook: SIGKILL self
    return parser.parse_args(argv)


def script_request(registry, site, context):
    """A request-like object for the schema's validators: a real Pyramid
    request (localizer, registry, a session the CSRF default can use) on
    the script's connection. The audit actor stays ``system`` because the
    importer passes no request to ``audit.log``."""
    from pyramid.request import Request, apply_request_extensions
    request = Request.blank("/")
    request.registry = registry
    apply_request_extensions(request)
    request.site = request.root = site
    request.context = context
    request.user = None
    return request


def read_table(path, args):
    try:
        with open(path, "rb") as src:
            data = src.read(args.max_mb * 1024 * 1024 + 1)
    except OSError as exc:
        raise common.ScriptError("cannot read %s: %s" % (path, exc.strerror))
    limits = spreadsheets.Limits(max_bytes=args.max_mb * 1024 * 1024, max_rows=args.max_rows)
    try:
        return spreadsheets.open_table(data, limits)
    except spreadsheets.Rejected as exc:
        raise common.ScriptError("%s: %s" % (path, exc.message.interpolate()))


class Committer:
    """Commit every ``size`` created rows and trim the cache (bounded memory)."""

    def __init__(self, tm, conn, size, fail_after=None, progress=None):
        self.tm, self.conn, self.size = tm, conn, size
        self.fail_after, self.progress = fail_after, progress
        self.pending = 0

    def __call__(self, summary, result):
        if self.progress is not None:
            self.progress.update(1)
        if result.status != importing.NEW:
            return
        self.pending += 1
        if self.fail_after and summary.created >= self.fail_after:
            os.kill(os.getpid(), signal.SIGKILL)  # the crash test: die between commits
        if self.pending >= self.size:
            self.commit()
            print("committed %d rows" % summary.created, flush=True)

    def commit(self):
        self.tm.commit()
        self.conn.cacheGC()
        self.tm.begin()
        self.pending = 0


def run_import(env, args, table):
    import transaction
    from tqdm import tqdm
    tm = transaction.TransactionManager(explicit=True)
    conn = env.db.open(transaction_manager=tm)
    tm.begin()
    try:
        site = get_site(conn)
        school = common.resolve_path(site, args.school)
        if school.content_type != "School":
            raise common.ScriptError("%s is not a school / 不是学校" % args.school)
        checker = importing.RowChecker(script_request(env.registry, site, school), school, args.klass)
        summary = _check(checker, table, args)
        if args.dry_run or (summary.errors and not args.only_valid) or not summary.new:
            tm.abort()
            return summary, False
        with tqdm(total=summary.rows, unit="row", disable=None, file=sys.stderr) as bar:
            committer = Committer(tm, conn, args.batch, args.fail_after, bar)
            summary = importing.process(checker_for(env, site, school, args), table, create=True,
                                        registry=env.registry, after_row=committer)
        audit.log(None, "import", school, site=site, file=os.path.basename(args.file), **summary.as_detail())
        tm.commit()
        return summary, True
    except BaseException:
        tm.abort()
        raise
    finally:
        conn.close()


def checker_for(env, site, school, args):
    """A fresh checker for the import pass (its duplicate memory starts empty)."""
    return importing.RowChecker(script_request(env.registry, site, school), school, args.klass)


def _check(checker, table, args):
    with Report(checker.translate) as report:  # a refused file leaves no temporary sheet behind
        try:
            summary = importing.process(checker, table, report=report)
        except spreadsheets.Rejected as exc:
            raise common.ScriptError("%s: %s" % (args.file, exc.message.interpolate()))
        payload = report.finish(summary)
    path = args.report or os.path.splitext(args.file)[0] + ".report.xlsx"
    with open(path, "wb") as out:
        out.write(payload)
    print("checked %d rows: %d valid, %d already here, %d with errors; report: %s"
          % (summary.rows, summary.new, summary.exists, summary.errors, path))
    if summary.missing_columns:
        print("missing required columns: %s" % ", ".join(summary.missing_columns))
    if summary.unknown_columns:
        print("ignored columns: %s" % ", ".join(summary.unknown_columns))
    for number, messages in summary.problems[:SHOWN_PROBLEMS]:
        print("row %d: %s" % (number, "；".join(messages)))
    if summary.errors > SHOWN_PROBLEMS:
        print("... %d more rows with errors in the report" % (summary.errors - SHOWN_PROBLEMS))
    for warning in class_size.import_warnings(checker.school, summary.by_class,
                                              checker.request.registry.settings, checker.translate):
        print("warning / 超过标准班额: %s" % warning)
    return summary


def not_imported_reason(summary, args):
    """Why a run imported nothing, in words that fit the options it was given."""
    if args.dry_run:
        return "dry run"
    if summary.errors and not args.only_valid:
        return "rows with errors (use --only-valid to import the others)"
    if summary.errors:
        return "every row has errors or is already here (see the report)" if summary.exists \
            else "every row has errors (see the report)"
    return "nothing new"


def main_(argv):
    args = parse_args(argv)
    if args.batch < 1 or args.max_rows < 1 or args.max_mb < 1:
        raise common.ScriptError("--batch, --max-rows and --max-mb must be positive")
    uri = common.config_uri(args.config)
    settings = common.app_settings(uri)
    common.require_initialised(settings)
    table = read_table(args.file, args)
    started = time.time()
    with common.open_app(uri) as env:
        summary, imported = run_import(env, args, table)
    if not imported:
        print("nothing imported / 未导入: %s" % not_imported_reason(summary, args))
        return 1 if summary.errors and not args.dry_run else 0
    print("imported %d rows, skipped %d already here, %d errors in %.1f s"
          % (summary.created, summary.exists, summary.errors, time.time() - started))
    return 0


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    raise SystemExit(main())
