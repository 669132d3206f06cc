"""Break-glass: one record unmasked, for a short time, for a reason everyone sees.

The system administrator sees pupils' records masked (security.MATRIX: no
VIEW_SENSITIVE). Running the system now and then needs a value in full — a
record a registrar reports as garbled, a duplicate to untangle. Rather than a
standing right to read every ID number, the holder of BREAK_GLASS asks for one
record, says why, and gets that record (and its family members) unmasked for
``xueji.break_glass_minutes`` (15). Each opening is written to the audit log
with the reason, and raised at once as an alert to the security administrators
and auditors (alerts.raise_event): someone other than the reader looks at every
one of them.

The grant lives on the user object (server side, not in the cookie), keyed by
the record's path; ``security.permits`` consults it for VIEW_SENSITIVE only,
and only while the user still holds BREAK_GLASS there, so revoking the role
ends it too.
"""
import time

from persistent.mapping import PersistentMapping
from pyramid.location import lineage
from pyramid.traversal import resource_path

from xueji_site.kernel import settings as xueji_settings

DEFAULT_MINUTES = 15
MAX_MINUTES = 60


def minutes(settings):
    return xueji_settings.raw(settings, "xueji.break_glass_minutes")  # 1 to MAX_MINUTES


def record_of(node):
    """The pupil's record a node belongs to (the node itself, or its Student ancestor)."""
    for found in lineage(node):
        if getattr(found, "content_type", None) == "Student":
            return found
    return None


def open_record(user, record, seconds, now=None):
    """Open ``record`` unmasked for ``user`` until now + ``seconds``; returns that time.
    Expired grants of the same user are dropped on the way."""
    now = time.time() if now is None else now
    grants = getattr(user, "break_glass", None)
    if grants is None:
        grants = user.break_glass = PersistentMapping()
    for path in [p for p, until in grants.items() if until <= now]:
        del grants[path]
    until = now + seconds
    grants[resource_path(record)] = until
    return until


def open_until(user, node, now=None):
    """When the break-glass grant covering ``node`` ends, or None if there is none."""
    grants = getattr(user, "break_glass", None)
    record = record_of(node) if grants else None
    if record is None:
        return None
    until = grants.get(resource_path(record))
    now = time.time() if now is None else now
    return until if until is not None and until > now else None


def is_open(user, node, now=None):
    return open_until(user, node, now) is not None
