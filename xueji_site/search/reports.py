"""Standard statistical reports for any node of the tree (no HTTP here).

Counting is set algebra on index postings: the pupils a user may see under a
node (one scoped catalog query) are intersected with the postings of the
fields a report splits on, and a cell is the length of an intersection.
Nothing walks the tree or loads a pupil. When the base is every enrolled
pupil (the whole country, seen by someone who may see all of it), postings
are used as they are, without an intersection.

A report is a ``Report`` in ``REPORTS``: a name, a title and a function from
a ``Counter`` to a ``Table``. Reports of later issues (status changes,
graduates and destinations) are registered as not yet available and plug in
by giving them a function.
"""
import datetime
from dataclasses import dataclass, field
from typing import Callable, Optional

import BTrees
from hypatia.query import And, Eq
from pyramid.traversal import resource_path

from xueji_site.kernel import catalog as cat
from xueji_site.search import indexes
from xueji_site.standards import codes
from xueji_site.kernel.i18n import _
from xueji_site.tree.nodes import school_year
from xueji_site.status import changes as workflow
from xueji_site.graduates import destinations as dest
from xueji_site.status.changes import STATUS_LABELS, GRADUATED, COMPLETED, INCOMPLETE
from xueji_site.tree import class_size
from xueji_site.kernel import charts

SETS = BTrees.family64.IF
ENROLLED = "enrolled"
LEVEL_ORDER = (codes.LEVEL_PRIMARY, codes.LEVEL_JUNIOR, codes.LEVEL_SENIOR, codes.LEVEL_OTHER)


@dataclass
class Table:
    """Counts: one row per label, one column per ``columns`` label, total last."""
    title: object
    row_header: object
    columns: list
    rows: list = field(default_factory=list)   # (label, [counts])
    summable: bool = True                       # rows do not overlap: a total row makes sense

    def totals(self):
        if not self.summable or not self.rows:
            return None
        return [sum(row[1][i] for row in self.rows) for i in range(len(self.columns))]

    def grid(self, translate):
        """Header and rows as text and numbers, for exports and the print view."""
        header = [translate(self.row_header)] + [translate(c) for c in self.columns]
        rows = [[label_text(label, translate)] + list(counts) for label, counts in self.rows]
        totals = self.totals()
        if totals is not None:
            rows.append([translate(_("合计"))] + totals)
        return header, rows


def label_text(label, translate):
    """A row label as text: a translation string, plain text, or a tuple of them."""
    if isinstance(label, tuple):
        return " ".join(translate(part) for part in label)
    return translate(label)


class Counter:
    """The enrolled pupils ``user`` may see under ``node``, and postings restricted to them."""

    def __init__(self, site, user, node, today=None):
        self.site = site
        self.user = user
        self.catalog = site.catalog
        self.node = node
        self.today = today or datetime.date.today()
        self.base, self.universal = self._base(user, resource_path(node))
        self._cache = {}

    def _base(self, user, path):
        """(enrolled pupils in scope, whether that is every enrolled pupil)."""
        catalog = self.catalog
        query = Eq(catalog["content_type"], indexes.STUDENT)
        if path != "/":
            query = And(Eq(catalog["ancestors"], path), query)
        ids = cat.scoped_ids(self.site, user, query)
        ids = ids if len(ids) else SETS.TreeSet()
        everyone = catalog["content_type"]._fwd_index.get(indexes.STUDENT, ())
        universal = len(ids) == len(everyone)
        others = [s for value, s in catalog["status"]._fwd_index.items() if value != ENROLLED]
        self.excluded = SETS.multiunion(others) if others else None
        if self.excluded is not None:
            ids = SETS.difference(ids, self.excluded)
        return ids, universal

    def __len__(self):
        return len(self.base)

    def restrict(self, student_docids):
        """Pupils' docids (from a pupils-only index) cut down to the base.

        When the base is every enrolled pupil, only the few not enrolled are
        taken out: a difference with a small set instead of an intersection
        with a large one.
        """
        if not self.universal:
            return SETS.intersection(student_docids, self.base)
        if self.excluded is None:
            return student_docids
        return SETS.difference(student_docids, self.excluded)

    def postings(self, index_name):
        """{value: docids} of a pupils-only index, restricted to the base (cached)."""
        found = self._cache.get(index_name)
        if found is None:
            found = {value: self.restrict(docids)
                     for value, docids in self.catalog[index_name]._fwd_index.items()}
            self._cache[index_name] = found
        return found

    def subset(self, docids):
        """Any docids (e.g. a subtree's, pupils or not) cut down to the base."""
        return SETS.intersection(docids, self.base)

    def split(self, rows, columns):
        """[(row label, [count per column, total])]; ``columns`` partition the base.

        ``rows`` is a list of (label, docids) pairs, never a dict keyed by
        label: labels are translation strings, and two with the same message
        id (every class's "${cohort}级${number}班") are equal as keys, which
        once folded a school's classes into one row.

        The largest column is counted as the remainder, which spares the
        costliest intersection.
        """
        biggest = max(columns, key=lambda c: len(columns[c])) if columns else None
        result = []
        for label, docids in rows:
            total = len(docids)
            counts = {c: len(SETS.intersection(docids, s)) for c, s in columns.items() if c != biggest}
            if biggest is not None:
                counts[biggest] = total - sum(counts.values())
            result.append((label, [counts[c] for c in columns] + [total]))
        return result


# -- the gender columns most reports use ---------------------------------------

def _gender_columns(counter):
    postings = counter.postings("gender")
    columns = {code: postings.get(code, SETS.TreeSet()) for code, _label in codes.GENDER}
    other = [s for value, s in postings.items() if value not in columns]
    if other and any(len(s) for s in other):
        columns[""] = SETS.multiunion(other)
    labels = [codes.label(codes.GENDER, c) if c else _("未填") for c in columns]
    return columns, labels + [_("合计")]


def _table(title, header, counter, rows, summable=True, keep_empty=False):
    columns, labels = _gender_columns(counter)
    counted = counter.split(rows, columns)
    table = Table(title, header, labels, summable=summable)
    for label, counts in counted:
        if keep_empty or counts[-1]:
            table.rows.append((label, counts))
    return table


# -- the reports -----------------------------------------------------------------

def stage_grade(stage, today):
    """(level, grade or None) of a ``stage`` index value today."""
    level, cohort = stage.split(":")
    first, count = codes.LEVEL_GRADES.get(level, codes.LEVEL_GRADES[codes.LEVEL_OTHER])
    offset = school_year(today) - int(cohort)
    return level, (first + offset if 0 <= offset < count else None)


def _stage_label(level, grade):
    level_label = codes.LEVEL_LABELS.get(level, level)
    grade_label = codes.GRADE_LABELS.get(grade) if grade else _("不在年级范围")
    return (level_label, grade_label)


def enrolment(counter):
    """在籍学生：学段 × 年级 × 性别."""
    groups = {}
    for stage, docids in counter.postings("stage").items():
        key = stage_grade(stage, counter.today)
        groups.setdefault(key, []).append(docids)

    def order(key):
        level, grade = key
        rank = LEVEL_ORDER.index(level) if level in LEVEL_ORDER else len(LEVEL_ORDER)
        return rank, grade or 99

    rows = []
    for key in sorted(groups, key=order):
        parts = groups[key]
        rows.append((_stage_label(*key), parts[0] if len(parts) == 1 else SETS.multiunion(parts)))
    return _table(_("在籍学生（学段 × 年级 × 性别）"), _("学段 年级"), counter, rows)


def ethnicity(counter):
    postings = counter.postings("ethnicity")
    ordered = sorted(postings.items(), key=lambda item: -len(item[1]))
    rows = [(codes.label(codes.ETHNICITY, code) if code else _("未填"), docids) for code, docids in ordered]
    return _table(_("民族分布"), _("民族"), counter, rows)


SPECIAL_GROUPS = (
    ("left_behind", _("留守儿童")),
    ("left_behind_both", _("其中：父母均外出")),
    ("migrant", _("随迁子女")),
    ("disabled", _("残疾学生")),
    ("orphan", _("孤儿")),
)


def special_groups(counter):
    postings = counter.postings("flags")
    rows = [(label, postings.get(flag, SETS.TreeSet())) for flag, label in SPECIAL_GROUPS]
    return _table(_("特殊群体"), _("群体"), counter, rows, summable=False, keep_empty=True)


def by_unit(counter, units):
    """Units side by side (a bureau's schools or sub-bureaus): ``units`` is [(label, path)]."""
    ancestors = counter.catalog["ancestors"]._fwd_index
    rows = []
    for label, path in units:
        docids = ancestors.get(path)
        rows.append((label, counter.subset(docids) if docids is not None else SETS.TreeSet()))
    return _table(_("下属单位对比"), _("单位"), counter, rows, keep_empty=True)


@dataclass
class Report:
    name: str
    title: object
    build: Optional[Callable] = None  # build(counter) -> Table; None: not yet available
    needs_units: bool = False
    chart: str = "bar"  # the chart kind drawn beside the table (charts.KINDS)

    @property
    def available(self):
        return self.build is not None


REPORTS = {}


def register(report):
    REPORTS[report.name] = report
    return report


register(Report("enrolment", _("在籍学生（学段 × 年级 × 性别）"), enrolment))
register(Report("ethnicity", _("民族分布"), ethnicity))
register(Report("special", _("特殊群体"), special_groups))
register(Report("units", _("下属单位对比"), by_unit, needs_units=True))
def status_changes(counter):
    """Approved status changes this year and last, by type, by month of this year.

    Counted over every pupil in scope whatever their status now (a pupil who
    left still counts as a departure), from the "changes" index. A transfer
    counts where the pupil is now: at the receiving school.
    """
    query = Eq(counter.catalog["content_type"], indexes.STUDENT)
    path = resource_path(counter.node)
    if path != "/":
        query = And(Eq(counter.catalog["ancestors"], path), query)
    scope = cat.scoped_ids(counter.site, counter.user, query)
    postings = counter.catalog["changes"]._fwd_index if "changes" in counter.catalog else {}
    year = counter.today.year
    months = ["%d-%02d" % (year, m) for m in range(1, counter.today.month + 1)]
    columns = [str(year - 1), str(year)] + months
    table = Table(_("学籍异动统计（按类型与时段）"), _("异动类型"), columns, summable=True)
    for kind, change_type in workflow.TYPES.items():
        counts = [len(SETS.intersection(postings.get("%s:%s" % (kind, period), SETS.TreeSet()), scope))
                  if len(scope) else 0 for period in columns]
        table.rows.append((change_type.label, counts))
    return table


register(Report("status_changes", _("学籍异动统计（按类型与时段）"), status_changes))
def graduates(counter):
    """Graduates by year: outcomes and destinations (issue 5; destinations.py).

    Summed from per-school counters of the schools the user may see under the
    node (a catalog query): graduates leave the catalog when archived, the
    counters stay.
    """
    node, site = counter.node, counter.site
    if getattr(node, "content_type", None) == "School":
        schools = [node]
    else:
        query = Eq(counter.catalog["content_type"], "School")
        if resource_path(node) != "/":
            query = And(Eq(counter.catalog["ancestors"], resource_path(node)), query)
        schools = [site.docmap[d] for d in cat.scoped_ids(site, counter.user, query) if d in site.docmap]
    outcomes = (GRADUATED, COMPLETED, INCOMPLETE)
    columns = [STATUS_LABELS[o] for o in outcomes] + list(dest.DESTINATIONS.values()) + [_("未登记去向"), _("合计")]
    table = Table(_("毕业生与去向"), _("年份"), columns, summable=True)
    for year, row in sorted(dest.table(schools).items(), reverse=True):
        known = [row.get(k, 0) for k in dest.DESTINATIONS]
        table.rows.append((str(year), [row.get(o, 0) for o in outcomes] + known
                           + [row["total"] - sum(known), row["total"]]))
    return table


register(Report("graduates", _("毕业生与去向"), graduates))


def class_sizes(counter):
    """班额: every class under the node the user may see, its enrolled pupils
    against its stage's standard size (class_size.py), largest first.

    Classes come from a catalog query; each count is the class's ``parent``
    postings cut down to the counter's base (enrolled, in scope). Rows do not
    add up to anything useful (a standard per class): no total row.
    """
    catalog, site = counter.catalog, counter.site
    query = Eq(catalog["content_type"], "SchoolClass")
    path = resource_path(counter.node)
    if path != "/":
        query = And(Eq(catalog["ancestors"], path), query)
    parents = catalog["parent"]._fwd_index
    settings = _settings()
    found = []
    for docid in cat.scoped_ids(site, counter.user, query):
        klass = site.docmap.get(docid)
        if klass is None:
            continue
        here = parents.get(resource_path(klass))
        enrolled = len(counter.subset(here)) if here else 0
        school = klass.__parent__
        standard = class_size.standard_size(settings, getattr(school, "level", codes.LEVEL_OTHER)) or 0
        label = klass.title if getattr(counter.node, "content_type", None) in ("School", "SchoolClass") \
            else (school.title, klass.title)
        found.append((label, resource_path(klass), enrolled, standard))
    found.sort(key=lambda row: (-row[2], row[1]))
    table = Table(_("班额（各班在籍人数与标准班额）"), _("班级"), [_("在籍人数"), _("标准班额"), _("超出")],
                  summable=False)
    for label, _path, enrolled, standard in found:
        table.rows.append((label, [enrolled, standard, max(0, enrolled - standard) if standard else 0]))
    return table


def _settings():
    from pyramid.threadlocal import get_current_registry
    return getattr(get_current_registry(), "settings", None) or {}


register(Report("class_sizes", _("班额（各班在籍人数与标准班额）"), class_sizes, chart="histogram"))


def run(name, site, user, node, units=None, today=None):
    """The Table of report ``name`` for ``node`` as ``user`` sees it."""
    report = REPORTS[name]
    if not report.available:
        raise LookupError(name)
    counter = Counter(site, user, node, today)
    if report.needs_units:
        return report.build(counter, units if units is not None else visible_units(site, user, node))
    return report.build(counter)


def visible_units(site, user, node, limit=2000):
    """(title, path) of the node's child units the user may see (from the catalog)."""
    found = []
    for kind in ("Bureau", "School", "SchoolClass"):
        _total, children = cat.children(site, user, node, content_type=kind, limit=limit)
        found += [(child.title, resource_path(child)) for child in children]
    return found


# -- charts (xueji_site/charts.py) ------------------------------------------------

def chart(name, table, translate):
    """The report's chart (charts.Chart): bars of the columns by row for most
    reports, lines over this year's months for status changes. The total
    column and total row are in the table beside it, not drawn."""
    title = translate(table.title)
    header, rows = table.grid(translate)
    if table.totals() is not None:
        rows = rows[:-1]
    if name == "class_sizes":  # how the classes spread by size, and which stand out
        return charts.histogram(title, [r[1] for r in rows], bins=min(10, max(1, len(rows))),
                                name=translate(_("班级数")), translate=translate)
    if name == "status_changes":
        months = [i for i, c in enumerate(table.columns) if "-" in str(c)]
        drawn = [r for r in rows if any(r[1 + i] for i in months)] or rows[:1]
        return charts.line(title, [header[1 + i] for i in months],
                           [(r[0], [r[1 + i] for i in months]) for r in drawn])
    if name == "graduates":
        outcomes = header[1:4]
        return charts.bar(title, [r[0] for r in rows],
                          [(outcome, [r[1 + i] for r in rows]) for i, outcome in enumerate(outcomes)],
                          horizontal=False)
    series = header[1:-1] if header and header[-1] == translate(_("合计")) else header[1:]
    return charts.bar(title, [r[0] for r in rows],
                      [(column, [r[1 + i] for r in rows]) for i, column in enumerate(series)])


def chart_svg(table, translate, name="enrolment"):
    """The report's chart as SVG text (what /report.svg and xueji-stats --format html serve)."""
    return chart(name, table, translate).svg


# -- naming the scope (print views, exports) -----------------------------------------------

def lineage_title(node, translate):
    """"北京市教育委员会 › 朝阳区教育委员会 › 朝阳实验小学" (the root: 全国)."""
    from pyramid.location import lineage
    parts = [translate(n.title) for n in reversed(list(lineage(node)))
             if getattr(n, "content_type", None) not in (None, "Site")]
    return " › ".join(parts) if parts else translate(_("全国"))


def scope_titles(site, user, node, translate):
    """What the counts for ``user`` at ``node`` cover, as titles: the node itself
    when the user may see all of it, else the places under it the user sees
    (a school's registrar at the root: that school)."""
    from pyramid.traversal import find_resource
    path = resource_path(node)
    paths = cat.scope_paths(site, user)
    inside = path.rstrip("/") + "/"
    if any(path == p or inside.startswith(p.rstrip("/") + "/") for p in paths):
        return [lineage_title(node, translate)]
    found = []
    for p in paths:
        if path == "/" or p.startswith(inside):
            try:
                found.append(lineage_title(find_resource(site, p), translate))
            except KeyError:
                continue
    return found
