"""The request for an export approval (xueji_site/approvals.py).

The scope is the page's node and is not a field: a request is always for the
node it was made on. ``export`` and ``conditions`` come pre-filled from the
refused export's link; the view checks them against the node.
"""
import colander
import deform

from xueji_site.exports import approvals
from xueji_site.kernel.i18n import _
from .base import FormSchema, Stripped


def _choices(request, labels):
    t = request.localizer.translate if request is not None else (lambda s: s)
    return [(key, t(label)) for key, label in labels.items()]


@colander.deferred
def _kind_widget(node, kw):
    return deform.widget.SelectWidget(values=_choices(kw.get("request"), approvals.KIND_LABELS))


@colander.deferred
def _export_widget(node, kw):
    exports = kw.get("exports") or (approvals.SEARCH,)
    labels = {key: approvals.EXPORT_LABELS[key] for key in exports}
    return deform.widget.SelectWidget(values=_choices(kw.get("request"), labels))


@colander.deferred
def _export_validator(node, kw):
    return colander.OneOf(list(kw.get("exports") or (approvals.SEARCH,)), msg_err=_("请从列表中选择"))


class ExportRequestSchema(FormSchema):
    export = colander.SchemaNode(colander.String(), title=_("导出内容"), widget=_export_widget,
                                 validator=_export_validator)
    conditions = colander.SchemaNode(colander.String(), widget=deform.widget.HiddenWidget(), missing="",
                                     validator=colander.Length(0, 500))
    rows = colander.SchemaNode(colander.Int(), title=_("导出行数（上限）"),
                               validator=colander.Range(1, approvals.MAX_ROWS,
                                                        min_err=_("行数至少为 1"),
                                                        max_err=_("行数不能超过 ${max}")))
    kind = colander.SchemaNode(colander.String(), title=_("用途"), widget=_kind_widget,
                               validator=colander.OneOf(approvals.KINDS, msg_err=_("请从列表中选择")),
                               default=approvals.INTERNAL)
    purpose = colander.SchemaNode(Stripped(), title=_("导出目的"), widget=deform.widget.TextAreaWidget(rows=3),
                                  validator=colander.Length(4, 500, min_err=_("请说明导出目的（至少 4 个字）"),
                                                            max_err=_("不能超过 500 个字")),
                                  description=_("说明用途、依据和数据的保管方式"))
    recipient = colander.SchemaNode(Stripped(), title=_("接收单位"), missing="",
                                    validator=colander.Length(0, 200, max_err=_("不能超过 200 个字")),
                                    description=_("对外提供时必填：接收数据的单位名称"))

    def validator(self, node, value):
        if value.get("kind") == approvals.EXTERNAL and not value.get("recipient"):
            error = colander.Invalid(node)
            error["recipient"] = _("对外提供须填写接收单位")
            raise error


def export_request_schema(request, exports):
    """The bound form schema; ``exports`` are the exports this node offers."""
    return ExportRequestSchema().bind(request=request, exports=tuple(exports))


class DecisionSchema(FormSchema):
    note = colander.SchemaNode(Stripped(), title=_("审批意见"), widget=deform.widget.TextAreaWidget(rows=2),
                               validator=colander.Length(2, 500, min_err=_("请填写审批意见"),
                                                         max_err=_("不能超过 500 个字")),
                               description=_("谁批准谁负责：请写明批准或不批准的依据"))


def decision_schema(request):
    return DecisionSchema().bind(request=request)
