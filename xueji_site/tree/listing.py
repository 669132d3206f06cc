"""The columns of a school's list of classes: grade, and which count includes whom
(the enrolled, counted by the reports, and the whole roll) against the class-size
standard (tree/class_size.py)."""
from xueji_site.kernel.i18n import _
from xueji_site.standards import codes
from xueji_site.tree import class_size


def grade_label(klass):
    grade = klass.grade() if hasattr(klass, "grade") else None
    return codes.GRADE_LABELS.get(grade, _("已毕业")) if grade else _("已毕业")


def _size(klass):
    return class_size.of(klass)


def class_enrolled(klass):
    return _size(klass).enrolled


def class_roll(klass):
    return _size(klass).roll


def class_standard(klass):
    size = _size(klass)
    if not size.standard:
        return ""
    if size.excess:
        return _("超额 ${n} 人（标准 ${standard}）", mapping={"n": size.excess, "standard": size.standard})
    return _("标准 ${standard}", mapping={"standard": size.standard})


CLASS_COLUMNS = (
    ("title", _("班级")),
    ("cohort", _("级")),
    (grade_label, _("年级")),
    (class_enrolled, _("在籍人数")),
    (class_roll, _("名册人数（含休学等）")),
    (class_standard, _("班额")),
)
