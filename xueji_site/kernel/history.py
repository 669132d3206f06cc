"""A record's own change history: every change, direct or reviewed, with
before and after values, who and when. Kept on the record (a BTree, sized
for years) so it moves with the pupil from school to school.

Which objects keep a history, and whose changes enter it, is part of their
types' registrations (``keeps_history``, ``history``): a family member's or a
sub-record's changes enter the history of the pupil it belongs to. Sensitive
values (the registration's ``sensitive``) are kept masked here; the full
value is only on the record itself (sealed). Entries are written by event
subscribers, so no code path can change a record without leaving one.
"""
import random
import time

from BTrees.LOBTree import LOBTree
from pyramid.threadlocal import get_current_request
from pyramid.traversal import resource_path

from xueji_site.kernel import chain, events
from xueji_site.kernel.content import history_holder, sensitive_of, type_of
from xueji_site.kernel.masking import mask_field


def _shown(obj, field, value):
    if field in sensitive_of(obj):
        return mask_field(field, value)
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _actor():
    request = get_current_request()
    user = getattr(request, "user", None) if request is not None else None
    if user is None:
        return "system", "system"
    return user.userid, user.login


def record(obj, kind, changes=(), note="", actor=None):
    """Append one entry: ``changes`` is ((field, before, after), ...) as shown;
    ``actor`` the (userid, login) acting where it is not the request's user."""
    if obj.history is None:
        obj.history = LOBTree()
    key = int(time.time() * 1_000_000) << 8 | random.getrandbits(8)
    while key in obj.history:
        key += 1
    userid, login = actor if actor is not None else _actor()
    obj.history[key] = (time.time(), userid, login, kind, tuple(changes), note)


def entries(obj, limit=200):
    """Newest first: (when, userid, login, kind, changes, note)."""
    if obj.history is None:
        return []
    found = []
    for key in reversed(obj.history.keys()):
        found.append(obj.history[key])
        if len(found) >= limit:
            break
    return found


def _part(obj, holder):
    """How an entry about ``obj`` names it in ``holder``'s history ('' for the holder itself)."""
    if obj is holder:
        return ""
    ct = type_of(obj)
    return "%s %s" % (ct.name, getattr(obj, "__name__", "") or "")


def on_added(event):
    holder = history_holder(event.object)
    if holder is None:
        return
    if holder is event.object:
        record(holder, "create", note=resource_path(event.parent))
    else:
        record(holder, "add-part", note=_part(event.object, holder))


def on_modified(event):
    obj = event.object
    holder = history_holder(obj)
    if holder is None:
        return
    changes = [(field, _shown(obj, field, before), _shown(obj, field, after))
               for field, (before, after) in sorted(event.changes.items())]
    note = getattr(event, "note", "") or ""
    if holder is obj:
        record(holder, "modify", changes, note)
    else:
        record(holder, "modify-part", changes, (_part(obj, holder) + " " + note).strip())


def on_will_be_removed(event):
    holder = history_holder(event.object)
    if holder is not None and holder is not event.object:
        record(holder, "remove-part", note=_part(event.object, holder))


def on_moved(event):
    holder = history_holder(event.object)
    if holder is event.object:
        before = resource_path(event.old_parent)
        record(holder, "move", (("place", before, resource_path(holder.__parent__)),))


# -- the approval chain: a request on a record enters its history ---------------------
# The note starts with what was asked (the process's description, a msgid the
# record page translates) and goes on with the reason given.

HISTORY_SEPARATOR = "："


def _chain_note(request, text):
    described = chain.describe(request)
    return "%s%s%s" % (described, HISTORY_SEPARATOR, text) if text else str(described)


def _chain_holder(request):
    process = chain.process_of(request)
    holder = history_holder(request.subject) if process.history else None
    return process, holder


def on_approval_requested(event):
    request = event.request
    process, holder = _chain_holder(request)
    if holder is None:
        return
    changes = process.history_changes(request) if process.history_changes is not None else ()
    record(holder, process.history + "-requested", changes, _chain_note(request, request.reason),
           actor=tuple(request.requested_by))


SUFFIXES = {chain.REJECT: "rejected", chain.WITHDRAW: "withdrawn"}


def on_approval_decided(event):
    request = event.request
    process, holder = _chain_holder(request)
    if holder is None:
        return
    _when, userid, login, step, decision, reason = request.last_decision()
    if decision == chain.APPROVE and request.state == chain.APPROVED:
        return  # the last approval: the effect writes its own entry
    suffix = "approved-" + step if decision == chain.APPROVE else SUFFIXES[decision]  # which step approved
    record(holder, "%s-%s" % (process.history, suffix), (),
           _chain_note(request, reason if decision == chain.REJECT else login), actor=(userid, login))


def includeme(config):
    config.add_subscriber(on_approval_requested, events.ApprovalRequested)
    config.add_subscriber(on_approval_decided, events.ApprovalDecided)
    config.add_subscriber(on_added, events.ObjectAdded)
    config.add_subscriber(on_modified, events.ObjectModified)
    config.add_subscriber(on_will_be_removed, events.ObjectWillBeRemoved)
    config.add_subscriber(on_moved, events.ObjectMoved)
