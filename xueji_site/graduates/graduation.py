"""Graduation (毕业 / 结业 / 肄业) of a cohort in one action.

Compulsory schools act alone; a senior high school applies and its county
bureau approves (shared/reference/domain.md (c)): the application is a request
on the approval chain, so a bureau finds what waits under it in the chain's
one queue index. Pupils with business
under way — any open request on the approval chain (a status change, a reviewed key-field change)
(``pending_change``) — block the whole action and are listed.

Each graduate gets a certificate number (certificates.py), sealed on the
record, entered in the verification index, and counted for statistics.
"""
import datetime

from BTrees.OIBTree import OIBTree
from pyramid.traversal import find_root

from xueji_site.graduates import certificates, destinations, verification
from xueji_site.standards import codes
from xueji_site.kernel import chain, history, legacy, permissions as P
from xueji_site.status import changes as workflow
from xueji_site.kernel.crypto import keyring
from xueji_site.kernel.i18n import _
from xueji_site.tree.places import COUNTY, bureau_of

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
    return chain.has_open(find_root(pupil), pupil)


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
# An application is a request of the ``graduation`` process on the approval
# chain, about the school, with the cohort and the special outcomes in its
# payload; the school's county bureau decides it (approve-bureau there).

PROCESS = "graduation"


def apply(school, cohort, outcomes, user, on=None, registry=None):
    """A senior school's application: checked now, applied when the bureau approves."""
    check(school, cohort, outcomes, on or datetime.date.today())
    site = find_root(school)
    if any(r.state == chain.OPEN and r.payload["cohort"] == cohort
           for r in chain.requests_of(site, school, PROCESS)):
        raise GraduationError(_("该届的毕业申请已在审核中"))
    return chain.start(site, PROCESS, school, user, "", {"cohort": cohort, "outcomes": dict(outcomes)}, registry)


def waiting(school_or_bureau):
    """Applications decided at or under the node, from the chain's queue."""
    return chain.waiting_under(find_root(school_or_bureau), school_or_bureau, PROCESS)


def decide(application, user, approve, reason="", on=None, registry=None):
    """Approve (graduate now) or reject an application; it leaves the queue either way.

    Returns [(pupil, certificate number)] of an approval. A pupil who became
    blocked meanwhile refuses the approval, and the application stays."""
    site = find_root(application.subject)
    if approve:  # checked before anything is recorded
        check(application.subject, application.payload["cohort"], application.payload["outcomes"],
              on or datetime.date.today())
    application._v_on = on
    try:
        chain.decide(site, application, user, approve, reason, registry)
    except chain.ChainError as exc:
        raise GraduationError(exc.args[0])
    return getattr(application, "_v_graduated", [])


def _approved(application, registry):
    payload = application.payload
    # what the graduates got goes back to the caller in memory (``_v_``): numbers are sealed elsewhere
    application._v_graduated = graduate(application.subject, payload["cohort"], payload["outcomes"],
                                        getattr(application, "_v_on", None), note="graduation (bureau approved)")


def _describe(application):
    return _("${cohort}级毕业", mapping={"cohort": application.payload["cohort"]})


GRADUATION_PROCESS = chain.Process(
    name=PROCESS, label=_("毕业审批"), prefix="GR",
    steps=(chain.Step("county", _("县级教育局"), P.APPROVE_BUREAU,
                      lambda r: bureau_of(r.subject, COUNTY)),),
    on_approved=_approved, describe=_describe, audit="graduation",
    subject_title=lambda r: r.subject.title, where=lambda r: (r.waiting_node(), "graduation", {}))


# -- evolve: applications of the shape before the approval chain -------------------------

def step_0010_graduation_on_the_chain(site):
    """``site.graduation_queue`` (old Application objects keyed by school path and
    cohort) becomes open requests of the ``graduation`` process."""
    queue = site.__dict__.get("graduation_queue")
    moved = 0
    for application in list((queue or {}).values()):
        s = legacy.state_of(application)
        chain.restore(site, PROCESS, s["school"], None, s["requested_by"], s["requested_at"], "",
                      {"cohort": s["cohort"], "outcomes": dict(s.get("outcomes", {}))}, ("county",), 0,
                      chain.OPEN, (), s["requested_at"])
        moved += 1
    legacy.pop(site, "graduation_queue")
    return moved
