"""The grades' forms: an exam's setup, and one subject's setup within it.

The choices depend on where the exam is set (a school's grades, the subjects of
those grades) and on today (the terms offered), so they are bound at form time
(``exam_schema(request, grades, subjects, terms)``)."""
import colander
import deform

from xueji_site.grades import codes
from xueji_site.kernel.i18n import _
from .base import FormSchema, Stripped

TITLE_LENGTH = 40
MAX_FULL = 1000  # 3276.7 is what a packed mark holds; no exam of ours has more than 750


def _labelled(request, pairs):
    t = request.localizer.translate if request is not None else (lambda s: s)
    return [(code, t(label)) for code, label in pairs]


def _cutoffs_ordered(node, value):
    a, b, c = value["cut_a"], value["cut_b"], value["cut_c"]
    if not 0 < c < b < a <= 100:
        raise colander.Invalid(node["cut_a"], _("等级分数线须满足：优秀 > 良好 > 合格 > 0，且不超过100%"))


def _weight(node, value):
    if not 0 <= value <= 10:
        raise colander.Invalid(node, _("权重须在0到10之间"))


class ExamSchema(FormSchema):
    title = colander.SchemaNode(
        Stripped(), title=_("考试名称"), validator=colander.Length(1, TITLE_LENGTH,
                                                                 max_err=_("不超过 ${max} 字")),
        description=_("如：2026学年第一学期期中考试"))
    kind = colander.SchemaNode(colander.String(), title=_("考试类型"),
                               validator=colander.OneOf([k for k, _l in codes.EXAM_KINDS],
                                                        msg_err=_("请从列表中选择")))
    term = colander.SchemaNode(colander.String(), title=_("学期"))
    grades = colander.SchemaNode(colander.Set(), title=_("年级"), validator=colander.Length(
        1, min_err=_("请至少选择一个年级")))
    subjects = colander.SchemaNode(colander.Set(), title=_("科目"), validator=colander.Length(
        1, min_err=_("请至少选择一个科目")))
    scale = colander.SchemaNode(colander.String(), title=_("记分方式"), default=codes.SCORE,
                                validator=colander.OneOf([s for s, _l in codes.SCALES], msg_err=_("请从列表中选择")),
                                description=_("各科目的满分和记分方式可在考试页面逐科修改"))
    full = colander.SchemaNode(colander.Integer(), title=_("满分"), default=100,
                               validator=colander.Range(1, MAX_FULL, min_err=_("满分至少为1"),
                                                        max_err=_("满分不超过 ${max}")))
    weight = colander.SchemaNode(colander.Decimal(), title=_("计入学期成绩的权重"), default=1,
                                 validator=_weight, description=_("0 表示不计入学期成绩"))


def exam_schema(request, grades, subjects, terms):
    """``grades``: (number, label); ``subjects``: (code, label); ``terms``: (term, label)."""
    schema = ExamSchema().bind(request=request)
    schema["kind"].widget = deform.widget.SelectWidget(values=_labelled(request, codes.EXAM_KINDS))
    schema["term"].widget = deform.widget.SelectWidget(values=_labelled(request, terms))
    schema["term"].validator = colander.OneOf([t for t, _l in terms], msg_err=_("请从列表中选择"))
    schema["term"].default = terms[0][0] if terms else colander.null
    schema["grades"].widget = deform.widget.CheckboxChoiceWidget(values=_labelled(request, grades), inline=True)
    schema["grades"].validator = colander.All(schema["grades"].validator, _subset([str(g) for g, _l in grades]))
    schema["subjects"].widget = deform.widget.CheckboxChoiceWidget(values=_labelled(request, subjects), inline=True)
    schema["subjects"].validator = colander.All(schema["subjects"].validator, _subset([s for s, _l in subjects]))
    schema["scale"].widget = deform.widget.SelectWidget(values=_labelled(request, codes.SCALES))
    return schema


def _subset(allowed):
    def validate(node, value):
        if not set(value) <= set(allowed):
            raise colander.Invalid(node, _("请从列表中选择"))
    return validate


class SubjectSetupSchema(colander.MappingSchema):
    """One subject of an exam: its scale, full marks and level cut-offs (percent)."""
    scale = colander.SchemaNode(colander.String(), title=_("记分方式"),
                                validator=colander.OneOf([s for s, _l in codes.SCALES], msg_err=_("请从列表中选择")))
    full = colander.SchemaNode(colander.Integer(), title=_("满分"), missing=100,
                               validator=colander.Range(1, MAX_FULL, min_err=_("满分至少为1"),
                                                        max_err=_("满分不超过 ${max}")))
    cut_a = colander.SchemaNode(colander.Decimal(), title=_("优秀线（%）"), missing=85)
    cut_b = colander.SchemaNode(colander.Decimal(), title=_("良好线（%）"), missing=75)
    cut_c = colander.SchemaNode(colander.Decimal(), title=_("合格线（%）"), missing=60)

    def __init__(self, *args, **kw):
        super().__init__(*args, validator=_cutoffs_ordered, **kw)
