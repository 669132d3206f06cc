"""Graduation (毕业 / 结业 / 肄业) of a cohort in one action.

Compulsory schools act alone; a senior high school applies and its county
bureau approves (shared/reference/domain.md (c)): the application waits in
``site.graduation_queue`` keyed by the school's path and cohort, so a bureau
finds what waits under it with one key-range read. Pupils with business
under way — a status change (``open_change``) or a reviewed key-field change
(``pending_change``) — block the whole action and are listed.

Each graduate gets a certificate number (certificates.py), sealed on the
record, entered in the verification index, and counted for statistics.
"""
import datetime
import time

from BTrees.OIBTree import OIBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from pyramid.traversal import find_root, resource_path

from xueji_site.graduates import certificates, destinations, verification
from xueji_site.standards import codes
from xueji_site.kernel import history
from xueji_site.status import changes as workflow
from xueji_site.kernel.crypto import keyring
from xueji_site.kernel.i18n import _

OUTCOMES = (workflow.GRADUATED, workflow.COMPLETED, workflow.INCOMPLETE)
SENIOR_ONLY = (workflow.COMPLETED, workflow.INCOMPLETE)


class GraduationError(ValueError):
    """``args[0]`` is a translation string; ``args[1]`` (optional) the blocking pupils."""


def certificate_of(record):
    """The clear certificate number of a pupil or archived graduate ('' if none)."""
    return keyring().open("certificate", getattr(record, "_sealed_certificate", None))


def cohorts(school):
    """Cohort years of the school's classes, newest first."""
    return sorted({k.cohort for k in school.values() if getattr(k, "content_type", None) == "SchoolClass"},
                  reverse=True)


def pupils(school, cohort):
    """Pupils of ``cohort`` in ``school``, class by class (one cohort: hundreds, not more)."""
    for klass in school.values():
        if getattr(klass, "content_type", None) == "SchoolClass" and klass.cohort == cohort:
            for pupil in klass.values():
                if getattr(pupil, "content_type", None) == "Student":
                    yield pupil


def is_blocked(pupil):
    pending = getattr(pupil, "pending_change", None)
    return pupil.open_change is not None or (pending is not None and getattr(pending, "open", False))


def candidates(school, cohort):
    """(who graduates: enrolled pupils, who blocks it)."""
    found, blocking = [], []
    for pupil in pupils(school, cohort):
        if is_blocked(pupil):
            blocking.append(pupil)
        elif pupil.status == workflow.ENROLLED:
            found.append(pupil)
    return found, blocking


def needs_bureau(school):
    return school.level == codes.LEVEL_SENIOR


def months_enrolled(pupil, on):
    """Whole months from ``enrolled_on`` (YYYYMM) to ``on``; None when unknown."""
    text = str(getattr(pupil, "enrolled_on", "") or "")
    if len(text) != 6 or not text.isdigit():
        return None
    return (on.year - int(text[:4])) * 12 + on.month - int(text[4:])


def check_outcome(school, pupil, outcome, on):
    if outcome not in OUTCOMES:
        raise GraduationError(_("未知的离校结果"))
    if outcome in SENIOR_ONLY and school.level != codes.LEVEL_SENIOR:
        raise GraduationError(_("结业、肄业仅适用于普通高中"))
    if outcome == workflow.INCOMPLETE:
        months = months_enrolled(pupil, on)
        if months is None or months < 12:
            raise GraduationError(_("肄业须在校学习满一年：${name}", mapping={"name": pupil.name}))


def check(school, cohort, outcomes, on):
    """The pupils who would graduate, or GraduationError (with the blocking pupils)."""
    found, blocking = candidates(school, cohort)
    if blocking:
        raise GraduationError(_("有学生尚有未办结的业务，不能办理毕业"), blocking)
    if not found:
        raise GraduationError(_("该届没有可办理毕业的在籍学生"))
    for pupil in found:
        check_outcome(school, pupil, outcomes.get(pupil.__name__, workflow.GRADUATED), on)
    return found


def next_serial(school, year):
    """The next certificate serial of ``school`` in ``year``. A plain counter:
    two graduations at once conflict and one retries, so serials never repeat."""
    serials = getattr(school, "certificate_serials", None)
    if serials is None:
        serials = school.certificate_serials = OIBTree()
    serial = serials.get(str(year), 0) + 1
    if serial > certificates.MAX_SERIAL:
        raise GraduationError(_("本年度证书编号已用完"))
    serials[str(year)] = serial
    return serial


def graduate(school, cohort, outcomes=None, on=None, note=""):
    """Apply graduation to the cohort now; returns [(pupil, certificate number)]."""
    outcomes = outcomes or {}
    on = on or datetime.date.today()
    done = []
    for pupil in check(school, cohort, outcomes, on):
        outcome = outcomes.get(pupil.__name__, workflow.GRADUATED)
        done.append((pupil, _graduate_one(school, pupil, outcome, on, note)))
    return done


def _graduate_one(school, pupil, outcome, on, note):
    number = certificates.make(school.code, on.year, outcome, next_serial(school, on.year))
    before = pupil.status
    pupil.status = outcome
    pupil._sealed_certificate = keyring().seal("certificate", number)
    pupil.graduation_year = on.year
    pupil.left_on = on
    history.record(pupil, "status-changed", (("status", before, outcome),), note=note or "graduation")
    verification.register(find_root(school), number, pupil.name, school.title, on.year, outcome)
    destinations.count_outcome(school, on.year, outcome)
    workflow.reindex(pupil)
    return number


# -- senior high: the school applies, the bureau approves -------------------------

class Application(Persistent):
    def __init__(self, school, cohort, outcomes, user):
        self.school = school
        self.cohort = cohort
        self.outcomes = dict(outcomes)
        self.requested_by = (user.userid, user.login)
        self.requested_at = time.time()


def queue_of(site):
    queue = getattr(site, "graduation_queue", None)
    if queue is None:
        queue = site.graduation_queue = OOBTree()
    return queue


def _key(school, cohort):
    return "%s/%04d" % (resource_path(school), cohort)


def apply(school, cohort, outcomes, user, on=None):
    """A senior school's application: checked now, applied when the bureau approves."""
    check(school, cohort, outcomes, on or datetime.date.today())
    queue = queue_of(find_root(school))
    if _key(school, cohort) in queue:
        raise GraduationError(_("该届的毕业申请已在审核中"))
    queue[_key(school, cohort)] = Application(school, cohort, outcomes, user)


def waiting(school_or_bureau):
    """Applications waiting at or under the node, from one key range."""
    site = find_root(school_or_bureau)
    prefix = resource_path(school_or_bureau).rstrip("/") + "/"
    queue = getattr(site, "graduation_queue", None) or OOBTree()
    return list(queue.values(min=prefix, max=prefix + "\uffff"))


def decide(application, approve, on=None):
    """Approve (graduate now) or reject an application; it leaves the queue either way."""
    school = application.school
    done = []
    if approve:  # raises (application kept) if a pupil became blocked meanwhile
        done = graduate(school, application.cohort, application.outcomes, on, note="graduation (bureau approved)")
    del queue_of(find_root(school))[_key(school, application.cohort)]
    return done
