"""Schemas for the tree's structural nodes: bureau, school, class."""
import datetime

import colander

from xueji_site.standards import divisions
from xueji_site.kernel.i18n import _
from xueji_site.standards.idnumbers import IdError, validate_school_code
from xueji_site.tree.nodes import SchoolClass
from .base import FormSchema, Stripped, without
from xueji_site.tree.indexes import find_by_code

SCHOOL_ERRORS = {
    "school-format": _("学校标识码应为10位数字"),
    "school-category": _("学校标识码前两位不是有效的学校类别代码"),
    "school-province": _("学校标识码第3–4位不是有效的省级行政区划代码"),
}


def _ancestor_code(context, type_name):
    node = context
    while node is not None:
        if getattr(node, "content_type", None) == type_name:
            return node.code
        node = getattr(node, "__parent__", None)
    return None


@colander.deferred
def _bureau_code_validator(node, kw):
    parent, adding = kw["context"], kw.get("adding")

    def validate(node, value):
        if not (len(value) == 6 and value.isdigit()):
            raise colander.Invalid(node, _("行政区划代码应为6位数字"))
        if not divisions.is_known(value):
            raise colander.Invalid(node, _("不是已知的 GB/T 2260 行政区划代码"))
        if not adding:
            return
        above = _ancestor_code(parent, "Bureau")
        level = divisions.level_of(value)
        if above is None and level != divisions.LEVEL_PROVINCE:
            raise colander.Invalid(node, _("国家节点下只能添加省级教育局"))
        if above is not None:
            prefix = above[:2] if divisions.level_of(above) == divisions.LEVEL_PROVINCE else above[:4]
            if not value.startswith(prefix) or value == above or level == divisions.LEVEL_PROVINCE:
                raise colander.Invalid(
                    node, _("代码 ${code} 不属于上级教育局 ${parent}",
                            mapping={"code": value, "parent": above}))
        if value in parent:
            raise colander.Invalid(node, _("该代码已存在"))
    return validate


def bureau_schema(request, context, adding):
    class Bureau(FormSchema):
        code = colander.SchemaNode(
            Stripped(), title=_("行政区划代码"),
            description=_("GB/T 2260 六位代码，如 110105"),
            validator=_bureau_code_validator,
        )
        name = colander.SchemaNode(
            Stripped(), title=_("名称"), validator=colander.Length(1, 80),
            description=_("如：北京市朝阳区教育委员会"),
        )

    return Bureau() if adding else without(Bureau(), "code")


@colander.deferred
def _school_code_validator(node, kw):
    parent, request = kw["context"], kw.get("request")

    def validate(node, value):
        try:
            value = validate_school_code(value)
        except IdError as exc:
            raise colander.Invalid(node, SCHOOL_ERRORS[exc.reason])
        bureau_code = _ancestor_code(parent, "Bureau")
        if bureau_code and value[2:4] != bureau_code[:2]:
            raise colander.Invalid(
                node, _("学校标识码第3–4位应为本省代码 ${province}", mapping={"province": bureau_code[:2]}))
        if find_by_code(request, value) is not None:
            raise colander.Invalid(node, _("该学校标识码已被使用（学校标识码不可重复）"))
    return validate


def school_schema(request, context, adding):
    class School(FormSchema):
        code = colander.SchemaNode(
            Stripped(), title=_("学校标识码"),
            description=_("10位：2位类别 + 2位省份 + 6位序号"),
            validator=_school_code_validator,
        )
        name = colander.SchemaNode(Stripped(), title=_("学校名称"), validator=colander.Length(1, 80))
        address = colander.SchemaNode(Stripped(), title=_("学校地址"), missing="",
                                      validator=colander.Length(0, 200))
        phone = colander.SchemaNode(Stripped(), title=_("联系电话"), missing="",
                                    validator=colander.Regex(r"^[0-9+\- ]{0,20}$", _("电话号码格式不正确")))

    return School() if adding else without(School(), "code")


@colander.deferred
def _class_validator(node, kw):
    parent, adding = kw["context"], kw.get("adding")

    def validate(form, value):
        if adding and SchoolClass.key_for(value["cohort"], value["number"]) in parent:
            exc = colander.Invalid(form, _("该班级已存在"))
            exc["number"] = _("该年级已有此班号")
            raise exc
    return validate


def class_schema(request, context, adding):
    this_year = datetime.date.today().year

    class SchoolClassSchema(FormSchema):
        cohort = colander.SchemaNode(
            colander.Integer(), title=_("入学年份（级）"),
            validator=colander.Range(1990, this_year + 1,
                                     min_err=_("年份不能早于 ${min}"), max_err=_("年份不能晚于 ${max}")),
            default=this_year if datetime.date.today().month >= 9 else this_year - 1,
        )
        number = colander.SchemaNode(
            colander.Integer(), title=_("班号"),
            validator=colander.Range(1, 99, min_err=_("班号应在 1–99 之间"), max_err=_("班号应在 1–99 之间")),
        )
        name = colander.SchemaNode(Stripped(), title=_("班级名称（可选）"), missing="",
                                   validator=colander.Length(0, 40))

    schema = SchoolClassSchema(validator=_class_validator)
    return schema if adding else without(schema, "cohort", "number")
