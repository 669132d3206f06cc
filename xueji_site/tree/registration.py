"""The tree package's registrations (its ``includeme``): see the package's docstring."""
from xueji_site.kernel import permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.kernel.security import (
    BUREAU_ADMIN, HEAD_TEACHER, PRINCIPAL, SCHOOL_REGISTRAR, SECURITY_ADMIN, SYSADMIN, TEACHER)
from xueji_site.standards import codes, divisions
from xueji_site.tree import listing
from xueji_site.tree.listing import grade_label
from xueji_site.tree.nodes import Bureau, School, SchoolClass

LEVELS = {"province": _("省级"), "city": _("市级"), "county": _("县级")}


def _bureau_level(bureau):
    return LEVELS[bureau.level]


def _school_category(school):
    return codes.label(codes.SCHOOL_CATEGORY, school.category)


def _code_key(appstruct, parent):
    return appstruct["code"]


def _class_key(appstruct, parent):
    return SchoolClass.key_for(appstruct["cohort"], appstruct["number"])


def includeme(config):
    config.include("xueji_site.tree.indexes")
    config.add_role(BUREAU_ADMIN, _("教育局管理员"), 80, ("Bureau",), second_factor=True)
    config.add_role(PRINCIPAL, _("校长"), 60, ("School",))
    config.add_role(SCHOOL_REGISTRAR, _("学籍管理员"), 50, ("School",))
    config.add_role(HEAD_TEACHER, _("班主任"), 40, ("SchoolClass",))
    config.add_role(TEACHER, _("任课教师"), 30, ("SchoolClass",))

    # APPROVE_EXPORT (G3/G4): a principal approves the bulk exports of the
    # school's pupils, a bureau admin those of its subtree; exports/approvals.py
    # adds what permissions cannot say (never one's own request; an external
    # export only by a bureau admin of a bureau above).
    config.add_content_type(
        "Bureau", Bureau, title=_("教育局"), schema="xueji_site.schemas.tree:bureau_schema",
        add_to=("Site", "Bureau"), key=_code_key,
        columns=(("code", _("代码")), ("title", _("名称")), (_bureau_level, _("级别"))),
        derived=lambda o: {_("级别"): _bureau_level(o), _("行政区划"): divisions.name_of(o.code)},
        permissions={
            SYSADMIN: P.STRUCTURE_ADMIN,
            SECURITY_ADMIN: {P.VIEW, P.SHARE},
            BUREAU_ADMIN: {P.VIEW, P.ADD, P.EDIT, P.SHARE, P.APPROVE_BUREAU, P.GRADUATE, P.APPROVE_EXPORT},
        })
    config.add_content_type(
        "School", School, title=_("学校"), schema="xueji_site.schemas.tree:school_schema",
        add_to=("Bureau",), key=_code_key,
        columns=(("code", _("学校标识码")), ("title", _("学校名称")), (_school_category, _("类别"))),
        derived=lambda o: {_("类别"): _school_category(o), _("学段"): codes.LEVEL_LABELS[o.level]},
        permissions={
            SYSADMIN: P.STRUCTURE_ADMIN,
            SECURITY_ADMIN: {P.VIEW, P.SHARE},
            BUREAU_ADMIN: P.STRUCTURE_ADMIN | {P.GRADUATE, P.APPROVE_EXPORT},
            PRINCIPAL: {P.VIEW, P.SHARE, P.APPROVE_SCHOOL, P.GRADUATE, P.APPROVE_EXPORT},
            SCHOOL_REGISTRAR: {P.VIEW, P.ADD, P.EDIT, P.SHARE, P.GRADUATE},
        })
    config.add_content_type(
        "SchoolClass", SchoolClass, title=_("班级"), schema="xueji_site.schemas.tree:class_schema",
        add_to=("School",), key=_class_key,
        columns=listing.CLASS_COLUMNS,
        derived=lambda o: {_("年级"): grade_label(o), _("在籍人数"): listing.class_enrolled(o),
                           _("名册人数（含休学等）"): listing.class_roll(o), _("班额"): listing.class_standard(o)},
        permissions={
            SYSADMIN: P.STRUCTURE_ADMIN,
            SECURITY_ADMIN: {P.VIEW, P.SHARE},
            BUREAU_ADMIN: P.STRUCTURE_ADMIN | {P.APPROVE_EXPORT},
            PRINCIPAL: {P.VIEW, P.SHARE, P.APPROVE_EXPORT},
            SCHOOL_REGISTRAR: P.STRUCTURE_ADMIN,
            HEAD_TEACHER: {P.VIEW},
            TEACHER: {P.VIEW},
        })
