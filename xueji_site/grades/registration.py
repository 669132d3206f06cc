"""The grades package's registrations: its role, who may do what with grades on
which node, the family-view ceiling per stage, and the correction process."""
from xueji_site.grades import codes, policy
from xueji_site.grades.corrections import CORRECTION_PROCESS
from xueji_site.kernel import permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.kernel.security import BUREAU_ADMIN, GUARDIAN, HEAD_TEACHER, PRINCIPAL, TEACHER
from xueji_site.kernel.settings import Setting

ACADEMIC_ADMIN = "academic_admin"  # 教务员: terms, exams, assignments, locks
DEFAULT_CEILINGS = {codes.PRIMARY: policy.SCORES, codes.JUNIOR: policy.SCORES, codes.SENIOR: policy.RANKS}

MANAGERS = {P.VIEW, P.READ_GRADES, P.ENTER_GRADES, P.MANAGE_GRADES}


def includeme(config):
    config.add_role(ACADEMIC_ADMIN, _("教务员"), 55, ("School",))
    for stage, ceiling in DEFAULT_CEILINGS.items():
        config.add_setting(Setting(
            policy.SETTING + stage, policy.ceiling_parser(stage), ceiling,
            "the most a school may show families of %s pupils: levels, scores or ranks "
            "(ranks only in senior high: 教基厅函〔2021〕34号)" % stage))
    config.extend_content_type("Bureau", permissions={BUREAU_ADMIN: {P.READ_GRADES, P.MANAGE_GRADES}})
    config.extend_content_type("School", permissions={
        BUREAU_ADMIN: {P.READ_GRADES, P.MANAGE_GRADES}, PRINCIPAL: MANAGERS, ACADEMIC_ADMIN: MANAGERS})
    config.extend_content_type("SchoolClass", permissions={
        BUREAU_ADMIN: {P.READ_GRADES}, PRINCIPAL: MANAGERS, ACADEMIC_ADMIN: MANAGERS,
        HEAD_TEACHER: {P.READ_GRADES, P.ENTER_GRADES}, TEACHER: {P.ENTER_GRADES}})
    config.extend_content_type("Student", permissions={
        BUREAU_ADMIN: {P.READ_GRADES}, PRINCIPAL: {P.VIEW, P.READ_GRADES}, ACADEMIC_ADMIN: {P.VIEW, P.READ_GRADES},
        HEAD_TEACHER: {P.READ_GRADES}, GUARDIAN: {P.OWN_GRADES}})
    # what may be viewed is viewable all the way down (catalog scoping relies on it), as for teachers
    config.extend_content_type("FamilyMember", permissions={ACADEMIC_ADMIN: {P.VIEW}})
    config.extend_content_type("Archive", permissions={ACADEMIC_ADMIN: {P.VIEW}})  # graduates' transcripts
    config.add_approval_process(CORRECTION_PROCESS)
