"""Where a node sits in the tree: the school of a pupil, the bureaus above a school,
and which classes a pupil of a given grade may belong to."""
from xueji_site.standards import codes

COUNTY, PROVINCE = "county", "province"


def school_of(student):
    return student.__parent__.__parent__


def bureaus_above(school):
    """The bureaus above ``school``, nearest first."""
    node = school.__parent__
    found = []
    while getattr(node, "content_type", None) == "Bureau":
        found.append(node)
        node = node.__parent__
    return found


def bureau_of(school, level):
    """The school's county (or city, for schools directly under a city) or province bureau."""
    bureaus = bureaus_above(school)
    if not bureaus:
        return None
    return bureaus[-1] if level == PROVINCE else bureaus[0]


def is_compulsory(school, grade):
    return school.level in (codes.LEVEL_PRIMARY, codes.LEVEL_JUNIOR) or (grade is not None and grade <= 9)


def teaches_grade(school, grade):
    """Whether ``school``'s stage includes ``grade`` (a senior high has no 二年级)."""
    first, count = codes.LEVEL_GRADES[school.level]
    return grade is not None and first <= grade < first + count


def classes_for_grade(school, grade, today=None):
    """The school's classes now in ``grade``, by key."""
    return [klass for klass in school.values()
            if getattr(klass, "content_type", None) == "SchoolClass" and klass.grade(today) == grade]
