"""Export approvals on the web (checklist G3, G4; rules in xueji_site/approvals.py).

- ``demand(request, context, rows, kind, covers)``: what every export of
  pupils' data calls after re-authentication. It clears the export (and marks
  the approval used, in the export's transaction) or answers with a 403 page
  saying why, linking to the request form pre-filled with the node, the
  export and the row count. A refusal is audited as a denied export.
- ``<node>/request-export``: the request form (bureau, school, class).
- ``/export-approvals``: the approver's queue and the requester's own requests.
- ``/export-approval?id=EA…``: one approval: the decision form for those who
  may decide, the links that use it for its requester.
"""
import datetime
from collections import namedtuple
from urllib.parse import parse_qsl, urlencode

import deform
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from xueji_site.exports import approvals
from xueji_site.kernel import audit, permissions as P, security
from xueji_site.standards import codes
from xueji_site.kernel.i18n import _
from xueji_site.tree.nodes import Bureau, School, SchoolClass
from xueji_site.kernel.nodes import Site
from xueji_site.schemas.approvals import decision_schema, export_request_schema
from xueji_site.search import conditions
from xueji_site.kernel import settings

Clearance = namedtuple("Clearance", "refusal detail")  # a 403 response, or the export's audit details

REQUESTABLE = (Bureau, School, SchoolClass)  # nodes with someone above them who may approve


def threshold(request):
    """``xueji.export_approval_rows``: the most rows an internal export takes without approval."""
    return settings.value(request.registry, "xueji.export_approval_rows")


def valid_days(request):
    return settings.value(request.registry, "xueji.export_approval_days")


def kind_of(request):
    """The export's kind from the request (``kind=external``; internal by default)."""
    kind = request.params.get("kind") or approvals.INTERNAL
    if kind not in approvals.KINDS:
        raise HTTPBadRequest()
    return kind


def demand(request, context, rows, kind, covers):
    """Clear an export of ``rows`` rows of pupils' data, or refuse it.

    ``covers`` is (export, type name, conditions) as in ``ExportApproval``.
    Returns a Clearance: ``refusal`` is the response to return instead of the
    file, else ``detail`` goes into the export's audit entry. An export that
    needs no approval does not consult (or use up) an ``approval`` given with it.
    """
    limit = threshold(request)
    if not approvals.needs_approval(rows, kind, limit):
        return Clearance(None, {"audience": kind})
    approval_id = (request.params.get("approval") or "")[:40]
    try:
        approval = approvals.check(request.site, request.user, context, rows, kind, covers, approval_id, limit)
    except approvals.Refused as refused:
        audit.log(request, "export", context, result=audit.DENIED, rows=rows, audience=kind,
                  export=covers[0], type=covers[1], approval=approval_id, reason=refused.code)
        return Clearance(_refusal(request, context, refused, rows, kind, covers), None)
    approvals.use(approval, rows)
    return Clearance(None, {"audience": kind, "approval": approval.id})


def _refusal(request, context, refused, rows, kind, covers):
    t = request.localizer.translate
    request_url = None
    if isinstance(context, REQUESTABLE):
        request_url = request.resource_url(context, "request-export", query={
            "export": covers[0], "conditions": covers[2], "rows": rows, "kind": kind})
    granted, waiting = approvals.for_this_export(request.site, request.user, context, rows, kind, covers)
    values = {"status": 403, "title": t(_("导出需要批准")), "message": t(refused.message),
              "request_url": request_url if granted is None and waiting is None else None,
              "granted": _granted_links(request, granted), "waiting": _page_url(request, waiting) if waiting else None}
    response = render_to_response("xueji_site.views:templates/export_refused.pt", values, request=request)
    response.status = 403
    response.cache_control = "no-store"
    return response


def _granted_links(request, granted):
    """The refused export again with the approval already granted for it, and its page."""
    if granted is None:
        return None
    query = [(k, v) for k, v in request.GET.items() if k != "approval"] + [("approval", granted.id)]
    return {"id": granted.id, "export": request.path_url + "?" + urlencode(query),
            "page": _page_url(request, granted),
            "until": datetime.datetime.fromtimestamp(granted.expires_at).strftime("%Y-%m-%d %H:%M")}


# -- the request form -------------------------------------------------------------

def _exports_at(context):
    return (approvals.LISTING, approvals.SEARCH) if isinstance(context, SchoolClass) else (approvals.SEARCH,)


def _conditions(value):
    """A search's conditions, canonical (the search view's own reading of them)."""
    return conditions.condition_key(conditions.read_form(dict(parse_qsl(value or ""))))


def _prefill(request, exports):
    params = request.params
    values = {"kind": params.get("kind") if params.get("kind") in approvals.KINDS else approvals.INTERNAL,
              "export": params.get("export") if params.get("export") in exports else exports[0]}
    if values["export"] == approvals.SEARCH:
        values["conditions"] = _conditions(params.get("conditions"))
    try:
        values["rows"] = max(1, min(approvals.MAX_ROWS, int(params.get("rows", ""))))
    except ValueError:
        pass
    return values


@view_config(context=Bureau, name="request-export", permission=P.VIEW, renderer="templates/form.pt")
@view_config(context=School, name="request-export", permission=P.VIEW, renderer="templates/form.pt")
@view_config(context=SchoolClass, name="request-export", permission=P.VIEW, renderer="templates/form.pt")
def request_export(context, request):
    t = request.localizer.translate
    exports = _exports_at(context)
    form = deform.Form(export_request_schema(request, exports), formid="export-request-form",
                       buttons=(deform.Button("submit", title=t(_("提交申请"))),))
    page = {"heading": t(_("申请导出批准：${place}", mapping={"place": t(context.title)})),
            "notice": t(_("导出超过 ${limit} 行学生个人信息，或向外提供任何学生个人信息，须先获批准。"
                          "批准后 ${days} 天内有效，只能使用一次；对外提供须经县级以上教育局批准，"
                          "导出的数据去标识化（姓名只留姓氏，不含证件号码和联系方式）。",
                          mapping={"limit": threshold(request), "days": valid_days(request)}))}
    if request.method != "POST":
        return dict(page, form=form.render(_prefill(request, exports)))
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        return dict(page, form=failure.render())
    listing = values["export"] == approvals.LISTING
    approval = approvals.request_export(
        request.site, request.user, context, values["kind"], values["purpose"], values["recipient"],
        values["export"], "Student" if listing else "", "" if listing else _conditions(values["conditions"]),
        values["rows"], valid_days(request), registry=request.registry)
    request.session.flash(t(_("已提交导出申请 ${id}，等待审批", mapping={"id": approval.id})))
    return HTTPSeeOther(_page_url(request, approval))


# -- the queue and one approval ---------------------------------------------------------

def _page_url(request, approval):
    return request.resource_url(request.site, "export-approval", query={"id": approval.id})


def _when(stamp):
    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M") if stamp else ""


CONDITION_LABELS = {"q": _("关键词"), "level": _("学段"), "grade": _("年级"), "gender": _("性别"),
                    "ethnicity": _("民族"), "status": _("学籍状态"), "enrolled": _("入学年份")}


def _describe_conditions(conditions, t):
    """A search's conditions as the approver reads them: labels, not codes."""
    flags = dict(conditions.FLAG_LABELS)
    labels = dict(CONDITION_LABELS, **flags)
    shown = {"gender": dict(codes.GENDER), "ethnicity": dict(codes.ETHNICITY), "level": codes.LEVEL_LABELS,
             "grade": {str(k): v for k, v in codes.GRADE_LABELS.items()}}
    parts = []
    for key, value in parse_qsl(conditions):
        if key in flags:
            value = _("是") if value == "1" else _("否")
        value = shown.get(key, {}).get(value, value)
        parts.append("%s: %s" % (t(labels.get(key, key)), t(value) if hasattr(value, "interpolate") else value))
    return "; ".join(parts) or t(_("（无条件：全部学生）"))


def _summary(request, approval):
    """What a page shows of an approval."""
    t = request.localizer.translate
    node = approvals.node_of(request.site, approval)
    what = t(approvals.EXPORT_LABELS[approval.export])
    if approval.export == approvals.SEARCH:
        what += " (" + _describe_conditions(approval.conditions, t) + ")"
    state = approval.state()
    return {"id": approval.id, "url": _page_url(request, approval), "state": state,
            "status": t(approvals.STATUS_LABELS[state]), "kind": t(approvals.KIND_LABELS[approval.kind]),
            "external": approval.kind == approvals.EXTERNAL,
            "place": t(node.title) if node is not None else approval.scope, "what": what,
            "rows": approval.max_rows, "purpose": approval.purpose, "recipient": approval.recipient,
            "by": approval.requester[1], "at": _when(approval.requested_at),
            "approver": approval.approver[1] if approval.approver else "", "note": approval.note,
            "decided": _when(approval.decided_at), "expires": _when(approval.expires_at),
            "used": _when(approval.used_at), "used_rows": approval.used_rows}


@view_config(context=Site, name="export-approvals", permission=P.ACCOUNT, renderer="templates/export_approvals.pt")
def queue(context, request):
    user = request.user
    request.response.cache_control = "no-store"
    return {"waiting": [_summary(request, a) for a in approvals.waiting_for(request.site, user)],
            "mine": [_summary(request, a) for a in approvals.requested_by(request.site, user)]}


def _may_see(request, approval):
    user, node = request.user, approvals.node_of(request.site, approval)
    if user.userid in (approval.requester[0], (approval.approver or ("",))[0]):
        return True
    return node is not None and bool(security.permits(user, node, P.APPROVE_EXPORT))


def _use_links(request, approval):
    """The exports this approval opens, for its requester while it is valid."""
    if approval.state() != approvals.APPROVED or approval.requester[0] != request.user.userid:
        return []
    node = approvals.node_of(request.site, approval)
    if node is None:
        return []
    links = []
    for fmt, label in (("xlsx", "Excel"), ("csv", "CSV")):
        query = {"kind": approval.kind, "approval": approval.id}
        if approval.export == approvals.LISTING:
            links.append((label, request.resource_url(node, "export",
                                                      query=dict(query, type=approval.type_name, format=fmt))))
        else:
            conditions = dict(parse_qsl(approval.conditions))
            links.append((label, request.resource_url(node, "search", query=dict(conditions, export=fmt, **query))))
    return links


@view_config(context=Site, name="export-approval", permission=P.ACCOUNT, renderer="templates/export_approval.pt")
def approval_page(context, request):
    """One approval; its decision (POST) by someone who may take it."""
    t = request.localizer.translate
    approval = approvals.get(request.site, request.params.get("id"))
    if approval is None or not _may_see(request, approval):
        raise HTTPNotFound()
    request.response.cache_control = "no-store"
    problem = approvals.decision_problem(request.site, request.user, approval)
    form = deform.Form(decision_schema(request), formid="export-decision-form",
                       buttons=(deform.Button("approve", title=t(_("批准"))),
                                deform.Button("refuse", title=t(_("不批准")))))
    page = {"item": _summary(request, approval), "links": _use_links(request, approval), "error": None,
            "form": form.render() if problem is None else None}
    if request.method != "POST":
        return page
    if problem is not None:
        audit.log(request, "export-approval", approvals.node_of(request.site, approval) or request.site,
                  result=audit.DENIED, id=approval.id, reason=problem)
        request.response.status = 403
        return dict(page, error=t(approvals.DECISION_PROBLEMS[problem]))
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        return dict(page, form=failure.render())
    approve = "approve" in request.POST
    approval = approvals.decide(request.site, request.user, approval, approve, values["note"])
    request.session.flash(t(_("已处理导出申请 ${id}：${status}",
                              mapping={"id": approval.id, "status": t(approvals.STATUS_LABELS[approval.status])})))
    return HTTPSeeOther(_page_url(request, approval))
