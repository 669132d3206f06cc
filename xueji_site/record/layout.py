"""The sections of a pupil's record, as on the 学籍卡: one definition for the record page,
the printed card (views/record_sections.py) and the record form's fieldsets
(schemas/widgets.SectionedFormWidget).

A field no section names is shown under 其他 (OTHER), so a field added to the
schema later is never hidden by being forgotten here.
"""
from xueji_site.kernel.i18n import _

# (key, title, fields): the 学籍卡's sections, in its order.
SECTIONS = (
    ("basic", _("基本信息"), (
        "name", "former_name", "gender", "birth_date", "birthplace", "native_place", "ethnicity",
        "nationality", "id_type", "id_number", "id_valid_until", "registry_no", "hmt_status",
        "political_status", "health", "specialty", "optional_consent")),
    ("household", _("户籍"), ("household_place", "household_type")),
    ("enrolment", _("入学"), ("provincial_no", "seat_no", "enrolled_on", "enrolment_mode",
                             "attendance_mode", "source")),
    ("contact", _("联系方式"), ("current_address", "mailing_address", "home_address", "phone", "postcode",
                              "email")),
    ("family", _("家庭与监护"), ("guardian_name", "guardian_relation", "guardian_id_number", "guardian_phone")),
    ("circumstances", _("特殊情况"), (
        "only_child", "preschool", "left_behind", "migrant_child", "orphan", "martyr_child", "needs_aid",
        "boarding_subsidy", "bought_place", "school_bus", "distance_km", "commute_mode", "disability",
        "inclusive")),
)
OTHER = ("other", _("其他"))


def section_of(name):
    """The key of the section that holds field ``name`` (OTHER's for none)."""
    for key, _title, fields in SECTIONS:
        if name in fields:
            return key
    return OTHER[0]
