"""Security alerts on abnormal volumes (see xueji_site/alerts.py), for auditors."""
import datetime

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


@view_config(context=Site, name="alerts", permission=P.AUDIT, renderer="templates/alerts.pt")
def alert_list(context, request):
    t = request.localizer.translate
    book = getattr(context, "alert_book", None)
    found = book.newest(limit=500) if book is not None else []
    rows = [_row(a, t) for a in found]
    header = [t(h) for h in HEADER]
    request.response.cache_control = "no-store"
    fmt = request.params.get("export")
    if fmt in ("csv", "xlsx"):
        audit.log(request, "export", context, rows=len(rows), type="alerts", format=fmt)
        return download(rows, header, "alerts", fmt)
    limits = alerts.limits(request.registry.settings)
    rules = [(t(RULE_LABELS[r.name]), limits[r.name], r.window // 60) for r in alerts.RULES]
    return {"header": header, "rows": rows, "rules": rules}
