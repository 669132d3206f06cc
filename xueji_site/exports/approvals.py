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

Storage: ``site.export_approvals``, made on first write (no evolve step):
an OOBTree of approvals keyed by id (``EA20261128-0001``: ids of one day sort
by serial, days by date, so the newest are at the end), a ``Length`` serial
per day (``Length`` resolves concurrent increments, so two requests may draw
the same number; they then insert the same key into ``items``, which BTree
conflict resolution refuses, and the retry draws again), a set of pending
requests keyed by (scope path + "/", id) so that an approver's queue is a
key-range scan under each node where they may approve, and the ids per
requester.
"""
import time

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent
from pyramid.location import lineage
from pyramid.traversal import find_resource, resource_path

from xueji_site.standards import divisions
from xueji_site.kernel import permissions as P, security
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


class ExportApproval(Persistent):
    """One request for one export, and its decision."""

    approver = None       # (userid, login) of whoever decided
    note = ""             # the decision's note
    decided_at = None
    expires_at = None
    used_at = None
    used_rows = None

    def __init__(self, id, requester, scope, kind, purpose, recipient, export, type_name, conditions,
                 max_rows, valid_days, now):
        self.id = id
        self.requester = requester    # (userid, login)
        self.scope = scope            # the node's path
        self.kind = kind
        self.purpose = purpose
        self.recipient = recipient
        self.export = export          # LISTING or SEARCH
        self.type_name = type_name    # the listing's type ('' for a search)
        self.conditions = conditions  # a search's conditions as a query string ('' for a listing)
        self.max_rows = max_rows
        self.valid_days = valid_days
        self.requested_at = now
        self.status = PENDING

    def state(self, now=None):
        """The status, with an approval past its time shown as expired."""
        if self.status == APPROVED and (now or time.time()) > self.expires_at:
            return EXPIRED
        return self.status

    def covers(self):
        return (self.export, self.type_name, self.conditions)


class Approvals(Persistent):
    """``site.export_approvals``: the approvals and their small indexes."""

    def __init__(self):
        self.items = OOBTree()       # id → ExportApproval
        self.serials = OOBTree()     # YYYYMMDD → Length
        self.pending = OOTreeSet()   # (scope path + "/", id) of undecided requests
        self.by_requester = OOBTree()  # userid → OOTreeSet of ids

    def next_id(self, now):
        day = time.strftime("%Y%m%d", time.localtime(now))
        counter = self.serials.get(day)
        if counter is None:
            counter = self.serials[day] = Length()
        counter.change(1)
        return "EA%s-%04d" % (day, counter())


def store(site, create=False):
    found = getattr(site, "export_approvals", None)
    if found is None and create:
        found = site.export_approvals = Approvals()
    return found


def _prefix(path):
    return path.rstrip("/") + "/"


def get(site, approval_id):
    found = store(site)
    if found is None or not isinstance(approval_id, str):
        return None
    return found.items.get(approval_id.strip().upper())


def node_of(site, approval):
    try:
        return find_resource(site, approval.scope)
    except KeyError:
        return None


def request_export(site, user, node, kind, purpose, recipient, export, type_name, conditions, rows,
                   valid_days=DEFAULT_DAYS, now=None):
    """A new pending request by ``user`` for an export at ``node``."""
    if kind not in KINDS or export not in (LISTING, SEARCH):
        raise ValueError("unknown kind or export")
    now = now or time.time()
    approvals = store(site, create=True)
    approval_id = approvals.next_id(now)
    approval = ExportApproval(approval_id, (user.userid, user.login), resource_path(node), kind, purpose,
                              recipient if kind == EXTERNAL else "", export, type_name, conditions,
                              int(rows), int(valid_days), now)
    approvals.items[approval_id] = approval
    approvals.pending.add((_prefix(approval.scope), approval_id))
    mine = approvals.by_requester.get(user.userid)
    if mine is None:
        mine = approvals.by_requester[user.userid] = OOTreeSet()
    mine.add(approval_id)
    return approval


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


def decision_problem(site, user, approval):
    """Why ``user`` may not decide ``approval`` (a DECISION_PROBLEMS key), or None."""
    if approval.status != PENDING:
        return "decided"
    if user is None or user.userid == approval.requester[0]:
        return "own"
    node = node_of(site, approval)
    if node is None:
        return "gone"
    if not security.permits(user, node, P.APPROVE_EXPORT):
        return "not-approver"
    if approval.kind == EXTERNAL and not bureau_admin_above(user, node):
        return "external"
    return None


def decide(site, user, approval, approve, note, now=None):
    """Approve or refuse; raises DecisionError when ``user`` may not."""
    problem = decision_problem(site, user, approval)
    if problem is not None:
        raise DecisionError(problem)
    now = now or time.time()
    approval.status = APPROVED if approve else REFUSED
    approval.approver = (user.userid, user.login)
    approval.note = note
    approval.decided_at = now
    approval.expires_at = now + approval.valid_days * 86400
    store(site).pending.discard((_prefix(approval.scope), approval.id))
    return approval


def approver_paths(site, user):
    """Paths of the nodes where ``user`` (or a group of theirs) holds a role that approves exports."""
    holders = [user] + [site.principals.get(g) for g in getattr(user, "groups", ())]
    paths = set()
    for holder in holders:
        for node in getattr(holder, "places", ()) or ():
            roles = security.local_roles_of(node, holder.userid)
            if any(P.APPROVE_EXPORT in security.permissions_of(node.content_type, role) for role in roles):
                paths.add(resource_path(node))
    return sorted(paths)


def waiting_for(site, user):
    """Pending requests ``user`` may decide, oldest first: a range scan per approving place."""
    approvals = store(site)
    if approvals is None or user is None:
        return []
    found = {}
    for path in approver_paths(site, user):
        prefix = _prefix(path)
        for _scope, approval_id in approvals.pending.keys(min=(prefix,), max=(prefix + "\uffff",)):
            approval = approvals.items.get(approval_id)
            if approval is not None and decision_problem(site, user, approval) is None:
                found[approval_id] = approval
    return sorted(found.values(), key=lambda a: a.requested_at)


def requested_by(site, user, limit=50):
    """``user``'s own requests, newest first (one person's requests: a short set)."""
    approvals = store(site)
    ids = approvals.by_requester.get(user.userid) if approvals is not None else None
    if not ids:
        return []
    return [approvals.items[key] for key in reversed(list(ids)[-limit:])]


# -- using -------------------------------------------------------------------

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


def use(approval, rows, now=None):
    """Mark ``approval`` used: in the export's transaction, beside its audit entry."""
    approval.status = USED
    approval.used_at = now or time.time()
    approval.used_rows = rows
