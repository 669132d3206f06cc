"""Reviewed changes to a record's key fields (the registration's ``review_fields``:
姓名, 证件号码, 性别, 出生日期) and moves to another class of the school.

A change to a key field does not touch the record: it becomes a request of
the ``key-change`` process on the approval chain (kernel/chain.py), which the
school's principal and then a bureau approve, in that order; the last
approval applies it. Anyone entitled may reject with a reason at either
step, and the requester may withdraw it. One request per pupil at a time.
Proposed values of sensitive fields are sealed, like the record's own.
"""
from pyramid.traversal import find_root

from xueji_site.kernel import chain, content, legacy, permissions as P
from xueji_site.kernel.evolve import checkpoint
from xueji_site.kernel.crypto import keyring
from xueji_site.kernel.i18n import _
from xueji_site.kernel.masking import mask_field
from xueji_site.tree.places import COUNTY, bureau_of, school_of

PROCESS = "key-change"
SCHOOL, BUREAU = "school", "bureau"
APPROVED, REJECTED, WITHDRAWN = chain.APPROVED, chain.REJECTED, chain.WITHDRAWN
STATE_LABELS = {SCHOOL: _("待学校审核"), BUREAU: _("待教育局审核"), APPROVED: _("已通过"),
                REJECTED: _("已驳回"), WITHDRAWN: _("已撤回")}
CLASS = "klass"  # a pseudo-field: the key of another class of the same school


class ReviewError(ValueError):
    """``args[0]`` is a translation string saying why."""


# -- a request's proposal ------------------------------------------------------------

def proposed(request):
    """The proposed values, sensitive ones opened with the key."""
    values = dict(request.payload["clear"])
    values.update({k: keyring().open("review:" + k, v) for k, v in request.payload["sealed"].items()})
    return values


def fields(request):
    return sorted(list(request.payload["clear"]) + list(request.payload["sealed"]))


def moves_class(request):
    return CLASS in request.payload["clear"]


def stage_of(request):
    """SCHOOL or BUREAU while open; else the state it ended in."""
    return request.waiting_step if request.state == chain.OPEN else request.state


def pending_of(student):
    """The pupil's open key-field request, or None."""
    return chain.open_request(find_root(student), student, PROCESS)


def past_of(student):
    return [r for r in chain.requests_of(find_root(student), student, PROCESS) if r.state != chain.OPEN]


# -- asking, deciding, withdrawing ------------------------------------------------------

def split_changes(obj, appstruct, key_fields):
    """(direct, reviewed): the fields that change, parted by whether they need review."""
    direct, reviewed = {}, {}
    for name, value in appstruct.items():
        if name == "csrf_token" or getattr(obj, name, None) == value:
            continue
        (reviewed if name in key_fields else direct)[name] = value
    return direct, reviewed


def propose(student, values, user, reason="", registry=None):
    if pending_of(student) is not None:
        raise ReviewError(_("该学生已有待审核的关键信息变更，请等待审核完成或撤回后再提交"))
    sensitive = content.sensitive_of(student, registry)
    payload = {"clear": {k: v for k, v in values.items() if k not in sensitive},
               "sealed": {k: keyring().seal("review:" + k, v) for k, v in values.items() if k in sensitive}}
    return chain.start(find_root(student), PROCESS, student, user, reason, payload, registry)


def approve(student, user, stage, registry=None):
    """Approve at ``stage`` (SCHOOL or BUREAU); the bureau's approval applies the change."""
    request = pending_of(student)
    if request is None or request.waiting_step != stage:
        raise ReviewError(_("该变更申请不在此审核环节"))
    return _decide(student, request, user, True, "", registry)


def reject(student, user, reason, registry=None):
    request = pending_of(student)
    if request is None:
        raise ReviewError(_("没有待审核的变更申请"))
    return _decide(student, request, user, False, reason, registry)


def _decide(student, request, user, approve, reason, registry):
    try:
        return chain.decide(find_root(student), request, user, approve, reason, registry)
    except chain.ChainError as exc:
        raise ReviewError(exc.args[0])


def withdraw(student, user, registry=None):
    request = pending_of(student)
    if request is None or request.requested_by[0] != user.userid:
        raise ReviewError(_("只有申请人可以撤回待审核的申请"))
    return chain.withdraw(find_root(student), request, user, registry)


def move_to_class(student, class_key, registry=None):
    """Move the record (with its history and family) to another class of its school."""
    school = student.__parent__.__parent__
    if class_key not in school or class_key == student.__parent__.__name__:
        raise ReviewError(_("目标班级不存在"))
    student.__parent__.move(student.__name__, school[class_key], registry=registry)


# -- the process --------------------------------------------------------------------------

def _approved(request, registry):
    student = request.subject
    values = proposed(request)
    target = values.pop(CLASS, None)
    if target is not None:
        move_to_class(student, target, registry)
    if values:
        decided = request.decisions[-1][2]
        content.modify(student, values, registry=registry,
                       note="reviewed: %s → %s" % (request.requested_by[1], decided))


def _history_changes(request):
    """The request's entry in the history: each field, its value now and the one
    asked for, masked where the field is sensitive."""
    student = request.subject
    sensitive = content.sensitive_of(student)
    asked = proposed(request)
    shown = []
    for name in fields(request):
        now, new = getattr(student, name, None) if name != CLASS else student.__parent__.__name__, asked[name]
        if name in sensitive:
            now, new = mask_field(name, now), mask_field(name, new)
        shown.append((name, _plain(now), _plain(new)))
    return tuple(shown)


def _plain(value):
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


KEY_PROCESS = chain.Process(
    name=PROCESS, label=_("关键信息变更"), prefix="KC",
    steps=(chain.Step(SCHOOL, _("学校审核"), P.APPROVE_SCHOOL, lambda r: school_of(r.subject)),
           chain.Step(BUREAU, _("教育局审核"), P.APPROVE_BUREAU,
                      lambda r: bureau_of(school_of(r.subject), COUNTY))),
    on_approved=_approved, describe=lambda r: _("关键信息变更"), history="change",
    history_changes=_history_changes,
    subject_title=lambda r: _("学生 ${name}", mapping={"name": r.subject.name[:1] + "*"}),
    where=lambda r: (r.subject, "", {}))


# -- evolve: key-field requests of the shape before the approval chain ----------------------

OLD_STATES = {SCHOOL: (chain.OPEN, 0), BUREAU: (chain.OPEN, 1), APPROVED: (APPROVED, 2),
              REJECTED: (REJECTED, None), WITHDRAWN: (WITHDRAWN, None)}


def step_0008_key_changes_on_the_chain(site, batch=1000, commit=True):
    """Every pupil's key-field requests (``pending_change``, ``past_changes`` of the
    old ChangeRequest shape) become requests on the approval chain."""
    moved = 0
    for seen, docid in enumerate(list(site.docmap.keys()), start=1):
        student = site.docmap.get(docid)
        if getattr(student, "content_type", None) != "Student":
            continue
        student._p_activate()
        old = list(student.__dict__.get("past_changes") or ())
        if student.__dict__.get("pending_change") is not None:
            old.append(student.__dict__["pending_change"])
        for request in old:
            s = legacy.state_of(request)
            state, position = OLD_STATES[s["state"]]
            steps = s.get("steps", ())
            if position is None:  # closed at the step it was waiting for when decided
                position = 1 if any(d[3] == SCHOOL and d[4] == chain.APPROVE for d in steps) else 0
            payload = {"clear": dict(s["_clear"]), "sealed": dict(s["_sealed"])}
            chain.restore(site, PROCESS, student, None, s["requested_by"], s["requested_at"], s.get("reason", ""),
                          payload, (SCHOOL, BUREAU), position, state, steps,
                          steps[-1][0] if steps else s["requested_at"])
            moved += 1
        legacy.pop(student, "pending_change", "past_changes")
        if commit and seen % batch == 0:
            checkpoint(site)
    return moved
