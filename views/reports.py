"""Statistics pages: standard reports for any node, as table, SVG chart,
xlsx/csv download and print view. Counting happens in xueji_site.search.reports.

At the root every logged-in user may open them (the counts cover only what
they may see); below it the node's view permission is needed.
"""
import datetime

from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.view import view_config

from xueji_site.kernel import audit, permissions as P
from xueji_site.kernel.folder import Container
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Site
from xueji_site.search import reports
from .tables import download

UNIT_TYPES = ("Site", "Bureau", "School")


def _offered(context):
    """Reports that make sense here: unit comparison only where there are units."""
    return [r for r in reports.REPORTS.values()
            if not r.needs_units or context.content_type in UNIT_TYPES]


def _chosen(context, request):
    if context.content_type == "Student":  # a record is a container of its own records
        raise HTTPNotFound()
    name = request.params.get("name", "enrolment")
    report = reports.REPORTS.get(name)
    if report is None or report not in _offered(context):
        raise HTTPNotFound()
    return report


def _table(context, request, report):
    return reports.run(report.name, request.site, request.user, context)


@view_config(context=Site, name="reports", request_param="export", permission=P.ACCOUNT)
@view_config(context=Container, name="reports", request_param="export", permission=P.VIEW)
def report_export(context, request):
    """The report's table as a file. Its cells are counts, never a pupil's data: no
    approval, no password again; audited like every export."""
    fmt = request.params["export"]
    report = _chosen(context, request)
    if fmt not in ("csv", "xlsx") or not report.available:
        raise HTTPBadRequest()
    header, rows = _table(context, request, report).grid(request.localizer.translate)
    audit.log(request, "export", context, rows=len(rows), kind="report", report=report.name, format=fmt)
    return download(rows, header, "%s-%s" % (report.name, context.__name__ or "root"), fmt)


@view_config(context=Site, name="reports", permission=P.ACCOUNT)
@view_config(context=Container, name="reports", permission=P.VIEW)
def reports_view(context, request):
    report = _chosen(context, request)
    t = request.localizer.translate
    table = _table(context, request, report) if report.available else None
    header, rows = table.grid(t) if table is not None else ([], [])
    scope = reports.scope_titles(request.site, request.user, context, t)
    values = {"report": report, "title": t(report.title), "header": header, "rows": rows,
              "offered": [(r.name, t(r.title), r.available) for r in _offered(context)],
              "scope": "、".join(scope) or t(_("（无可见范围）")), "scope_count": len(scope),
              "today": datetime.date.today().isoformat(),
              "chart_alt": t(_("${title}（图表；数据见上表）", mapping={"title": t(report.title)}))}
    template = "templates/report_print.pt" if request.params.get("print") else "templates/report.pt"
    response = render_to_response(template, values, request=request)
    response.cache_control = "no-store"
    return response


@view_config(context=Site, name="report.svg", permission=P.ACCOUNT)
@view_config(context=Container, name="report.svg", permission=P.VIEW)
def report_chart(context, request):
    report = _chosen(context, request)
    if not report.available:
        raise HTTPNotFound()
    table = _table(context, request, report)
    svg = reports.chart_svg(table, request.localizer.translate, report.name)
    response = Response(body=svg.encode("utf-8"), content_type="image/svg+xml", charset="utf-8")
    response.cache_control = "no-store"
    return response
