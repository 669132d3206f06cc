"""The field inventory: what the registry collects, why, on what basis and for
how long (security.md G1, G2; PIPL art. 6, 13, 19, 31).

Each type registers its table (``inventory=`` of ``add_content_type``, made
with ``uses``): every field of its form appears there exactly once (a test
compares each registered type's table with its schema, so a new field cannot
slip in unexplained), and the privacy notice shows it. Two bases:

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


def uses(basis, purpose, retention, *names):
    """{name: Use} for fields sharing one basis, purpose and retention."""
    return {name: Use(basis, purpose, retention) for name in names}


def purpose_label(use):
    """A purpose's text: a key of PURPOSES, or a registration's own translation string."""
    return PURPOSES.get(use.purpose, use.purpose)


def consent_fields(table):
    """The fields of an inventory table that are stored only with a recorded consent."""
    return tuple(name for name, use in table.items() if use.basis == CONSENT)


# The form's record of consent itself (a field of a record's schema, not data collected).
CONSENT_FIELD = "optional_consent"
