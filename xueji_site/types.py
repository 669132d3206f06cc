"""Registration of every record type: class, schema, containment, key, columns."""
import secrets

from . import codes, divisions, listing
from .content import ContentType, register
from .i18n import _
from .resources import Bureau, FamilyMember, School, SchoolClass, Site, Student
from xueji_site.schemas.family import family_schema
from xueji_site.schemas.student import student_schema
from xueji_site.schemas.tree import bureau_schema, class_schema, school_schema


def _child_key(prefix, parent):
    """Opaque and random: never derived from a name or an ID number."""
    while True:
        key = prefix + secrets.token_hex(6)
        if key not in parent:
            return key


def _student_key(appstruct, parent):
    """Stable across transfers: the record follows the pupil."""
    return _child_key("s", parent)


def _grade_label(obj):
    grade = obj.grade()
    return codes.GRADE_LABELS.get(grade, _("已毕业")) if grade else _("已毕业")


def _placement(student):
    """Where the pupil is now: school, class and grade (derived from the tree)."""
    klass = student.__parent__
    school = getattr(klass, "__parent__", None)
    if klass is None or school is None:
        return {}
    return {_("学校"): school.title, _("班级"): klass.title, _("年级"): _grade_label(klass)}


register(ContentType(
    name="Site", factory=Site, schema=None, title=_("全国"), add_to=()))

register(ContentType(
    name="Bureau", factory=Bureau, schema=bureau_schema, title=_("教育局"),
    add_to=("Site", "Bureau"),
    key=lambda a, parent: a["code"],
    columns=(("code", _("代码")), ("title", _("名称")),
             (lambda o: {"province": _("省级"), "city": _("市级"), "county": _("县级")}[o.level], _("级别"))),
    derived=lambda o: {_("级别"): {"province": _("省级"), "city": _("市级"), "county": _("县级")}[o.level],
                       _("行政区划"): divisions.name_of(o.code)},
))

register(ContentType(
    name="School", factory=School, schema=school_schema, title=_("学校"),
    add_to=("Bureau",),
    key=lambda a, parent: a["code"],
    columns=(("code", _("学校标识码")), ("title", _("学校名称")),
             (lambda o: codes.label(codes.SCHOOL_CATEGORY, o.category), _("类别"))),
    derived=lambda o: {_("类别"): codes.label(codes.SCHOOL_CATEGORY, o.category),
                       _("学段"): codes.LEVEL_LABELS[o.level]},
))

register(ContentType(
    name="SchoolClass", factory=SchoolClass, schema=class_schema, title=_("班级"),
    add_to=("School",),
    key=lambda a, parent: SchoolClass.key_for(a["cohort"], a["number"]),
    columns=listing.CLASS_COLUMNS,
    derived=lambda o: {_("年级"): _grade_label(o), _("在籍人数"): listing.class_enrolled(o),
                       _("名册人数（含休学等）"): listing.class_roll(o), _("班额"): listing.class_standard(o)},
))

register(ContentType(
    name="Student", factory=Student, schema=student_schema, title=_("学生"),
    add_to=("SchoolClass",),
    key=_student_key,
    columns=listing.STUDENT_COLUMNS,
    sensitive=Student.SENSITIVE,
    derived=lambda o: _placement(o),
    review_fields=Student.KEY_FIELDS,
))

register(ContentType(
    name="FamilyMember", factory=FamilyMember, schema=family_schema, title=_("家庭成员"),
    add_to=("Student",),
    key=lambda a, parent: _child_key("f", parent),
    columns=(("name", _("姓名")), (lambda o: codes.label(codes.RELATION, o.relation), _("关系")),
             (lambda o: _("是") if o.is_guardian else _("否"), _("监护人"))),
    sensitive=FamilyMember.SENSITIVE,
))
