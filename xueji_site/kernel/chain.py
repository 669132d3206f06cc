"""The approval chain: one primitive for every process that waits on someone's decision.

Status changes, key-field changes, export approvals and graduation (and the
processes still to come: punishments and their appeals, aid applications)
are all *requests* on a *process*:

- A ``Process`` (registered with ``config.add_approval_process``) names its
  ``steps``; each ``Step`` says which node decides (``place``) and which
  permission there decides (``permission``): whoever holds it on that node
  may take the step, through the ordinary ACLs and local roles. The chain a
  request follows is fixed when it is made (``chain``: a transfer across
  provinces has two more steps).
- A ``Request`` moves through one set of states: ``open`` until the last
  step approves it (``approved``), anyone entitled rejects it with a reason
  (``rejected``), or its requester withdraws it (``withdrawn``). Nobody
  decides their own request. Each step has a deadline of working days
  (weekends and public holidays skipped, swapped working days counted:
  kernel/workdays.py).
- The process's hooks carry its meaning: ``before_decision`` refuses a
  decision that is incomplete (a receiving school must name the class),
  ``on_advance`` acts after a step (the sending school lets the pupil go),
  ``on_approved`` applies the request, ``on_closed`` tidies up however it
  ended.
- Every request and decision fires an event (``ApprovalRequested``,
  ``ApprovalDecided``, ``ApprovalCompleted``, ``ApprovalOverdue``); the
  audit log, the subject's history and the mailer subscribe to them, so a
  request is audited the same whoever drives it — a web form, the API or a
  console script.

Storage: ``site.approval_chain`` (made on first use), with every request by
id (``SC20261203-0001``: a process's prefix, the day, a serial; ids of one
day sort by serial, days by date), one queue index of open requests keyed by
(the path of the node that decides now + "/", id), so that the queue of a
node is a key-range read and a bureau's queue takes in its whole subtree, and
on each subject the ids of its requests.
"""
import datetime
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent
from persistent.list import PersistentList
from persistent.mapping import PersistentMapping
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import find_root, resource_path

from xueji_site.kernel import events, security
from xueji_site.kernel.i18n import _
from xueji_site.kernel.workdays import add_working_days

OPEN, APPROVED, REJECTED, WITHDRAWN = "open", "approved", "rejected", "withdrawn"
STATE_LABELS = {OPEN: _("审批中"), APPROVED: _("已批准"), REJECTED: _("已驳回"), WITHDRAWN: _("已撤回")}
APPROVE, REJECT, WITHDRAW = "approve", "reject", "withdraw"
DECISION_LABELS = {APPROVE: _("同意"), REJECT: _("驳回"), WITHDRAW: _("撤回")}

PROBLEMS = {
    "decided": _("该申请已办结，无需再处理"),
    "own": _("不能审批自己提交的申请"),
    "gone": _("申请涉及的位置已不存在"),
    "not-approver": _("您无权审批此环节"),
}


class ChainError(ValueError):
    """A request or decision refused: ``args[0]`` is a translation string saying why,
    ``code`` a short name for the audit log."""

    def __init__(self, message, code=""):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Step:
    name: str
    label: object
    permission: str
    place: Callable  # place(request) -> the node whose holders of ``permission`` decide (None: gone)


@dataclass(frozen=True)
class Process:
    name: str
    label: object
    prefix: str                         # request ids: prefix + YYYYMMDD-NNNN
    steps: tuple                        # every Step the process may use
    chain: Optional[Callable] = None    # chain(request) -> step names (default: all, in order)
    working_days: int = 10              # per step
    problem: Optional[Callable] = None  # problem(site, user, request, node) -> a key of ``problems`` or None
    problems: dict = field(default_factory=dict)
    before_decision: Optional[Callable] = None  # (request, user, approve, extra) -> None or raises ChainError
    on_advance: Optional[Callable] = None       # (request, step name, registry)
    on_approved: Optional[Callable] = None      # (request, registry): the last approval's effect
    on_closed: Optional[Callable] = None        # (request, registry): however it ended
    describe: Optional[Callable] = None         # (request) -> what is asked, for queues and mail
    history: str = ""                   # prefix of the subject's history entries ('' : none)
    history_changes: Optional[Callable] = None  # (request) -> ((field, now, asked), ...) shown on the request's entry
    subject_title: Optional[Callable] = None    # (request) -> how mail names the subject (no personal data)
    where: Optional[Callable] = None    # (request) -> (node, view name, query) of the page it is decided on
    audit: str = ""                     # prefix of the audit actions (default: the name)
    mail: bool = True                   # tell the next approvers by e-mail

    def step(self, name):
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    @property
    def audit_prefix(self):
        return self.audit or self.name


# -- the process registry ----------------------------------------------------------

def add_approval_process(config, process):
    registry = config.registry

    def register():
        processes(registry)[process.name] = process

    config.action(("xueji-approval-process", process.name), register)


def processes(registry=None):
    registry = registry if registry is not None else get_current_registry()
    found = getattr(registry, "xueji_processes", None)
    if found is None:
        found = registry.xueji_processes = {}
    return found


def process_of(request, registry=None):
    return processes(registry)[request.process]


# -- requests -------------------------------------------------------------------------

class Request(Persistent):
    """One request on one process, from asking to its end."""

    closed_at = None

    def __init__(self, id, process, subject, user, reason, payload, now):
        self.id = id
        self.process = process
        self.subject = subject
        self.requested_by = (user.userid, user.login)
        self.requested_at = now
        self.reason = reason
        self.payload = PersistentMapping(payload or {})
        self.chain = ()
        self.position = 0
        self.state = OPEN
        self.step_started = now
        self.decisions = PersistentList()   # (when, userid, login, step, decision, reason)
        self.attachments = PersistentList()
        self.waiting_path = None

    @property
    def is_open(self):
        return self.state == OPEN

    @property
    def waiting_step(self):
        return self.chain[self.position] if self.state == OPEN else None

    def waiting_node(self, registry=None):
        """The node that decides now (None when closed or gone)."""
        step = self.waiting_step
        return process_of(self, registry).step(step).place(self) if step else None

    def due(self, registry=None):
        """The waiting step's deadline: working days after it started."""
        days = process_of(self, registry).working_days
        return add_working_days(datetime.date.fromtimestamp(self.step_started), days)

    def overdue(self, today=None, registry=None):
        return self.state == OPEN and (today or datetime.date.today()) > self.due(registry)

    def last_decision(self):
        return self.decisions[-1] if self.decisions else None


class Chain(Persistent):
    """``site.approval_chain``: every request, and the queue of open ones."""

    def __init__(self):
        self.items = OOBTree()     # id -> Request
        self.serials = OOBTree()   # prefix + YYYYMMDD -> Length
        self.queue = OOTreeSet()   # (waiting node path + "/", id) of open requests

    def next_id(self, prefix, now):
        """A new id. ``Length`` merges concurrent increments, so two requests may
        draw the same number: they then insert the same key into ``items``,
        which BTree conflict resolution refuses, and the retry draws again."""
        day = time.strftime("%Y%m%d", time.localtime(now))
        counter = self.serials.get(prefix + day)
        if counter is None:
            counter = self.serials[prefix + day] = Length()
        counter.change(1)
        return "%s%s-%04d" % (prefix, day, counter())


def store(site, create=False):
    found = getattr(site, "approval_chain", None)
    if found is None and create:
        found = site.approval_chain = Chain()
    return found


def get(site, request_id):
    found = store(site)
    if found is None or not isinstance(request_id, str):
        return None
    return found.items.get(request_id.strip().upper())


def _path_key(node):
    return resource_path(node).rstrip("/") + "/"


def _enqueue(chain, request, registry):
    node = request.waiting_node(registry)
    request.waiting_path = _path_key(node) if node is not None else None
    if request.waiting_path is not None:
        chain.queue.add((request.waiting_path, request.id))


def _dequeue(chain, request):
    if request.waiting_path is not None:
        chain.queue.discard((request.waiting_path, request.id))
    request.waiting_path = None


def _remember(subject, request_id):
    ids = getattr(subject, "approval_ids", None)
    if ids is None:
        ids = subject.approval_ids = OOTreeSet()
    ids.add(request_id)


def start(site, process_name, subject, user, reason="", payload=None, registry=None, now=None):
    """A new open request by ``user`` about ``subject``; fires ApprovalRequested."""
    process = processes(registry)[process_name]
    now = now or time.time()
    chain = store(site, create=True)
    request = Request(chain.next_id(process.prefix, now), process.name, subject, user, reason, payload, now)
    names = tuple(process.chain(request)) if process.chain is not None else tuple(s.name for s in process.steps)
    if not names:
        raise ValueError("a request needs at least one step")
    request.chain = names
    chain.items[request.id] = request
    _remember(subject, request.id)
    _enqueue(chain, request, registry)
    events.notify(events.ApprovalRequested(request), registry)
    return request


def restore(site, process_name, subject, request_id, requested_by, requested_at, reason, payload, names,
            position, state, decisions, step_started, attachments=(), registry=None):
    """A request as an older shape of the registry recorded it (evolve steps): no
    events, no new id (``request_id``, or a new one when None), the queue in step."""
    process = processes(registry)[process_name]
    chain = store(site, create=True)
    request = Request.__new__(Request)
    Persistent.__init__(request)
    request.id = request_id or chain.next_id(process.prefix, requested_at)
    request.process, request.subject = process_name, subject
    request.requested_by, request.requested_at, request.reason = tuple(requested_by), requested_at, reason
    request.payload = PersistentMapping(payload)
    request.chain, request.position, request.state = tuple(names), position, state
    request.step_started = step_started
    request.decisions = PersistentList(tuple(d) for d in decisions)
    request.attachments = PersistentList(attachments)
    request.waiting_path = None
    request.closed_at = request.decisions[-1][0] if state != OPEN and request.decisions else None
    chain.items[request.id] = request
    _remember(subject, request.id)
    if state == OPEN:
        _enqueue(chain, request, registry)
    return request


def problem(site, user, request, registry=None):
    """Why ``user`` may not decide ``request`` now (a key of PROBLEMS or of the
    process's ``problems``), or None."""
    if request.state != OPEN:
        return "decided"
    if user is None or user.userid == request.requested_by[0]:
        return "own"
    process = process_of(request, registry)
    node = request.waiting_node(registry)
    if node is None:
        return "gone"
    if not security.permits(user, node, process.step(request.waiting_step).permission):
        return "not-approver"
    if process.problem is not None:
        return process.problem(site, user, request, node)
    return None


def may_take_step(web_request, request):
    """Whether the web request's user holds the waiting step's permission where it
    is taken (whatever else may then stand in the way: their own request, …)."""
    node = request.waiting_node(web_request.registry)
    if node is None:
        return False
    permission = process_of(request, web_request.registry).step(request.waiting_step).permission
    return bool(web_request.has_permission(permission, node))


def problem_message(request, code, registry=None):
    process = process_of(request, registry)
    return process.problems.get(code) or PROBLEMS.get(code) or code


def decide(site, request, user, approve, reason="", registry=None, **extra):
    """``user``'s decision on the waiting step; the last approval applies the request.

    A rejection needs a reason. ``extra`` goes to the process's
    ``before_decision`` (what a step asks of its approver)."""
    code = problem(site, user, request, registry)
    if code is not None:
        raise ChainError(problem_message(request, code, registry), code)
    if not approve and not (reason or "").strip():
        raise ChainError(_("驳回时必须填写理由"), "no-reason")
    process = process_of(request, registry)
    if process.before_decision is not None:
        process.before_decision(request, user, approve, extra)
    step = request.waiting_step
    now = time.time()
    request.decisions.append((now, user.userid, user.login, step, APPROVE if approve else REJECT, reason))
    chain = store(site)
    _dequeue(chain, request)
    if not approve:
        _close(request, REJECTED, now, registry)
        return request
    request.position += 1
    request.step_started = now
    if request.position < len(request.chain):
        if process.on_advance is not None:
            process.on_advance(request, step, registry)
        _enqueue(chain, request, registry)
        events.notify(events.ApprovalDecided(request), registry)
        return request
    if process.on_advance is not None:
        process.on_advance(request, step, registry)
    request.state = APPROVED  # before the effect, so that it sees the request as decided
    if process.on_approved is not None:
        process.on_approved(request, registry)
    _close(request, APPROVED, now, registry)
    return request


def withdraw(site, request, user, registry=None):
    """The requester takes back an open request."""
    if request.state != OPEN or user is None or request.requested_by[0] != user.userid:
        raise ChainError(_("只有申请人可以撤回未办结的申请"), "not-requester")
    now = time.time()
    request.decisions.append((now, user.userid, user.login, request.waiting_step, WITHDRAW, ""))
    _dequeue(store(site), request)
    _close(request, WITHDRAWN, now, registry)
    return request


def _close(request, state, now, registry):
    request.state = state
    request.closed_at = now
    process = process_of(request, registry)
    if process.on_closed is not None:
        process.on_closed(request, registry)
    events.notify(events.ApprovalDecided(request), registry)
    events.notify(events.ApprovalCompleted(request), registry)


# -- reading -----------------------------------------------------------------------------

def requests_of(site, subject, process_name=None):
    """The subject's requests, oldest first (one subject's requests: a short set)."""
    found = store(site)
    ids = getattr(subject, "approval_ids", None)
    if found is None or not ids:
        return []
    requests = [found.items[i] for i in ids if i in found.items]
    requests = [r for r in requests if process_name is None or r.process == process_name]
    return sorted(requests, key=lambda r: r.requested_at)


def open_request(site, subject, process_name):
    """The subject's open request on ``process_name``, or None."""
    for request in reversed(requests_of(site, subject, process_name)):
        if request.state == OPEN:
            return request
    return None


def reassign(site, old, new):
    """Requests about ``old`` become requests about ``new`` (two records of one
    person merged): their ids, their subject, the queue's places."""
    for request in requests_of(site, old):
        request.subject = new
        _remember(new, request.id)
    old.approval_ids = None


def has_open(site, subject):
    """Whether any request about ``subject`` is still open (business under way)."""
    return any(r.state == OPEN for r in requests_of(site, subject))


def waiting_at(site, node, process_name=None):
    """Open requests that ``node`` itself decides now, oldest first (one key range)."""
    found = store(site)
    if found is None:
        return []
    key = _path_key(node)
    requests = [found.items[i] for _path, i in found.queue.keys(min=(key, ""), max=(key, "\uffff"))]
    return _sorted(r for r in requests if process_name is None or r.process == process_name)


def waiting_under(site, node, process_name=None):
    """Open requests decided at ``node`` or anywhere below it (one key range)."""
    found = store(site)
    if found is None:
        return []
    key = _path_key(node)
    requests = [found.items[i] for _path, i in found.queue.keys(min=(key,), max=(key + "\uffff",))]
    return _sorted(r for r in requests if process_name is None or r.process == process_name)


def _sorted(requests):
    return sorted(requests, key=lambda r: r.step_started)


def deciding_places(site, user, registry=None):
    """Nodes where ``user`` (or a group of theirs) holds a role that decides some step."""
    permissions = {step.permission for process in processes(registry).values() for step in process.steps}
    holders = [user] + [site.principals.get(g) for g in getattr(user, "groups", ())]
    found = []
    for holder in filter(None, holders):
        for node in getattr(holder, "places", ()) or ():
            roles = security.local_roles_of(node, holder.userid)
            if any(permissions & security.permissions_of(node.content_type, role, registry) for role in roles):
                found.append(node)
    return found


def queue_for(site, user, process_name=None, registry=None):
    """Every open request ``user`` may decide now, oldest step first: a key-range
    read under each place where they hold a deciding role."""
    if user is None or store(site) is None:
        return []
    found = {}
    for node in deciding_places(site, user, registry):
        for request in waiting_under(site, node, process_name):
            if request.id not in found and problem(site, user, request, registry) is None:
                found[request.id] = request
    return _sorted(found.values())


def open_requests(site, process_name=None):
    """Every open request (for the reminder job): the queue index, not a scan of all requests."""
    found = store(site)
    if found is None:
        return []
    requests = (found.items[i] for _path, i in found.queue.keys())
    return [r for r in requests if process_name is None or r.process == process_name]


def overdue(site, today=None, registry=None):
    """Open requests past their step's deadline; each fires ApprovalOverdue."""
    late = [r for r in open_requests(site) if r.overdue(today, registry)]
    for request in late:
        events.notify(events.ApprovalOverdue(request), registry)
    return late


def describe(request, registry=None):
    process = process_of(request, registry)
    return process.describe(request) if process.describe is not None else process.label


def subject_site(request):
    return find_root(request.subject)


def includeme(config):
    config.add_directive("add_approval_process", add_approval_process)
