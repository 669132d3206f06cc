"""Objects of registered types: looking up their registration, creating and changing them.

The registrations themselves: kernel/registry.py.
"""
import time

from xueji_site.kernel import events, subrecords
from xueji_site.kernel.folder import check_name
from xueji_site.kernel.registry import content_registry


# -- reading the registry -------------------------------------------------------------

def get(name, registry=None):
    return content_registry(registry).get(name)


def all_types(registry=None):
    return content_registry(registry).all()


def type_of(obj, registry=None):
    return content_registry(registry).type_of(obj)


def addable_types(parent, registry=None):
    """Types that may be added to ``parent`` as children (permission is checked by the views)."""
    return content_registry(registry).addable(parent)


def sensitive_of(obj, registry=None):
    """The fields of ``obj`` that are sealed and masked, from its registration."""
    ct = type_of(obj, registry)
    return ct.sensitive if ct is not None else ()


def history_holder(obj, registry=None):
    """The object whose history records ``obj``'s changes, or None.

    ``obj`` itself when its type keeps a history; else, when its type's
    changes enter the history, the nearest ancestor whose type keeps one.
    """
    types = content_registry(registry)
    ct = types.type_of(obj)
    if ct is None or not (ct.history or ct.keeps_history):
        return None
    node = obj
    while node is not None:
        holder_type = types.type_of(node)
        if holder_type is not None and holder_type.keeps_history:
            return node
        node = getattr(node, "__parent__", None)
    return None


# -- changing the tree ---------------------------------------------------------------

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
    ObjectAdded (catalog, audit, history) always fires. A collection type's
    object goes into the parent's sub-record collection.
    """
    ct = content_registry(registry).get(type_name)
    if getattr(parent, "content_type", None) not in ct.add_to:
        raise ValueError("%s cannot be added to %s" % (type_name, getattr(parent, "content_type", None)))
    obj = ct.factory()
    obj.created = time.time()
    if ct.collection:
        apply_fields(obj, appstruct)
        return subrecords.add(parent, ct.name, obj, registry=registry)
    name = ct.key(appstruct, parent)
    check_name(parent, name)
    apply_fields(obj, appstruct)
    parent.add(name, obj, registry=registry)
    return obj


def modify(obj, appstruct, registry=None, note=""):
    """Apply ``appstruct`` to ``obj``; fire ObjectModified when something changed."""
    changes = apply_fields(obj, appstruct)
    if changes:
        events.notify(events.ObjectModified(obj, changes, note), registry)
    return changes
