"""The content-type registry: every fact about a record type, registered once.

A feature registers each of its types from its ``includeme`` with
``config.add_content_type(name, factory, **facts)``; the registration lives on
the Pyramid registry (``registry.content``), never in a module-global table.
Everything that treats types differently asks the registration instead of
naming a type: the ACLs (``permissions``), the export approval rule
(``personal``), the field inventory and privacy notice (``inventory``), the
pupil's history (``history``), the record MACs (``mac_fields``), archiving and
retention (``archive``), the pupil's record page and card (``section``).

A new record type therefore needs a class, a schema and one registration.
A type whose objects are many per parent and read by time (grades,
attendance marks, conduct entries) registers with ``collection=True`` and is
kept in a sub-record collection (kernel/subrecords.py) instead of among the
parent's children. Creating and changing objects: kernel/content.py.

The schema is named by a dotted name (``"xueji_site.schemas.record:student_schema"``),
resolved when the configuration is committed: the core never imports the
schemas, which build on it.
"""
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

from pyramid.threadlocal import get_current_registry



def _nothing(obj):
    return {}


@dataclass(frozen=True)
class ContentType:
    name: str
    factory: type
    title: object
    schema: Optional[Callable] = None  # schema(request, context, adding) -> colander.SchemaNode
    add_to: tuple = ()                 # the types it may be added to
    key: Optional[Callable] = None     # key(appstruct, parent) -> child name
    columns: tuple = ()                # (attribute-or-callable, label) for listings
    export_columns: Optional[tuple] = None  # (getter(obj, full), label) of an internal export (None: ``columns``)
    icon: str = ""
    derived: Callable = _nothing       # extra read-only fields to show: obj -> {label: value}
    # -- security --------------------------------------------------------------
    permissions: dict = field(default_factory=dict)  # role -> permissions on objects of this type
    acl_extra: tuple = ()              # ACEs after the roles' (e.g. every logged-in user's)
    sensitive: tuple = ()              # sealed at rest, masked on screen and in history and audit
    review_fields: tuple = ()          # changes wait for approval (record/review.py)
    # -- privacy ---------------------------------------------------------------
    personal: bool = False             # pupils' personal data: bulk and external exports need approval
    external_columns: Optional[tuple] = None  # de-identified columns of an external export (None: never)
    inventory: dict = field(default_factory=dict)  # field -> inventory.Use (purpose, basis, retention)
    inventory_title: object = None     # whose fields, in the privacy notice
    # -- history, integrity, archive ---------------------------------------------
    keeps_history: bool = False        # objects of this type hold a change history
    history: bool = False              # its changes enter the history of the nearest holder (itself included)
    mac_fields: tuple = ()             # core fields under the record MAC (kernel/integrity.py)
    archive: bool = False              # carried into the graduate archive with the pupil
    catalogued: bool = True            # indexed in the catalog
    # -- presentation ------------------------------------------------------------
    section: Optional[tuple] = None    # (order, key): shown on its parent's record and card, in the record's
                                       # section ``key`` (record/layout.py), or as a section of its own (None)
    collection: bool = False           # kept in a sub-record collection, time-ordered


class ContentRegistry:
    """``registry.content``: the registered types and the questions asked of them."""

    def __init__(self):
        self.types = {}
        self._acls = {}

    def add(self, content_type):
        self.types[content_type.name] = content_type
        self._acls.clear()

    def get(self, name):
        return self.types[name]

    def find(self, name):
        return self.types.get(name)

    def all(self):
        return list(self.types.values())

    def type_of(self, obj):
        return self.types.get(getattr(obj, "content_type", None))

    def addable(self, parent, collections=False):
        """Types that may be added to ``parent`` (children; with ``collections``, sub-records too)."""
        kind = getattr(parent, "content_type", None)
        return [ct for ct in self.types.values()
                if kind in ct.add_to and (collections or not ct.collection)]

    def parts_of(self, type_name):
        """Types shown as sections of a ``type_name``'s record, in order."""
        found = [ct for ct in self.types.values() if type_name in ct.add_to and ct.section is not None]
        return sorted(found, key=lambda ct: ct.section[0])

    def personal_types(self):
        return [ct for ct in self.types.values() if ct.personal]

    def acl_cache(self):
        return self._acls


def content_registry(registry=None):
    """The ContentRegistry of ``registry`` (default: the current one); empty when none was made."""
    registry = registry if registry is not None else get_current_registry()
    found = getattr(registry, "content", None)
    return found if found is not None else _EMPTY


_EMPTY = ContentRegistry()


# -- the configuration directive ----------------------------------------------------

def add_content_type(config, name, factory, **facts):
    """``config.add_content_type(name, factory, title=..., schema=..., ...)``.

    ``schema`` may be a dotted name; it is resolved now. ``mac_fields`` are also
    set on the class, because a record is MAC'd when it is pickled, at commit
    time, where no registry need be current (kernel/integrity.py).
    """
    registry = config.registry
    if getattr(registry, "content", None) is None:
        registry.content = ContentRegistry()
    if "schema" in facts:
        facts["schema"] = config.maybe_dotted(facts["schema"])
    if facts.get("collection"):
        facts.setdefault("catalogued", False)  # many per pupil: read through the collection, not the catalog
    content_type = ContentType(name=name, factory=factory, **facts)

    def register():
        registry.content.add(content_type)
        if content_type.mac_fields:
            factory.mac_fields = tuple(content_type.mac_fields)

    config.action(("xueji-content-type", name), register)


def extend_content_type(config, name, **facts):
    """Add to a type another feature registered: more permissions for more roles,
    or further facts (``config.extend_content_type("Student", permissions={...})``).
    Permissions are merged role by role; other facts replace."""
    registry = config.registry

    def extend():
        current = registry.content.get(name)
        changes = dict(facts)
        if "permissions" in changes:
            merged = {role: set(perms) for role, perms in current.permissions.items()}
            for role, perms in changes["permissions"].items():
                merged.setdefault(role, set()).update(perms)
            changes["permissions"] = merged
        registry.content.add(replace(current, **changes))

    config.action(None, extend, order=1)  # after every add_content_type


def includeme(config):
    if getattr(config.registry, "content", None) is None:
        config.registry.content = ContentRegistry()
    config.add_directive("add_content_type", add_content_type)
    config.add_directive("extend_content_type", extend_content_type)


