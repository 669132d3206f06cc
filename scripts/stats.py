"""xueji-stats: one standard report for a tree node, as xlsx, csv or html.

Counts come from the catalog (index postings), as on the site; the script
runs as the operator and sees the whole tree. The export is recorded in the
audit log (actor: system).
"""
import os
import sys
from xml.sax.saxutils import escape

from pyramid.i18n import make_localizer
from tqdm import tqdm

from xueji_site.kernel import audit, catalog, spreadsheets
from xueji_site.search import reports
from xueji_site.scripts import common

FORMATS = ("xlsx", "csv", "html")


def parse(argv):
    available = [name for name, r in reports.REPORTS.items() if r.available]
    parser = common.make_parser("xueji-stats", __doc__.splitlines()[0])
    parser.add_argument("--report", required=True, choices=available, help="which report")
    parser.add_argument("--scope", required=True, metavar="PATH", help="tree node, e.g. / or /330000/330106")
    parser.add_argument("--format", default="csv", choices=FORMATS)
    parser.add_argument("--output", metavar="FILE", help="default: REPORT-NODE.FORMAT in the current directory")
    parser.add_argument("--locale", default="zh_Hans", choices=("zh_Hans", "zh_Hant", "en"))
    return parser.parse_args(argv)


def translator(env, locale):
    from pyramid.interfaces import ITranslationDirectories
    dirs = env.registry.queryUtility(ITranslationDirectories, default=[])
    localizer = make_localizer(locale, dirs)
    return lambda term: localizer.translate(term) if hasattr(term, "interpolate") else str(term)


def render(table, fmt, translate, name="enrolment"):
    """The report as bytes in ``fmt``."""
    header, rows = table.grid(translate)
    if fmt == "html":
        return _html(table, header, rows, translate, name).encode("utf-8")
    return spreadsheets.table_file(rows, header, fmt)[0]  # counts stay numbers (numeric xlsx cells)


def _html(table, header, rows, translate, name):
    cells = "".join("<th>%s</th>" % escape(str(h)) for h in header)
    body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % escape(str(c)) for c in row) for row in rows)
    title = escape(translate(table.title))
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>%s</title></head><body>'
            '<h1>%s</h1><table border="1"><thead><tr>%s</tr></thead><tbody>%s</tbody></table>%s'
            '</body></html>' % (title, title, cells, body, reports.chart_svg(table, translate, name)))


def _main(argv):
    args = parse(argv)
    uri = common.config_uri(args.config)
    common.require_initialised(common.app_settings(uri))
    with common.open_app(uri) as env, common.site_transaction(env, "xueji-stats") as (_conn, site):
        node = common.resolve_path(site, args.scope)
        translate = translator(env, args.locale)
        with tqdm(total=3, unit="step", file=sys.stderr, desc=args.report) as bar:
            table = reports.run(args.report, site, catalog.SYSTEM, node)
            bar.update()
            payload = render(table, args.format, translate, args.report)
            bar.update()
            output = args.output or "%s-%s.%s" % (args.report, node.__name__ or "root", args.format)
            with open(output, "wb") as out:
                out.write(payload)
            bar.update()
        audit.log(None, "export", node, site=site, rows=len(table.rows), kind="report",
                  report=args.report, format=args.format)
    print("%s: %d rows → %s" % (args.report, len(table.rows), os.path.abspath(output)))


def main(argv=None):
    return common.run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
