"""The columns of the pupils' and classes' listings, on screen and in exports.

The record's registration names these as the Student type's listing and
export columns (the classes' are in tree/listing.py). A column is
(getter, label); a getter takes the object (on screen) or the object and
whether the user may see its sensitive fields in full (exports).

Which count includes whom (issue 12, wrong result 4): a class's roll lists
every pupil whose record sits in the class, whatever the status (休学, 退学,
转出中 … stay on the roll until moved or archived); the statistics count the
enrolled (在籍) only. Listings therefore show each pupil's 学籍状态, filter by
it, and a class shows both numbers.
"""
from xueji_site.kernel.i18n import _
from xueji_site.kernel.masking import mask_field
from xueji_site.record.statuses import ENROLLED, STATUS_LABELS
from xueji_site.standards import codes


def status_label(obj):
    status = getattr(obj, "status", None) or ENROLLED
    return STATUS_LABELS.get(status, status)


def _gender(obj):
    return codes.label(codes.GENDER, obj.gender)


def _ethnicity(obj):
    return codes.label(codes.ETHNICITY, getattr(obj, "ethnicity", ""))


# -- on screen -------------------------------------------------------------------

STUDENT_COLUMNS = (
    ("name", _("姓名")),
    (_gender, _("性别")),
    ("birth_date", _("出生日期")),
    (_ethnicity, _("民族")),
    (status_label, _("学籍状态")),
)


# -- exports -----------------------------------------------------------------------

def _place(obj):
    klass = getattr(obj, "__parent__", None)
    return klass, getattr(klass, "__parent__", None)


def _sensitive(name):
    def get(obj, full):
        value = getattr(obj, name, None) or ""
        return value if full else mask_field(name, value)
    return get


def _export_grade(obj, full):
    klass, _school = _place(obj)
    grade = klass.grade() if hasattr(klass, "grade") else None
    return codes.GRADE_LABELS.get(grade, _("已毕业")) if grade else ""


# What a registrar needs in a file of pupils (internal exports): identity, placement,
# status, enrolment, the primary guardian. Sensitive fields (学籍号, phone) are masked
# unless the user holds view-sensitive on the pupil. External exports have their own,
# de-identified whitelist.
EXPORT_COLUMNS = (
    (lambda o, full: o.name, _("姓名")),
    (lambda o, full: _gender(o), _("性别")),
    (lambda o, full: getattr(o, "birth_date", None), _("出生日期")),
    (lambda o, full: _ethnicity(o), _("民族")),
    (lambda o, full: getattr(_place(o)[1], "title", ""), _("学校")),
    (lambda o, full: getattr(_place(o)[0], "title", ""), _("班级")),
    (_export_grade, _("年级")),
    (lambda o, full: status_label(o), _("学籍状态")),
    (_sensitive("registry_no"), _("全国学籍号")),
    (lambda o, full: getattr(o, "seat_no", "") or "", _("班内学号")),
    (lambda o, full: getattr(o, "enrolled_on", "") or "", _("入学年月")),
    (lambda o, full: codes.label(codes.ATTENDANCE_MODE, getattr(o, "attendance_mode", "")), _("就读方式")),
    (lambda o, full: getattr(o, "guardian_name", "") or "", _("监护人姓名")),
    (lambda o, full: codes.label(codes.RELATION, getattr(o, "guardian_relation", "")), _("监护人关系")),
    (_sensitive("guardian_phone"), _("监护人电话")),
)
