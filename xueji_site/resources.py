"""The tree's node types: Site, Bureau, School, SchoolClass, Student.

Each class holds its fields as plain attributes (sensitive ones sealed by
``crypto.Sealed``) and derives what can be derived (a bureau's level, a
school's level, a class's grade) instead of storing it. Types are registered
with their schemas in ``content.py``; objects are created through it.
"""
import datetime
import time

from persistent import Persistent

from . import codes, divisions
from .crypto import Sealed, keyring
from .folder import Container
from .i18n import _
from .security import type_acl


class Node:
    """What every tree node has: a type name, its ACL, local roles, timestamps."""

    content_type = None
    acl = None          # a node-specific ACL set through security.set_acl
    local_roles = None  # principal → roles, set through security.set_local_roles
    created = 0.0
    modified = 0.0
    docid = None        # the catalog's document id

    @property
    def __acl__(self):
        return self.acl if self.acl is not None else type_acl(self.content_type)

    def touch(self):
        self.modified = time.time()

    @property
    def sort_title(self):
        return self.title


class Site(Node, Container):
    """The root: national tree of bureaus, plus principals, catalog and audit log."""

    content_type = "Site"
    title = _("全国学籍管理")

    def __init__(self):
        Container.__init__(self)
        self.generation = 0
        self.principals = None
        self.audit = None
        self.catalog = None
        self.docmap = None

    @property
    def sort_title(self):
        return ""


class Bureau(Node, Container):
    """An education bureau at province, city or county level, keyed by GB/T 2260 code."""

    content_type = "Bureau"

    def __init__(self, code="", name=""):
        Container.__init__(self)
        self.code = code
        self.name = name

    @property
    def title(self):
        return self.name or divisions.name_of(self.code) or self.code

    @property
    def level(self):
        return divisions.level_of(self.code)


class School(Node, Container):
    """A school, keyed by its 10-digit 学校标识码."""

    content_type = "School"

    def __init__(self, code="", name=""):
        Container.__init__(self)
        self.code = code
        self.name = name
        self.address = ""
        self.phone = ""

    @property
    def title(self):
        return self.name

    @property
    def category(self):
        return self.code[:2]

    @property
    def level(self):
        return codes.school_level(self.category)


def school_year(today=None):
    """The school year a date falls in: it starts on 1 September."""
    today = today or datetime.date.today()
    return today.year if today.month >= 9 else today.year - 1


class SchoolClass(Node, Container):
    """A class, keyed by cohort and number (2024级3班 → ``2024-03``).

    The key never changes as the pupils move up: the grade is derived from
    the cohort, the school's level and today's date.
    """

    content_type = "SchoolClass"

    def __init__(self, cohort=0, number=0, name=""):
        Container.__init__(self)
        self.cohort = cohort
        self.number = number
        self.name = name

    @staticmethod
    def key_for(cohort, number):
        return "%04d-%02d" % (cohort, number)

    @property
    def school(self):
        return self.__parent__

    def grade(self, today=None):
        """National grade number (1–12), or None once the cohort has left."""
        level = getattr(self.school, "level", codes.LEVEL_OTHER)
        first, count = codes.LEVEL_GRADES[level]
        offset = school_year(today) - self.cohort
        if 0 <= offset < count:
            return first + offset
        return None

    @property
    def title(self):
        if self.name:
            return self.name
        return _("${cohort}级${number}班", mapping={"cohort": self.cohort, "number": self.number})

    @property
    def sort_title(self):
        return self.__name__ or ""


class Student(Node, Persistent):
    """A pupil's record. Keyed by an opaque record id, never by an ID number.

    A G-form 学籍号 contains the resident ID number, so neither may appear in
    a URL or in clear in storage: both are sealed, and look-ups go through
    keyed hashes (``id_hash``, ``registry_hash``).
    """

    content_type = "Student"
    SENSITIVE = ("id_number", "registry_no")

    id_number = Sealed("id_number")
    registry_no = Sealed("registry_no")

    def __init__(self):
        self.name = ""
        self.gender = ""
        self.birth_date = None
        self.ethnicity = ""
        self.id_type = codes.ID_TYPE_RESIDENT
        self.id_hash = None
        self.registry_hash = None

    def __setattr__(self, name, value):
        Persistent.__setattr__(self, name, value)
        if name in ("id_number", "registry_no"):
            kind = "id" if name == "id_number" else "registry"
            blind = keyring().blind(kind, value) if value else None
            Persistent.__setattr__(self, kind + "_hash", blind)

    @property
    def title(self):
        return self.name
