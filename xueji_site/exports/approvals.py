"""Approvals for exports of pupils' data (checklist G3, G4). No HTTP here.

G3 (儿童个人信息网络保护规定 art. 15): staff get the least data they need, and a
bulk copy needs someone's approval. G4 (教基〔2025〕1号): pupils' data goes to
nobody outside the education system without the approval of a county-level or
higher education authority, only de-identified, and whoever approves answers
for it (谁批准谁负责).

The rule (``needs_approval``): an *internal* export of more than
``xueji.export_approval_rows`` rows, and every *external* one, needs an
approved ``ExportApproval``. An approval is asked for by one user for one node
(the exact node, not its ancestors or descendants: an approval for a class
does not open its school), one export (a type's listing, or a search with
its conditions), a kind and at most so many rows; it is decided by someone
else, is valid for ``valid_days`` after the decision, and is used once.

Who decides (``decision_problem``): a holder of ``approve-export`` on the
node (a principal for the school's internal exports, a bureau admin above),
never the requester; an external export only a ``bureau_admin`` of a Bureau
on the node's lineage (every bureau is county level or above; checked here,
not left to the permission matrix).

Storage: each approval is a request of the ``export`` process on the
approval chain (kernel/chain.py: ids ``EA20261128-0001``, the one queue
index, audit and mail through its events), about the node it is for, with
what it covers in its payload; ``ExportApproval`` reads one as the export
rules need it. A requester's own requests are the ids kept on their account.
"""
import time

from BTrees.OOBTree import OOTreeSet
from pyramid.location import lineage
from pyramid.traversal import find_resource, find_root, resource_path

from xueji_site.standards import divisions
from xueji_site.kernel import chain, legacy, permissions as P, security
from xueji_site.kernel.i18n import _

INTERNAL, EXTERNAL = "internal", "external"
KINDS = (INTERNAL, EXTERNAL)
KIND_LABELS = {INTERNAL: _("内部使用"), EXTERNAL: _("对外提供")}

LISTING, SEARCH = "listing", "search"
EXPORT_LABELS = {LISTING: _("学生名单"), SEARCH: _("查询结果")}

PENDING, APPROVED, REFUSED, USED, EXPIRED = "pending", "approved", "refused", "used", "expired"
STATUS_LABELS = {PENDING: _("待审批"), APPROVED: _("已批准"), REFUSED: _("未批准"), USED: _("已使用"),
                 EXPIRED: _("已过期")}

# One class: national class-size limits are 45 pupils (primary) and 50
# (secondary), so a class list never needs an approval; a school's or a
# county's does.
DEFAULT_ROWS = 60
DEFAULT_DAYS = 7
MAX_ROWS = 100_000  # the largest search export (views/search.py EXPORT_LIMIT)

COUNTY_OR_ABOVE = (divisions.LEVEL_PROVINCE, divisions.LEVEL_CITY, divisions.LEVEL_COUNTY)

REFUSALS = {  # the reasons an export is refused that need no numbers; see ``check``
    "needs-external": _("向外提供学生个人信息，须经县级以上教育行政部门批准，并且只提供去标识化的数据。"),
    "unknown": _("批准编号不存在。"),
    "not-yours": _("该批准不是您申请的，不能使用。"),
    "not-approved": _("该申请尚未获得批准。"),
    "used": _("该批准已经使用过，每个批准只能导出一次。"),
    "expired": _("该批准已过有效期。"),
    "other-node": _("该批准不适用于此位置。"),
    "other-export": _("该批准不适用于此项导出（名单类型或查询条件不同）。"),
    "other-kind": _("导出用途（内部使用或对外提供）与批准不符。"),
}

DECISION_PROBLEMS = {
    "decided": _("该申请已经处理过。"),
    "own": _("不能审批自己提交的申请。"),
    "gone": _("申请涉及的位置已不存在。"),
    "not-approver": _("您无权审批此位置的导出申请。"),
    "external": _("对外提供须由县级以上教育局的管理员审批。"),
}


class Refused(Exception):
    """An export that no approval clears: ``code`` for the audit log, ``message`` for the user."""

    def __init__(self, code, message=None):
        super().__init__(code)
        self.code = code
        self.message = message if message is not None else REFUSALS[code]


class DecisionError(Exception):
    """A decision this user may not take; ``code`` is a key of DECISION_PROBLEMS."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code

    @property
    def message(self):
        return DECISION_PROBLEMS[self.code]


def needs_approval(rows, kind, limit=DEFAULT_ROWS):
    return kind == EXTERNAL or rows > limit


PROCESS = "export"
APPROVE_STEP = "approve"


class ExportApproval:
    """One export approval: a chain request read as the export rules need it.

    Not stored itself (the request is); ``use`` writes through to the request."""

    def __init__(self, request):
        self.request = request
        payload = request.payload
        self.id = request.id
        self.requester = request.requested_by
        self.scope = payload["scope"]
        self.kind = payload["kind"]
        self.purpose = request.reason
        self.recipient = payload["recipient"]
        self.export = payload["export"]
        self.type_name = payload["type_name"]
        self.conditions = payload["conditions"]
        self.max_rows = payload["max_rows"]
        self.valid_days = payload["valid_days"]
        self.requested_at = request.requested_at
        decided = request.decisions[-1] if request.decisions and request.state != chain.WITHDRAWN else None
        self.approver = (decided[1], decided[2]) if decided else None
        self.note = decided[5] if decided else ""
        self.decided_at = decided[0] if decided else None

    # what changes after the decision lives in the request's payload
    def _stored(name):
        def get(self):
            return self.request.payload.get(name)

        def put(self, value):
            self.request.payload[name] = value
        return property(get, put)

    expires_at = _stored("expires_at")
    used_at = _stored("used_at")
    used_rows = _stored("used_rows")
    del _stored

    @property
    def status(self):
        if self.request.state == chain.OPEN:
            return PENDING
        if self.request.state == chain.APPROVED:
            return USED if self.used_at is not None else APPROVED
        return REFUSED

    def state(self, now=None):
        """The status, with an approval past its time shown as expired."""
        status = self.status
        if status == APPROVED and (now or time.time()) > self.expires_at:
            return EXPIRED
        return status

    def covers(self):
        return (self.export, self.type_name, self.conditions)


def store(site, create=False):
    """The approval chain's store, where export approvals are kept."""
    return chain.store(site, create)


def get(site, approval_id):
    request = chain.get(site, approval_id)
    return ExportApproval(request) if request is not None and request.process == PROCESS else None


def node_of(site, approval):
    try:
        return find_resource(site, approval.scope)
    except KeyError:
        return None


def request_export(site, user, node, kind, purpose, recipient, export, type_name, conditions, rows,
                   valid_days=DEFAULT_DAYS, now=None, registry=None):
    """A new pending request by ``user`` for an export at ``node``."""
    if kind not in KINDS or export not in (LISTING, SEARCH):
        raise ValueError("unknown kind or export")
    payload = {"scope": resource_path(node), "kind": kind, "recipient": recipient if kind == EXTERNAL else "",
               "export": export, "type_name": type_name, "conditions": conditions, "max_rows": int(rows),
               "rows": int(rows), "valid_days": int(valid_days)}
    request = chain.start(site, PROCESS, node, user, purpose, payload, registry, now=now)
    mine = getattr(user, "export_requests", None)
    if mine is None:
        mine = user.export_requests = OOTreeSet()
    mine.add(request.id)
    return ExportApproval(request)


# -- deciding ----------------------------------------------------------------

def _principals(user):
    return [user.userid] + list(getattr(user, "groups", ()))


def bureau_admin_above(user, node):
    """Whether ``user`` is a bureau admin of a county-or-higher Bureau on ``node``'s lineage."""
    principals = _principals(user)
    for ancestor in lineage(node):
        if getattr(ancestor, "content_type", None) != "Bureau" or ancestor.level not in COUNTY_OR_ABOVE:
            continue
        if any(security.BUREAU_ADMIN in security.local_roles_of(ancestor, p) for p in principals):
            return True
    return False


def _external_problem(site, user, request, node):
    """What the permissions cannot say: an external export only by a bureau admin above (G4)."""
    if request.payload["kind"] == EXTERNAL and not bureau_admin_above(user, node):
        return "external"
    return None


def decision_problem(site, user, approval):
    """Why ``user`` may not decide ``approval`` (a DECISION_PROBLEMS key), or None."""
    return chain.problem(site, user, approval.request)


def decide(site, user, approval, approve, note, now=None):
    """Approve or refuse; raises DecisionError when ``user`` may not."""
    problem = decision_problem(site, user, approval)
    if problem is not None:
        raise DecisionError(problem)
    chain.decide(site, approval.request, user, approve, note)
    return ExportApproval(approval.request)


def approver_paths(site, user):
    """Paths of the nodes where ``user`` (or a group of theirs) holds a role that approves exports."""
    holders = [user] + [site.principals.get(g) for g in getattr(user, "groups", ())]
    paths = set()
    for holder in filter(None, holders):
        for node in getattr(holder, "places", ()) or ():
            roles = security.local_roles_of(node, holder.userid)
            if any(P.APPROVE_EXPORT in security.permissions_of(node.content_type, role) for role in roles):
                paths.add(resource_path(node))
    return sorted(paths)


def waiting_for(site, user):
    """Pending requests ``user`` may decide, oldest first: the chain's queue under each approving place."""
    return [ExportApproval(r) for r in chain.queue_for(site, user, PROCESS)]


def requested_by(site, user, limit=50):
    """``user``'s own requests, newest first (one person's requests: a short set)."""
    ids = getattr(user, "export_requests", None)
    if not ids:
        return []
    found = [get(site, key) for key in reversed(list(ids)[-limit:])]
    return [approval for approval in found if approval is not None]


def _valid_from_now(request, registry):
    """An approval is valid for ``valid_days`` from its decision."""
    request.payload["expires_at"] = time.time() + request.payload["valid_days"] * 86400


EXPORT_PROCESS = chain.Process(
    name=PROCESS, label=_("导出审批"), prefix="EA",
    steps=(chain.Step(APPROVE_STEP, _("审批"), P.APPROVE_EXPORT,
                      lambda r: find_resource(find_root(r.subject), r.payload["scope"])),),
    working_days=5, problem=_external_problem, problems=DECISION_PROBLEMS, on_approved=_valid_from_now,
    describe=lambda r: KIND_LABELS[r.payload["kind"]], audit="export-approval",
    subject_title=lambda r: r.subject.title,
    where=lambda r: (find_root(r.subject), "export-approval", {"id": r.id}))


def check(site, user, node, rows, kind, covers, approval_id, limit=DEFAULT_ROWS, now=None):
    """The approval that clears this export, or Refused with the reason.

    ``covers`` is (export, type name, conditions), as ``ExportApproval.covers``;
    ``limit`` the setting, for the message.
    """
    if not approval_id:
        if kind == EXTERNAL:
            raise Refused("needs-external")
        raise Refused("needs-approval", _("导出超过 ${limit} 行学生个人信息，须先经校长或上级教育局批准。",
                                          mapping={"limit": limit}))
    approval = get(site, approval_id)
    if approval is None:
        raise Refused("unknown")
    if user is None or approval.requester[0] != user.userid:
        raise Refused("not-yours")
    state = approval.state(now)
    if state in (PENDING, REFUSED):
        raise Refused("not-approved")
    if state in (USED, EXPIRED):
        raise Refused(state)
    if approval.scope != resource_path(node):
        raise Refused("other-node")
    if approval.covers() != tuple(covers):
        raise Refused("other-export")
    if approval.kind != kind:
        raise Refused("other-kind")
    if rows > approval.max_rows:
        raise Refused("rows", _("导出行数（${rows}）超过批准的上限（${max}）。",
                                mapping={"rows": rows, "max": approval.max_rows}))
    return approval


def for_this_export(site, user, node, rows, kind, covers, now=None):
    """``user``'s own approvals for exactly this export: (one that clears it now, or None;
    one still waiting for its decision, or None). A refused export points to them."""
    granted = waiting = None
    if user is None:
        return None, None
    for approval in requested_by(site, user):
        if approval.scope != resource_path(node) or approval.covers() != tuple(covers) or approval.kind != kind:
            continue
        state = approval.state(now)
        if granted is None and state == APPROVED and rows <= approval.max_rows:
            granted = approval
        elif waiting is None and state == PENDING:
            waiting = approval
    return granted, waiting


def use(approval, rows, now=None):
    """Mark ``approval`` used: in the export's transaction, beside its audit entry."""
    approval.used_at = now or time.time()
    approval.used_rows = rows


# -- evolve: export approvals of the shape before the approval chain -----------------------

def step_0009_export_approvals_on_the_chain(site):
    """``site.export_approvals`` (the old Approvals store of ExportApproval objects)
    becomes requests of the ``export`` process, keeping their ids (EA…), so the
    ids users hold still work; each requester keeps the ids of their requests."""
    old = site.__dict__.get("export_approvals")
    if old is None:
        return 0
    found = legacy.state_of(old)
    moved = 0
    for approval_id, item in found["items"].items():
        s = legacy.state_of(item)
        node = _node_at(site, s["scope"])
        status = s["status"]
        decisions = []
        if status != PENDING and s.get("approver"):
            decision = chain.REJECT if status == REFUSED else chain.APPROVE
            decisions.append((s["decided_at"], s["approver"][0], s["approver"][1], APPROVE_STEP, decision,
                              s.get("note", "")))
        state = chain.OPEN if status == PENDING else chain.REJECTED if status == REFUSED else chain.APPROVED
        payload = {"scope": s["scope"], "kind": s["kind"], "recipient": s.get("recipient", ""),
                   "export": s["export"], "type_name": s.get("type_name", ""), "conditions": s.get("conditions", ""),
                   "max_rows": s["max_rows"], "rows": s["max_rows"], "valid_days": s["valid_days"],
                   "expires_at": s.get("expires_at"), "used_at": s.get("used_at"), "used_rows": s.get("used_rows")}
        chain.restore(site, PROCESS, node if node is not None else site, approval_id, s["requester"],
                      s["requested_at"], s.get("purpose", ""), payload, (APPROVE_STEP,), 0 if state == chain.OPEN else 1,
                      state, decisions, s["requested_at"])
        moved += 1
    chain_store = chain.store(site, create=True)
    for day, counter in found["serials"].items():
        serial = chain_store.serials.get("EA" + day)
        if serial is None:
            serial = chain_store.serials["EA" + day] = type(counter)()
        serial.set(max(serial(), counter()))
    for userid, ids in found["by_requester"].items():
        user = site.principals.get(userid)
        if user is not None:
            mine = getattr(user, "export_requests", None)
            if mine is None:
                mine = user.export_requests = OOTreeSet()
            mine.update(ids)
    legacy.pop(site, "export_approvals")
    return moved


def _node_at(site, path):
    try:
        return find_resource(site, path)
    except KeyError:
        return None
