"""What the generic contents view adds to a class's list of pupils: the status
filter, the counts by status (which count includes whom), the registrar's
export columns, and the class-size warning when a pupil is added.

Counts are catalog postings (``parent`` ∩ ``status``), never a walk of the class.
"""
import BTrees

from hypatia.query import Eq
from pyramid.traversal import resource_path

from xueji_site.kernel import catalog, permissions as P
from xueji_site.tree import class_size
from xueji_site.record import listing
from xueji_site.status import changes as workflow
from xueji_site.kernel.i18n import _
from .tables import value_cell

STUDENT = "Student"


def chosen_status(request, ct):
    """The status a pupils' list is filtered by ('' = every pupil on the roll)."""
    if ct.name != STUDENT:
        return ""
    status = request.params.get("status", "")
    return status if status in workflow.STATUS_LABELS else ""


def status_query(request, status):
    return Eq(request.site.catalog["status"], status) if status else None


def status_counts(request, context):
    """[(status, label, count)] of the pupils on ``context``'s roll the user may see, by status."""
    site = request.site
    query = Eq(site.catalog["parent"], resource_path(context))
    ids = catalog.scoped_ids(site, request.user, query)
    if not len(ids):
        return []
    found = []
    postings = site.catalog["status"]._fwd_index
    for status, label in workflow.STATUS_LABELS.items():
        docids = postings.get(status)
        n = len(BTrees.family64.IF.intersection(ids, docids)) if docids else 0
        if n or status == workflow.ENROLLED:
            found.append((status, label, n))
    return found


def section_extras(request, context, ct, status):
    """Template values for a pupils' section: filter choices and the counts' sentence."""
    if ct.name != STUDENT:
        return {}
    t = request.localizer.translate
    counts = status_counts(request, context)
    roll = sum(n for _s, _l, n in counts)
    enrolled = sum(n for s, _l, n in counts if s == workflow.ENROLLED)
    parts = "、".join("%s %d" % (t(label), n) for _s, label, n in counts)
    note = t(_("名册共 ${roll} 人（${parts}）。统计报表只计在籍学生（${enrolled} 人）；休学、退学、转出中等学生仍在名册上，直到转出或归档。",
               mapping={"roll": roll, "parts": parts, "enrolled": enrolled}))
    return {"status": status, "count_note": note,
            "status_choices": [(s, t(label), n) for s, label, n in counts]}


def export_table(request, ct, objs, columns=None):
    """(header, rows) of an internal (or, with ``columns``, external) export of ``objs``.

    Pupils: the registrar's columns (``listing.EXPORT_COLUMNS``) when the user
    may read every exported record (view-record), with 学籍号 and phone
    masked on each row unless the user holds view-sensitive on that pupil;
    someone who sees only the list (a teacher) gets the list's own columns.
    """
    t = request.localizer.translate
    if columns is None and ct.name == STUDENT:
        reads = [bool(request.has_permission(P.VIEW_RECORD, o)) for o in objs]
        if all(reads):
            rows = []
            for obj in objs:
                full = bool(request.has_permission(P.VIEW_SENSITIVE, obj))
                rows.append([value_cell(getter(obj, full), t) for getter, _label in listing.EXPORT_COLUMNS])
            return [t(label) for _g, label in listing.EXPORT_COLUMNS], rows
    columns = ct.columns if columns is None else columns
    rows = [[value_cell(getter(obj) if callable(getter) else getattr(obj, getter, None), t)
             for getter, _label in columns] for obj in objs]
    return [t(label) for _g, label in columns], rows


def class_size_warning(request, klass):
    """A translated warning when ``klass`` is at or beyond its standard size, else None."""
    if getattr(klass, "content_type", None) != "SchoolClass":
        return None
    size = class_size.of(klass, request.registry.settings)
    if not size.full:
        return None
    t = request.localizer.translate
    return t(_("${klass}已有在籍学生 ${n} 人，达到或超过标准班额 ${standard} 人。",
               mapping={"klass": t(klass.title), "n": size.enrolled, "standard": size.standard}))
