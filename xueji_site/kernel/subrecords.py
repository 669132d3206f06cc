"""Sub-record collections: the many small records a pupil gathers over years.

Grades, attendance marks, conduct entries and aid awards are many per pupil
and read by time. They are not children in the tree (a class list must not
page through them, and one BTree per pupil keeps them together when the
pupil moves) but entries of a collection per type, kept on the parent:
``parent.subrecords[type name]`` is a ``Collection`` whose entries sit in a
``LOBTree`` keyed by the time they were added (microseconds, with random low
bits so that concurrent writers use different keys and BTree conflict
resolution merges them), so "the newest 50" and "this term's" are key-range
reads, never a scan.

A collection type is registered like any type (``config.add_content_type``
with ``collection=True``): the same permissions, sensitive fields,
inventory, history and archive facts. Entries traverse as
``/…/{pupil}/@{type}/{key}``; the collection's ACL is the entry type's, and
local roles are gathered up the lineage as for every node, so a guardian
who may read the pupil may read what the type's registration allows.
Adding and removing entries fire the tree's events (history and audit see
them); entries are not catalogued unless their registration asks.
"""
import random
import time

from BTrees.Length import Length
from BTrees.LOBTree import LOBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from xueji_site.kernel import events
from xueji_site.kernel.folder import SUBRECORDS as PREFIX
from xueji_site.kernel.nodes import Node
from xueji_site.kernel.security import type_acl


class SubRecord(Node, Persistent):
    """One entry of a collection. Subclass it with the type's fields as class defaults."""

    @property
    def __acl__(self):
        if self.acl is not None:
            return self.acl
        holder = self.__parent__
        if getattr(holder, "acl", None) is not None:  # a frozen (archived) collection: its ACL
            return holder.acl
        return type_acl(self.content_type)

    @property
    def title(self):
        return getattr(self, "name", "") or self.__name__ or ""


class Collection(Persistent):
    """The entries of one type under one parent, oldest first by key."""

    __parent__ = None
    __name__ = None
    content_type = None  # not a node type of its own: its ACL is its entries' type's
    local_roles = None
    acl = None           # set through security.set_acl when archived (read-only)

    def __init__(self, type_name):
        self.type_name = type_name
        self.entries = LOBTree()
        self._num = Length()

    @property
    def __acl__(self):
        return self.acl if self.acl is not None else type_acl(self.type_name)

    @property
    def title(self):
        return self.type_name

    def __len__(self):
        return self._num()

    def __bool__(self):
        return True

    def __getitem__(self, name):
        try:
            return self.entries[int(name)]
        except ValueError:
            raise KeyError(name)

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name):
        return self.get(name) is not None

    def newest(self, limit=50, before=None):
        """Up to ``limit`` entries, newest first (``before``: a key to page from)."""
        found = []
        keys = self.entries.keys(max=int(before) - 1) if before is not None else self.entries.keys()
        for key in reversed(keys):
            found.append(self.entries[key])
            if len(found) >= limit:
                break
        return found

    def between(self, start, end):
        """Entries added from ``start`` to ``end`` (timestamps), oldest first."""
        return list(self.entries.values(min=_key_floor(start), max=_key_floor(end + 1) - 1))

    def values(self):
        return self.entries.values()

    def keys(self):
        return [str(key) for key in self.entries.keys()]

    def add(self, obj, registry=None):
        key = _new_key(self.entries)
        if obj.content_type != self.type_name:
            raise ValueError("a %s cannot go into the %s collection" % (obj.content_type, self.type_name))
        obj.__parent__, obj.__name__ = self, str(key)
        self.entries[key] = obj
        self._num.change(1)
        events.notify(events.ObjectAdded(obj, self, obj.__name__), registry)
        return obj

    def remove(self, name, registry=None):
        obj = self[name]
        events.notify(events.ObjectWillBeRemoved(obj, self, name), registry)
        del self.entries[int(name)]
        self._num.change(-1)
        events.notify(events.ObjectRemoved(obj, self, name), registry)
        return obj


def _key_floor(when):
    return int(when * 1_000_000) << 8


def _new_key(tree):
    key = _key_floor(time.time()) | random.getrandbits(8)
    while key in tree:
        key += 1
    return key


def collections_of(parent):
    """type name -> Collection of ``parent`` (empty when it has none)."""
    return getattr(parent, "subrecords", None) or {}


def collection_of(parent, type_name, create=False):
    """``parent``'s collection of ``type_name`` (made on first write when ``create``)."""
    found = collections_of(parent).get(type_name)
    if found is None and create:
        if getattr(parent, "subrecords", None) is None:
            parent.subrecords = OOBTree()
        found = Collection(type_name)
        found.__parent__, found.__name__ = parent, PREFIX + type_name
        parent.subrecords[type_name] = found
    return found


def move_all(source, target, registry=None):
    """Every entry of ``source``'s collections into ``target``'s (two records of one
    person merged), keeping each entry's key, so time order, where it is free."""
    for type_name, found in list(collections_of(source).items()):
        into = collection_of(target, type_name, create=True)
        for key in list(found.entries.keys()):
            obj = found.entries[key]
            del found.entries[key]
            found._num.change(-1)
            while key in into.entries:
                key += 1
            obj.__parent__, obj.__name__ = into, str(key)
            into.entries[key] = obj
            into._num.change(1)
            events.notify(events.ObjectMoved(obj, found, str(key)), registry)
    source.subrecords = None


def add(parent, type_name, obj, registry=None):
    """Add ``obj`` (a SubRecord of a registered collection type) to ``parent``'s collection."""
    return collection_of(parent, type_name, create=True).add(obj, registry)
