"""What the registry collects about a pupil and a family member, why, on what
basis and for how long (security.md G1, G2; PIPL art. 6, 13, 19, 31).

Every field of the record forms appears here exactly once (a test compares
this table with the schemas, so a new field cannot slip in unexplained), and
the privacy notice shows it. Two bases:

- ``statutory``: the national 学籍 form and the rules for keeping it
  (《中小学生学籍管理办法》) oblige the school to hold the field; no consent is
  asked (PIPL art. 13(1)(3)).
- ``consent``: optional extras no rule requires. They are stored only with a
  recorded consent — the guardian's for a pupil under 14 (PIPL art. 31) —
  ticked on the record form and kept, with who and when, in the record's
  history and the audit log; without it the form refuses them. Photos follow
  the same rule through their own upload (photos.py).

Retention: ``archive`` fields follow the pupil into the graduate archive and
lose their sensitive parts after ``xueji.retention_years`` (retention.py);
``school`` fields are kept while the pupil is at school and are not carried
into the archive.
"""
from collections import namedtuple

from xueji_site.kernel.i18n import _

STATUTORY, CONSENT = "statutory", "consent"
ARCHIVE, SCHOOL = "archive", "school"
Use = namedtuple("Use", "basis purpose retention")

BASIS_LABELS = {STATUTORY: _("法定职责（学籍管理规定）"), CONSENT: _("同意（未满14周岁由监护人同意）")}
RETENTION_LABELS = {ARCHIVE: _("在读期间；毕业后转入档案，超过保存年限后删除证件号等敏感项"),
                    SCHOOL: _("在读期间；不转入毕业档案")}
PURPOSES = {
    "identity": _("识别学生，一人一号，防止重复学籍"),
    "enrolment": _("入学、编班、升级、转学、毕业等学籍管理"),
    "support": _("教育统计，资助、随迁子女、留守儿童等政策落实"),
    "health": _("随班就读、特殊教育和健康保障"),
    "contact": _("与学生家庭联系，送达通知"),
    "safety": _("上下学和寄宿安全、校车安排"),
    "guardian": _("确认监护人，办理需监护人申请的事项"),
    "profile": _("特长发展和学校与家庭的日常联系（选填）"),
}


def _uses(basis, purpose, retention, *names):
    return {name: Use(basis, purpose, retention) for name in names}


STUDENT = {
    **_uses(STATUTORY, "identity", ARCHIVE, "name", "former_name", "gender", "birth_date", "ethnicity",
            "nationality", "id_type", "id_number", "registry_no"),
    **_uses(STATUTORY, "identity", SCHOOL, "birthplace", "native_place", "id_valid_until", "hmt_status",
            "household_place", "household_type"),
    **_uses(STATUTORY, "enrolment", SCHOOL, "political_status", "provincial_no", "seat_no", "enrolled_on",
            "enrolment_mode", "attendance_mode", "source"),
    **_uses(STATUTORY, "health", SCHOOL, "health", "disability", "inclusive"),
    **_uses(STATUTORY, "contact", SCHOOL, "current_address", "mailing_address", "home_address", "phone",
            "postcode"),
    **_uses(STATUTORY, "support", SCHOOL, "only_child", "preschool", "left_behind", "migrant_child", "orphan",
            "martyr_child", "needs_aid", "boarding_subsidy", "bought_place"),
    **_uses(STATUTORY, "safety", SCHOOL, "school_bus", "distance_km", "commute_mode"),
    **_uses(STATUTORY, "guardian", SCHOOL, "guardian_name", "guardian_relation", "guardian_id_number",
            "guardian_phone"),
    **_uses(CONSENT, "profile", SCHOOL, "specialty", "email"),
}

FAMILY = {
    **_uses(STATUTORY, "guardian", SCHOOL, "name", "relation", "is_guardian", "id_type", "id_number", "phone"),
    **_uses(STATUTORY, "support", SCHOOL, "ethnicity", "household_place", "address", "employer", "position"),
}

# The form's record of consent itself (a field of the Student schema, not data collected).
CONSENT_FIELD = "optional_consent"
CONSENT_FIELDS = tuple(name for name, use in STUDENT.items() if use.basis == CONSENT)


def rows(table, translate):
    """(field title, purpose, basis, retention) for the privacy notice, given the schema's titles."""
    return [(translate(BASIS_LABELS[use.basis]), translate(PURPOSES[use.purpose]),
             translate(RETENTION_LABELS[use.retention]), name) for name, use in table.items()]
