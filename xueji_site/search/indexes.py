"""The indexes search and statistics query: one per field a report splits on.

Only pupils are indexed here (everything else gets ``default``). Fields a
report splits on always get a value ('' when unknown), so a field's postings
partition the pupils and a count can be taken as a remainder. Discriminators
are module-level functions: hypatia pickles them.
"""
from hypatia.field import FieldIndex
from hypatia.keyword import KeywordIndex

from xueji_site.kernel import evolve
from xueji_site.search.tokens import name_tokens

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
    tokens = set(name_tokens(getattr(obj, "name", "") or ""))
    tokens.update(name_tokens(getattr(obj, "former_name", "") or ""))
    return sorted(tokens) or default


def step_0011_former_names_in_search(site, batch=1000, commit=True):
    """The name tokens (index "text") now include the former name (曾用名): reindex the pupils."""
    docids = list(site.catalog["content_type"]._fwd_index.get(STUDENT, ()))
    evolve.reindex(site, [site.catalog["text"]], batch=batch, commit=commit, docids=docids)



INDEXES = {
    "stage": lambda: FieldIndex(disc_stage),
    "gender": lambda: FieldIndex(disc_gender),
    "ethnicity": lambda: FieldIndex(disc_ethnicity),
    "status": lambda: FieldIndex(disc_status),
    "enrolled": lambda: FieldIndex(disc_enrolled),
    "flags": lambda: KeywordIndex(disc_flags),
    "text": lambda: KeywordIndex(disc_text),
}


def includeme(config):
    for name, factory in INDEXES.items():
        config.add_index(name, factory)
    config.add_evolve_step("0011-former-names-in-search", step_0011_former_names_in_search)
