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


def disc_code(obj, default):
    return _default(getattr(obj, "code", None), default)


def disc_hashes(obj, default):
    found = [h for h in (getattr(obj, "id_hash", None), getattr(obj, "registry_hash", None)) if h]
    return found or default


# -- student discriminators: search and statistics --------------------------
# Only students are indexed here (everything else gets ``default``). Fields a
# report splits on always get a value ('' when unknown), so a field's postings
# partition the students and a count can be taken as a remainder.

STUDENT = "Student"


def _student(obj):
    return getattr(obj, "content_type", None) == STUDENT


def _place(obj):
    """(level, cohort) of the pupil's class and school, or None outside a class."""
    klass = getattr(obj, "__parent__", None)
    school = getattr(klass, "__parent__", None)
    cohort = getattr(klass, "cohort", None)
    if cohort is None or getattr(school, "content_type", None) != "School":
        return None
    return school.level, int(cohort)


def stage_key(level, cohort):
    """The ``stage`` index value: school level and cohort (never the grade,
    which changes every 1 September; grades become cohorts at query time)."""
    return "%s:%04d" % (level, cohort)


def disc_stage(obj, default):
    place = _place(obj) if _student(obj) else None
    return stage_key(*place) if place else default


def _field(name, empty=""):
    def discriminate(obj, default):
        if not _student(obj):
            return default
        value = getattr(obj, name, None)
        return empty if value is None else str(value)
    return discriminate


def disc_gender(obj, default):
    return _field("gender")(obj, default)


def disc_ethnicity(obj, default):
    return _field("ethnicity")(obj, default)


def disc_status(obj, default):
    return _field("status", "enrolled")(obj, default) or "enrolled"


def disc_enrolled(obj, default):
    """Enrolment year (int) from ``enrolled_on`` (YYYYMM); 0 when unknown."""
    if not _student(obj):
        return default
    value = str(getattr(obj, "enrolled_on", "") or "")
    return int(value[:4]) if value[:4].isdigit() else 0


FLAGS = ("left_behind", "left_behind_both", "migrant", "orphan", "disabled",
         "only_child", "boarding", "hmt")


def student_flags(obj):
    """The yes/no facts a pupil has, as keywords (absent flag: "no")."""
    left = str(getattr(obj, "left_behind", "0") or "0")
    found = {
        "left_behind": left in ("1", "2"),
        "left_behind_both": left == "2",
        "migrant": bool(getattr(obj, "migrant_child", False)),
        "orphan": bool(getattr(obj, "orphan", False)),
        "disabled": bool(getattr(obj, "disability", "") or ""),
        "only_child": bool(getattr(obj, "only_child", False)),
        "boarding": str(getattr(obj, "attendance_mode", "1")) == "2",
        "hmt": (getattr(obj, "hmt_status", "00") or "00") != "00",
    }
    return [flag for flag in FLAGS if found[flag]]


def disc_flags(obj, default):
    if not _student(obj):
        return default
    return student_flags(obj) or default


def disc_text(obj, default):
    """Search tokens of a pupil's name and former name (曾用名): substrings, pinyin, initials."""
    if not _student(obj):
        return default
    from .search import name_tokens
    tokens = set(name_tokens(getattr(obj, "name", "") or ""))
    tokens.update(name_tokens(getattr(obj, "former_name", "") or ""))
    return sorted(tokens) or default


SEARCH_INDEXES = {
    "stage": lambda: FieldIndex(disc_stage),
    "gender": lambda: FieldIndex(disc_gender),
    "ethnicity": lambda: FieldIndex(disc_ethnicity),
    "status": lambda: FieldIndex(disc_status),
    "enrolled": lambda: FieldIndex(disc_enrolled),
    "flags": lambda: KeywordIndex(disc_flags),
    "text": lambda: KeywordIndex(disc_text),
    # where a pupil's open status change waits (work queues): workflow.py
    "waiting_at": lambda: FieldIndex(_workflow_disc_waiting_at),
    # same name + birth date + guardian: possible duplicates without ID numbers
    "person": lambda: FieldIndex(_duplicates_disc_person),
    # approved status changes by type and period: workflow.disc_changes
    "changes": lambda: KeywordIndex(_workflow_disc_changes),
}


def _workflow_disc_changes(obj, default):
    from .workflow import disc_changes
    return disc_changes(obj, default)


def _workflow_disc_waiting_at(obj, default):
    from .workflow import disc_waiting_at
    return disc_waiting_at(obj, default)


def _duplicates_disc_person(obj, default):
    from .duplicates import disc_person
    return disc_person(obj, default)


def add_search_indexes(catalog):
    """Add the search indexes a catalog lacks; return their names."""
    added = []
    for name, factory in SEARCH_INDEXES.items():
        if name not in catalog:
            catalog[name] = factory()
            added.append(name)
    return added


def make_catalog():
    catalog = Catalog()
    catalog["content_type"] = FieldIndex(disc_type)
    catalog["parent"] = FieldIndex(disc_parent)
    catalog["ancestors"] = KeywordIndex(disc_ancestors)
    catalog["title"] = FieldIndex(disc_title)
    catalog["modified"] = FieldIndex(disc_modified)
    catalog["code"] = FieldIndex(disc_code)
    catalog["hashes"] = KeywordIndex(disc_hashes)
    add_search_indexes(catalog)
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


def prune_released(site):
    """Drop the derived keys the catalog no longer backs; returns how many.

    The indexes themselves keep nothing of an unindexed document: hypatia's
    FieldIndex and KeywordIndex delete a value whose postings become empty,
    and BTrees keeps its separator keys in step on deletion (the name tokens
    and ID hashes of a deleted pupil leave the live state at once; only old
    revisions hold them, until the pack). There is no TextIndex, whose
    Lexicon would keep every word forever. What does outlive its records is
    ``site.duplicate_keys``: the person keys (keyed hashes of name, birth date
    and guardian) noted when two records shared one, kept after the records
    are deleted, merged or corrected. A key with fewer than two postings in
    the ``person`` index goes.
    """
    keys = getattr(site, "duplicate_keys", None)
    if keys is None or "person" not in site.catalog:
        return 0
    postings = site.catalog["person"]._fwd_index
    stale = [key for key in keys if len(postings.get(key, ())) < 2]
    for key in stale:
        keys.remove(key)
    return len(stale)


def includeme(config):
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
    from .security import view_scope
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
