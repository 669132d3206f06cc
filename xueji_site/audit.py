"""The append-only audit log.

Entries are written in the same transaction as the change they record, so a
change that rolls back leaves no entry and an entry never describes a change
that did not happen. Keys are microsecond timestamps with random low bits:
concurrent writers insert at different keys and BTree conflict resolution
merges them. The application offers no way to edit or delete an entry.
"""
import random
import time
from collections import namedtuple

from BTrees.Length import Length
from BTrees.LOBTree import LOBTree
from persistent import Persistent

Entry = namedtuple("Entry", "key when userid login address action path result detail")

OK, DENIED, FAILED = "ok", "denied", "failed"


class AuditLog(Persistent):
    def __init__(self):
        self.entries = LOBTree()
        self.count = Length()

    def __len__(self):
        return self.count()

    def append(self, userid, login, address, action, path, result=OK, detail=None):
        when = time.time()
        key = int(when * 1_000_000) << 10 | random.getrandbits(10)
        while key in self.entries:
            key += 1
        record = (when, userid or "", login or "", address or "", action, path or "",
                  result, tuple(sorted((detail or {}).items())))
        self.entries[key] = record
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


# -- writing entries from requests and events ------------------------------

def _actor(request):
    """(userid, login, address) of whoever is acting: a request's user, or a script."""
    if request is None:
        import os
        import sys
        return "system", os.path.basename(sys.argv[0]) or "script", "local"
    user = getattr(request, "user", None)
    return (getattr(user, "userid", ""), getattr(user, "login", ""), request.client_addr or "")


def log(request, action, context=None, result=OK, site=None, **detail):
    """Append one entry for ``action`` on ``context`` by the current actor."""
    from pyramid.traversal import find_root, resource_path
    if site is None:
        site = find_root(context) if context is not None else request.root
    userid, login, address = _actor(request)
    path = resource_path(context) if context is not None else ""
    return site.audit.append(userid, login, address, action, path, result,
                             {k: _text(v) for k, v in detail.items()})


def _text(value):
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return "" if value is None else str(value)


def _shown(obj, field, value):
    """What the audit log keeps of a field's value: masked if it is sensitive."""
    from .idnumbers import mask_field
    if field in getattr(obj, "SENSITIVE", ()):
        return mask_field(field, value)
    return _text(value)


def _event_log(event, action, **detail):
    from pyramid.threadlocal import get_current_request
    from pyramid.traversal import find_root
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
    from pyramid.traversal import resource_path
    _event_log(event, "move", source=resource_path(event.old_parent).rstrip("/") + "/" + event.old_name)


def on_security(event):
    if event.principal is None:
        _event_log(event, "set-acl", acl=repr(event.after))
    else:
        _event_log(event, "roles", principal=event.principal,
                   before=list(event.before), after=list(event.after))


def includeme(config):
    from . import events
    config.add_subscriber(on_added, events.ObjectAdded)
    config.add_subscriber(on_modified, events.ObjectModified)
    config.add_subscriber(on_removed, events.ObjectWillBeRemoved)
    config.add_subscriber(on_moved, events.ObjectMoved)
    config.add_subscriber(on_security, events.SecurityChanged)
