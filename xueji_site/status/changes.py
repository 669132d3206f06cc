"""Status changes (学籍异动): the kinds, their rules, and their process on the approval chain.

``TYPES`` says, for each change type, from which statuses it may start, the
chain of approvals it needs, what the final approval does to the record,
and which rules of compulsory education forbid it. A chain step names a
kind of node (the pupil's school, its county bureau, its province — or, for
a transfer, the receiving ones); the approver is whoever holds the step's
permission on that node (principal: approve-school; bureau admin:
approve-bureau), so a bureau of another county is refused by the ordinary
ACLs. The requests themselves are kernel/chain.py requests of the process
``status-change``: audited, recorded in the pupil's history and announced by
mail through its events, whoever drives them. Basis: 教基一〔2013〕7号 as
summarised in shared/reference/domain.md (c).
"""
import datetime
from dataclasses import dataclass

from pyramid.traversal import find_root

from xueji_site.kernel import chain, history, legacy, permissions as P
from xueji_site.kernel.evolve import checkpoint
from xueji_site.kernel.i18n import _
from xueji_site.kernel.workdays import add_working_days, is_working_day  # noqa: F401  (deadlines)
from xueji_site.standards import codes
from xueji_site.standards.deidentify import masked_name
from xueji_site.tree.places import COUNTY, PROVINCE, bureau_of, is_compulsory, school_of, teaches_grade

from xueji_site.record.statuses import (  # noqa: F401  (the statuses, as this module's names)
    ABROAD, CANCELLED, COMPLETED, DECEASED, DROPPED_OUT, EDITABLE, ENROLLED, EXPELLED, GRADUATED, INCOMPLETE,
    STATUS_LABELS, SUSPENDED, TRANSFER_PENDING, TRANSFERRED_OUT, WITHDRAWN)

# -- chain steps ---------------------------------------------------------------
SCHOOL = "school"
TO_SCHOOL, TO_COUNTY, TO_PROVINCE = "to_school", "to_county", "to_province"
STEP_LABELS = {SCHOOL: _("学校"), COUNTY: _("县级教育局"), PROVINCE: _("省级教育局"),
               TO_SCHOOL: _("转入学校"), TO_COUNTY: _("转入地县级教育局"), TO_PROVINCE: _("转入地省级教育局")}
STEP_PERMISSION = {SCHOOL: P.APPROVE_SCHOOL, TO_SCHOOL: P.APPROVE_SCHOOL}  # bureaus: approve-bureau
WORKING_DAYS_PER_STEP = 10
PROCESS = "status-change"
MAX_SUSPENSION_DAYS = 366  # 休学: about a year, renewable (domain.md (c))


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
VOID = "void"
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
    # A registration made in error (a pupil who never came, one registered at the wrong
    # school): cancelled with a reason and the county's review, never deleted. The record
    # stays, read-only, and no longer holds its ID number (record/indexes.py), so the
    # right school can register the pupil.
    ChangeType(VOID, _("注销（误录学籍）"), _ACTIVE | {DROPPED_OUT, ABROAD}, (SCHOOL, COUNTY), CANCELLED),
)}

OPEN, APPROVED, REJECTED, WITHDRAWN_REQUEST = chain.OPEN, chain.APPROVED, chain.REJECTED, chain.WITHDRAWN


class WorkflowError(ValueError):
    """``args[0]`` is a translation string saying why."""


# -- a request's facts ---------------------------------------------------------------

def kind_of(change):
    return change.payload["kind"]


def type_of(change):
    return TYPES[kind_of(change)]


def target_class_of(change):
    return change.payload.get("target_class")


def target_school_of(change):
    return change.payload.get("target_school")


def chain_for(change_type, student, target_school):
    steps = list(change_type.chain)
    if change_type.name == "transfer" and target_school is not None:
        source_province = bureau_of(school_of(student), PROVINCE)
        target_province = bureau_of(target_school, PROVINCE)
        if source_province is not target_province:  # across provinces: both provinces approve
            steps.insert(steps.index(TO_COUNTY) + 1, TO_PROVINCE)
            steps.append(PROVINCE)
    return tuple(steps)


def node_for_step(step, student, target_school):
    if step in (TO_SCHOOL, TO_COUNTY, TO_PROVINCE):
        school = target_school
    else:
        school = school_of(student)
    if step in (SCHOOL, TO_SCHOOL):
        return school
    return bureau_of(school, PROVINCE if step in (PROVINCE, TO_PROVINCE) else COUNTY)


def may_decide(request, change, student=None):
    """Whether the web request's user may take the step now waiting."""
    return chain.problem(request.site, request.user, change, request.registry) is None


def open_change_of(student):
    return chain.open_request(find_root(student), student, PROCESS)


def changes_of(student):
    return chain.requests_of(find_root(student), student, PROCESS)


# -- starting, deciding, withdrawing ---------------------------------------------------

def check_allowed(kind, student, target_class=None, today=None, target_school=None):
    """Raise WorkflowError unless ``kind`` may start for ``student`` now."""
    change_type = TYPES.get(kind)
    if change_type is None:
        raise WorkflowError(_("未知的异动类型"))
    if open_change_of(student) is not None:
        raise WorkflowError(_("该学生已有一项未办结的异动，一次只能办理一项"))
    if kind == "reinstate" and student.voided:
        raise WorkflowError(_("误录注销的学籍不能恢复；如确属本校学生，请重新注册"))
    if student.status not in change_type.from_statuses:
        raise WorkflowError(_("学籍状态为“${status}”时不能办理${kind}", mapping={
            "status": STATUS_LABELS.get(student.status, student.status), "kind": change_type.label}))
    school = school_of(student)
    grade = student.__parent__.grade(today)
    if change_type.not_in_compulsory and is_compulsory(school, grade):
        raise WorkflowError(_("义务教育阶段不得办理${kind}", mapping={"kind": change_type.label}))
    if change_type.not_in_last_grade and grade == 12:
        raise WorkflowError(_("高三不得留级"))
    if change_type.name == "transfer" and target_class is None:  # a guardian names the school only
        check_target_school(student, target_school, today)
    elif change_type.needs_target:
        _check_target(change_type, student, target_class, today)


def check_target_school(student, school, today=None):
    """A school the pupil may transfer to: another school whose stage has the pupil's grade."""
    if getattr(school, "content_type", None) != "School":
        raise WorkflowError(_("请填写转入学校的学校标识码"))
    if school is school_of(student):
        raise WorkflowError(_("转学须转入其他学校；本校内请办理调班"))
    grade = student.__parent__.grade(today)
    if not teaches_grade(school, grade):
        raise WorkflowError(_("转入学校没有该生所在的年级（${grade}），请选择相应学段的学校",
                              mapping={"grade": codes.GRADE_LABELS.get(grade, "")}))


def check_transfer_class(student, target_class, today=None):
    """A class a transferring pupil may join: the same grade (留级 and 跳级 are changes of their own)."""
    grade = student.__parent__.grade(today)
    if target_class.grade(today) != grade:
        raise WorkflowError(_("转入班级须与该生现在的年级（${grade}）相同；留级、跳级须另行办理",
                              mapping={"grade": codes.GRADE_LABELS.get(grade, "")}))


def suitable_classes(student, school, today=None):
    """The classes of ``school`` a transfer of ``student`` may go to."""
    grade = student.__parent__.grade(today)
    return [klass for klass in school.values()
            if getattr(klass, "content_type", None) == "SchoolClass" and klass.grade(today) == grade]


def _check_target(change_type, student, target_class, today):
    if target_class is None or getattr(target_class, "content_type", None) != "SchoolClass":
        raise WorkflowError(_("请选择要转入的班级"))
    here = student.__parent__
    if change_type.name == "transfer":
        check_target_school(student, target_class.__parent__, today)
        check_transfer_class(student, target_class, today)
        return
    if target_class.__parent__ is not here.__parent__:
        raise WorkflowError(_("留级、跳级只能在本校同一学段内办理"))
    step = target_class.cohort - here.cohort  # later cohort: a lower grade
    if change_type.name == "repeat" and step != 1:
        raise WorkflowError(_("留级应转入下一届（低一个年级）的班级"))
    if change_type.name == "skip" and step != -1:
        raise WorkflowError(_("跳级应转入上一届（高一个年级）的班级"))


def check_period(kind, starts_on, ends_on):
    """休学 names when it starts and ends (about a year at most, renewable)."""
    if kind != "suspend":
        return
    if starts_on is None or ends_on is None:
        raise WorkflowError(_("休学须填写起止日期"))
    if ends_on <= starts_on:
        raise WorkflowError(_("休学结束日期须晚于开始日期"))
    if (ends_on - starts_on).days > MAX_SUSPENSION_DAYS:
        raise WorkflowError(_("休学期限一般不超过一年，期满仍需休学请续办"))


def start(kind, student, user, reason, target_class=None, today=None, target_school=None, registry=None,
          starts_on=None, ends_on=None):
    check_allowed(kind, student, target_class, today, target_school)
    if not (reason or "").strip():
        raise WorkflowError(_("请填写申请理由"))
    check_period(kind, starts_on, ends_on)
    school = target_class.__parent__ if target_class is not None else target_school
    payload = {"kind": kind, "source_class": student.__parent__, "target_class": target_class,
               # a guardian names the school; its principal picks the class when approving
               "target_school": school, "starts_on": starts_on, "ends_on": ends_on}
    change = chain.start(find_root(student), PROCESS, student, user, reason, payload, registry)
    reindex(student)
    return change


def decide(change, student, user, approve, reason="", registry=None, target_class=None):
    """Record ``user``'s decision on the waiting step; the last approval applies the change.

    The receiving school approving a transfer a guardian asked for names the
    class (``target_class``, one of its own)."""
    try:
        return chain.decide(find_root(student), change, user, approve, reason, registry, target_class=target_class)
    except chain.ChainError as exc:
        raise WorkflowError(exc.args[0])


def withdraw(change, student, user, registry=None):
    try:
        return chain.withdraw(find_root(student), change, user, registry)
    except chain.ChainError as exc:
        raise WorkflowError(exc.args[0])


# -- the process's hooks ---------------------------------------------------------------

def _before_decision(change, user, approve, extra):
    if approve and change.waiting_step == TO_SCHOOL and target_class_of(change) is None:
        target = extra.get("target_class")
        if target is None or target.__parent__ is not target_school_of(change):
            raise chain.ChainError(_("请选择转入班级"), "no-class")
        try:
            check_transfer_class(change.subject, target)
        except WorkflowError as exc:
            raise chain.ChainError(exc.args[0], "wrong-grade")
        change.payload["target_class"] = target


def _advanced(change, step, registry):
    student = change.subject
    if step == SCHOOL and kind_of(change) == "transfer":
        student.status = TRANSFER_PENDING  # the sending school has let the pupil go
    reindex(student)


def _approved(change, registry):
    """What the final approval does to the record."""
    student = change.subject
    change_type = type_of(change)
    before = student.status
    if change_type.needs_target:
        source = student.__parent__
        source.move(student.__name__, target_class_of(change), registry=registry)
    student.status = change_type.to_status
    if change_type.name == "suspend":
        student.suspended_until = change.payload.get("ends_on")
    elif change_type.name == "resume":
        student.suspended_until = None
    elif change_type.name == VOID:
        student.voided = True
    note = "%s%s%s" % (change_type.label, history.HISTORY_SEPARATOR, change.reason)
    history.record(student, "status-changed", (("status", before, student.status),), note=note,
                   actor=tuple(change.decisions[-1][1:3]))


def _closed(change, registry):
    student = change.subject
    if change.state != APPROVED and student.status == TRANSFER_PENDING:
        student.status = ENROLLED
    reindex(student)


def _describe(change):
    return type_of(change).label


def _steps():
    labels = STEP_LABELS

    def place(name):
        return lambda change: node_for_step(name, change.subject, target_school_of(change))

    return tuple(chain.Step(name, labels[name], STEP_PERMISSION.get(name, P.APPROVE_BUREAU), place(name))
                 for name in (SCHOOL, COUNTY, PROVINCE, TO_SCHOOL, TO_COUNTY, TO_PROVINCE))


def _chain(change):
    return chain_for(type_of(change), change.subject, target_school_of(change))


STATUS_PROCESS = chain.Process(
    name=PROCESS, label=_("学籍异动"), prefix="SC", steps=_steps(), chain=_chain,
    working_days=WORKING_DAYS_PER_STEP, before_decision=_before_decision, on_advance=_advanced,
    on_approved=_approved, on_closed=_closed, describe=_describe, history="status",
    subject_title=lambda change: _("学生 ${name}", mapping={"name": masked_name(change.subject.name)}),
    where=lambda change: (change.waiting_node(), "changes", {}))


# -- the catalog -------------------------------------------------------------------------

def disc_waiting_at(obj, default):
    """Fed the retired ``waiting_at`` index (the chain's queue replaced it); kept so
    that databases made before step 0007 still unpickle."""
    return default


def reindex(student):
    """A change of status: refresh the pupil's catalog entry."""
    site = find_root(student)
    if getattr(site, "catalog", None) is not None and student.docid is not None:
        site.catalog.reindex_doc(student.docid, student)


def disc_changes(obj, default):
    """Tokens for the approved changes of a pupil: "kind:YYYY" and "kind:YYYY-MM"
    (when the last approval came), for counting changes by type and period."""
    if getattr(obj, "content_type", None) != "Student" or getattr(obj, "approval_ids", None) is None:
        return default
    tokens = set()
    for change in changes_of(obj):
        if change.state != APPROVED or not change.decisions:
            continue
        day = datetime.date.fromtimestamp(change.decisions[-1][0])
        kind = kind_of(change)
        tokens.update(("%s:%d" % (kind, day.year), "%s:%d-%02d" % (kind, day.year, day.month)))
    return sorted(tokens) or default


# -- evolve: the status changes of the shape before the approval chain ---------------------

def step_0007_status_changes_on_the_chain(site, batch=1000, commit=True):
    """Every pupil's status changes (``status_changes``, ``open_change`` of the old
    StatusChange shape) become requests on the approval chain, decisions and
    scans included; the retired ``waiting_at`` index goes. Reads the pupils from
    the document map, committing every ``batch``."""
    moved = 0
    for seen, docid in enumerate(list(site.docmap.keys()), start=1):
        student = site.docmap.get(docid)
        if getattr(student, "content_type", None) != "Student":
            continue
        student._p_activate()
        for old in student.__dict__.get("status_changes") or ():
            s = legacy.state_of(old)
            target = s.get("target_class")
            payload = {"kind": s["kind"], "source_class": s.get("source_class"), "target_class": target,
                       "target_school": s.get("target_school", target.__parent__ if target is not None else None),
                       "starts_on": None, "ends_on": None}
            chain.restore(site, PROCESS, student, None, s["requested_by"], s["requested_at"], s["reason"],
                          payload, s["chain"], s["position"], s["state"], s.get("steps", ()),
                          s.get("step_started", s["requested_at"]), s.get("attachments", ()))
            moved += 1
        legacy.pop(student, "status_changes", "open_change")
        if commit and seen % batch == 0:
            checkpoint(site)
    if "waiting_at" in site.catalog:
        del site.catalog["waiting_at"]
    return moved
