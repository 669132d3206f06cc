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

from . import events


# -- discriminators: module-level functions (hypatia pickles them) ---------

def _default(value, default):
    return default if value is None else value


def disc_type(obj, default):
    return _default(getattr(obj, "content_type", None), default)


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


def disc_code(obj, default):
    return _default(getattr(obj, "code", None), default)


def disc_hashes(obj, default):
    found = [h for h in (getattr(obj, "id_hash", None), getattr(obj, "registry_hash", None)) if h]
    return found or default


def make_catalog():
    catalog = Catalog()
    catalog["content_type"] = FieldIndex(disc_type)
    catalog["path"] = FieldIndex(disc_path)
    catalog["parent"] = FieldIndex(disc_parent)
    catalog["ancestors"] = KeywordIndex(disc_ancestors)
    catalog["title"] = FieldIndex(disc_title)
    catalog["name"] = FieldIndex(disc_name)
    catalog["modified"] = FieldIndex(disc_modified)
    catalog["code"] = FieldIndex(disc_code)
    catalog["hashes"] = KeywordIndex(disc_hashes)
    return catalog


def install(site):
    site.catalog = make_catalog()
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


def on_added(event):
    site = _site_of(event.object)
    if site is not None:
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
    config.add_subscriber(on_added, events.ObjectAdded)
    config.add_subscriber(on_will_be_removed, events.ObjectWillBeRemoved)
    config.add_subscriber(on_moved, events.ObjectMoved)
    config.add_subscriber(on_modified, events.ObjectModified)


# -- queries ---------------------------------------------------------------

def scope_query(site, user):
    """A query matching what ``user`` may view, or None when nothing."""
    from .security import view_scope
    paths = sorted({resource_path(node) for node in view_scope(site, user) if find_root(node) is site})
    if not paths:
        return None
    return Any(site.catalog["ancestors"], paths)


def scoped(site, user, query):
    """``query`` limited to the user's viewing scope (None: no results)."""
    scope = scope_query(site, user)
    if scope is None:
        return None
    return And(query, scope)


def children(site, user, parent, content_type=None, sort="title", reverse=False, offset=0, limit=50):
    """One page of ``parent``'s children the user may see: (total, objects)."""
    catalog = site.catalog
    query = Eq(catalog["parent"], resource_path(parent))
    if content_type:
        query = And(query, Eq(catalog["content_type"], content_type))
    query = scoped(site, user, query)
    if query is None:
        return 0, []
    result = query.execute(resolver=site.docmap.get)
    total = len(result)
    sort_index = catalog[sort] if sort in ("title", "name", "modified") else catalog["title"]
    ordered = result.sort(sort_index, reverse=reverse, limit=offset + limit)
    page = []
    for position, obj in enumerate(ordered):
        if position >= offset:
            page.append(obj)
    return total, page


def find_by_code(request, code):
    site = request.root
    docids = site.catalog["code"].applyEq(code)
    for docid in docids:
        return site.docmap.get(docid)
    return None


def find_student_by_hash(request, kind, blind):
    site = find_root(request.context) if getattr(request, "context", None) is not None else request.root
    for docid in site.catalog["hashes"].applyEq(blind):
        return site.docmap.get(docid)
    return None
