"""休学期满: pupils whose approved suspension has ended while they are still suspended.

An approved 休学 names its end (``suspended_until``, status/changes.py). From
that day the school must act: a 复学, or a renewed 休学 (in senior high, a pupil
more than a month overdue counts as having left: domain.md (c)). The
``resume_due`` index holds the end date of every pupil still suspended, so
the daily ``xueji-remind`` and the to-do page find them without walking the
tree; the reminder goes to whoever may start a status change at the pupil's
school, once a day, audited.
"""
import datetime

from hypatia.field import FieldIndex
from hypatia.query import Le
from pyramid.i18n import TranslationString

from xueji_site.kernel import audit, evolve, mail, permissions as P
from xueji_site.kernel.catalog import SYSTEM, scoped_ids
from xueji_site.kernel.i18n import _
from xueji_site.record.statuses import SUSPENDED
from xueji_site.standards.deidentify import masked_name
from xueji_site.tree.places import is_compulsory, school_of

INDEX = "resume_due"
SUBJECT = _("【学籍系统】休学期满待复学")
BODY = _("您好：\n\n${school}${klass}学生${name}的休学已于${due}期满，至今未办理复学。\n"
         "请联系监护人办理复学，或续办休学。${senior}\n\n请登录学籍管理系统，在“待办”中查看。\n")
SENIOR = _("高中阶段逾期一个月以上未复学的，按退学处理。")


def disc_resume_due(obj, default):
    """The day (an ordinal) a suspended pupil's 休学 ends; nothing for anyone else."""
    until = getattr(obj, "suspended_until", None)
    if getattr(obj, "content_type", None) != "Student" or obj.status != SUSPENDED or until is None:
        return default
    return until.toordinal()


def overdue(site, today=None, user=SYSTEM):
    """Pupils in ``user``'s scope whose 休学 ended by ``today``, longest overdue first."""
    today = today or datetime.date.today()
    ids = scoped_ids(site, user, Le(site.catalog[INDEX], today.toordinal()))
    found = [site.docmap.get(docid) for docid in ids]
    return sorted((s for s in found if s is not None), key=lambda s: (s.suspended_until, s.name))


def message(translate, student, recipients, sender):
    klass = student.__parent__
    school = school_of(student)
    mapping = {"school": school.title, "klass": translate(klass.title), "name": masked_name(student.name),
               "due": student.suspended_until.isoformat(),
               "senior": "" if is_compulsory(school, klass.grade()) else translate(SENIOR)}
    return mail.Message(subject=translate(SUBJECT), sender=sender, recipients=[u.email for u in recipients],
                        body=translate(TranslationString(BODY, mapping=mapping)))


def remind(site, mailer, translate, sender, today=None, registry=None, dry_run=False):
    """Tell each overdue pupil's school, at most once a day; return (pupils, people told)."""
    today = today or datetime.date.today()
    pupils = told = 0
    for student in overdue(site, today):
        if getattr(student, "resume_reminded_on", None) == today:
            continue
        pupils += 1
        if dry_run:
            continue
        recipients = mail.approvers(site, school_of(student), P.REQUEST_CHANGE, registry, "Student")
        if recipients:
            mailer.send(message(translate, student, recipients, sender))
        audit.log(None, "resumption-due", student, site=site, due=student.suspended_until, told=len(recipients))
        student.resume_reminded_on = today
        told += len(recipients)
    return pupils, told


def step_0012_suspensions_due_for_resumption(site, batch=1000, commit=True):
    """Fill the new ``resume_due`` index from the pupils already suspended."""
    docids = list(site.catalog["content_type"]._fwd_index.get("Student", ()))
    evolve.reindex(site, [site.catalog[INDEX]], batch=batch, commit=commit, docids=docids)


def includeme(config):
    config.add_index(INDEX, lambda: FieldIndex(disc_resume_due))
    config.add_evolve_step("0012-suspensions-due-for-resumption", step_0012_suspensions_due_for_resumption)
