"""Views every registered type gets: contents (paged, sortable, exportable),
view, add, edit and delete — generated from the registry and the schemas."""
import colander
import deform
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.traversal import resource_path
from pyramid.view import view_config

from xueji_site import audit, catalog, content, permissions as P
from xueji_site.folder import Container, NameError_
from xueji_site.i18n import _
from xueji_site.idnumbers import mask
from xueji_site.resources import Site, Student
from xueji_site.schemas.student import without_sensitive
from .tables import cell, download

PAGE_SIZE = 50
SORTS = ("title", "name", "modified")


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
    rows = [(request.resource_url(o), [cell(_column_value(o, c), t) for c in ct.columns]) for o in objs]
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


def _export(context, request, type_name, sort, reverse):
    try:
        ct = content.get(type_name)
    except KeyError:
        raise HTTPBadRequest()
    if ct not in content.addable_types(context):
        raise HTTPBadRequest()
    t = request.localizer.translate
    total, objs = catalog.children(request.site, request.user, context, content_type=ct.name,
                                   sort=sort, reverse=reverse, offset=0, limit=10**7)
    rows = [[cell(_column_value(o, c), t) for c in ct.columns] for o in objs]
    fmt = request.params["export"]
    audit.log(request, "export", context, rows=len(rows), type=ct.name, format=fmt)
    return download(rows, [t(c[1]) for c in ct.columns], "%s-%s" % (context.__name__ or "root", ct.name), fmt)


def _bound_schema(request, context, ct, adding):
    schema = ct.schema(request, context, adding)
    if ct.sensitive and not adding and not request.has_permission(P.VIEW_SENSITIVE, context):
        schema = without_sensitive(schema)
    return schema.bind(request=request, context=context, adding=adding)


def _display(request, ct, schema, obj, node_name, value):
    """A field's value as shown: code labels, dates, masking of sensitive fields."""
    t = request.localizer.translate
    node = schema[node_name]
    if node_name in ct.sensitive and not request.has_permission(P.VIEW_SENSITIVE, obj):
        return mask(value or "")
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
    return {"details": _details(context, request)}


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


@view_config(context=Container, name="edit", permission=P.EDIT, renderer="templates/form.pt")
@view_config(context=Student, name="edit", permission=P.EDIT, renderer="templates/form.pt")
def edit(context, request):
    ct = content.type_of(context)
    if ct is None or ct.schema is None:
        raise HTTPNotFound()
    schema = _bound_schema(request, context, ct, adding=False)
    form = _form(request, schema, _("保存"))
    t = request.localizer.translate
    heading = t(_("编辑：${title}", mapping={"title": t(context.title)}))
    request.response.cache_control = "no-store"
    if request.method == "POST":
        try:
            appstruct = form.validate(request.POST.items())
        except deform.ValidationFailure as failure:
            return {"form": failure.render(), "heading": heading}
        changes = content.modify(context, appstruct)
        request.session.flash(t(_("已保存") if changes else _("没有修改")))
        return HTTPSeeOther(request.resource_url(context))
    current = {node.name: getattr(context, node.name, colander.null)
               for node in schema.children if node.name != "csrf_token"}
    if isinstance(context, Student):
        audit.log(request, "view-record", context, via="edit")
    return {"form": form.render(current), "heading": heading}


@view_config(context=Container, name="delete", permission=P.DELETE, renderer="templates/delete.pt")
@view_config(context=Student, name="delete", permission=P.DELETE, renderer="templates/delete.pt")
def delete(context, request):
    t = request.localizer.translate
    blocked = isinstance(context, Container) and len(context) > 0
    if request.method == "POST" and not blocked:
        parent = context.__parent__
        title = t(context.title)
        parent.remove(context.__name__)
        request.session.flash(t(_("已删除：${title}", mapping={"title": title})))
        return HTTPSeeOther(request.resource_url(parent))
    return {"blocked": blocked, "path": resource_path(context)}
