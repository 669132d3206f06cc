"""Batch modification on a school or a class: choose a field, a value and the
classes; preview every change (each record validated whole); apply."""
import colander
import deform
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.view import view_config

from xueji_site.kernel import audit, content, permissions as P
from xueji_site.record import batch, review
from xueji_site.kernel.i18n import _
from xueji_site.tree.nodes import School, SchoolClass
from xueji_site.schemas.base import FormSchema


def _field_node(request, context, name):
    """A copy of the record schema's node for ``name`` (or the class choice)."""
    if name == review.CLASS:
        school = context if isinstance(context, School) else context.__parent__
        t = request.localizer.translate
        choices = [(key, t(school[key].title)) for key in school.keys()]
        return colander.SchemaNode(colander.String(), name="value", title=_("调入班级"),
                                   widget=deform.widget.SelectWidget(values=choices),
                                   validator=colander.OneOf([k for k, _label in choices]))
    schema = content.get("Student").schema(request, context, False)
    node = schema[name].clone()
    node.name = "value"
    node.missing = colander.required if not isinstance(node.typ, colander.Boolean) else False
    return node


def _form(request, context, name):
    schema = FormSchema()
    schema.add(_field_node(request, context, name))
    if isinstance(context, School):
        t = request.localizer.translate
        schema.add(colander.SchemaNode(
            colander.Set(), name="classes", title=_("范围（班级）"), missing=(),
            widget=deform.widget.CheckboxChoiceWidget(values=[(k, t(context[k].title)) for k in context.keys()]),
            description=_("不选即为全校")))
    schema = schema.bind(request=request, context=context, adding=False)
    t = request.localizer.translate
    return deform.Form(schema, formid="batch-form", buttons=(deform.Button("preview", title=t(_("预览修改"))),))


def _field_choices(request, context):
    t = request.localizer.translate
    schema = content.get("Student").schema(request, context, False)
    choices = [(name, t(schema[name].title)) for name in batch.FIELDS if name in schema]
    return choices + [(review.CLASS, t(_("班级（调班，需审核）")))]


@view_config(context=School, name="batch", permission=P.EDIT, renderer="templates/batch.pt")
@view_config(context=SchoolClass, name="batch", permission=P.EDIT, renderer="templates/batch.pt")
def batch_edit(context, request):
    field_name = request.params.get("field")
    page = {"fields": _field_choices(request, context), "field": field_name, "form": None, "plan": None}
    if field_name is None:
        return page
    if field_name not in batch.FIELDS:
        raise HTTPBadRequest()
    form = _form(request, context, field_name)
    if request.method != "POST":
        page["form"] = form.render()
        return page
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        page["form"] = failure.render()
        return page
    students = batch.students_in(request, context, values.get("classes"))
    plan = batch.plan(request, students, field_name, values["value"])
    if "apply" in request.POST:
        return _apply(context, request, plan)
    page.update(form=form.render(values), plan=_shown(request, context, plan), signature=plan.signature(),
                posted=[(k, v) for k, v in request.POST.items() if k not in ("preview", "apply", "signature")])
    return page


def _apply(context, request, plan):
    t = request.localizer.translate
    if request.POST.get("signature") != plan.signature():
        request.session.flash(t(_("记录在预览后发生了变化，请重新预览")))
        return HTTPSeeOther(request.resource_url(context, "batch", query={"field": plan.field}))
    changed, proposed, refused = batch.apply(request, plan)
    audit.log(request, "batch-modify", context, field=plan.field, changed=changed, proposed=proposed,
              refused=refused, invalid=len(plan.invalid))
    request.session.flash(t(_("批量修改完成：已修改 ${changed} 人，提交审核 ${proposed} 人，未处理 ${other} 人",
                              mapping={"changed": changed, "proposed": proposed,
                                       "other": refused + len(plan.invalid)})))
    return HTTPSeeOther(request.resource_url(context))


def _shown(request, context, plan):
    t = request.localizer.translate
    node = _field_node(request, context, plan.field)
    labels = dict(getattr(node.widget, "values", ()) or ())

    def show(value):
        if isinstance(value, bool):
            return t(_("是") if value else _("否"))
        return labels.get(value, "" if value is None else str(value))
    return [{"name": row.student.name, "klass": t(row.student.__parent__.title), "before": show(row.before),
             "after": show(row.after), "error": row.error, "url": request.resource_url(row.student)}
            for row in plan.rows]
