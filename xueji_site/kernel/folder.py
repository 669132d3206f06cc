"""BTree-backed containers: the mechanics every tree node shares.

Children live in an OOBTree with a ``BTrees.Length`` counter, so ``len()`` is
O(1) and two transactions adding different children resolve without conflict.
Adding, removing and moving fire events; names are validated here once.
"""
import re

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from xueji_site.kernel import events

SUBRECORDS = "@"  # names of sub-record collections start with it; children's never do
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class NameError_(ValueError):
    """A child name that may not be used (bad form, or taken)."""


def check_name(container, name):
    """Raise NameError_ unless ``name`` may be added to ``container``."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise NameError_("invalid-name")
    if name in container:
        raise NameError_("duplicate-name")
    return name


class Container(Persistent):
    """A persistent node whose children are kept in a BTree."""

    __parent__ = None
    __name__ = None

    def __init__(self):
        self.data = OOBTree()
        self._num = Length()

    # -- reading -----------------------------------------------------------
    def __getitem__(self, name):
        if name[:1] == SUBRECORDS:  # a sub-record collection (kernel/subrecords.py), not a child
            found = (getattr(self, "subrecords", None) or {}).get(name[1:])
            if found is None:
                raise KeyError(name)
            return found
        return self.data[name]

    def get(self, name, default=None):
        return self.data.get(name, default)

    def __contains__(self, name):
        return name in self.data

    def __len__(self):
        return self._num()

    def __bool__(self):
        return True  # a container is truthy even when empty

    def keys(self, min=None, max=None):
        return self.data.keys(min, max)

    def values(self):
        return self.data.values()

    def items(self):
        return self.data.items()

    def __iter__(self):
        return iter(self.data.keys())

    # -- writing -----------------------------------------------------------
    def add(self, name, obj, send_events=True, registry=None):
        """Add ``obj`` as ``name``; fires ObjectAdded."""
        check_name(self, name)
        obj.__parent__ = self
        obj.__name__ = name
        self.data[name] = obj
        self._num.change(1)
        if send_events:
            events.notify(events.ObjectAdded(obj, self, name), registry)
        return obj

    def remove(self, name, send_events=True, registry=None):
        """Remove the child ``name``; fires ObjectWillBeRemoved and ObjectRemoved."""
        obj = self.data[name]
        if send_events:
            events.notify(events.ObjectWillBeRemoved(obj, self, name), registry)
        del self.data[name]
        self._num.change(-1)
        if send_events:
            events.notify(events.ObjectRemoved(obj, self, name), registry)
        return obj

    def move(self, name, other, newname=None, registry=None):
        """Move child ``name`` into container ``other`` (keeps the object and its history)."""
        newname = newname or name
        check_name(other, newname)
        obj = self.data[name]
        del self.data[name]
        self._num.change(-1)
        obj.__parent__ = other
        obj.__name__ = newname
        other.data[newname] = obj
        other._num.change(1)
        events.notify(events.ObjectMoved(obj, self, name), registry)
        return obj
