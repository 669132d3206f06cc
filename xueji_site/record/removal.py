"""Deleting a pupil's record: a system administrator's repair of an entry made in error.

A registry does not delete: a wrong registration is cancelled (注销, the status
change ``void`` in status/changes.py) with a reason and the county's review, and
the record stays. What remains is the slip a registrar notices at once (a pupil
entered twice, a test entry in production): a sysadmin may delete such a record
within ``xueji.hard_delete_hours`` of its entry, giving a reason. The audit entry
of the deletion carries the whole record, family and entries included, sealed with
the site's key (``crypto.keyring().seal("hard-delete", …)``), so the content can be
recovered by whoever holds the key and read by nobody else from the log.
"""
import base64
import datetime
import json
import time

from xueji_site.kernel import audit, content, subrecords
from xueji_site.kernel.crypto import keyring
from xueji_site.kernel.i18n import _
from xueji_site.kernel.settings import Setting, value, whole

HOURS = "xueji.hard_delete_hours"
SETTING = Setting(HOURS, whole(0, 24 * 30), 24,
                  "hours after its entry a sysadmin may still delete a pupil's record made in error (0: never)")
SEALED_FIELD = "hard-delete"


class RemovalError(ValueError):
    """``args[0]`` is a translation string saying why."""


def deadline(student, registry=None):
    """Until when (a timestamp) the record may be deleted; None when never."""
    hours = value(registry, HOURS)
    if not hours or not student.created:
        return None
    return student.created + hours * 3600


def may_delete(student, registry=None, now=None):
    until = deadline(student, registry)
    return until is not None and (now if now is not None else time.time()) <= until


def _text(raw):
    if isinstance(raw, (datetime.date, datetime.datetime)):
        return raw.isoformat()
    if raw is None or isinstance(raw, (str, int, float, bool)):
        return raw
    return str(raw)


def snapshot(obj, registry=None):
    """Every inventoried field of ``obj`` and of its parts, as JSON-ready values."""
    registered = content.type_of(obj, registry)
    fields = sorted(getattr(registered, "inventory", None) or ())
    found = {"type": obj.content_type, "key": obj.__name__,
             "fields": {name: _text(getattr(obj, name, None)) for name in fields}, "parts": []}
    children = list(obj.values()) if hasattr(obj, "values") else []
    for collection in subrecords.collections_of(obj).values():
        children.extend(collection.entries.values())
    found["parts"] = [snapshot(child, registry) for child in children if getattr(child, "content_type", None)]
    return found


def seal(obj, registry=None):
    data = json.dumps(snapshot(obj, registry), ensure_ascii=False, sort_keys=True).encode("utf-8")
    return base64.b64encode(keyring().seal_bytes(SEALED_FIELD, data)).decode("ascii")


def unseal(text):
    """The snapshot an audit entry's ``sealed`` detail holds (for whoever holds the key)."""
    return json.loads(keyring().open_bytes(SEALED_FIELD, base64.b64decode(text)).decode("utf-8"))


def hard_delete(request, student, reason, registry=None):
    """Remove the record, auditing its sealed content first; raise RemovalError when not allowed."""
    if not (reason or "").strip():
        raise RemovalError(_("请填写删除原因"))
    if not may_delete(student, registry):
        raise RemovalError(_("录入已超过时限，不能删除；误录的学籍请办理注销（学籍异动）"))
    audit.log(request, "hard-delete", student, reason=reason.strip(), sealed=seal(student, registry))
    student.__parent__.remove(student.__name__, registry=registry)


def includeme(config):
    config.add_setting(SETTING)
