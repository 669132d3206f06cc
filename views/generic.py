"""Views every registered type gets: contents (paged, sortable, exportable),
view, add, edit and delete — generated from the registry and the schemas."""
import colander
import deform
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.traversal import resource_path
from pyramid.view import view_config

from xueji_site import approvals, audit, catalog, codes, content, integrity, permissions as P
from xueji_site.folder import Container, NameError_
from xueji_site.i18n import _
from xueji_site.idnumbers import mask_field
from xueji_site.resources import FamilyMember, Node, Site, Student
from xueji_site.schemas.student import without_sensitive
from . import approvals as approval_views, reauth
from .tables import cell, download

PAGE_SIZE = 50
# The permission a node's own page needs, where it is not VIEW (a teacher lists pupils but may not open them).
OPEN_PERMISSION = {"Student": P.VIEW_RECORD, "FamilyMember": P.VIEW_RECORD}
SORTS = ("title", "modified")


def _int(value, default, low=0, high=10**6):
    try:
        return max(low, min(high, int(value)))
    except (TypeError, ValueError):
        return default


def _column_value(obj, column):
    getter = column[0]
    return getter(obj) if callable(getter) else getattr(obj, getter, None)


def _section(request, context, ct, page, sort, reverse):
    site = request.site
    offset = (page - 1) * PAGE_SIZE
    total, objs = catalog.children(site, request.user, context, content_type=ct.name,
                                   sort=sort, reverse=reverse, offset=offset, limit=PAGE_SIZE)
    t = request.localizer.translate
    opens = OPEN_PERMISSION.get(ct.name, P.VIEW)  # listed by VIEW; linked only where the user may open
    rows = [(request.resource_url(o) if request.has_permission(opens, o) else None,
             [cell(_column_value(o, c), t) for c in ct.columns]) for o in objs]
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return {"type": ct.name, "title": t(ct.title), "header": [t(c[1]) for c in ct.columns],
            "rows": rows, "total": total, "page": page, "pages": pages}


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
    if request.params.get("export") in ("csv", "xlsx"):
        return _export(context, request, chosen, sort, reverse)
    details = _details(context, request)
    return {"sections": sections, "sort": sort, "reverse": reverse, "details": details}


# What an external export of a listing shows (G4): a whitelist of columns,
# de-identified; a type without an entry cannot be exported externally.
EXTERNAL_COLUMNS = {
    "Student": ((lambda o: approvals.masked_name(o.name), _("姓名")),
                (lambda o: codes.label(codes.GENDER, o.gender), _("性别")),
                (lambda o: approvals.birth_month(o.birth_date), _("出生年月")),
                (lambda o: codes.label(codes.ETHNICITY, o.ethnicity), _("民族"))),
}


def _export(context, request, type_name, sort, reverse):
    stale = reauth.demand(request)  # a bulk copy needs a recent password (ASVS 3.7.1)
    if stale is not None:
        return stale
    try:
        ct = content.get(type_name)
    except KeyError:
        raise HTTPBadRequest()
    if ct not in content.addable_types(context):
        raise HTTPBadRequest()
    kind = approval_views.kind_of(request)
    columns, detail = ct.columns, {}
    if ct.name in approvals.PERSONAL_TYPES:  # pupils' data: G3/G4 approval rule
        if kind == approvals.EXTERNAL:
            columns = EXTERNAL_COLUMNS.get(ct.name)
            if columns is None:
                raise HTTPBadRequest()
        count, _objs = catalog.children(request.site, request.user, context, content_type=ct.name, limit=1)
        clearance = approval_views.demand(request, context, count, kind, (approvals.LISTING, ct.name, ""))
        if clearance.refusal is not None:
            return clearance.refusal
        detail = clearance.detail
    elif kind != approvals.INTERNAL:
        raise HTTPBadRequest()
    t = request.localizer.translate
    total, objs = catalog.children(request.site, request.user, context, content_type=ct.name,
                                   sort=sort, reverse=reverse, offset=0, limit=10**7)
    rows = [[cell(_column_value(o, c), t) for c in columns] for o in objs]
    fmt = request.params["export"]
    audit.log(request, "export", context, rows=len(rows), type=ct.name, format=fmt, **detail)
    return download(rows, [t(c[1]) for c in columns], "%s-%s" % (context.__name__ or "root", ct.name), fmt)


def _bound_schema(request, context, ct, adding, editing=False):
    """The type's schema bound to this request; an edit form leaves out the
    sensitive fields the user may not see (display masks them instead)."""
    schema = ct.schema(request, context, adding)
    if ct.sensitive and editing and not request.has_permission(P.VIEW_SENSITIVE, context):
        schema = without_sensitive(schema)
    return schema.bind(request=request, context=context, adding=adding)


def _display(request, ct, schema, obj, node_name, value):
    """A field's value as shown: code labels, dates, masking of sensitive fields."""
    t = request.localizer.translate
    node = schema[node_name]
    if node_name in ct.sensitive and not request.has_permission(P.VIEW_SENSITIVE, obj):
        return mask_field(node_name, value)
    widget = node.widget
    if isinstance(widget, deform.widget.SelectWidget):
        shown = dict(widget.values).get(value, value or "")
        return shown[len(value) + 1:] if value and shown.startswith(value + " ") else shown
    return cell(value, t)


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
    family_type = content.get("FamilyMember")
    return {"details": _details(context, request),
            "family": _section(request, context, family_type, 1, "title", False),
            "history": _history_rows(context, request),
            "change": _pending(context, request),
            "tampered": _tampered(request, context)}


def _tampered(request, context):
    """True (and audited) when the stored record departs from its MAC (security.md D3)."""
    if integrity.check(context) == integrity.OK:
        return False
    audit.log(request, "integrity-failed", context, result=audit.FAILED)
    return True


CARD_SECTIONS = (
    (_("基本信息"), ("name", "former_name", "gender", "birth_date", "birthplace", "native_place", "ethnicity",
                 "nationality", "id_type", "id_number", "id_valid_until", "registry_no", "hmt_status",
                 "political_status", "health", "disability", "inclusive")),
    (_("户籍与学籍"), ("household_place", "household_type", "specialty", "provincial_no", "seat_no",
                    "enrolled_on", "enrolment_mode", "attendance_mode", "source")),
    (_("联系方式"), ("current_address", "mailing_address", "home_address", "phone", "postcode", "email")),
    (_("其他情况"), ("only_child", "preschool", "left_behind", "migrant_child", "orphan", "martyr_child",
                  "needs_aid", "boarding_subsidy", "bought_place", "school_bus", "distance_km", "commute_mode")),
    (_("监护人"), ("guardian_name", "guardian_relation", "guardian_id_number", "guardian_phone")),
)


@view_config(context=Student, name="card", permission=P.VIEW_RECORD, renderer="templates/card.pt")
def student_card(context, request):
    """The A4 学籍卡: every field, grouped, masked as on screen; audited like any full read."""
    import datetime
    audit.log(request, "view-record", context, via="card")
    t = request.localizer.translate
    ct = content.type_of(context)
    schema = _bound_schema(request, context, ct, adding=False)
    sections = []
    for title, names in CARD_SECTIONS:
        rows = [(t(schema[n].title), _card_value(request, ct, schema, context, n)) for n in names if n in schema]
        sections.append((t(title), rows))
    family_type = content.get("FamilyMember")
    return {"sections": sections, "placement": [(t(k), cell(v, t)) for k, v in ct.derived(context).items()],
            "family": _section(request, context, family_type, 1, "title", False),
            "printed": datetime.date.today().isoformat()}


def _card_value(request, ct, schema, obj, name):
    value = getattr(obj, name, None)
    if isinstance(value, bool):
        return request.localizer.translate(_("是") if value else _("否"))
    return _display(request, ct, schema, obj, name, value)


@view_config(context=FamilyMember, name="", permission=P.VIEW_RECORD, renderer="templates/record.pt")
def member_record(context, request):
    audit.log(request, "view-record", context)
    return {"details": _details(context, request), "family": None, "history": [], "change": None,
            "tampered": False}


def _history_rows(context, request):
    import datetime
    from xueji_site import history
    t = request.localizer.translate
    ct = content.type_of(context)
    schema = _bound_schema(request, context, ct, adding=False)
    titles = {node.name: t(node.title) for node in schema.children}
    rows = []
    for when, _userid, login, kind, changes, note in history.entries(context):
        shown = ["%s: %s → %s" % (titles.get(f, f), before, after) for f, before, after in changes]
        rows.append((datetime.datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M"), login,
                     t(HISTORY_KINDS.get(kind, kind)), shown, note))
    return rows


HISTORY_KINDS = {"photo-changed": _("更换照片"), "photo-removed": _("删除照片"), "create": _("建立学籍"), "modify": _("修改"), "move": _("移动"),
                 "change-requested": _("提交关键信息变更"), "change-approved-school": _("学校审核通过"),
                 "change-rejected": _("变更被驳回"), "change-withdrawn": _("变更已撤回")}


def _pending(context, request):
    from xueji_site import review
    change = context.pending_change
    if change is None:
        return None
    t = request.localizer.translate
    ct = content.type_of(context)
    schema = _bound_schema(request, context, ct, adding=False)
    proposed = change.proposed()
    rows = []
    if change.moves_class:
        school = context.__parent__.__parent__
        target = school.get(proposed["klass"])
        rows.append((t(_("班级")), t(context.__parent__.title), t(target.title) if target is not None else "?"))
    for name in change.fields:
        if name in schema:
            rows.append((t(schema[name].title), _display(request, ct, schema, context, name, getattr(context, name)),
                         _display(request, ct, schema, context, name, proposed[name])))
    stage_permission = P.APPROVE_SCHOOL if change.state == review.SCHOOL else P.APPROVE_BUREAU
    may_decide = bool(request.has_permission(stage_permission, context))
    return {"state": t(review.STATE_LABELS[change.state]), "rows": rows, "by": change.requested_by[1],
            "reason": change.reason, "may_decide": may_decide,
            "may_withdraw": request.user is not None and change.requested_by[0] == request.user.userid}


@view_config(context=Student, name="review", request_method="POST", permission=P.VIEW_RECORD)
def review_action(context, request):
    """Approve, reject or withdraw the pending key-field change."""
    from pyramid.httpexceptions import HTTPForbidden
    from xueji_site import review
    t = request.localizer.translate
    change = context.pending_change
    action = request.POST.get("action")
    if change is None or not change.open:
        request.session.flash(t(_("没有待审核的变更申请")))
        return HTTPSeeOther(request.resource_url(context))
    stage_permission = P.APPROVE_SCHOOL if change.state == review.SCHOOL else P.APPROVE_BUREAU
    if action in ("approve", "reject") and not request.has_permission(stage_permission, context):
        raise HTTPForbidden()
    try:
        if action == "approve":
            review.approve(context, request.user, change.state)
        elif action == "reject":
            review.reject(context, request.user, request.POST.get("reason", ""))
        elif action == "withdraw":
            review.withdraw(context, request.user)
        else:
            raise HTTPBadRequest()
    except review.ReviewError as exc:
        request.session.flash(t(exc.args[0]))
        return HTTPSeeOther(request.resource_url(context))
    audit.log(request, "review-" + action, context, state=change.state)
    request.session.flash(t(_("已处理：${state}", mapping={"state": t(review.STATE_LABELS[change.state])})))
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
    if ct not in content.addable_types(context):
        raise HTTPNotFound()
    schema = _bound_schema(request, context, ct, adding=True)
    form = _form(request, schema, _("添加"))
    t = request.localizer.translate
    heading = t(_("添加${type}", mapping={"type": t(ct.title)}))
    if request.method == "POST":
        try:
            appstruct = form.validate(request.POST.items())
        except deform.ValidationFailure as failure:
            return {"form": failure.render(), "heading": heading}
        try:
            obj = content.create(ct.name, context, appstruct)
        except NameError_:
            return {"form": _name_taken(form, request), "heading": heading}
        request.session.flash(t(_("已添加：${title}", mapping={"title": t(obj.title)})))
        return HTTPSeeOther(request.resource_url(obj))
    return {"form": form.render(), "heading": heading}


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
    if isinstance(context, (Student, FamilyMember)):
        audit.log(request, "view-record", context, via="edit")
    return {"form": form.render(current), "heading": heading}


def _save(context, request, ct, appstruct):
    """Apply direct changes now; changes to review fields become a change request."""
    from xueji_site import review
    t = request.localizer.translate
    reason = appstruct.pop("review_reason", "")
    direct, reviewed = review.split_changes(context, appstruct, ct.review_fields)
    messages = []
    if reviewed:
        try:
            review.propose(context, reviewed, request.user, reason)
            audit.log(request, "review-request", context, fields=sorted(reviewed))
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
