"""xueji-grades: a whole exam's marks out to a spreadsheet, or in from one.

  xueji-grades CONFIG --export EXAM --at PATH [--out FILE.xlsx|FILE.csv]
  xueji-grades CONFIG --import FILE --exam EXAM --at PATH --as LOGIN
               [--valid-only | --check] [--reason TEXT] [--report FILE]

The file is the site's template (grades/transfer.py): the exam's line, the
column titles, one row per pupil of the classes the exam covers under PATH (a
bureau, school or class). An import checks every row first, then writes
through the same entry rules as the grid (the account given with --as must
be allowed to enter each subject; locks, reasons and history apply), all rows
or none unless --valid-only. One run is one transaction: a run stopped
half-way leaves nothing, and a rerun of the same file changes nothing (equal
marks are not changes). Memory stays bounded: the file is capped (rows, bytes)
and classes' pupils are read a few classes at a time.
"""
import os
import sys

from pyramid.i18n import make_localizer
from tqdm import tqdm

from xueji_site.grades import books, entry, transfer
from xueji_site.kernel import audit, spreadsheets
from xueji_site.scripts import common

FORMATS = ("xlsx", "csv")


def parse(argv):
    parser = common.make_parser("xueji-grades", __doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--export", metavar="EXAM", help="write the template of EXAM (e.g. E000001) with its marks")
    action.add_argument("--import", dest="source", metavar="FILE", help="read a filled template (xlsx or csv)")
    parser.add_argument("--exam", metavar="EXAM", help="the exam the file is for (with --import)")
    parser.add_argument("--at", required=True, metavar="PATH", help="tree node, e.g. /330000/330106/2133000001")
    parser.add_argument("--out", metavar="FILE", help="with --export: FILE.xlsx or FILE.csv (default EXAM.xlsx)")
    parser.add_argument("--as", dest="login", metavar="LOGIN", help="with --import: the account entering the marks")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--valid-only", action="store_true", help="import the rows without errors, skip the others")
    mode.add_argument("--check", action="store_true", help="check only, change nothing")
    parser.add_argument("--reason", default="", help="why marks entered before change (required for such changes)")
    parser.add_argument("--report", metavar="FILE", help="with --import: the per-row report as xlsx or csv")
    parser.add_argument("--locale", default="zh_Hans", choices=("zh_Hans", "zh_Hant", "en"))
    args = parser.parse_args(argv)
    if args.source and not args.exam:
        parser.error("--import needs --exam")
    if args.source and not args.login:
        parser.error("--import needs --as LOGIN")
    for path in (args.out, args.report):
        if path and _format(path) is None:
            parser.error("%s: the file name must end in .xlsx or .csv" % path)
    return args


def _format(path):
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    return ext if ext in FORMATS else None


def translator(env, locale):
    from pyramid.interfaces import ITranslationDirectories
    localizer = make_localizer(locale, env.registry.queryUtility(ITranslationDirectories, default=[]))
    return lambda term: localizer.translate(term) if hasattr(term, "interpolate") else str(term)


def _exam(site, exam_id, node):
    exam = books.get_exam(site, (exam_id or "").strip())
    if exam is None or exam.id not in {e.id for e in books.exams_in_scope(site, node, exam.term)}:
        raise common.ScriptError("no such exam here / 此处没有该考试: %s" % exam_id)
    return exam


def export(env, site, args, translate):
    node = common.resolve_path(site, args.at)
    exam = _exam(site, args.export, node)
    classes = transfer.covered_classes(exam, node)
    output = args.out or "%s.xlsx" % exam.id
    with tqdm(total=len(classes), unit="class", file=sys.stderr, desc=exam.id) as bar:
        head, rows = transfer.template(exam, node, translate, after_class=lambda _k: bar.update())
        payload, _type, fmt = spreadsheets.table_file(rows, head, _format(output))
    with open(output, "wb") as out:
        out.write(payload)
    audit.log(None, "export", node, site=site, kind="grades-template", exam=exam.id, format=fmt)
    print("%s: %d classes → %s" % (exam.id, len(classes), os.path.abspath(output)))


def _read(path):
    try:
        with open(path, "rb") as source:
            data = source.read(spreadsheets.Limits().max_bytes + 1)
    except OSError as exc:
        raise common.ScriptError("cannot read / 无法读取 %s: %s" % (path, exc.strerror))
    return data


def import_(env, site, args, translate):
    node = common.resolve_path(site, args.at)
    exam = _exam(site, args.exam, node)
    user = site.principals.by_login_name(args.login)
    if user is None or not user.active:
        raise common.ScriptError("no such active account / 没有此有效账号: %s" % args.login)
    data = _read(args.source)
    try:
        table = spreadsheets.open_table(data)
        with tqdm(unit="row", file=sys.stderr, desc="check") as bar:
            report = transfer.read_marks(site, exam, node, spreadsheets.read_rows(table), user, reason=args.reason,
                                         translate=translate, after_row=lambda _r: bar.update())
    except spreadsheets.Rejected as exc:
        raise common.ScriptError(translate(exc.message))
    if report.refused:
        raise common.ScriptError("；".join(report.problems))
    if args.report:
        header, rows = transfer.report_table(report, translate)
        with open(args.report, "wb") as out:
            out.write(spreadsheets.table_file(rows, header, _format(args.report))[0])
    for row in [r for r in report.rows if r.status == transfer.ERROR][:20]:
        print("row %d %s: %s" % (row.number, row.name, "；".join(row.messages)), file=sys.stderr)
    print("rows %d: ok %d, unchanged %d, errors %d" % (len(report.rows), report.ok, report.unchanged,
                                                      report.errors))
    if args.check:
        return 0
    mode = transfer.VALID if args.valid_only else transfer.ALL
    if mode == transfer.ALL and report.errors:
        raise common.ScriptError("rows with errors: nothing imported (use --valid-only to import the others) / "
                                 "有错误的行，全部未导入", 1)
    try:
        with tqdm(total=len(report.classes), unit="class", file=sys.stderr, desc="save") as bar:
            entered, changed = transfer.apply(report, mode, after_class=lambda _k: bar.update())
    except entry.EntryError as exc:
        raise common.ScriptError(translate(exc.args[0]), 1)
    print("entered %d, changed %d" % (entered, changed))
    return 0


def _main(argv):
    args = parse(argv)
    uri = common.config_uri(args.config)
    common.require_initialised(common.app_settings(uri))
    with common.open_app(uri) as env, common.site_transaction(env, "xueji-grades") as (_conn, site):
        translate = translator(env, args.locale)
        if args.export:
            return export(env, site, args, translate)
        return import_(env, site, args, translate)


def main(argv=None):
    return common.run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
