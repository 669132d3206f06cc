"""Class sizes (班额) against the stage's standard size.

The national standard sizes are 45 pupils a class in primary school and 50 in
secondary school (junior and senior). They are settings:

    xueji.class_size.primary = 45
    xueji.class_size.secondary = 50      # junior and senior, unless set apart:
    xueji.class_size.junior = …          # optional, overrides secondary
    xueji.class_size.senior = …          # optional, overrides secondary
    xueji.class_size.other = …           # optional: schools of no stage (特教, …); unset: no standard

0 turns the warning off for that stage. A class is over its standard when its
enrolled (在籍) pupils outnumber it: the same count the reports use, so a
class page, the school's class list and the enrolment report agree.

Counts come from the catalog (the class's postings in ``parent`` and
``status``), never from walking the class. Nothing is refused: an over-size
class is a warning on the import check page, when a pupil is added, and a
mark on the school's page.
"""
import BTrees
from pyramid.traversal import find_root, resource_path

from xueji_site.kernel.registry import content_registry
from xueji_site.standards import codes
from xueji_site.kernel.i18n import _

DEFAULTS = {"primary": 45, "secondary": 50}
SETTING = "xueji.class_size."
ENROLLED = "enrolled"


def _number(settings, key):
    raw = settings.get(SETTING + key)
    if raw in (None, ""):
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError("%s%s must be a whole number, not %r" % (SETTING, key, raw))
    if value < 0:
        raise ValueError("%s%s must not be negative" % (SETTING, key))
    return value


def check(settings):
    """Raise ValueError for a bad setting (called at start-up)."""
    for key in ("primary", "secondary", "junior", "senior", "other"):
        _number(settings, key)


def standard_size(settings, level):
    """The standard size of a class at a school of ``level``, or None (no standard)."""
    settings = settings or {}
    if level == codes.LEVEL_PRIMARY:
        found = _number(settings, "primary")
        found = DEFAULTS["primary"] if found is None else found
    elif level in (codes.LEVEL_JUNIOR, codes.LEVEL_SENIOR):
        found = _number(settings, level)
        if found is None:
            found = _number(settings, "secondary")
        found = DEFAULTS["secondary"] if found is None else found
    else:
        found = _number(settings, "other")
    return found or None


def _settings():
    from pyramid.threadlocal import get_current_registry
    registry = get_current_registry()
    return getattr(registry, "settings", None) or {}


def counts(klass):
    """(enrolled pupils, every pupil on the class's roll) from the catalog."""
    site = find_root(klass)
    catalog = getattr(site, "catalog", None)
    if catalog is None:
        return 0, 0
    here = catalog["parent"]._fwd_index.get(resource_path(klass))
    if not here:
        return 0, 0
    roll = BTrees.family64.IF.TreeSet()
    for ct in content_registry().addable(klass):  # whatever the registrations put in a class: its pupils
        roll = BTrees.family64.IF.union(roll, _intersection(here, catalog["content_type"]._fwd_index.get(ct.name)))
    enrolled = _intersection(roll, catalog["status"]._fwd_index.get(ENROLLED))
    return len(enrolled), len(roll)


def _intersection(a, b):
    if not a or not b:
        return BTrees.family64.IF.TreeSet()
    return BTrees.family64.IF.intersection(a, b)


class Size:
    """A class's size and its stage's standard."""

    def __init__(self, klass, settings=None, extra=0):
        self.klass = klass
        self.enrolled, self.roll = counts(klass)
        self.enrolled += extra  # pupils about to be added (an import being checked)
        school = getattr(klass, "__parent__", None)
        self.standard = standard_size(settings if settings is not None else _settings(),
                                      getattr(school, "level", codes.LEVEL_OTHER))

    @property
    def excess(self):
        """How many enrolled pupils beyond the standard (0: within it, or no standard)."""
        if not self.standard:
            return 0
        return max(0, self.enrolled - self.standard)

    @property
    def full(self):
        """No room left: the next pupil would be beyond the standard."""
        return bool(self.standard) and self.enrolled >= self.standard


def of(klass, settings=None, extra=0):
    return Size(klass, settings, extra)


def import_warnings(school, by_class, settings, translate):
    """Translated warnings for the classes an import would fill beyond their standard size.

    ``by_class``: class key → pupils the import would add (``importing.Summary.by_class``).
    """
    found = []
    for key in sorted(by_class):
        klass = school.get(key)
        if getattr(klass, "content_type", None) != "SchoolClass":
            continue
        size = Size(klass, settings, extra=by_class[key])
        if size.excess:
            found.append(translate(_(
                "${klass}：现有在籍 ${now} 人，本次导入 ${new} 人，合计 ${total} 人，超过标准班额 ${standard} 人 ${excess} 人",
                mapping={"klass": translate(klass.title), "now": size.enrolled - by_class[key],
                         "new": by_class[key], "total": size.enrolled, "standard": size.standard,
                         "excess": size.excess})))
    return found
