"""Status changes (学籍异动): one explicit state machine.

``TYPES`` says, for each change type, from which statuses it may start, the
chain of approvals it needs, what the final approval does to the record,
and which rules of compulsory education forbid it. A chain step names a
kind of node (the pupil's school, its county bureau, its province — or, for
a transfer, the receiving ones); the approver is whoever holds the step's
permission on that node (principal: approve-school; bureau admin:
approve-bureau), so a bureau of another county is refused by the ordinary
ACLs. Basis: 教基一〔2013〕7号 as summarised in shared/reference/domain.md (c).
"""
import datetime
import time
from dataclasses import dataclass

import chinese_calendar
from persistent import Persistent
from persistent.list import PersistentList
from pyramid.traversal import find_root, resource_path

from xueji_site.standards import codes
from xueji_site.kernel import history, permissions as P
from xueji_site.kernel.i18n import _

from xueji_site.record.statuses import (  # noqa: F401  (the statuses, as this module's names)
    ABROAD, CANCELLED, COMPLETED, DECEASED, DROPPED_OUT, EDITABLE, ENROLLED, EXPELLED, GRADUATED, INCOMPLETE,
    STATUS_LABELS, SUSPENDED, TRANSFER_PENDING, TRANSFERRED_OUT, WITHDRAWN)

# -- chain steps ---------------------------------------------------------------
SCHOOL, COUNTY, PROVINCE = "school", "county", "province"
TO_SCHOOL, TO_COUNTY, TO_PROVINCE = "to_school", "to_county", "to_province"
STEP_LABELS = {SCHOOL: _("学校"), COUNTY: _("县级教育局"), PROVINCE: _("省级教育局"),
               TO_SCHOOL: _("转入学校"), TO_COUNTY: _("转入地县级教育局"), TO_PROVINCE: _("转入地省级教育局")}
STEP_PERMISSION = {SCHOOL: P.APPROVE_SCHOOL, TO_SCHOOL: P.APPROVE_SCHOOL}  # bureaus: approve-bureau
WORKING_DAYS_PER_STEP = 10


@dataclass(frozen=True)
class ChangeType:
    name: str
    label: object
    from_statuses: frozenset
    chain: tuple
    to_status: str
    not_in_compulsory: bool = False   # 退学, 开除, 留级 are not allowed in grades 1–9
    not_in_last_grade: bool = False   # no 留级 in 高三
    needs_target: bool = False        # transfers, 留级 and 跳级 name a class to go to


_ACTIVE = frozenset({ENROLLED, SUSPENDED})
TYPES = {t.name: t for t in (
    ChangeType("transfer", _("转学"), frozenset({ENROLLED}), (TO_SCHOOL, TO_COUNTY, SCHOOL, COUNTY), ENROLLED,
               needs_target=True),
    ChangeType("suspend", _("休学"), frozenset({ENROLLED}), (SCHOOL, COUNTY), SUSPENDED),
    ChangeType("resume", _("复学"), frozenset({SUSPENDED}), (SCHOOL, COUNTY), ENROLLED),
    ChangeType("withdraw", _("退学"), _ACTIVE, (SCHOOL, COUNTY), WITHDRAWN, not_in_compulsory=True),
    ChangeType("drop_out", _("辍学"), frozenset({ENROLLED}), (SCHOOL, COUNTY), DROPPED_OUT),
    ChangeType("expel", _("开除"), frozenset({ENROLLED}), (SCHOOL, COUNTY), EXPELLED, not_in_compulsory=True),
    ChangeType("death", _("死亡"), _ACTIVE | {TRANSFER_PENDING, DROPPED_OUT, ABROAD}, (SCHOOL, COUNTY), DECEASED),
    ChangeType("abroad", _("出国（境）"), _ACTIVE, (SCHOOL, COUNTY), ABROAD),
    ChangeType("repeat", _("留级"), frozenset({ENROLLED}), (SCHOOL, COUNTY), ENROLLED,
               not_in_compulsory=True, not_in_last_grade=True, needs_target=True),
    ChangeType("skip", _("跳级"), frozenset({ENROLLED}), (SCHOOL, COUNTY), ENROLLED, needs_target=True),
    ChangeType("reinstate", _("恢复学籍"), frozenset({WITHDRAWN, DROPPED_OUT, ABROAD, CANCELLED}),
               (SCHOOL, COUNTY), ENROLLED),
    ChangeType("cancel", _("注销"), frozenset({DECEASED, WITHDRAWN, EXPELLED, ABROAD, TRANSFERRED_OUT}),
               (SCHOOL, COUNTY), CANCELLED),
)}

OPEN, APPROVED, REJECTED, WITHDRAWN_REQUEST = "open", "approved", "rejected", "withdrawn"


class WorkflowError(ValueError):
    """``args[0]`` is a translation string saying why."""


# -- places ----------------------------------------------------------------------

def school_of(student):
    return student.__parent__.__parent__


def bureau_of(school, level):
    """The school's county (or city, for schools directly under a city) or province bureau."""
    node = school.__parent__
    bureaus = []
    while getattr(node, "content_type", None) == "Bureau":
        bureaus.append(node)
        node = node.__parent__
    if level == PROVINCE:
        return bureaus[-1] if bureaus else None
    return bureaus[0] if bureaus else None


def is_compulsory(school, grade):
    return school.level in (codes.LEVEL_PRIMARY, codes.LEVEL_JUNIOR) or (grade is not None and grade <= 9)


# -- the request -------------------------------------------------------------------

class StatusChange(Persistent):
    """One status change of one pupil, from request to decision."""

    def __init__(self, kind, student, user, reason, target_class=None, target_school=None):
        self.kind = kind
        self.requested_by = (user.userid, user.login)
        self.requested_at = time.time()
        self.reason = reason
        self.source_class = student.__parent__
        self.target_class = target_class
        # a guardian names the school; its principal picks the class when approving
        self.target_school = target_class.__parent__ if target_class is not None else target_school
        self.chain = chain_for(TYPES[kind], student, self.target_school)
        self.position = 0
        self.step_started = self.requested_at
        self.state = OPEN
        self.steps = PersistentList()   # (when, userid, login, step, decision, reason)
        self.attachments = PersistentList()

    @property
    def type(self):
        return TYPES[self.kind]

    @property
    def waiting_step(self):
        return self.chain[self.position] if self.state == OPEN else None

    def waiting_node(self, student):
        step = self.waiting_step
        return node_for_step(step, student, self.target_school) if step else None

    def due(self):
        """The step's deadline: 10 working days after it started (weekends and public holidays skipped)."""
        return add_working_days(datetime.date.fromtimestamp(self.step_started), WORKING_DAYS_PER_STEP)

    def overdue(self, today=None):
        return self.state == OPEN and (today or datetime.date.today()) > self.due()


def chain_for(change_type, student, target_school):
    chain = list(change_type.chain)
    if change_type.name == "transfer" and target_school is not None:
        source_province = bureau_of(school_of(student), PROVINCE)
        target_province = bureau_of(target_school, PROVINCE)
        if source_province is not target_province:  # across provinces: both provinces approve
            chain.insert(chain.index(TO_COUNTY) + 1, TO_PROVINCE)
            chain.append(PROVINCE)
    return tuple(chain)


def node_for_step(step, student, target_school):
    if step in (TO_SCHOOL, TO_COUNTY, TO_PROVINCE):
        school = target_school
    else:
        school = school_of(student)
    if step in (SCHOOL, TO_SCHOOL):
        return school
    return bureau_of(school, PROVINCE if step in (PROVINCE, TO_PROVINCE) else COUNTY)


def is_working_day(day):
    """A working day in mainland China: public holidays off, the weekend days worked in
    exchange (调休) on, from the ``chinesecalendar`` package's tables of the State
    Council's yearly arrangements. A year the package does not know yet (the next
    year's arrangement is published each November; upgrade the package then)
    falls back to Monday to Friday."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start, days):
    day = start
    while days > 0:
        day += datetime.timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day


def may_decide(request, change, student):
    """Whether the request's user may act on the step now waiting."""
    node = change.waiting_node(student)
    permission = STEP_PERMISSION.get(change.waiting_step, P.APPROVE_BUREAU)
    return node is not None and bool(request.has_permission(permission, node))


# -- starting, deciding, withdrawing ---------------------------------------------------

def check_allowed(kind, student, target_class=None, today=None, target_school=None):
    """Raise WorkflowError unless ``kind`` may start for ``student`` now."""
    change_type = TYPES.get(kind)
    if change_type is None:
        raise WorkflowError(_("未知的异动类型"))
    if getattr(student, "open_change", None) is not None:
        raise WorkflowError(_("该学生已有一项未办结的异动，一次只能办理一项"))
    if student.status not in change_type.from_statuses:
        raise WorkflowError(_("学籍状态为“${status}”时不能办理${kind}", mapping={
            "status": STATUS_LABELS.get(student.status, student.status), "kind": change_type.label}))
    school = school_of(student)
    grade = student.__parent__.grade(today)
    if change_type.not_in_compulsory and is_compulsory(school, grade):
        raise WorkflowError(_("义务教育阶段不得办理${kind}", mapping={"kind": change_type.label}))
    if change_type.not_in_last_grade and grade == 12:
        raise WorkflowError(_("高三不得留级"))
    if change_type.name == "transfer" and target_class is None and target_school is not None:
        _check_target_school(student, target_school)
    elif change_type.needs_target:
        _check_target(change_type, student, target_class, today)


def _check_target_school(student, school):
    if getattr(school, "content_type", None) != "School":
        raise WorkflowError(_("请填写转入学校的学校标识码"))
    if school is school_of(student):
        raise WorkflowError(_("转学须转入其他学校；本校内请办理调班"))


def _check_target(change_type, student, target_class, today):
    if target_class is None or getattr(target_class, "content_type", None) != "SchoolClass":
        raise WorkflowError(_("请选择要转入的班级"))
    here = student.__parent__
    if change_type.name == "transfer":
        _check_target_school(student, target_class.__parent__)
        return
    if target_class.__parent__ is not here.__parent__:
        raise WorkflowError(_("留级、跳级只能在本校同一学段内办理"))
    step = target_class.cohort - here.cohort  # later cohort: a lower grade
    if change_type.name == "repeat" and step != 1:
        raise WorkflowError(_("留级应转入下一届（低一个年级）的班级"))
    if change_type.name == "skip" and step != -1:
        raise WorkflowError(_("跳级应转入上一届（高一个年级）的班级"))


def start(kind, student, user, reason, target_class=None, today=None, target_school=None):
    check_allowed(kind, student, target_class, today, target_school)
    if not reason.strip():
        raise WorkflowError(_("请填写申请理由"))
    change = StatusChange(kind, student, user, reason, target_class, target_school)
    student.open_change = change
    _remember(student, change)
    history.record(student, "status-requested", note="%s: %s" % (kind, reason))
    reindex(student)
    return change


def _remember(student, change):
    if getattr(student, "status_changes", None) is None:
        student.status_changes = PersistentList()
    student.status_changes.append(change)


def decide(change, student, user, approve, reason="", registry=None, target_class=None):
    """Record ``user``'s decision on the waiting step; the last approval applies the change.

    The receiving school approving a transfer a guardian asked for names the
    class (``target_class``, one of its own)."""
    if change.state != OPEN or student.open_change is not change:
        raise WorkflowError(_("该申请已办结，无需再处理"))
    step = change.waiting_step
    if not approve and not reason.strip():
        raise WorkflowError(_("驳回时必须填写理由"))
    if approve and step == TO_SCHOOL and change.target_class is None:
        if target_class is None or target_class.__parent__ is not change.target_school:
            raise WorkflowError(_("请选择转入班级"))
        change.target_class = target_class
    change.steps.append((time.time(), user.userid, user.login, step, "approve" if approve else "reject", reason))
    if not approve:
        _close(change, student, REJECTED)
        history.record(student, "status-rejected", note="%s @%s: %s" % (change.kind, step, reason))
        if student.status == TRANSFER_PENDING:
            student.status = ENROLLED
        reindex(student)
        return change
    if step == SCHOOL and change.kind == "transfer":
        student.status = TRANSFER_PENDING  # the sending school has let the pupil go
    change.position += 1
    change.step_started = time.time()
    if change.position < len(change.chain):
        history.record(student, "status-step", note="%s @%s: %s" % (change.kind, step, user.login))
        reindex(student)
        return change
    _close(change, student, APPROVED)
    _apply(change, student, registry)
    reindex(student)
    return change


def withdraw(change, student, user):
    if change.state != OPEN or change.requested_by[0] != user.userid:
        raise WorkflowError(_("只有申请人可以撤回未办结的申请"))
    change.steps.append((time.time(), user.userid, user.login, change.waiting_step, "withdraw", ""))
    if student.status == TRANSFER_PENDING:
        student.status = ENROLLED
    _close(change, student, WITHDRAWN_REQUEST)
    history.record(student, "status-withdrawn", note=change.kind)
    reindex(student)


def _close(change, student, state):
    change.state = state
    student.open_change = None


def _apply(change, student, registry):
    """What the final approval does to the record."""
    before = student.status
    if change.type.needs_target:
        source = student.__parent__
        source.move(student.__name__, change.target_class, registry=registry)
    student.status = change.type.to_status
    history.record(student, "status-changed", (("status", before, student.status),),
                   note="%s: %s" % (change.kind, change.reason))


# -- the catalog: where each open change waits -------------------------------------

def disc_waiting_at(obj, default):
    """The path of the node whose approval the pupil's open change awaits (for work queues)."""
    change = getattr(obj, "open_change", None)
    if change is None:
        return default
    node = change.waiting_node(obj)
    return resource_path(node) if node is not None else default


def reindex(student):
    """Steps change where a request waits: refresh the pupil's catalog entry."""
    site = find_root(student)
    if getattr(site, "catalog", None) is not None and student.docid is not None:
        site.catalog.reindex_doc(student.docid, student)


def waiting_at(site, node):
    """Pupils whose open change waits for ``node`` (a school or a bureau), from the index."""
    if "waiting_at" not in site.catalog:
        return []
    docids = site.catalog["waiting_at"].applyEq(resource_path(node))
    return [site.docmap[d] for d in docids if d in site.docmap]


def disc_changes(obj, default):
    """Tokens for the approved changes of a pupil: "kind:YYYY" and "kind:YYYY-MM"
    (when the last approval came), for counting changes by type and period."""
    tokens = set()
    for change in getattr(obj, "status_changes", None) or ():
        if change.state != APPROVED or not change.steps:
            continue
        day = datetime.date.fromtimestamp(change.steps[-1][0])
        tokens.update(("%s:%d" % (change.kind, day.year), "%s:%d-%02d" % (change.kind, day.year, day.month)))
    return sorted(tokens) or default
