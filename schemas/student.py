"""The student identity schema (the full record grows from here).

Rules from GB 11643 and the MoE registry: a resident ID number must pass the
check character, carry a real birth date not in the future, and agree with
the form's birth date and gender; the 学籍号 is derived (G + ID number) or,
for pupils without a usable ID, given in J or L form and validated.
"""
import datetime

import colander

from xueji_site import codes
from xueji_site.i18n import _
from xueji_site.idnumbers import (
    IdError, birth_date_of, gender_of, normalise, registry_no_from_id,
    validate_registry_no, validate_resident_id,
)
from .base import FormSchema, Stripped, date_widget, deferred_select, one_of_table, without

ID_ERRORS = {
    "length": _("身份证号应为18位（或15位旧号）"),
    "format": _("身份证号格式不正确：前17位应为数字，最后一位为数字或X"),
    "checksum": _("身份证号校验码不正确，请核对"),
    "date-or-place": _("身份证号中的出生日期或行政区划代码无效"),
    "date": _("号码中的出生日期无效"),
    "future": _("出生日期不能晚于今天"),
    "registry-format": _("学籍号应为19位：G、J 或 L 开头加18位"),
}

NAME_PATTERN = r"^[\u3400-\u9fffA-Za-z·•\. \-]{1,40}$"


def _prepare(value):
    """Normalise ID numbers and derive a G-form 学籍号 before validation."""
    if not isinstance(value, dict):
        return value
    value = dict(value)
    for key in ("id_number", "registry_no"):
        if isinstance(value.get(key), str):
            value[key] = normalise(value[key])
    if value.get("id_type") == codes.ID_TYPE_RESIDENT and len(value.get("id_number") or "") == 15:
        try:
            value["id_number"] = validate_resident_id(value["id_number"])
        except IdError:
            pass
    if value.get("id_type") == codes.ID_TYPE_RESIDENT and value.get("id_number") and not value.get("registry_no"):
        value["registry_no"] = registry_no_from_id(value["id_number"])
    return value


def _check_resident_id(form, value, errors):
    number = value.get("id_number")
    if not number:
        errors["id_number"] = _("证件类型为居民身份证时必须填写身份证号")
        return
    try:
        validate_resident_id(number)
    except IdError as exc:
        errors["id_number"] = ID_ERRORS.get(exc.reason, ID_ERRORS["format"])
        return
    if value.get("birth_date") and birth_date_of(number) != value["birth_date"]:
        errors["birth_date"] = _("出生日期与身份证号中的出生日期（${date}）不一致",
                                 mapping={"date": birth_date_of(number).isoformat()})
    if value.get("gender") in ("1", "2") and gender_of(number) != value["gender"]:
        errors["gender"] = _("性别与身份证号第17位不一致")


def _check_registry_no(value, errors):
    number = value.get("registry_no")
    if not number:
        errors["registry_no"] = _("无居民身份证号的学生必须填写 J 或 L 开头的学籍号")
        return
    try:
        validate_registry_no(number)
    except IdError as exc:
        errors["registry_no"] = ID_ERRORS.get(exc.reason, ID_ERRORS["registry-format"])
        return
    if value.get("birth_date") and number[0] in "JL" and number[7:15] != value["birth_date"].strftime("%Y%m%d"):
        errors["registry_no"] = _("学籍号中的出生日期与出生日期不一致")


@colander.deferred
def _identity_validator(node, kw):
    request, context, adding = kw.get("request"), kw.get("context"), kw.get("adding")

    def validate(form, value):
        errors = {}
        if "id_type" in value:  # absent when the editor may not see ID numbers
            if value["id_type"] == codes.ID_TYPE_RESIDENT:
                _check_resident_id(form, value, errors)
            if not errors.get("id_number") and value.get("registry_no"):
                _check_registry_no(value, errors)
            elif value["id_type"] != codes.ID_TYPE_RESIDENT:
                _check_registry_no(value, errors)
            if not errors and request is not None:
                _check_unique(request, context, adding, value, errors)
        if errors:
            exc = colander.Invalid(form, _("请更正标出的错误"))
            for name, msg in errors.items():
                exc[name] = msg
            raise exc
    return validate


def _check_unique(request, context, adding, value, errors):
    """One person, one record: the ID number's keyed hash must be new."""
    from xueji_site.catalog import find_student_by_hash
    from xueji_site.crypto import keyring
    me = None if adding else context
    for field, kind in (("id_number", "id"), ("registry_no", "registry")):
        number = value.get(field)
        if not number:
            continue
        found = find_student_by_hash(request, kind, keyring().blind(kind, number))
        if found is not None and found is not me:
            errors[field] = _("该号码已有学籍记录（一人一籍）；如学生转来，请办理转学")
            return


def student_schema(request, context, adding):
    today = datetime.date.today()

    class StudentIdentity(FormSchema):
        name = colander.SchemaNode(
            Stripped(), title=_("姓名"),
            validator=colander.Regex(NAME_PATTERN, _("姓名只能包含汉字、字母、间隔号·和空格，最多40字")),
        )
        gender = colander.SchemaNode(
            colander.String(), title=_("性别"),
            widget=deferred_select(codes.GENDER), validator=one_of_table(codes.GENDER),
        )
        birth_date = colander.SchemaNode(
            colander.Date(), title=_("出生日期"),
            validator=colander.Range(
                datetime.date(1950, 1, 1), today,
                min_err=_("出生日期不能早于 1950-01-01"), max_err=_("出生日期不能晚于今天")),
            widget=date_widget(),
        )
        ethnicity = colander.SchemaNode(
            colander.String(), title=_("民族"),
            widget=deferred_select(codes.ETHNICITY), validator=one_of_table(codes.ETHNICITY),
        )
        id_type = colander.SchemaNode(
            colander.String(), title=_("证件类型"), default=codes.ID_TYPE_RESIDENT,
            widget=deferred_select(codes.ID_TYPE), validator=one_of_table(codes.ID_TYPE),
        )
        id_number = colander.SchemaNode(
            Stripped(), title=_("证件号码"), missing="",
            description=_("居民身份证号18位；末位X可小写输入"),
            validator=colander.Length(0, 30),
        )
        registry_no = colander.SchemaNode(
            Stripped(), title=_("全国学籍号"), missing="",
            description=_("有身份证号的学生可留空，系统自动生成 G+身份证号"),
            validator=colander.Length(0, 19),
        )

    schema = StudentIdentity(validator=_identity_validator, preparer=_prepare)
    return schema


def without_sensitive(schema):
    """The same schema minus the ID fields, for editors who may not see them."""
    return without(schema, "id_type", "id_number", "registry_no")
