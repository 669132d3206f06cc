"""The student identity schema (the full record grows from here).

Rules from GB 11643 and the MoE registry: a resident ID number must pass the
check character, carry a real birth date not in the future, and agree with
the form's birth date and gender; the 学籍号 is derived (G + ID number) or,
for pupils without a usable ID, given in J or L form and validated.
"""
import datetime
import re

import colander
import deform

from xueji_site.record import layout as record_layout
from xueji_site.standards import codes, countries as nationalities, divisions
from xueji_site.kernel.i18n import _
from xueji_site.standards.idnumbers import (
    IdError, birth_date_of, gender_of, normalise, registry_no_from_id,
    validate_registry_no, validate_resident_id,
)
from xueji_site.kernel.inventory import CONSENT_FIELD
from xueji_site.record.inventory import CONSENT_FIELDS

from .base import FormSchema, Stripped, date_widget, deferred_select, one_of_table, person_name, without
from .widgets import PlaceWidget, SectionedFormWidget
from xueji_site.tree.nodes import school_year
from xueji_site.record.indexes import find_student_by_hash
from xueji_site.kernel.crypto import keyring
from xueji_site.kernel import permissions


ID_ERRORS = {
    "length": _("身份证号应为18位（或15位旧号）"),
    "format": _("身份证号格式不正确：前17位应为数字，最后一位为数字或X"),
    "checksum": _("身份证号校验码不正确，请核对"),
    "date-or-place": _("身份证号中的出生日期或行政区划代码无效"),
    "date": _("号码中的出生日期无效"),
    "future": _("出生日期不能晚于今天"),
    "registry-format": _("学籍号应为19位：G、J 或 L 开头加18位"),
}



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


def _check_identity(value, errors):
    if "id_type" not in value:  # absent when the editor may not see ID numbers
        return
    if value["id_type"] == codes.ID_TYPE_RESIDENT:
        _check_resident_id(None, value, errors)
    if not errors.get("id_number") and value.get("registry_no"):
        _check_registry_no(value, errors)
    elif value["id_type"] != codes.ID_TYPE_RESIDENT:
        _check_registry_no(value, errors)


def _check_guardian(value, errors):
    """A pupil without an ID number needs a guardian's (domain.md: 证件类型 Z)."""
    if "guardian_id_number" not in value:
        return
    pupil_has_id = value.get("id_type") == codes.ID_TYPE_RESIDENT or value.get("id_number")
    guardian_id = value.get("guardian_id_number")
    if "id_type" in value and not pupil_has_id and not guardian_id:
        errors["guardian_id_number"] = _("学生无证件号码时，必须填写监护人身份证号")
    elif guardian_id and re.match(r"^\d{17}[\dXx]$|^\d{15}$", guardian_id):
        try:
            validate_resident_id(guardian_id)
        except IdError as exc:
            errors["guardian_id_number"] = ID_ERRORS.get(exc.reason, ID_ERRORS["format"])
    if guardian_id and not value.get("guardian_name"):
        errors["guardian_name"] = _("填写监护人身份证号时须填写监护人姓名")


def _check_health(value, errors):
    if value.get("health") == "50" and not value.get("disability"):
        errors["disability"] = _("健康状况为“残疾”时须选择残疾类型")
    if value.get("disability") and value.get("health") not in (None, "50"):
        errors["health"] = _("已选择残疾类型，健康状况应为“残疾”")


def _check_consent(value, errors):
    """Optional extras (inventory.CONSENT_FIELDS) need a recorded consent (security.md G2)."""
    if CONSENT_FIELD not in value or value.get(CONSENT_FIELD):
        return
    for name in CONSENT_FIELDS:
        if value.get(name):
            errors[name] = _("选填信息须先取得同意（未满14周岁由监护人同意），并勾选“已取得选填信息的同意”")


def _check_dates(value, errors):
    born, enrolled = value.get("birth_date"), value.get("enrolled_on")
    if born and enrolled and enrolled < born.strftime("%Y%m"):
        errors["enrolled_on"] = _("入学年月不能早于出生日期")


def _check_age_for_grade(value, errors, klass):
    """The age on 1 September of this school year should suit the class's grade."""
    born = value.get("birth_date")
    grade = klass.grade() if hasattr(klass, "grade") else None
    if not born or grade is None:
        return
    age = school_year() - born.year - (1 if (born.month, born.day) > (9, 1) else 0)
    usual = grade + 5  # grade 1 starts at six
    low, high = usual - 2, usual + 4
    if not low <= age <= high:
        errors["birth_date"] = _("年龄（${age}岁）与所在年级不符：该年级通常为 ${low}–${high} 岁",
                                 mapping={"age": age, "low": low, "high": high})


@colander.deferred
def _identity_validator(node, kw):
    request, context, adding = kw.get("request"), kw.get("context"), kw.get("adding")
    klass = context if adding else getattr(context, "__parent__", None)

    def validate(form, value):
        errors = {}
        _check_identity(value, errors)
        _check_guardian(value, errors)
        _check_health(value, errors)
        _check_consent(value, errors)
        _check_dates(value, errors)
        if "birth_date" not in errors:
            _check_age_for_grade(value, errors, klass)
        if not errors and request is not None and "id_type" in value:
            _check_unique(request, context, adding, value, errors)
        if errors:
            exc = colander.Invalid(form, _("请更正标出的错误"))
            for name, msg in errors.items():
                exc[name] = msg
            raise exc
    return validate


def _check_unique(request, context, adding, value, errors):
    """One person, one record: the ID number's keyed hash must be new."""
    me = None if adding else context
    for field, kind in (("id_number", "id"), ("registry_no", "registry")):
        number = value.get(field)
        if not number:
            continue
        found = find_student_by_hash(request, kind, keyring().blind(kind, number))
        if found is not None and found is not me:
            errors[field] = _where_registered(request, found)
            return


def _where_registered(request, found):
    """Say where the existing record is, but only to someone who may see it."""
    if getattr(request, "has_permission", None) and request.has_permission(permissions.VIEW, found):
        klass = found.__parent__
        school = klass.__parent__
        translate = request.localizer.translate
        return _("该学生已在 ${school} ${klass} 注册学籍（一人一籍），不能重复注册",
                 mapping={"school": school.title, "klass": translate(klass.title)})
    return _("该号码已有学籍记录（一人一籍）；如学生转来，请办理转学")


PHONE_PATTERN = r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$"


def _division(node, value):
    """A GB/T 2260 code (6 digits) or a 12-digit statistical code starting with one."""
    if not re.match(r"^\d{6}(\d{6})?$", value):
        raise colander.Invalid(node, _("行政区划代码应为6位或12位数字"))
    if not divisions.is_known(value[:6]):
        raise colander.Invalid(node, _("不是已知的 GB/T 2260 行政区划代码"))


_division.import_kind = "place"  # imports also read names (浙江省杭州市上城区): xueji_site/importcells.py


def _yyyymm(node, value):
    if not re.match(r"^(19|20)\d{2}(0[1-9]|1[0-2])$", value):
        raise colander.Invalid(node, _("入学年月应为6位：年年年年月月，如 202409"))
    if value > datetime.date.today().strftime("%Y%m"):
        raise colander.Invalid(node, _("入学年月不能晚于本月"))


_yyyymm.import_kind = "month"  # imports also read 2026-09, 2026年9月, Excel dates


def _country_code():
    """A GB/T 2659 code from the list; imports also read names (中国) and other codes (CN, 156)."""
    check = colander.All(colander.Length(0, 3), _nationality)
    check.import_kind = "country"
    return check


def _select(title, table, required=True, default=colander.null, description=None):
    return colander.SchemaNode(
        colander.String(), title=title, widget=deferred_select(table), default=default,
        validator=one_of_table(table), missing=colander.required if required else "",
        description=description)


def _text(title, required=True, max_length=100, validator=None, description=None, widget=None):
    checks = [colander.Length(0, max_length)] + ([validator] if validator else [])
    extra = {"widget": widget} if widget is not None else {}
    return colander.SchemaNode(Stripped(), title=title, missing=colander.required if required else "",
                               validator=colander.All(*checks), description=description, **extra)


def _place(title, required=True, max_length=12, description=None):
    """A GB/T 2260 code, chosen with the place picker (schemas/widgets.PlaceWidget) or typed."""
    return _text(title, required=required, max_length=max_length, validator=_division,
                 description=description, widget=PlaceWidget())


@colander.deferred
def _nationality_widget(node, kw):
    request = kw.get("request")
    if request is None:
        return deform.widget.SelectWidget(values=nationalities.choices())
    blank = [("", request.localizer.translate(_("— 请选择 —")))]
    return deform.widget.SelectWidget(
        values=blank + nationalities.choices(request.locale_name, request.localizer.translate))


def _nationality(node, value):
    if not nationalities.is_known(value):
        raise colander.Invalid(node, _("请从列表中选择国籍/地区（GB/T 2659 三位字母代码，如 CHN）"))


def _flag(title):
    return colander.SchemaNode(colander.Boolean(), title=title, missing=False,
                               widget=deform.widget.CheckboxWidget())


def student_schema(request, context, adding):
    """The whole record (shared/reference/domain.md (b)); ★ fields required."""
    today = datetime.date.today()

    class StudentRecord(FormSchema):
        # -- identity
        name = colander.SchemaNode(Stripped(), title=_("姓名"), validator=person_name())
        former_name = _text(_("曾用名"), required=False, max_length=40, validator=person_name())
        gender = _select(_("性别"), codes.GENDER)
        birth_date = colander.SchemaNode(
            colander.Date(), title=_("出生日期"),
            validator=colander.Range(
                datetime.date(1950, 1, 1), today,
                min_err=_("出生日期不能早于 1950-01-01"), max_err=_("出生日期不能晚于今天")),
            widget=date_widget(),
        )
        birthplace = _place(_("出生地"), description=_("行政区划代码，6位或12位"))
        native_place = _place(_("籍贯"), max_length=6, description=_("6位行政区划代码"))
        ethnicity = _select(_("民族"), codes.ETHNICITY)
        nationality = colander.SchemaNode(
            Stripped(), title=_("国籍/地区"), default=nationalities.CHINA, widget=_nationality_widget,
            validator=_country_code(), description=_("GB/T 2659 三位字母代码"))
        id_type = _select(_("证件类型"), codes.ID_TYPE, default=codes.ID_TYPE_RESIDENT)
        id_number = _text(_("证件号码"), required=False, max_length=30,
                          description=_("居民身份证号18位；末位X可小写输入"))
        id_valid_until = colander.SchemaNode(colander.Date(), title=_("证件有效期"), missing=None,
                                             widget=date_widget())
        registry_no = _text(_("全国学籍号"), required=False, max_length=19,
                            description=_("有身份证号的学生可留空，系统自动生成 G+身份证号"))
        hmt_status = _select(_("港澳台侨外"), codes.HMT, default="00")
        political_status = _select(_("政治面貌"), codes.POLITICAL, required=False, default="13")
        health = _select(_("健康状况"), codes.HEALTH, default="10")
        disability = _select(_("残疾类型"), codes.DISABILITY, required=False,
                             description=_("健康状况为“残疾”时必填"))
        inclusive = _flag(_("随班就读"))
        # -- household
        household_place = _place(_("户口所在地"), description=_("行政区划代码，6位或12位"))
        household_type = _select(_("户口性质"), codes.HOUSEHOLD_TYPE)
        specialty = _text(_("特长"), required=False, max_length=100)
        # -- enrolment
        provincial_no = _text(_("学籍辅号"), required=False, max_length=30)
        seat_no = _text(_("班内学号"), required=False, max_length=10)
        enrolled_on = _text(_("入学年月"), max_length=6, validator=_yyyymm, description=_("如 202409"))
        enrolment_mode = _select(_("入学方式"), codes.ENROLMENT_MODE)
        attendance_mode = _select(_("就读方式"), codes.ATTENDANCE_MODE, default="1")
        source = _select(_("学生来源"), codes.SOURCE, required=False, default="1")
        # -- contact
        current_address = _text(_("现住址"), max_length=200)
        mailing_address = _text(_("通信地址"), max_length=200)
        home_address = _text(_("家庭地址"), max_length=200)
        phone = _text(_("联系电话"), max_length=20, validator=colander.Regex(
            PHONE_PATTERN, _("请填写11位手机号或带区号的固定电话")))
        postcode = _text(_("邮政编码"), max_length=6, validator=colander.Regex(
            r"^\d{6}$", _("邮政编码应为6位数字")))
        email = colander.SchemaNode(Stripped(), title=_("电子信箱"), missing="",
                                    validator=colander.Email(_("电子信箱格式不正确")))
        # -- circumstances
        only_child = _flag(_("独生子女"))
        preschool = _flag(_("受过学前教育"))
        left_behind = _select(_("留守儿童"), codes.LEFT_BEHIND, default="0")
        migrant_child = _flag(_("进城务工人员随迁子女"))
        orphan = _flag(_("孤儿"))
        martyr_child = _flag(_("烈士或优抚子女"))
        needs_aid = _flag(_("需要申请资助"))
        boarding_subsidy = _flag(_("享受一补"))
        bought_place = _flag(_("政府购买学位"))
        school_bus = _flag(_("乘坐校车"))
        distance_km = colander.SchemaNode(
            colander.Float(), title=_("上下学距离（公里）"), missing=None,
            validator=colander.Range(0, 300, min_err=_("距离不能为负"), max_err=_("距离不能超过 ${max} 公里")))
        commute_mode = _select(_("上下学方式"), codes.COMMUTE_MODE, required=False)
        # -- primary guardian
        guardian_name = _text(_("监护人姓名"), required=False, max_length=40, validator=person_name())
        guardian_relation = _select(_("监护人关系"), codes.RELATION, required=False)
        guardian_id_number = _text(_("监护人身份证号"), required=False, max_length=30,
                                   description=_("学生无证件号码时必填"))
        guardian_phone = _text(_("监护人电话"), required=False, max_length=20, validator=colander.Regex(
            PHONE_PATTERN, _("请填写11位手机号或带区号的固定电话")))
        # -- consent to the optional extras (特长, 电子信箱): see xueji_site/inventory.py
        optional_consent = colander.SchemaNode(
            colander.Boolean(), title=_("已取得选填信息的同意"), missing=False,
            widget=deform.widget.CheckboxWidget(),
            description=_("特长、电子信箱为选填信息，须经同意方可填写；未满14周岁学生须经监护人同意。取消勾选前请先清空这些信息。"))

    return StudentRecord(validator=_identity_validator, preparer=_prepare,
                         widget=SectionedFormWidget(sections=record_layout.SECTIONS))

