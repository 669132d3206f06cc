"""Reading the audit log: filter, page, export. There is no edit or delete."""
import datetime

from pyramid.view import view_config

from xueji_site import audit, permissions as P
from xueji_site.i18n import _
from xueji_site.resources import Site
from .tables import download

HEADER = (_("时间"), _("用户"), _("地址"), _("操作"), _("对象"), _("结果"), _("详情"))
PAGE = 100
EXPORT_LIMIT = 100_000


def _matcher(params):
    login = params.get("login", "").strip().lower()
    action = params.get("action", "").strip()
    path = params.get("path", "").strip()
    result = params.get("result", "").strip()

    def matches(entry):
        return ((not login or entry.login.lower() == login)
                and (not action or entry.action == action)
                and (not path or entry.path.startswith(path))
                and (not result or entry.result == result))
    return matches


def _row(entry):
    when = datetime.datetime.fromtimestamp(entry.when).strftime("%Y-%m-%d %H:%M:%S")
    detail = "; ".join("%s=%s" % pair for pair in entry.detail)
    return [when, entry.login, entry.address, entry.action, entry.path, entry.result, detail]


@view_config(context=Site, name="audit", permission=P.AUDIT, renderer="templates/audit.pt")
def audit_log(context, request):
    params = request.params
    matches = _matcher(params)
    t = request.localizer.translate
    header = [t(h) for h in HEADER]
    if params.get("export") in ("csv", "xlsx"):
        entries = context.audit.newest(matches, limit=EXPORT_LIMIT)
        audit.log(request, "export", context, rows=len(entries), type="audit", format=params["export"])
        return download([_row(e) for e in entries], header, "audit", params["export"])
    try:
        before = int(params.get("before", "")) or None
    except ValueError:
        before = None
    entries = context.audit.newest(matches, limit=PAGE, before=before)
    request.response.cache_control = "no-store"
    filters = {k: params.get(k, "") for k in ("login", "action", "path", "result")}
    return {"rows": [_row(e) for e in entries], "header": header, "filters": filters,
            "next": entries[-1].key if len(entries) == PAGE else None, "total": len(context.audit)}
