"""A family member or further guardian of a pupil.

The primary guardian is entered once, on the record itself (监护人姓名, 关系,
身份证号, 电话: the import, the API and the rule "a pupil without an ID number
needs the guardian's" read those fields). This form is for the other family
members, who may be guardians too; entering the primary guardian here again is
refused. Records that already hold the same person in both places keep both and
show both (views/record_sections.py).
"""
import colander

from xueji_site.standards import codes
from xueji_site.kernel.i18n import _
from xueji_site.standards.idnumbers import IdError, validate_resident_id
from .base import FormSchema, Stripped, person_name
from .student import ID_ERRORS, PHONE_PATTERN, _flag, _place, _select, _text


def _check_member(form, value):
    number = value.get("id_number")
    if value.get("id_type") == codes.ID_TYPE_RESIDENT and number:
        try:
            validate_resident_id(number)
        except IdError as exc:
            error = colander.Invalid(form, _("请更正标出的错误"))
            error["id_number"] = ID_ERRORS.get(exc.reason, ID_ERRORS["format"])
            raise error
    if value.get("is_guardian") and not (number and value.get("phone")):
        error = colander.Invalid(form, _("监护人须填写证件号码和联系电话"))
        error["id_number" if not number else "phone"] = _("监护人须填写证件号码和联系电话")
        raise error


def _same_person(student, value):
    """True when ``value`` describes the record's primary guardian."""
    guardian_id = (getattr(student, "guardian_id_number", "") or "").upper()
    number = (value.get("id_number") or "").upper()
    if guardian_id and number and guardian_id == number:
        return True
    name = getattr(student, "guardian_name", "") or ""
    return bool(name) and value.get("name") == name and value.get("relation") == (
        getattr(student, "guardian_relation", "") or value.get("relation"))


@colander.deferred
def _member_validator(node, kw):
    context, adding = kw.get("context"), kw.get("adding")
    student = context if adding else getattr(context, "__parent__", None)
    before = None if adding or context is None else {
        "name": context.name, "relation": context.relation, "id_number": context.id_number}

    def validate(form, value):
        _check_member(form, value)
        if student is None or getattr(student, "content_type", None) != "Student":
            return
        if before is not None and _same_person(student, before):
            return  # stored before this rule: kept and shown as it is
        if _same_person(student, value):
            error = colander.Invalid(form, _("此人已是学籍信息中的主要监护人，无需重复登记"))
            error["name"] = _("此人已是学籍信息中的主要监护人，无需重复登记；如需修改，请编辑学籍信息的“家庭与监护”")
            raise error
    return validate


def family_schema(request, context, adding):
    class FamilyMemberSchema(FormSchema):
        name = colander.SchemaNode(Stripped(), title=_("姓名"), validator=person_name())
        relation = _select(_("关系"), codes.RELATION)
        is_guardian = _flag(_("是否监护人"))  # a further guardian: the primary one is on the record
        id_type = _select(_("证件类型"), codes.ID_TYPE, required=False, default=codes.ID_TYPE_RESIDENT)
        id_number = _text(_("证件号码"), required=False, max_length=30)
        ethnicity = _select(_("民族"), codes.ETHNICITY, required=False)
        household_place = _place(_("户口所在地"), required=False)
        address = _text(_("住址"), required=False, max_length=200)
        phone = _text(_("联系电话"), required=False, max_length=20, validator=colander.Regex(
            PHONE_PATTERN, _("请填写11位手机号或带区号的固定电话")))
        employer = _text(_("工作单位"), required=False, max_length=100)
        position = _text(_("职务"), required=False, max_length=40)

    return FamilyMemberSchema(
        validator=_member_validator,
        description=_("主要监护人在学籍信息的“家庭与监护”中填写，此处登记其他家庭成员（也可以是监护人）。"))
