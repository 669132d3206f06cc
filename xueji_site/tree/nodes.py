"""The tree's own node types: Bureau, School, SchoolClass.

Each class holds its fields as plain attributes and derives what can be
derived (a bureau's level, a school's level, a class's grade) instead of
storing it. Objects are created through ``kernel.content.create``.
"""
import datetime

from xueji_site.kernel.folder import Container
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Node
from xueji_site.standards import codes, divisions


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
