"""A family member or further guardian of a pupil."""
import colander

from xueji_site import codes
from xueji_site.i18n import _
from xueji_site.idnumbers import IdError, validate_resident_id
from .base import FormSchema, Stripped, person_name
from .student import ID_ERRORS, PHONE_PATTERN, _division, _flag, _select, _text


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


def family_schema(request, context, adding):
    class FamilyMemberSchema(FormSchema):
        name = colander.SchemaNode(Stripped(), title=_("姓名"), validator=person_name())
        relation = _select(_("关系"), codes.RELATION)
        is_guardian = _flag(_("是否监护人"))
        id_type = _select(_("证件类型"), codes.ID_TYPE, required=False, default=codes.ID_TYPE_RESIDENT)
        id_number = _text(_("证件号码"), required=False, max_length=30)
        ethnicity = _select(_("民族"), codes.ETHNICITY, required=False)
        household_place = _text(_("户口所在地"), required=False, max_length=12, validator=_division)
        address = _text(_("住址"), required=False, max_length=200)
        phone = _text(_("联系电话"), required=False, max_length=20, validator=colander.Regex(
            PHONE_PATTERN, _("请填写11位手机号或带区号的固定电话")))
        employer = _text(_("工作单位"), required=False, max_length=100)
        position = _text(_("职务"), required=False, max_length=40)

    return FamilyMemberSchema(validator=_check_member)
