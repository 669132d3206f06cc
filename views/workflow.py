"""Status changes on the web: a pupil's status page (start, withdraw), transfer-in
at the receiving school, and each approver's work queue on a school or bureau."""
import datetime
from urllib.parse import quote

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.traversal import resource_path
from pyramid.view import view_config

from pyramid.response import Response

from xueji_site.kernel import attachments, audit, chain, permissions as P
from xueji_site.tree.indexes import find_by_code
from xueji_site.status import changes as workflow
from xueji_site.kernel.crypto import keyring
from xueji_site.kernel.i18n import _
from xueji_site.standards.idnumbers import normalise
from xueji_site.tree.nodes import Bureau, School
from xueji_site.record.models import Student

LOCAL_KINDS = [k for k in workflow.TYPES if k != "transfer"]
GUARDIAN_KINDS = ["transfer", "suspend", "resume"]  # what a guardian may ask for online


def _when(stamp):
    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M")


ATTACHMENT_ERRORS = {
    "too-large": _("附件不能超过 5 MB"), "wrong-type": _("附件只接受 PDF、JPEG 或 PNG 扫描件"),
    "too-many": _("每项申请最多 10 个附件"), "empty": _("附件是空文件"),
}


def _change_view(request, change, student):
    t = request.localizer.translate
    target_class, target_school = workflow.target_class_of(change), workflow.target_school_of(change)
    period = [change.payload.get("starts_on"), change.payload.get("ends_on")]
    return {
        "id": change.id,
        "attachments": [(i, a.name, a.size // 1024 + 1) for i, a in enumerate(change.attachments)],
        "kind": t(workflow.type_of(change).label), "reason": change.reason, "by": change.requested_by[1],
        "at": _when(change.requested_at), "state": t(chain.STATE_LABELS[change.state]),
        "waiting": t(workflow.STEP_LABELS[change.waiting_step]) if change.waiting_step else "",
        "due": change.due(request.registry).isoformat() if change.state == workflow.OPEN else "",
        "overdue": change.overdue(registry=request.registry),
        "chain": [t(workflow.STEP_LABELS[s]) for s in change.chain],
        "steps": [(_when(when), login, t(workflow.STEP_LABELS.get(step, step)) if step else "",
                   t(chain.DECISION_LABELS.get(decision, decision)), reason)
                  for when, _uid, login, step, decision, reason in change.decisions],
        "target": (t(target_class.title) + " · " if target_class is not None else "")
        + (target_school.title if target_school is not None else ""),
        "period": " — ".join(d.isoformat() for d in period) if all(period) else "",
    }


@view_config(context=Student, name="status", permission=P.VIEW_RECORD, renderer="templates/status.pt")
def status_page(context, request):
    """The pupil's status, the change under way and every past one; guardians see it too."""
    t = request.localizer.translate
    school = workflow.school_of(context)
    may_request = bool(request.has_permission(P.REQUEST_CHANGE, context))
    as_guardian = not may_request and bool(request.has_permission(P.GUARDIAN_REQUEST, context))
    open_change = workflow.open_change_of(context)
    page = {
        "status": t(workflow.STATUS_LABELS.get(context.status, context.status)),
        "open": _change_view(request, open_change, context) if open_change else None,
        "may_withdraw": open_change is not None and request.user is not None
        and open_change.requested_by[0] == request.user.userid,
        "past": [_change_view(request, c, context) for c in reversed(workflow.changes_of(context))
                 if c is not open_change],
        "suspended_until": getattr(context, "suspended_until", None),
        "kinds": [(k, t(workflow.TYPES[k].label)) for k in (LOCAL_KINDS if may_request else
                                                              GUARDIAN_KINDS if as_guardian else [])],
        "as_guardian": as_guardian,
        "typed": _typed(request, STATUS_FIELDS),
        "classes": [(k, t(school[k].title)) for k in school.keys() if k != context.__parent__.__name__],
        "error": None,
    }
    if request.method == "POST" and (may_request or as_guardian) and "start" in request.POST:
        if as_guardian and request.POST.get("kind") not in GUARDIAN_KINDS:
            raise HTTPForbidden()
        return _start(context, request, page)
    if request.method == "POST" and "withdraw" in request.POST and open_change is not None:
        try:
            workflow.withdraw(open_change, context, request.user, request.registry)
        except workflow.WorkflowError as exc:
            page["error"] = t(exc.args[0])
            return page
        return HTTPSeeOther(request.resource_url(context, "status"))
    return page


def _start(context, request, page):
    t = request.localizer.translate
    kind = request.POST.get("kind", "")
    target_key = request.POST.get("target", "")
    school = workflow.school_of(context)
    target = school.get(target_key) if target_key and kind != "transfer" else None
    code = request.POST.get("school_code", "")
    target_school = _school_by_code(request, code) if kind == "transfer" else None
    try:
        if kind == "transfer" and code.strip() and target_school is None:
            raise workflow.WorkflowError(_("没有学校标识码为“${code}”的学校，请核对后重新填写",
                                           mapping={"code": code.strip()[:10]}))
        scan = _read_scan(request)  # checked first: a request is not made without its scan
        starts_on, ends_on = _date(request, "starts_on"), _date(request, "ends_on")
        change = workflow.start(kind, context, request.user, request.POST.get("reason", ""), target,
                                target_school=target_school, registry=request.registry,
                                starts_on=starts_on, ends_on=ends_on)
    except attachments.AttachmentError as exc:
        page["error"] = t(ATTACHMENT_ERRORS[exc.args[0]])
        return page
    except workflow.WorkflowError as exc:
        page["error"] = t(exc.args[0])
        audit.log(request, "status-request", context, result=audit.DENIED, kind=kind)
        return page
    if scan is not None:
        attachments.attach(change, scan[0], scan[1], request.user)
    request.session.flash(t(_("已提交${kind}申请", mapping={"kind": t(workflow.TYPES[kind].label)})))
    return HTTPSeeOther(request.resource_url(context, "status"))


@view_config(context=School, name="transfer-in", permission=P.ADD, renderer="templates/transfer_in.pt")
def transfer_in(context, request):
    """The receiving school asks for a pupil: by 学籍号 or ID number, confirmed by the name.

    It cannot see the record yet, so an unknown number and a wrong name get
    the same answer: nothing is learnt by guessing.
    """
    t = request.localizer.translate
    page = {"classes": [(k, t(context[k].title)) for k in context.keys()], "error": None,
            "typed": _typed(request, TRANSFER_FIELDS)}
    if request.method != "POST":
        return page
    student = _find_pupil(request, request.POST.get("number", ""), request.POST.get("name", ""))
    target = context.get(request.POST.get("target", ""))
    if student is None:
        page["error"] = t(_("未找到号码与姓名相符的在籍学生"))
        audit.log(request, "transfer-request", context, result=audit.FAILED)
        return page
    try:
        workflow.start("transfer", student, request.user, request.POST.get("reason", ""), target,
                       registry=request.registry)
    except workflow.WorkflowError as exc:
        page["error"] = t(exc.args[0])
        audit.log(request, "transfer-request", context, result=audit.DENIED)
        return page
    audit.log(request, "transfer-request", student, to=resource_path(target))
    request.session.flash(t(_("转学申请已提交，等待本校审核")))
    return HTTPSeeOther(request.resource_url(context))


STATUS_FIELDS = ("kind", "target", "school_code", "starts_on", "ends_on", "reason")
TRANSFER_FIELDS = ("number", "name", "target", "reason")


class _Typed(dict):
    __getattr__ = dict.get


def _typed(request, names):
    """What the user typed into a form, to show it again after a refusal (never retyped)."""
    posted = request.POST if request.method == "POST" else {}
    values = ((name, posted.get(name, "")) for name in names)
    return _Typed((name, value if isinstance(value, str) else "") for name, value in values)


def _date(request, name):
    """An ISO date from the form, None when empty; a malformed one is refused."""
    value = (request.POST.get(name) or "").strip()
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise workflow.WorkflowError(_("日期格式应为 YYYY-MM-DD"))


def _school_by_code(request, code):
    found = find_by_code(request, normalise(code)) if code.strip() else None
    return found if getattr(found, "content_type", None) == "School" else None


def _read_scan(request):
    """(filename, bytes) of an uploaded scan after checking it, or None when there is none."""
    upload = request.POST.get("scan")
    if not hasattr(upload, "file"):
        return None
    data = upload.file.read(attachments.MAX_BYTES + 1)
    if not data:
        raise attachments.AttachmentError("empty")
    if len(data) > attachments.MAX_BYTES:
        raise attachments.AttachmentError("too-large")
    attachments.sniff(data)
    return upload.filename, data


def _send_attachment(request, change, index):
    try:
        item = change.attachments[int(index)]
    except (ValueError, IndexError, TypeError):
        raise HTTPNotFound()
    response = Response(body=item.data(), content_type=item.content_type)
    response.content_disposition = "attachment; filename=\"scan.%s\"; filename*=UTF-8''%s" % (
        item.name.rsplit(".", 1)[-1], quote(item.name))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "no-store"
    return response


@view_config(context=Student, name="attachment", permission=P.VIEW_RECORD)
def student_attachment(context, request):
    """A scan of one of the pupil's changes (``c``: which change, ``i``: which scan)."""
    change = chain.get(request.site, request.params.get("c", ""))
    if change is None or change.subject is not context:
        raise HTTPNotFound()
    audit.log(request, "attachment-read", context, change=workflow.kind_of(change))
    return _send_attachment(request, change, request.params.get("i"))


@view_config(context=School, name="changes-attachment", permission=P.APPROVE_SCHOOL)
@view_config(context=Bureau, name="changes-attachment", permission=P.APPROVE_BUREAU)
def queue_attachment(context, request):
    """An approver who cannot see the record (the receiving side) reads the scans it decides on."""
    try:
        student = request.site.docmap[int(request.params.get("docid", ""))]
    except (KeyError, ValueError):
        raise HTTPNotFound()
    change = workflow.open_change_of(student)
    if change is None or change.waiting_node(request.registry) is not context:
        raise HTTPNotFound()
    audit.log(request, "attachment-read", student, change=workflow.kind_of(change))
    return _send_attachment(request, change, request.params.get("i"))


def _find_pupil(request, number, name):
    number = normalise(number)
    site = request.site
    for kind, value in (("registry", number), ("id", number), ("registry", "G" + number)):
        for docid in site.catalog["hashes"].applyEq(keyring().blind(kind, value)):
            student = site.docmap.get(docid)
            if student is not None and student.name == name.strip():
                return student
    return None


@view_config(context=School, name="changes", permission=P.APPROVE_SCHOOL, renderer="templates/changes.pt")
@view_config(context=Bureau, name="changes", permission=P.APPROVE_BUREAU, renderer="templates/changes.pt")
def queue(context, request):
    """What waits for this school or bureau, oldest first, overdue marked."""
    t = request.localizer.translate
    if request.method == "POST":
        return _decide(context, request)
    items = []
    for change in chain.waiting_at(request.site, context, workflow.PROCESS):
        student = change.subject
        view = _change_view(request, change, student)
        school = workflow.school_of(student)
        needs_class = change.waiting_step == workflow.TO_SCHOOL and workflow.target_class_of(change) is None
        classes = workflow.suitable_classes(student, context) if needs_class else []
        view.update(needs_class=needs_class, classes=[(k.__name__, t(k.title)) for k in classes],
                    docid=student.docid, name=student.name, gender=t(_("男") if student.gender == "1" else _("女")),
                    born=student.birth_date.isoformat() if student.birth_date else "",
                    school=school.title, klass=t(student.__parent__.title), started=change.step_started)
        items.append(view)
    items.sort(key=lambda item: item["started"])
    return {"items": items, "error": None}


def _decide(context, request):
    t = request.localizer.translate
    try:
        student = request.site.docmap[int(request.POST.get("docid", ""))]
    except (KeyError, ValueError):
        raise HTTPNotFound()
    change = workflow.open_change_of(student)
    if change is None or change.waiting_node(request.registry) is not context:
        request.session.flash(t(_("该申请已被处理或不在本单位的待办中")))
        return HTTPSeeOther(request.resource_url(context, "changes"))
    if not workflow.may_decide(request, change, student):
        raise HTTPForbidden()
    approve = request.POST.get("action") == "approve"
    target = context.get(request.POST.get("target", "")) if isinstance(context, School) else None
    try:
        workflow.decide(change, student, request.user, approve, request.POST.get("reason", ""),
                        request.registry, target_class=target)
    except workflow.WorkflowError as exc:
        request.session.flash(t(exc.args[0]))
        return HTTPSeeOther(request.resource_url(context, "changes"))
    label = t(workflow.type_of(change).label)
    request.session.flash(t(_("已处理：${name} ${kind}", mapping={"name": student.name, "kind": label})))
    return HTTPSeeOther(request.resource_url(context, "changes"))
