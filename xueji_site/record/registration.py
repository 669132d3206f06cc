"""The record package's registrations (its ``includeme``): see the package's docstring."""
import secrets

from xueji_site.kernel import permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.kernel.security import (
    BUREAU_ADMIN, GUARDIAN, HEAD_TEACHER, PRINCIPAL, SCHOOL_REGISTRAR, SECURITY_ADMIN, SYSADMIN, TEACHER)
from xueji_site.record import inventory, listing, review
from xueji_site.record.models import FamilyMember, Student
from xueji_site.standards import codes
from xueji_site.standards.deidentify import birth_month, masked_name
from xueji_site.tree.listing import grade_label

# The fields masked on screen, in the history and the audit log, and left out
# of the edit form for those who may not see them (the sealed ones, plus
# disability, a health fact).
STUDENT_SENSITIVE = ("id_number", "registry_no", "current_address", "mailing_address", "home_address",
                     "phone", "email", "health", "disability", "guardian_id_number", "guardian_phone")
FAMILY_SENSITIVE = ("id_number", "address", "phone")
KEY_FIELDS = ("name", "id_number", "gender", "birth_date")  # changes wait for the principal and a bureau

# The record MAC's core fields, as stored (kernel/integrity.py).
STUDENT_MAC_FIELDS = (
    "__name__", "name", "former_name", "gender", "birth_date", "ethnicity", "nationality",
    "id_type", "status", "enrolled_on", "enrolment_mode", "graduation_year", "left_on",
    "id_hash", "registry_hash", "_sealed_id_number", "_sealed_registry_no", "_sealed_certificate",
)


def child_key(prefix, parent):
    """Opaque and random: never derived from a name or an ID number."""
    while True:
        key = prefix + secrets.token_hex(6)
        if key not in parent:
            return key


def _student_key(appstruct, parent):
    """Stable across transfers: the record follows the pupil."""
    return child_key("s", parent)


def _member_key(appstruct, parent):
    return child_key("f", parent)


def placement(student):
    """Where the pupil is now: school, class and grade (derived from the tree)."""
    klass = student.__parent__
    school = getattr(klass, "__parent__", None)
    if klass is None or school is None:
        return {}
    return {_("学校"): school.title, _("班级"): klass.title, _("年级"): grade_label(klass)}


def _gender(obj):
    return codes.label(codes.GENDER, obj.gender)


def _ethnicity(obj):
    return codes.label(codes.ETHNICITY, obj.ethnicity)


def _relation(obj):
    return codes.label(codes.RELATION, obj.relation)


def _is_guardian(obj):
    return _("是") if obj.is_guardian else _("否")


def includeme(config):
    config.add_approval_process(review.KEY_PROCESS)
    config.add_evolve_step("0008-key-changes-on-the-chain", review.step_0008_key_changes_on_the_chain)
    config.include("xueji_site.record.indexes")
    config.include("xueji_site.record.duplicates")
    config.include("xueji_site.record.removal")
    config.add_role(GUARDIAN, _("监护人"), 10, ("Student",))
    config.add_content_type(
        "Student", Student, title=_("学生"), schema="xueji_site.schemas.student:student_schema",
        add_to=("SchoolClass",), key=_student_key,
        columns=listing.STUDENT_COLUMNS, export_columns=listing.EXPORT_COLUMNS,
        # What an external export of a listing shows (G4): a whitelist of columns, de-identified.
        external_columns=((lambda o: masked_name(o.name), _("姓名")), (_gender, _("性别")),
                          (lambda o: birth_month(o.birth_date), _("出生年月")), (_ethnicity, _("民族"))),
        derived=placement, sensitive=STUDENT_SENSITIVE, review_fields=KEY_FIELDS,
        personal=True, inventory=inventory.STUDENT, inventory_title=_("学生"),
        keeps_history=True, history=True, mac_fields=STUDENT_MAC_FIELDS,
        permissions={
            # 三员分立 and least privilege (MLPS 8.1.4.2): the system administrator runs the
            # system, not the registry: records masked (no view-sensitive); one record in
            # full only through break-glass, with a reason, audited and alerted.
            SYSADMIN: {P.VIEW, P.VIEW_RECORD, P.ADD, P.EDIT, P.DELETE, P.SHARE, P.BREAK_GLASS},
            SECURITY_ADMIN: {P.VIEW, P.SHARE},
            # A registration made in error is cancelled (注销) through a status change, with a
            # reason and review, not deleted: only a sysadmin may delete a record, within
            # xueji.hard_delete_hours of its entry, its content sealed in the audit (removal.py).
            BUREAU_ADMIN: P.RECORD_FULL | {P.ADD, P.EDIT, P.MERGE, P.SHARE, P.APPROVE_BUREAU,
                                           P.REQUEST_CHANGE, P.TRACK_GRADUATES},
            PRINCIPAL: P.RECORD_FULL | {P.SHARE, P.APPROVE_SCHOOL, P.REQUEST_CHANGE, P.TRACK_GRADUATES,
                                        P.ISSUE_CODE},
            SCHOOL_REGISTRAR: P.RECORD_FULL | {P.ADD, P.EDIT, P.MERGE, P.SHARE, P.REQUEST_CHANGE,
                                               P.TRACK_GRADUATES, P.ISSUE_CODE},
            HEAD_TEACHER: {P.VIEW, P.VIEW_RECORD, P.ADD, P.EDIT},
            TEACHER: {P.VIEW},
            GUARDIAN: P.RECORD_FULL | {P.ISSUE_CODE, P.GUARDIAN_REQUEST},
        })
    # Family members are part of the record: who may read the record may read them.
    config.add_content_type(
        "FamilyMember", FamilyMember, title=_("家庭成员"), schema="xueji_site.schemas.family:family_schema",
        add_to=("Student",), key=_member_key,
        columns=(("name", _("姓名")), (_relation, _("关系")), (_is_guardian, _("监护人"))),
        sensitive=FAMILY_SENSITIVE, personal=True, inventory=inventory.FAMILY, inventory_title=_("家庭成员"),
        history=True, section=(10, "family"),
        permissions={
            SYSADMIN: {P.VIEW, P.VIEW_RECORD, P.EDIT, P.DELETE, P.BREAK_GLASS},
            SECURITY_ADMIN: {P.VIEW},
            BUREAU_ADMIN: P.RECORD_FULL | {P.EDIT, P.DELETE},
            PRINCIPAL: P.RECORD_FULL,
            SCHOOL_REGISTRAR: P.RECORD_FULL | {P.EDIT, P.DELETE},
            HEAD_TEACHER: {P.VIEW, P.VIEW_RECORD, P.EDIT, P.DELETE},
            TEACHER: {P.VIEW},
            GUARDIAN: P.RECORD_FULL,
        })
