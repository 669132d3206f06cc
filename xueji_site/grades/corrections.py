"""Changing a locked mark (成绩更正): a request with a reason, decided by the principal
on the approval chain. The pupil's history gets the request, the decision and,
once approved, the change itself with its before and after."""
from pyramid.traversal import find_root, resource_path

from xueji_site.grades import books, marks
from xueji_site.grades.entry import EntryError, check_entry, history_change
from xueji_site.kernel import chain, history
from xueji_site.kernel import permissions as P
from xueji_site.kernel.i18n import _

PROCESS = "grades-correction"
SCHOOL = "school"


def _school(request):
    klass = request.subject.__parent__
    return getattr(klass, "__parent__", None)


def _where(request):
    return request.subject, "grades", {}


def _parts(request):
    site = find_root(request.subject)
    payload = request.payload
    exam = books.get_exam(site, payload["exam"])
    sheet = exam.sheets.get(payload["class"]) if exam is not None else None
    return exam, sheet


def _before_decision(request, user, approve, extra):
    if not approve:
        return
    exam, sheet = _parts(request)
    if sheet is None:
        raise chain.ChainError(_("该考试或成绩表已不存在"), "gone")
    if sheet.value(request.payload["subject"], request.subject.__name__) != request.payload["before"]:
        raise chain.ChainError(_("此成绩在申请后已被修改，请驳回后重新申请"), "changed")


def _approved(request, registry):
    exam, sheet = _parts(request)
    payload = request.payload
    subject, key = payload["subject"], request.subject.__name__
    column = sheet.column(subject)
    column[sheet.index()[key]] = payload["after"]
    sheet.set_column(subject, column)
    decided = request.decisions[-1]
    history.record(request.subject, "grades-correction",
                   (history_change(exam, subject, payload["before"], payload["after"]),),
                   "%s (%s → %s)" % (request.reason, request.requested_by[1], decided[2]),
                   actor=(decided[1], decided[2]))


def _describe(request):
    return _("成绩更正")


def _history_changes(request):
    exam, sheet = _parts(request)
    if exam is None:
        return ()
    payload = request.payload
    return (history_change(exam, payload["subject"], payload["before"], payload["after"]),)


CORRECTION_PROCESS = chain.Process(
    name=PROCESS, label=_("成绩更正"), prefix="GC",
    steps=(chain.Step(SCHOOL, _("校长审批"), P.APPROVE_SCHOOL, _school),),
    working_days=5, before_decision=_before_decision, on_approved=_approved, describe=_describe,
    history="grades-correction", history_changes=_history_changes,
    subject_title=lambda r: _("学生 ${name}", mapping={"name": r.subject.name[:1] + "*"}),
    where=_where, audit="grades-correction")


def request_correction(exam, klass, subject, pupil, text, reason, user, registry=None):
    """Ask for a locked mark of ``pupil`` to become ``text``; returns the chain request."""
    setup = check_entry(exam, klass, subject, user)
    sheet = books.sheet_of(exam, klass)
    if sheet is None or not sheet.locked(subject):
        raise EntryError(_("此科目成绩未锁定，可直接修改"))
    if pupil.__name__ not in sheet.index():
        raise EntryError(_("不是本班学生"))
    if not (reason or "").strip():
        raise EntryError(_("更正成绩须填写原因"))
    try:
        after = marks.parse(text, setup)
    except marks.MarkError as exc:
        raise EntryError(exc.args[0])
    before = sheet.value(subject, pupil.__name__)
    if after == before:
        raise EntryError(_("新成绩与原成绩相同"))
    site = find_root(klass)
    if any(r.is_open and r.payload["exam"] == exam.id and r.payload["subject"] == subject
           for r in chain.requests_of(site, pupil, PROCESS)):
        raise EntryError(_("该学生已有待审批的成绩更正，请等待处理"))
    return chain.start(site, PROCESS, pupil, user, reason.strip(),
                       {"exam": exam.id, "class": resource_path(klass), "subject": subject,
                        "before": before, "after": after}, registry)
