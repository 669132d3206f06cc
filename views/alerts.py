"""Security alerts on abnormal volumes (see xueji_site/alerts.py), for auditors."""
import datetime

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.view import view_config

from xueji_site.kernel import alerts, audit, permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Site
from .tables import download

HEADER = (_("告警时间"), _("用户"), _("规则"), _("说明"), _("窗口起点"))
RULE_LABELS = {"detail-views": _("大量查看学籍"), "exported-rows": _("大量导出"), "denied": _("频繁被拒绝"),
               alerts.BREAK_GLASS: _("紧急查看")}


def _stamp(when):
    return datetime.datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M")


def _row(alert, t):
    return [_stamp(alert.when), alert.login, t(RULE_LABELS.get(alert.rule, alert.rule)),
            alerts.describe(alert, t), _stamp(alert.window_start)]


def _alerts(context, request):
    book = getattr(context, "alert_book", None)
    return [_row(a, request.localizer.translate) for a in (book.newest(limit=500) if book is not None else [])]


@view_config(context=Site, name="alerts", request_param="export", request_method="GET", permission=P.AUDIT,
             require_reauth=True)
def alert_export(context, request):
    """The alerts as a file: they name accounts and addresses, so a recent password first."""
    fmt = request.params["export"]
    if fmt not in ("csv", "xlsx"):
        raise HTTPBadRequest()
    rows = _alerts(context, request)
    audit.log(request, "export", context, rows=len(rows), type="alerts", format=fmt)
    return download(rows, [request.localizer.translate(h) for h in HEADER], "alerts", fmt)


@view_config(context=Site, name="alerts", request_method="GET", permission=P.AUDIT, renderer="templates/alerts.pt")
def alert_list(context, request):
    t = request.localizer.translate
    rows = _alerts(context, request)
    header = [t(h) for h in HEADER]
    request.response.cache_control = "no-store"
    limits = alerts.limits(request.registry.settings)
    rules = [(t(RULE_LABELS[r.name]), limits[r.name], r.window // 60) for r in alerts.RULES]
    return {"header": header, "rows": rows, "rules": rules}
