"""The hypatia catalog, fed by the tree's events.

Listings and look-ups are index queries: nothing here walks the tree. Every
query a user can cause is intersected with the subtrees where that user holds
a viewing role (``scoped``), so the catalog never shows what the ACLs hide.
"""
import random

from BTrees.LOBTree import LOBTree
from hypatia.catalog import Catalog
from hypatia.field import FieldIndex
from hypatia.keyword import KeywordIndex
from hypatia.query import And, Any, Eq
from pyramid.traversal import find_root, resource_path

from pyramid.threadlocal import get_current_registry

from xueji_site.kernel import events
from xueji_site.kernel.registry import content_registry
from xueji_site.kernel.security import view_scope


# -- discriminators: module-level functions (hypatia pickles them) ---------

def _default(value, default):
    return default if value is None else value


def disc_type(obj, default):
    return _default(getattr(obj, "content_type", None), default)


# disc_path and disc_name fed indexes that evolve step 0003 drops; they stay
# importable so that databases made before it still unpickle.
def disc_path(obj, default):
    return resource_path(obj)


def disc_parent(obj, default):
    parent = getattr(obj, "__parent__", None)
    return resource_path(parent) if parent is not None else default


def disc_ancestors(obj, default):
    """Every path from the root down to ``obj`` itself, for subtree queries."""
    parts = [p for p in resource_path(obj).split("/") if p]
    return ["/"] + ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def disc_title(obj, default):
    title = getattr(obj, "sort_title", None)
    return title if isinstance(title, str) else default


def disc_name(obj, default):
    return _default(getattr(obj, "__name__", None), default)


def disc_modified(obj, default):
    return _default(getattr(obj, "modified", None), default)


# -- indexes declared by the features -----------------------------------------------
# A feature declares each index it queries beside the code that feeds it:
# ``config.add_index(name, factory)`` where ``factory()`` makes an empty hypatia
# index (its discriminator a module-level function: hypatia pickles it). A
# catalog gets every declared index when it is made; an existing one gets
# those it lacks, filled from the document map, by the evolve runner
# (``add_declared_indexes``) at start-up.

def add_index(config, name, factory):
    registry = config.registry

    def register():
        declared_indexes(registry)[name] = factory

    config.action(("xueji-index", name), register)


def declared_indexes(registry=None):
    """name -> factory of every index the features declared."""
    registry = registry if registry is not None else get_current_registry()
    found = getattr(registry, "xueji_indexes", None)
    if found is None:
        found = registry.xueji_indexes = {}
    return found


BASE_INDEXES = {
    "content_type": lambda: FieldIndex(disc_type),
    "parent": lambda: FieldIndex(disc_parent),
    "ancestors": lambda: KeywordIndex(disc_ancestors),
    "title": lambda: FieldIndex(disc_title),
    "modified": lambda: FieldIndex(disc_modified),
}


def make_catalog(registry=None):
    catalog = Catalog()
    for name, factory in BASE_INDEXES.items():
        catalog[name] = factory()
    for name, factory in declared_indexes(registry).items():
        catalog[name] = factory()
    return catalog


def missing_indexes(site, registry=None):
    """Names of declared indexes the site's catalog lacks."""
    return [name for name in declared_indexes(registry) if name not in site.catalog]


def add_missing_indexes(site, registry=None):
    """Add the declared indexes the catalog lacks (empty); return their names."""
    added = missing_indexes(site, registry)
    for name in added:
        site.catalog[name] = declared_indexes(registry)[name]()
    return added


def install(site, registry=None):
    site.catalog = make_catalog(registry)
    site.docmap = LOBTree()


# -- indexing --------------------------------------------------------------

def _new_docid(site):
    """A free document id: sequential after a random start.

    Sequential ids within one connection keep a batch's writes in a few
    index buckets (random ids rewrote buckets all over the indexes and made
    a 100k import 1.8 GB); the random start keeps concurrent writers apart.
    """
    docid = getattr(site, "_v_next_docid", None)
    while docid is None or docid in site.docmap:
        docid = random.getrandbits(62)
    site._v_next_docid = docid + 1
    return docid


def index(site, obj):
    if obj.docid is None:
        obj.docid = _new_docid(site)
        site.docmap[obj.docid] = obj
    site.catalog.index_doc(obj.docid, obj)


def unindex(site, obj):
    if obj.docid is not None:
        site.catalog.unindex_doc(obj.docid)
        site.docmap.pop(obj.docid, None)
        obj.docid = None


def _subtree_docids(site, path):
    return list(site.catalog["ancestors"].applyEq(path)) if path else []


def _site_of(obj):
    root = find_root(obj)
    return root if getattr(root, "catalog", None) is not None else None


def _catalogued(obj):
    ct = content_registry().type_of(obj)
    return ct is None or ct.catalogued


def on_added(event):
    site = _site_of(event.object)
    if site is not None and _catalogued(event.object):
        index(site, event.object)
        for child in getattr(event.object, "values", lambda: ())():
            index(site, child)  # a subtree added in one go (rare: imports build leaf-first)


def on_will_be_removed(event):
    site = _site_of(event.object)
    if site is None:
        return
    for docid in _subtree_docids(site, resource_path(event.object)):
        obj = site.docmap.get(docid)
        if obj is not None:
            unindex(site, obj)


def on_moved(event):
    """A move changes the paths of the whole subtree: reindex it from the index."""
    site = _site_of(event.object)
    if site is None:
        return
    old_path = resource_path(event.old_parent).rstrip("/") + "/" + event.old_name
    for docid in _subtree_docids(site, old_path):
        obj = site.docmap.get(docid)
        if obj is not None:
            site.catalog.reindex_doc(docid, obj)


def on_modified(event):
    site = _site_of(event.object)
    if site is not None and event.object.docid is not None:
        site.catalog.reindex_doc(event.object.docid, event.object)


def includeme(config):
    config.add_directive("add_index", add_index)
    config.add_subscriber(on_added, events.ObjectAdded)
    config.add_subscriber(on_will_be_removed, events.ObjectWillBeRemoved)
    config.add_subscriber(on_moved, events.ObjectMoved)
    config.add_subscriber(on_modified, events.ObjectModified)


# -- queries ---------------------------------------------------------------

class _System:
    """The operator of a console script: sees the whole tree, unscoped."""

    def __repr__(self):
        return "SYSTEM"


SYSTEM = _System()


def scope_paths(site, user):
    """Paths of the subtrees where ``user`` may view (sorted, maybe empty)."""
    if user is SYSTEM:
        return ["/"]
    return sorted({resource_path(node) for node in view_scope(site, user) if find_root(node) is site})


def scope_query(site, user):
    """A query matching what ``user`` may view, or None when nothing."""
    paths = scope_paths(site, user)
    if not paths:
        return None
    return Any(site.catalog["ancestors"], paths)


def scoped(site, user, query):
    """``query`` limited to the user's viewing scope (None: no results).

    A user who may view the root sees everything: the query is returned as
    it is, sparing an intersection with every document.
    """
    paths = scope_paths(site, user)
    if not paths:
        return None
    if "/" in paths:
        return query
    return And(query, Any(site.catalog["ancestors"], paths))


def scoped_ids(site, user, query):
    """The docids of ``scoped(query)``: a BTrees set (read-only) or ()."""
    query = scoped(site, user, query)
    if query is None:
        return ()
    ids = query.execute().ids
    return ids if ids is not None else ()


def children(site, user, parent, content_type=None, sort="title", reverse=False, offset=0, limit=50,
             extra=None):
    """One page of ``parent``'s children the user may see: (total, objects).

    ``extra``: a further query the children must match (e.g. a status filter)."""
    catalog = site.catalog
    query = Eq(catalog["parent"], resource_path(parent))
    if content_type:
        query = And(query, Eq(catalog["content_type"], content_type))
    if extra is not None:
        query = And(query, extra)
    query = scoped(site, user, query)
    if query is None:
        return 0, []
    result = query.execute(resolver=site.docmap.get)
    total = len(result)
    sort_index = catalog[sort] if sort in ("title", "modified") else catalog["title"]
    ordered = result.sort(sort_index, reverse=reverse, limit=offset + limit)
    page = []
    for position, obj in enumerate(ordered):
        if position >= offset:
            page.append(obj)
    return total, page
