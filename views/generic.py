"""Views every registered type gets: contents (paged, sortable, exportable),
view, add, edit and delete — generated from the registry and the schemas."""
import datetime

import colander
import deform
from pyramid.httpexceptions import HTTPBadRequest, HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.traversal import resource_path
from pyramid.view import view_config

from xueji_site.exports import approvals
from xueji_site.kernel import audit, catalog, chain, content, history, integrity, permissions as P
from xueji_site.kernel.folder import Container, NameError_
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Leaf, Node, Site
from xueji_site.kernel.registry import content_registry
from xueji_site.kernel.subrecords import Collection, SubRecord, collection_of
from xueji_site.record import review
from xueji_site.record.models import Student
from xueji_site.schemas.base import without_sensitive
from . import approvals as approval_views, history_rows, listing as listing_views, record_sections
from .tables import cell, download

PAGE_SIZE = 50
# The permission a node's own page needs, where it is not VIEW (a teacher lists pupils but may not open them).
SORTS = ("title", "modified")


def _int(value, default, low=0, high=10**6):
    try:
        return max(low, min(high, int(value)))
    except (TypeError, ValueError):
        return default


def _column_value(obj, column):
    getter = column[0]
    return getter(obj) if callable(getter) else getattr(obj, getter, None)


def _objects(request, context, ct, sort="title", reverse=False, offset=0, limit=PAGE_SIZE, extra=None):
    """(total, one page of ``context``'s objects of type ``ct`` the user may see).

    Children come from the catalog, scoped to the user; a sub-record
    collection's entries, newest first, from the collection (all of them
    share its ACL, so one check on the collection covers them)."""
    if not ct.collection:
        return catalog.children(request.site, request.user, context, content_type=ct.name,
                                sort=sort, reverse=reverse, offset=offset, limit=limit, extra=extra)
    found = collection_of(context, ct.name)
    if found is None or not request.has_permission(P.VIEW, found):
        return 0, []
    return len(found), found.newest(limit=offset + limit)[offset:]


def _section(request, context, ct, page, sort, reverse):
    offset = (page - 1) * PAGE_SIZE
    status = listing_views.chosen_status(request, ct)  # pupils: filtered by 学籍状态
    total, objs = _objects(request, context, ct, sort, reverse, offset, PAGE_SIZE,
                           extra=listing_views.status_query(request, status))
    t = request.localizer.translate
    opens = P.VIEW_RECORD if ct.personal else P.VIEW  # listed by VIEW; linked only where the user may open
    rows = [(request.resource_url(o) if request.has_permission(opens, o) else None,
             [cell(_column_value(o, c), t) for c in ct.columns]) for o in objs]
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    more = None
    if ct.collection and total > len(objs):
        more = request.resource_url(collection_of(context, ct.name))
    found = {"type": ct.name, "title": t(ct.title), "header": [t(c[1]) for c in ct.columns],
             "rows": rows, "total": total, "page": page, "pages": pages, "more": more, "status": "",
             "section": ct.section[1] if ct.section else None}
    found.update(listing_views.section_extras(request, context, ct, status))
    return found


def _parts(request, context):
    """The sections of a record: the types registered as its parts, in order."""
    return [_section(request, context, ct, 1, "title", False)
            for ct in content_registry(request.registry).parts_of(context.content_type)]


@view_config(context=Site, name="", permission=P.ACCOUNT, renderer="templates/home.pt")
def home(context, request):
    """The national root: its contents for those who may view it, otherwise the
    places where this user holds roles."""
    if request.has_permission(P.VIEW, context):
        return contents(context, request)
    return {"sections": [], "sort": "title", "reverse": False, "details": []}


@view_config(context=Container, name="", permission=P.VIEW, renderer="templates/contents.pt")
def contents(context, request):
    sort = request.params.get("sort", "title")
    sort = sort if sort in SORTS else "title"
    reverse = request.params.get("dir") == "desc"
    chosen = request.params.get("type")
    sections = []
    for ct in content.addable_types(context):
        page = _int(request.params.get("page"), 1, 1) if chosen in (None, ct.name) else 1
        sections.append(_section(request, context, ct, page, sort, reverse))
    details = _details(context, request)
    return {"sections": sections, "sort": sort, "reverse": reverse, "details": details}


EXPORT_FORMATS = ("csv", "xlsx")


def _export_type(context, request):
    """The registration of the type a listing export asks for (``type``); 400 if not one here."""
    if request.params.get("format") not in EXPORT_FORMATS:
        raise HTTPBadRequest()
    ct = content_registry(request.registry).find(request.params.get("type", ""))
    if ct is None or ct not in content_registry(request.registry).addable(context, collections=True):
        raise HTTPBadRequest()
    return ct


def _listing_status(request, ct):
    status = listing_views.chosen_status(request, ct)
    return status, listing_views.status_query(request, status)


def _listing_rows(context, request):
    """What a listing export asks clearance for (views/derivers.py): pupils' data only."""
    ct = _export_type(context, request)
    if approval_views.kind_of(request) == approvals.EXTERNAL and (not ct.personal or ct.external_columns is None):
        raise HTTPBadRequest()  # nothing of this type may go to an outside body: no approval to ask for
    if not ct.personal:
        return None
    count, _objs = _objects(request, context, ct, limit=1, extra=_listing_status(request, ct)[1])
    return count, (approvals.LISTING, ct.name, "")


@view_config(context=Container, name="export", permission=P.VIEW, require_reauth=True,
             clears_export=_listing_rows)
def export(context, request):
    """A listing of ``context``'s objects of one type (``type``) as ``format`` (csv or xlsx).

    Its gates are declared above: a recent password (ASVS 3.7.1) and, for
    personal data past the threshold or for an outside body, an export
    approval (G3/G4). An outside body gets the type's whitelist of
    de-identified columns, or nothing."""
    fmt = request.params["format"]
    ct = _export_type(context, request)
    sort = request.params.get("sort") if request.params.get("sort") in SORTS else "title"
    reverse = request.params.get("dir") == "desc"
    detail = dict(request.export_clearance)
    columns = None  # None: the type's own export columns (listing_views.export_table)
    if detail["audience"] == approvals.EXTERNAL:
        columns = ct.external_columns  # a whitelist, de-identified (G4); _listing_rows refused the rest
    status, extra = _listing_status(request, ct)
    total, objs = _objects(request, context, ct, sort, reverse, offset=0, limit=10**7, extra=extra)
    header, rows = listing_views.export_table(request, ct, objs, columns)
    if status:
        detail = dict(detail, status=status)
    audit.log(request, "export", context, rows=len(rows), type=ct.name, format=fmt, **detail)
    return download(rows, header, "%s-%s" % (context.__name__ or "root", ct.name), fmt)


def _bound_schema(request, context, ct, adding, editing=False):
    """The type's schema bound to this request; an edit form leaves out the
    sensitive fields the user may not see (display masks them instead)."""
    schema = ct.schema(request, context, adding)
    if ct.sensitive and editing and not request.has_permission(P.VIEW_SENSITIVE, context):
        schema = without_sensitive(schema, ct.sensitive)
    return schema.bind(request=request, context=context, adding=adding)


def _display(request, ct, schema, obj, node_name, value):
    """A field's value as shown: code labels, places and nationality by name, 是/否, dates,
    masking of sensitive fields (record_sections.value_text)."""
    return record_sections.value_text(request, ct, schema, obj, node_name, value)


def _details(context, request):
    ct = content.type_of(context)
    t = request.localizer.translate
    rows = []
    if ct is None or ct.schema is None:
        return rows
    schema = _bound_schema(request, context, ct, adding=False)
    for node in schema.children:
        if node.name == "csrf_token":
            continue
        value = getattr(context, node.name, None)
        rows.append((t(node.title), _display(request, ct, schema, context, node.name, value)))
    for label, value in ct.derived(context).items():
        rows.append((t(label), cell(value, t)))
    return rows


@view_config(context=Student, name="", permission=P.VIEW_RECORD, renderer="templates/record.pt")
def student_record(context, request):
    """The full record: every view of it is audited."""
    audit.log(request, "view-record", context)
    request.response.cache_control = "no-store"
    return {"details": [], "sections": _record_sections(context, request, placement=True),
            "parts": _parts(request, context),
            "history": _history_rows(context, request),
            "change": _pending(context, request),
            "tampered": _tampered(request, context)}


def _tampered(request, context):
    """True (and audited) when the stored record departs from its MAC (security.md D3)."""
    if integrity.check(context) == integrity.OK:
        return False
    audit.log(request, "integrity-failed", context, result=audit.FAILED)
    return True


def _record_sections(context, request, placement=False):
    """The record's fields grouped as on the 学籍卡 (record_sections.SECTIONS); with
    ``placement`` the school, class and grade open the 入学 section."""
    t = request.localizer.translate
    ct = content.type_of(context)
    schema = _bound_schema(request, context, ct, adding=False)
    found = record_sections.sections(request, ct, schema, context)
    if placement:
        derived = [(t(k), cell(v, t), "") for k, v in ct.derived(context).items()]
        for section in found:
            if section["key"] == "enrolment":
                section["rows"] = derived + section["rows"]
    return found


@view_config(context=Student, name="card", permission=P.VIEW_RECORD, renderer="templates/card.pt")
def student_card(context, request):
    """The A4 学籍卡: every field, grouped as on the record page, masked as on screen;
    audited like any full read."""
    audit.log(request, "view-record", context, via="card")
    t = request.localizer.translate
    ct = content.type_of(context)
    return {"sections": _record_sections(context, request),
            "placement": [(t(k), cell(v, t)) for k, v in ct.derived(context).items()],
            "parts": _parts(request, context),
            "printed": record_sections.printed_on()}


@view_config(context=Leaf, name="", permission=P.VIEW_RECORD, renderer="templates/record.pt")
@view_config(context=SubRecord, name="", permission=P.VIEW_RECORD, renderer="templates/record.pt")
def part_record(context, request):
    """A part of a pupil's record (a family member, a sub-record entry): audited like the record."""
    audit.log(request, "view-record", context)
    request.response.cache_control = "no-store"
    return {"details": _details(context, request), "sections": [], "parts": _parts(request, context),
            "history": [], "change": None, "tampered": False}


@view_config(context=Collection, name="", permission=P.VIEW, renderer="templates/contents.pt")
def collection_contents(context, request):
    """All of one sub-record collection, newest first, paged; exportable from its parent."""
    ct = content_registry(request.registry).get(context.type_name)
    page = _int(request.params.get("page"), 1, 1)
    section = _section(request, context.__parent__, ct, page, "title", False)
    return {"sections": [dict(section, more=None)], "sort": "title", "reverse": False, "details": [],
            "export_at": context.__parent__}


def _history_rows(context, request):
    return history_rows.rows(context, request, lambda req, obj, ct: _bound_schema(req, obj, ct, adding=False))


def _pending(context, request):
    change = review.pending_of(context)
    if change is None:
        return None
    t = request.localizer.translate
    ct = content.type_of(context)
    schema = _bound_schema(request, context, ct, adding=False)
    proposed = review.proposed(change)
    rows = []
    if review.moves_class(change):
        school = context.__parent__.__parent__
        target = school.get(proposed["klass"])
        rows.append((t(_("班级")), t(context.__parent__.title), t(target.title) if target is not None else "?"))
    for name in review.fields(change):
        if name in schema:
            rows.append((t(schema[name].title), _display(request, ct, schema, context, name, getattr(context, name)),
                         _display(request, ct, schema, context, name, proposed[name])))
    may_decide = chain.problem(request.site, request.user, change, request.registry) is None
    return {"state": t(review.STATE_LABELS[review.stage_of(change)]), "rows": rows, "by": change.requested_by[1],
            "reason": change.reason, "may_decide": may_decide,
            "may_withdraw": request.user is not None and change.requested_by[0] == request.user.userid}


@view_config(context=Student, name="review", request_method="POST", permission=P.VIEW_RECORD)
def review_action(context, request):
    """Approve, reject or withdraw the pending key-field change."""
    t = request.localizer.translate
    change = review.pending_of(context)
    action = request.POST.get("action")
    if change is None:
        request.session.flash(t(_("没有待审核的变更申请")))
        return HTTPSeeOther(request.resource_url(context))
    if action in ("approve", "reject") and not chain.may_take_step(request, change):
        raise HTTPForbidden()
    try:
        if action == "approve":
            review.approve(context, request.user, change.waiting_step, request.registry)
        elif action == "reject":
            review.reject(context, request.user, request.POST.get("reason", ""), request.registry)
        elif action == "withdraw":
            review.withdraw(context, request.user, request.registry)
        else:
            raise HTTPBadRequest()
    except review.ReviewError as exc:
        request.session.flash(t(exc.args[0]))
        return HTTPSeeOther(request.resource_url(context))
    request.session.flash(t(_("已处理：${state}", mapping={"state": t(review.STATE_LABELS[review.stage_of(change)])})))
    return HTTPSeeOther(request.resource_url(context))


def _form(request, schema, label):
    return deform.Form(schema, buttons=(deform.Button("save", title=request.localizer.translate(label)),),
                       formid="xueji-form")


@view_config(context=Container, name="add", permission=P.ADD, renderer="templates/form.pt")
def add(context, request):
    try:
        ct = content.get(request.params.get("type", ""))
    except KeyError:
        raise HTTPNotFound()
    if ct not in content_registry(request.registry).addable(context, collections=True):
        raise HTTPNotFound()
    schema = _bound_schema(request, context, ct, adding=True)
    form = _form(request, schema, _("添加"))
    t = request.localizer.translate
    heading = t(_("添加${type}", mapping={"type": t(ct.title)}))
    full = listing_views.class_size_warning(request, context)  # a warning, never a refusal
    if request.method == "POST":
        try:
            appstruct = form.validate(request.POST.items())
        except deform.ValidationFailure as failure:
            return {"form": failure.render(), "heading": heading, "warning": full}
        try:
            obj = content.create(ct.name, context, appstruct)
        except NameError_:
            return {"form": _name_taken(form, request), "heading": heading, "warning": full}
        request.session.flash(t(_("已添加：${title}", mapping={"title": t(obj.title)})))
        over = listing_views.class_size_warning(request, context)
        if over is not None:
            request.session.flash(over)
        return HTTPSeeOther(request.resource_url(obj))
    return {"form": form.render(), "heading": heading, "warning": full}


def _name_taken(form, request):
    error = colander.Invalid(form.schema, request.localizer.translate(_("该编号已存在")))
    form.widget.handle_error(form, error)
    return form.render()


@view_config(context=Node, name="edit", permission=P.EDIT, renderer="templates/form.pt")
def edit(context, request):
    ct = content.type_of(context)
    if ct is None or ct.schema is None:
        raise HTTPNotFound()
    schema = _bound_schema(request, context, ct, adding=False, editing=True)
    if ct.review_fields:
        schema.add(colander.SchemaNode(
            colander.String(), name="review_reason", title=_("变更理由"), missing="",
            validator=colander.Length(0, 500), widget=deform.widget.TextAreaWidget(rows=2),
            description=_("修改姓名、证件号码、性别、出生日期需经校长和教育局审核，请说明理由")))
    form = _form(request, schema, _("保存"))
    t = request.localizer.translate
    heading = t(_("编辑：${title}", mapping={"title": t(context.title)}))
    request.response.cache_control = "no-store"
    if request.method == "POST":
        try:
            appstruct = form.validate(request.POST.items())
        except deform.ValidationFailure as failure:
            return {"form": failure.render(), "heading": heading}
        return _save(context, request, ct, appstruct)
    current = {node.name: getattr(context, node.name, colander.null)
               for node in schema.children if node.name not in ("csrf_token", "review_reason")}
    if ct.personal:
        audit.log(request, "view-record", context, via="edit")
    return {"form": form.render(current), "heading": heading}


def _save(context, request, ct, appstruct):
    """Apply direct changes now; changes to review fields become a change request."""
    t = request.localizer.translate
    reason = appstruct.pop("review_reason", "")
    direct, reviewed = review.split_changes(context, appstruct, ct.review_fields)
    messages = []
    if reviewed:
        try:
            review.propose(context, reviewed, request.user, reason, request.registry)
            messages.append(t(_("关键信息的修改已提交审核（校长、教育局依次审核）")))
        except review.ReviewError as exc:
            messages.append(t(exc.args[0]))
    if direct:
        content.modify(context, direct)
        messages.append(t(_("已保存")))
    for message in messages or [t(_("没有修改"))]:
        request.session.flash(message)
    return HTTPSeeOther(request.resource_url(context))


@view_config(context=Node, name="delete", permission=P.DELETE, renderer="templates/delete.pt")
def delete(context, request):
    """Remove a node. A bureau, school or class must be empty first; a pupil's
    record goes with its family members (one person's record)."""
    t = request.localizer.translate
    blocked = isinstance(context, Container) and not isinstance(context, Student) and len(context) > 0
    if request.method == "POST" and not blocked:
        parent = context.__parent__
        title = t(context.title)
        parent.remove(context.__name__)
        request.session.flash(t(_("已删除：${title}", mapping={"title": title})))
        return HTTPSeeOther(request.resource_url(parent))
    return {"blocked": blocked, "path": resource_path(context)}
