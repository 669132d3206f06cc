"""Reviewed changes to a record's key fields (姓名, 证件号码, 性别, 出生日期).

A change to a key field does not touch the record: it becomes a change
request that the school's principal and then a bureau approve, in that
order; the last approval applies it. Anyone entitled may reject with a
reason at either step, and the requester may withdraw it. One request per
pupil at a time. Proposed values of sensitive fields are sealed, like the
record's own.
"""
import time

from persistent import Persistent
from persistent.list import PersistentList

from xueji_site.kernel import content, history
from xueji_site.kernel.crypto import keyring
from xueji_site.kernel.i18n import _

SCHOOL, BUREAU, APPROVED, REJECTED, WITHDRAWN = "school", "bureau", "approved", "rejected", "withdrawn"
STATE_LABELS = {SCHOOL: _("待学校审核"), BUREAU: _("待教育局审核"), APPROVED: _("已通过"),
                REJECTED: _("已驳回"), WITHDRAWN: _("已撤回")}


class ReviewError(ValueError):
    """``args[0]`` is a translation string saying why."""


class ChangeRequest(Persistent):
    def __init__(self, proposed, sensitive, userid, login, reason=""):
        self._clear = {k: v for k, v in proposed.items() if k not in sensitive}
        self._sealed = {k: keyring().seal("review:" + k, v) for k, v in proposed.items() if k in sensitive}
        self.requested_by = (userid, login)
        self.requested_at = time.time()
        self.reason = reason
        self.state = SCHOOL
        self.steps = PersistentList()

    def proposed(self):
        values = dict(self._clear)
        values.update({k: keyring().open("review:" + k, v) for k, v in self._sealed.items()})
        return values

    @property
    def fields(self):
        return sorted(list(self._clear) + list(self._sealed))

    @property
    def moves_class(self):
        return CLASS in self._clear

    @property
    def open(self):
        return self.state in (SCHOOL, BUREAU)


def split_changes(obj, appstruct, key_fields):
    """(direct, reviewed): the fields that change, parted by whether they need review."""
    direct, reviewed = {}, {}
    for name, value in appstruct.items():
        if name == "csrf_token" or getattr(obj, name, None) == value:
            continue
        (reviewed if name in key_fields else direct)[name] = value
    return direct, reviewed


def propose(student, proposed, user, reason=""):
    if student.pending_change is not None and student.pending_change.open:
        raise ReviewError(_("该学生已有待审核的关键信息变更，请等待审核完成或撤回后再提交"))
    request = ChangeRequest(proposed, content.sensitive_of(student), user.userid, user.login, reason)
    student.pending_change = request
    history.record(student, "change-requested", [(f, "", "") for f in request.fields], reason)
    return request


def _step(request, user, decision, reason):
    request.steps.append((time.time(), user.userid, user.login, request.state, decision, reason))


def approve(student, user, stage, registry=None):
    """Approve at ``stage`` (SCHOOL or BUREAU); the bureau's approval applies the change."""
    request = student.pending_change
    if request is None or request.state != stage:
        raise ReviewError(_("该变更申请不在此审核环节"))
    _step(request, user, "approve", "")
    if stage == SCHOOL:
        request.state = BUREAU
        history.record(student, "change-approved-school", note=user.login)
        return request
    request.state = APPROVED
    _archive(student, request)
    proposed = request.proposed()
    target = proposed.pop(CLASS, None)
    if target is not None:
        move_to_class(student, target, registry)
    if proposed:
        content.modify(student, proposed, registry=registry,
                       note="reviewed: %s → %s" % (request.requested_by[1], user.login))
    return request


CLASS = "klass"  # a pseudo-field: the key of another class of the same school


def move_to_class(student, class_key, registry=None):
    """Move the record (with its history and family) to another class of its school."""
    school = student.__parent__.__parent__
    if class_key not in school or class_key == student.__parent__.__name__:
        raise ReviewError(_("目标班级不存在"))
    student.__parent__.move(student.__name__, school[class_key], registry=registry)


def reject(student, user, reason):
    request = student.pending_change
    if request is None or not request.open:
        raise ReviewError(_("没有待审核的变更申请"))
    if not reason.strip():
        raise ReviewError(_("驳回时必须填写理由"))
    stage = request.state
    _step(request, user, "reject", reason)
    request.state = REJECTED
    _archive(student, request)
    history.record(student, "change-rejected", note="%s: %s" % (stage, reason))
    return request


def withdraw(student, user):
    request = student.pending_change
    if request is None or not request.open or request.requested_by[0] != user.userid:
        raise ReviewError(_("只有申请人可以撤回待审核的申请"))
    _step(request, user, "withdraw", "")
    request.state = WITHDRAWN
    _archive(student, request)
    history.record(student, "change-withdrawn", note=user.login)
    return request


def _archive(student, request):
    if getattr(student, "past_changes", None) is None:
        student.past_changes = PersistentList()
    student.past_changes.append(request)
    student.pending_change = None
