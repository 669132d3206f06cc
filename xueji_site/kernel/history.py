"""A record's own change history: every change, direct or reviewed, with
before and after values, who and when. Kept on the record (a BTree, sized
for years) so it moves with the pupil from school to school.

Sensitive values are kept masked here; the full value is only on the
record itself (sealed). Entries are written by event subscribers, so no
code path can change a record without leaving one.
"""
import random
import time

from BTrees.LOBTree import LOBTree
from pyramid.threadlocal import get_current_request
from pyramid.traversal import resource_path

from xueji_site.kernel import events
from xueji_site.standards.idnumbers import mask_field


def _shown(obj, field, value):
    if field in getattr(obj, "SENSITIVE", ()):
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


def record(obj, kind, changes=(), note=""):
    """Append one entry: ``changes`` is ((field, before, after), ...) as shown."""
    if obj.history is None:
        obj.history = LOBTree()
    key = int(time.time() * 1_000_000) << 8 | random.getrandbits(8)
    while key in obj.history:
        key += 1
    userid, login = _actor()
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


def _tracked(obj):
    return getattr(obj, "content_type", None) == "Student"


def on_added(event):
    if _tracked(event.object):
        record(event.object, "create", note=resource_path(event.parent))


def on_modified(event):
    obj = event.object
    if _tracked(obj):
        changes = [(field, _shown(obj, field, before), _shown(obj, field, after))
                   for field, (before, after) in sorted(event.changes.items())]
        record(obj, "modify", changes, getattr(event, "note", "") or "")


def on_moved(event):
    if _tracked(event.object):
        before = resource_path(event.old_parent)
        record(event.object, "move", (("place", before, resource_path(event.object.__parent__)),))


def includeme(config):
    config.add_subscriber(on_added, events.ObjectAdded)
    config.add_subscriber(on_modified, events.ObjectModified)
    config.add_subscriber(on_moved, events.ObjectMoved)
