"""Reading the audit log: filter, page, export. There is no edit or delete."""
import datetime

from pyramid.httpexceptions import HTTPBadRequest, HTTPMethodNotAllowed
from pyramid.view import view_config

from xueji_site.kernel import audit, permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Site
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


ACTIONS = {
    "login": _("登录"), "logout": _("退出"), "create": _("新增"), "modify": _("修改"),
    "delete": _("删除"), "move": _("移动"), "roles": _("角色变更"), "set-acl": _("权限变更"),
    "view-record": _("查看学籍"), "export": _("导出"), "password-change": _("修改密码"),
    "account-unlock": _("解锁账号"), "account-reset": _("重置密码"),
    "account-deactivate": _("停用账号"), "account-activate": _("启用账号"),
    "export-approval": _("导出审批"), "security-alert": _("安全告警"), "integrity-failed": _("完整性校验未通过"),
    "certificate-revoke": _("注销证书"), "status-change": _("学籍异动"), "key-change": _("关键信息变更"),
    "graduation": _("毕业审批"), "audit-verify": _("校验审计链"), "break-glass": _("紧急查看"),
}
RESULTS = {audit.OK: _("成功"), audit.FAILED: _("失败"), audit.DENIED: _("拒绝")}


def _row(entry, t):
    """One entry as table cells; action and result named in the reader's language,
    with the stored code kept beside the name so exports stay filterable."""
    when = datetime.datetime.fromtimestamp(entry.when).strftime("%Y-%m-%d %H:%M:%S")
    detail = "; ".join("%s=%s" % pair for pair in entry.detail)
    action = "%s (%s)" % (t(ACTIONS[entry.action]), entry.action) if entry.action in ACTIONS else entry.action
    result = t(RESULTS.get(entry.result, entry.result))
    return [when, entry.login, entry.address, action, entry.path, result, detail]


UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@view_config(context=Site, name="audit", request_method=UNSAFE, permission=P.AUDIT)
@view_config(context=Site, name="audit-verify", request_method=UNSAFE, permission=P.AUDIT)
@view_config(context=Site, name="alerts", request_method=UNSAFE, permission=P.AUDIT)
def read_only(context, request):
    """The log and its alerts are read, never written, through the web: 405 for those who
    may read them (others get the 403 of the permission first)."""
    return HTTPMethodNotAllowed(headers={"Allow": "GET, HEAD"})


@view_config(context=Site, name="audit", request_param="export", request_method="GET", permission=P.AUDIT,
             require_reauth=True)
def audit_export(context, request):
    """The entries the filters select, as a file: a bulk copy, so a recent password first."""
    fmt = request.params["export"]
    if fmt not in ("csv", "xlsx"):
        raise HTTPBadRequest()
    t = request.localizer.translate
    entries = context.audit.newest(_matcher(request.params), limit=EXPORT_LIMIT)
    audit.log(request, "export", context, rows=len(entries), type="audit", format=fmt)
    return download([_row(e, t) for e in entries], [t(h) for h in HEADER], "audit", fmt)


@view_config(context=Site, name="audit", request_method="GET", permission=P.AUDIT, renderer="templates/audit.pt")
def audit_log(context, request):
    params = request.params
    matches = _matcher(params)
    t = request.localizer.translate
    header = [t(h) for h in HEADER]
    try:
        before = int(params.get("before", "")) or None
    except ValueError:
        before = None
    entries = context.audit.newest(matches, limit=PAGE, before=before)
    request.response.cache_control = "no-store"
    filters = {k: params.get(k, "") for k in ("login", "action", "path", "result")}
    return {"rows": [_row(e, t) for e in entries], "header": header, "filters": filters,
            "actions": [(code, t(label)) for code, label in ACTIONS.items()],
            "results": [(code, t(label)) for code, label in RESULTS.items()],
            "next": entries[-1].key if len(entries) == PAGE else None, "total": len(context.audit)}


# The newest seals a page checks: a few seconds at most on a 2-core machine; the
# whole chain is ``xueji-verify-audit CONFIG`` (cron).
VERIFY_RECENT = 20_000
PROBLEM_LABELS = {"seal-removed": _("封存记录缺失"), "chain-broken": _("哈希链断裂"),
                  "entry-removed": _("审计记录被删除"), "entry-changed": _("审计记录被修改")}


@view_config(context=Site, name="audit-verify", request_method="GET", permission=P.AUDIT,
             renderer="templates/audit_verify.pt")
def audit_verify(context, request):
    """The auditor checks the newest part of the hash chain (security.md C3) from the browser."""
    t = request.localizer.translate
    log = context.audit
    problems, first, last = audit.verify_tail(log, VERIFY_RECENT)
    waiting = audit.count_waiting(log, VERIFY_RECENT + 1)
    audit.log(request, "audit-verify", context, result=audit.OK if not problems else audit.FAILED,
              first=first, last=last, problems=len(problems))
    request.response.cache_control = "no-store"
    return {"ok": not problems, "first": first, "last": last, "checked": max(0, last - first + 1),
            "waiting": waiting, "waiting_more": waiting > VERIFY_RECENT, "total": len(log),
            "problems": [(t(PROBLEM_LABELS.get(p.kind, p.kind)), p.where) for p in problems[:200]],
            "more_problems": max(0, len(problems) - 200)}
