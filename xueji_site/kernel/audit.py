"""The append-only audit log.

Entries are written in the same transaction as the change they record, so a
change that rolls back leaves no entry and an entry never describes a change
that did not happen. Keys are microsecond timestamps with random low bits:
concurrent writers insert at different keys and BTree conflict resolution
merges them. The application offers no way to edit or delete an entry.

Tamper evidence: a hash chain, sealed after the fact
----------------------------------------------------
Every entry is also put in ``unsealed`` (a tree set of keys) by the same
transaction that writes it. A sealing job (``seal``; run inside the site after
writing requests, at most every ``xueji.audit_seal_seconds``, see
views/sealer.py, and by ``xueji-verify-audit CONFIG --seal`` from cron) takes the
unsealed keys in one transaction and gives each, in key order, the next
sequence number and a seal ``(key, digest, link)``: ``digest`` is an HMAC of the
entry's whole content, ``link`` an HMAC of (sequence, previous link, digest).

Why not chain at append time (each entry naming the one before)? Requests
append concurrently, and "the previous entry" is a single value every writer
would read and replace: every pair of concurrent requests that log anything
would conflict, and a key order fixed before commit is not the commit order
anyway (a transaction that began earlier may commit later). Sealing
afterwards makes the chain's order the order in which entries were *sealed*,
which no late commit can disturb: an entry committed after a sealing run is
simply still in ``unsealed`` and is sealed by the next run. Appenders and the
sealer touch the same ``unsealed`` buckets only with inserts and deletes of
different keys, which BTree conflict resolution merges.

The HMACs are keyed with the site's external key file (``crypto``), so
someone who can write the database but does not hold the key cannot rebuild
a consistent chain after editing it. ``verify`` reports a changed entry, a
removed entry, a removed seal (a gap in the sequence), and an entry that is
neither sealed nor waiting to be (written around ``append``). Entries not yet
sealed are the window of exposure: seal often. ``purge`` drops the oldest
part of the chain only, never anything younger than the retention period.
"""
import json
import random
import time
from collections import namedtuple

from BTrees.Length import Length
from BTrees.LLBTree import LLBTree, LLTreeSet
from BTrees.LOBTree import LOBTree
from persistent import Persistent
from pyramid.threadlocal import get_current_request
from pyramid.traversal import find_root, resource_path

from xueji_site.kernel import chain, events
from xueji_site.kernel.content import sensitive_of
from xueji_site.kernel.crypto import keyring
from xueji_site.kernel.masking import mask_field

Entry = namedtuple("Entry", "key when userid login address action path result detail")
Problem = namedtuple("Problem", "kind where message")

OK, DENIED, FAILED = "ok", "denied", "failed"
GENESIS = "0" * 64
MIN_RETENTION_DAYS = 190  # ≥ 6 months (Cybersecurity Law art. 21): 6 calendar months can be 184 days


class AuditLog(Persistent):
    # Absent on logs made before the chain existed; ``_chain`` adds them.
    unsealed = None

    def __init__(self):
        self.entries = LOBTree()
        self.count = Length()
        self._chain()

    def __len__(self):
        return self.count()

    def _chain(self):
        """Create the sealing structures on first use; older entries wait to be sealed."""
        if self.unsealed is None:
            self.seals = LOBTree()          # sequence → (entry key, digest, link)
            self.sealed_at = LLBTree()      # entry key → sequence
            self.head = (0, GENESIS)        # last sequence sealed, its link
            self.base = (0, GENESIS)        # where the chain starts after a purge
            self.unsealed = LLTreeSet(self.entries.keys())
        return self.unsealed

    def append(self, userid, login, address, action, path, result=OK, detail=None):
        when = time.time()
        key = int(when * 1_000_000) << 10 | random.getrandbits(10)
        while key in self.entries:
            key += 1
        record = (when, userid or "", login or "", address or "", action, path or "",
                  result, tuple(sorted((detail or {}).items())))
        self.entries[key] = record
        self._chain().add(key)
        self.count.change(1)
        return Entry(key, *record)

    def newest(self, matches=None, limit=50, before=None):
        """Newest entries first, optionally filtered; ``before`` pages by key."""
        maxkey = before - 1 if before else None
        return self._scan_reverse(matches, limit, maxkey)

    def _scan_reverse(self, matches, limit, maxkey):
        found = []
        try:
            key = self.entries.maxKey(maxkey) if maxkey is not None else self.entries.maxKey()
        except ValueError:
            return found
        while key is not None and len(found) < limit:
            entry = Entry(key, *self.entries[key])
            if matches is None or matches(entry):
                found.append(entry)
            try:
                key = self.entries.maxKey(key - 1)
            except ValueError:
                key = None
        return found


# -- the hash chain: seal, verify, purge ---------------------------------------

def digest(key, record):
    """HMAC of an entry's whole content (canonical JSON), under the site key."""
    text = json.dumps([key, repr(record[0]), *record[1:]], ensure_ascii=False, separators=(",", ":"))
    return keyring().blind("audit-entry", text)


def link(seq, previous, entry_digest):
    return keyring().blind("audit-chain", "%d|%s|%s" % (seq, previous, entry_digest))


def seal(log, limit=None):
    """Seal the waiting entries in key order; returns how many. Run in its own transaction."""
    waiting = log._chain()
    seq, last = log.head
    keys = list(waiting.keys() if limit is None else _first(waiting, limit))
    if not keys:
        return 0  # write nothing: an idle sealer must not make transactions
    for key in keys:
        record = log.entries.get(key)
        seq += 1
        entry_digest = digest(key, record) if record is not None else ""
        last = link(seq, last, entry_digest)
        log.seals[seq] = (key, entry_digest, last)
        log.sealed_at[key] = seq
        waiting.remove(key)
    log.head = (seq, last)
    return len(keys)


def _first(tree_set, limit):
    for index, key in enumerate(tree_set.keys()):
        if index >= limit:
            return
        yield key


def verify(log):
    """Every way the stored log departs from its chain, as a list of Problems (empty: intact)."""
    log._chain()
    problems = []
    seq, last = log.base
    head_seq, head_link = log.head
    for expected in range(seq + 1, head_seq + 1):
        stored = log.seals.get(expected)
        if stored is None:
            problems.append(Problem("seal-removed", expected, "seal %d is missing" % expected))
            last = None
            continue
        problems += _check_seal(log, expected, stored, last)
        last = stored[2]
    if head_seq and last is not None and last != head_link:
        problems.append(Problem("chain-broken", head_seq, "the head does not match the last seal"))
    for key in log.entries.keys():
        if key not in log.sealed_at and key not in log.unsealed:
            problems.append(Problem("entry-unsealed", key, "entry %d was written around the log" % key))
    return problems


def verify_tail(log, count):
    """The newest ``count`` seals checked as ``verify`` checks them (each entry's digest,
    each link, the head), without the walk over every entry that ``verify`` ends
    with: what a page can afford on a large log. Returns (problems, first, last)
    sequence numbers checked; ``xueji-verify-audit`` checks the whole log."""
    log._chain()
    base_seq, base_link = log.base
    head_seq, head_link = log.head
    start = max(base_seq, head_seq - count)
    if start == base_seq:
        last = base_link
    else:
        before = log.seals.get(start)
        last = before[2] if before is not None else None
    problems = []
    for expected in range(start + 1, head_seq + 1):
        stored = log.seals.get(expected)
        if stored is None:
            problems.append(Problem("seal-removed", expected, "seal %d is missing" % expected))
            last = None
            continue
        problems += _check_seal(log, expected, stored, last)
        last = stored[2]
    if head_seq and last is not None and last != head_link:
        problems.append(Problem("chain-broken", head_seq, "the head does not match the last seal"))
    return problems, start + 1, head_seq


def count_waiting(log, limit):
    """How many entries wait to be sealed, counted up to ``limit``."""
    return sum(1 for _key in _first(log._chain(), limit))


def _check_seal(log, seq, stored, previous):
    key, entry_digest, stored_link = stored
    problems = []
    if previous is not None and link(seq, previous, entry_digest) != stored_link:
        problems.append(Problem("chain-broken", seq, "seal %d does not follow from seal %d" % (seq, seq - 1)))
    record = log.entries.get(key)
    if record is None:
        problems.append(Problem("entry-removed", key, "entry %d (seal %d) is missing" % (key, seq)))
    elif digest(key, record) != entry_digest:
        problems.append(Problem("entry-changed", key, "entry %d (seal %d) was changed" % (key, seq)))
    return problems


def purge(log, before, now=None, retention_days=MIN_RETENTION_DAYS):
    """Remove sealed entries written before the time ``before``, oldest first.

    Refuses (ValueError) a ``before`` that would remove anything younger than
    ``retention_days`` (never fewer than MIN_RETENTION_DAYS). Only a prefix of
    the chain goes: the chain's new start is remembered so ``verify`` still
    checks every link that is left. Returns the number of entries removed.
    """
    now = time.time() if now is None else now
    days = max(float(retention_days), MIN_RETENTION_DAYS)
    if before > now - days * 86400:
        raise ValueError("audit entries are kept at least %d days" % days)
    log._chain()
    seq, last = log.base
    removed = 0
    while seq < log.head[0]:
        key, _digest, seal_link = log.seals[seq + 1]
        record = log.entries.get(key)
        if record is not None and record[0] >= before:
            break
        seq, last = seq + 1, seal_link
        if record is not None:
            del log.entries[key]
            log.count.change(-1)
            removed += 1
        del log.seals[seq]
        del log.sealed_at[key]
    log.base = (seq, last)
    return removed


# -- writing entries from requests and events ------------------------------

def _actor(request):
    """(userid, login, address) of whoever is acting: a request's user, or a script."""
    if request is None:
        import os
        import sys
        return "system", os.path.basename(sys.argv[0]) or "script", "local"
    user = getattr(request, "user", None)
    return (getattr(user, "userid", ""), getattr(user, "login", ""), request.client_addr or "")


def log(request, action, context=None, result=OK, site=None, actor=None, **detail):
    """Append one entry for ``action`` on ``context`` by the current actor
    (``actor``: the (userid, login) acting, where it is not the request's user)."""
    if site is None:
        site = find_root(context) if context is not None else request.root
    userid, login, address = _actor(request)
    if actor is not None:
        userid, login = actor
    path = resource_path(context) if context is not None else ""
    return site.audit.append(userid, login, address, action, path, result,
                             {k: _text(v) for k, v in detail.items()})


def _text(value):
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return "" if value is None else str(value)


def _shown(obj, field, value):
    """What the audit log keeps of a field's value: masked if it is sensitive."""
    if field in sensitive_of(obj):
        return mask_field(field, value)
    return _text(value)


def _event_log(event, action, **detail):
    site = find_root(event.object)
    if getattr(site, "audit", None) is None:
        return
    log(get_current_request(), action, event.object, site=site, **detail)


def on_added(event):
    _event_log(event, "create", type=event.object.content_type)


def on_modified(event):
    obj = event.object
    changes = {field: "%s → %s" % (_shown(obj, field, before), _shown(obj, field, after))
               for field, (before, after) in sorted(event.changes.items())}
    _event_log(event, "modify", **changes)


def on_removed(event):
    _event_log(event, "delete", type=event.object.content_type, name=event.name)


def on_moved(event):
    _event_log(event, "move", source=resource_path(event.old_parent).rstrip("/") + "/" + event.old_name)


def on_security(event):
    if event.principal is None:
        _event_log(event, "set-acl", acl=repr(event.after))
    else:
        _event_log(event, "roles", principal=event.principal,
                   before=list(event.before), after=list(event.after))


# -- the approval chain: every request and decision, whoever drives it -------------------

DECIDED = {chain.APPROVE: "approved", chain.REJECT: "rejected", chain.WITHDRAW: "withdrawn"}


def _approval_log(event, decision, actor, **detail):
    """One entry per request and decision: the process's action, ``decision`` saying which."""
    request = event.request
    site = find_root(request.subject)
    if getattr(site, "audit", None) is None:
        return
    process = chain.process_of(request)
    log(get_current_request(), process.audit_prefix, request.subject, site=site, actor=actor,
        id=request.id, decision=decision, **detail)


def on_approval_requested(event):
    request = event.request
    _approval_log(event, "requested", request.requested_by, chain=" > ".join(request.chain),
                  **_payload_detail(request))


def on_approval_decided(event):
    request = event.request
    _when, userid, login, step, decision, note = request.last_decision()
    _approval_log(event, DECIDED[decision], (userid, login), step=step or "", note=note, state=request.state)


def on_approval_overdue(event):
    request = event.request
    _approval_log(event, "overdue", None, step=request.waiting_step or "", due=request.due().isoformat())


def _payload_detail(request):
    """What the audit entry keeps of a request's payload: plain values only (no
    objects, no sealed or personal values: those stay on the request)."""
    return {key: value for key, value in request.payload.items()
            if isinstance(value, (str, int, float)) and key in ("kind", "export", "cohort", "rows")}


def includeme(config):
    config.add_subscriber(on_approval_requested, events.ApprovalRequested)
    config.add_subscriber(on_approval_decided, events.ApprovalDecided)
    config.add_subscriber(on_approval_overdue, events.ApprovalOverdue)
    config.add_subscriber(on_added, events.ObjectAdded)
    config.add_subscriber(on_modified, events.ObjectModified)
    config.add_subscriber(on_removed, events.ObjectWillBeRemoved)
    config.add_subscriber(on_moved, events.ObjectMoved)
    config.add_subscriber(on_security, events.SecurityChanged)
