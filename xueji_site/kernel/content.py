"""The content-type registry: each record type registered once.

A registration names the class, the colander schema that feeds its add and
edit forms, the types it may be added to, how a new object's key is made,
and the columns of its listing. A new record type needs a class, a schema
and one ``register`` call; the generic views do the rest.
"""
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from xueji_site.kernel import events
from xueji_site.kernel.folder import check_name

_TYPES = {}


@dataclass
class ContentType:
    name: str
    factory: type
    schema: Optional[Callable]  # schema(request, context, adding) -> colander.SchemaNode
    title: object
    add_to: tuple = ()
    key: Optional[Callable] = None  # key(appstruct, parent) -> child name
    columns: tuple = ()  # (attribute-or-callable, label) for listings
    sensitive: tuple = ()  # fields sealed at rest and masked on screen
    icon: str = ""
    derived: Callable = field(default=lambda obj: {})  # extra read-only fields to show
    review_fields: tuple = ()  # fields whose changes wait for approval (review.py)


def register(content_type):
    _TYPES[content_type.name] = content_type
    return content_type


def get(name):
    return _TYPES[name]


def all_types():
    return list(_TYPES.values())


def type_of(obj):
    return _TYPES.get(getattr(obj, "content_type", None))


def addable_types(parent):
    """Types that may be added to ``parent`` (permission is checked by the views)."""
    kind = getattr(parent, "content_type", None)
    return [ct for ct in _TYPES.values() if kind in ct.add_to]


def apply_fields(obj, appstruct):
    """Set schema fields on ``obj``; return {field: (before, after)} of real changes."""
    changes = {}
    for name, value in appstruct.items():
        if name == "csrf_token":
            continue
        before = getattr(obj, name, None)
        if before != value:
            setattr(obj, name, value)
            changes[name] = (before, value)
    if changes:
        obj.touch()
    return changes


def create(type_name, parent, appstruct, registry=None):
    """Make a ``type_name`` from ``appstruct`` and add it to ``parent``.

    The only way objects enter the tree, so that keys are validated and
    ObjectAdded (catalog, audit) always fires.
    """
    ct = _TYPES[type_name]
    if getattr(parent, "content_type", None) not in ct.add_to:
        raise ValueError("%s cannot be added to %s" % (type_name, parent.content_type))
    name = ct.key(appstruct, parent)
    check_name(parent, name)
    obj = ct.factory()
    obj.created = time.time()
    apply_fields(obj, appstruct)
    parent.add(name, obj, registry=registry)
    return obj


def modify(obj, appstruct, registry=None, note=""):
    """Apply ``appstruct`` to ``obj``; fire ObjectModified when something changed."""
    changes = apply_fields(obj, appstruct)
    if changes:
        events.notify(events.ObjectModified(obj, changes, note), registry)
    return changes
