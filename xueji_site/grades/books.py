"""Where marks are kept: exams, and one mark sheet per exam and class.

Marks are many (a province: 200,000 pupils × 9 subjects × 4 exams a term is
7.2 million a term) and read in two ways: a class's column for one subject
(the grid, the class analysis) and one pupil's across exams (their page,
report card). A persistent object per mark would cost ~200 bytes each, so
marks are kept packed: a ``Sheet`` per exam × class holds the class's
pupils once (their record keys and names as entered) and, per subject, one
``array`` of 16-bit values in the pupils' order (tenths of a point, or a
level, or one of the codes below). Five bytes or so a mark.

The pupil's marks still follow the pupil: ``store.places[pupil key]`` lists
the sheets the pupil has marks on, so a pupil who moved keeps the marks
entered in the old class, and their page reads a handful of sheets instead of
walking anything.

- ``site.grades`` (``GradesStore``, made on first use): exams by id, exams by
  (the defining node's path, term, id), and ``places``.
- ``Exam``: defined at a school or a bureau (``home``), for a term, for grades
  of that school or those schools (or named classes), with its subjects (full
  marks, scale, level cut-offs) and its weight in the term result.
- ``Sheet``: ``exam.sheets[class path]``.
"""
import array
import time

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from pyramid.traversal import find_root, resource_path

from xueji_site.grades import codes
from xueji_site.standards import codes as tree_codes

# the packed values: >= 0 a mark (tenths of a point; a level's index; 1 pass, 0 fail)
BLANK = -1
CODE_VALUES = {codes.ABSENT: -2, codes.EXEMPT: -3, codes.DEFERRED: -4, codes.CHEATED: -5}
VALUE_CODES = {v: k for k, v in CODE_VALUES.items()}
MAX_TENTHS = 32767  # an array('h') holds up to 3276.7 points


class GradesStore(Persistent):
    def __init__(self):
        self.exams = OOBTree()       # id -> Exam
        self.by_home = OOBTree()     # (home path, term, id) -> Exam
        self.places = OOBTree()      # pupil key -> tuple of Sheets
        self.serial = Length()


def store(site, create=False):
    found = getattr(site, "grades", None)
    if found is None and create:
        found = site.grades = GradesStore()
    return found


class Exam(Persistent):
    """An exam (or a column of daily marks) of one term.

    ``subjects``: code -> {"full": points, "scale": codes.SCORE…, "cutoffs": (A, B, C)
    as shares of full marks}. ``grades``: the national grade numbers it is for;
    ``classes``: class paths when it is for some classes only (empty: every class of
    those grades under ``home``)."""

    locked = False

    def __init__(self, id, home, title, kind, term, grades, subjects, weight=1.0, classes=()):
        self.id = id
        self.home = home
        self.title = title
        self.kind = kind
        self.term = term
        self.grades = tuple(grades)
        self.classes = tuple(classes)
        self.subjects = dict(subjects)
        self.weight = weight
        self.sheets = OOBTree()  # class path -> Sheet
        self.created = time.time()

    @property
    def home_path(self):
        return resource_path(self.home)

    def subject(self, code):
        return self.subjects.get(code)

    def covers(self, klass, grade):
        """Whether this exam is sat by ``klass`` (now in ``grade``)."""
        path = resource_path(klass)
        if not (path + "/").startswith(self.home_path.rstrip("/") + "/"):
            return False
        if self.classes:
            return path in self.classes
        return grade in self.grades


class Sheet(Persistent):
    """One exam's marks for one class: the pupils once, a packed column per subject."""

    def __init__(self, exam, class_path, class_title):
        self.exam = exam
        self.class_path = class_path
        self.class_title = class_title
        self.pupils = ()        # record keys, in the order of the columns
        self.names = ()         # the pupils' names when they were first entered
        self.columns = {}       # subject -> bytes of array('h')
        self.versions = {}      # subject -> int, raised by every save
        self.locks = {}         # subject -> (userid, login, time) once submitted
        self.saved = {}         # subject -> (userid, login, time) of the last save
        self.comments = {}      # subject -> {pupil key: text}: the comment-only scale

    # -- reading -------------------------------------------------------------------------
    def index(self):
        found = getattr(self, "_v_index", None)
        if found is None or len(found) != len(self.pupils):
            found = self._v_index = {key: i for i, key in enumerate(self.pupils)}
        return found

    def column(self, subject):
        values = array.array("h")
        raw = self.columns.get(subject)
        if raw:
            values.frombytes(raw)
        if len(values) < len(self.pupils):
            values.extend([BLANK] * (len(self.pupils) - len(values)))
        return values

    def value(self, subject, pupil_key):
        at = self.index().get(pupil_key)
        if at is None:
            return BLANK
        return self.column(subject)[at]

    def comment(self, subject, pupil_key):
        return self.comments.get(subject, {}).get(pupil_key, "")

    def version(self, subject):
        return self.versions.get(subject, 0)

    def locked(self, subject):
        return self.exam.locked or subject in self.locks

    # -- writing -------------------------------------------------------------------------
    def add_pupils(self, pairs):
        """Append pupils (key, name) not on the sheet yet; returns the keys added."""
        known = self.index()
        added = [(k, n) for k, n in pairs if k not in known]
        if added:
            self.pupils = self.pupils + tuple(k for k, _n in added)
            self.names = self.names + tuple(n for _k, n in added)
        return [k for k, _n in added]

    def set_column(self, subject, values, user=None):
        self.columns = dict(self.columns, **{subject: values.tobytes()})
        self.versions = dict(self.versions, **{subject: self.version(subject) + 1})
        if user is not None:
            self.saved = dict(self.saved, **{subject: (user.userid, user.login, time.time())})

    def set_comments(self, subject, texts):
        self.comments = dict(self.comments, **{subject: dict(texts)})

    def lock(self, subject, user):
        self.locks = dict(self.locks, **{subject: (user.userid, user.login, time.time())})

    def unlock(self, subject):
        self.locks = {k: v for k, v in self.locks.items() if k != subject}


# -- exams ----------------------------------------------------------------------------------

def add_exam(site, home, title, kind, term, grades, subjects, weight=1.0, classes=()):
    grades_store = store(site, create=True)
    grades_store.serial.change(1)
    exam_id = "E%06d" % grades_store.serial()
    exam = Exam(exam_id, home, title, kind, term, grades, subjects, weight, classes)
    grades_store.exams[exam_id] = exam
    grades_store.by_home[(exam.home_path, term, exam_id)] = exam
    return exam


def get_exam(site, exam_id):
    grades_store = store(site)
    return grades_store.exams.get(exam_id) if grades_store is not None and exam_id else None


def exams_at(site, node, term=None):
    """Exams defined at ``node`` (in ``term``), oldest first."""
    grades_store = store(site)
    if grades_store is None:
        return []
    path = resource_path(node)
    low, high = ((path, term, ""), (path, term, "\uffff")) if term else ((path, "", ""), (path, "\uffff", ""))
    return list(grades_store.by_home.values(min=low, max=high))


def exams_for_class(klass, term, grade):
    """The exams a class sits in ``term``: those of its school and the bureaus above it."""
    site = find_root(klass)
    found = []
    node = klass.__parent__
    while node is not None and node is not site:
        found += [e for e in exams_at(site, node, term) if e.covers(klass, grade)]
        node = node.__parent__
    return sorted(found, key=lambda e: (e.created, e.id))


def class_grade(klass, term):
    """The national grade ``klass`` is in during ``term`` (None once its cohort has left)."""
    level = getattr(klass.__parent__, "level", tree_codes.LEVEL_OTHER)
    first, count = tree_codes.LEVEL_GRADES[level]
    offset = codes.parse_term(term)[0] - klass.cohort
    return first + offset if 0 <= offset < count else None


def has_marks(exam, subject):
    """Whether any class has a mark or a comment of ``subject`` in ``exam``."""
    return any(s.columns.get(subject) or s.comments.get(subject) for s in exam.sheets.values())


def set_subject(exam, subject, setup):
    """Change one subject's setup; refused once marks of it exist (they were read under the old one)."""
    if has_marks(exam, subject):
        raise ValueError("marks of %s exist" % subject)
    exam.subjects = dict(exam.subjects, **{subject: dict(setup)})


def exams_in_scope(site, node, term):
    """Exams that concern ``node``: defined at it, above it, or (for a bureau or school) below it."""
    grades_store = store(site)
    if grades_store is None:
        return []
    path = resource_path(node).rstrip("/")
    found = {}
    above = node
    while above is not None:
        for exam in exams_at(site, above, term):
            found[exam.id] = exam
        above = above.__parent__
    for (home, exam_term, _id), exam in grades_store.by_home.items(min=(path + "/", "", ""),
                                                                   max=(path + "/\uffff", "", "")):
        if exam_term == term:
            found[exam.id] = exam
    return sorted(found.values(), key=lambda e: (e.created, e.id))


def remove_exam(site, exam):
    grades_store = store(site)
    if len(exam.sheets):
        raise ValueError("an exam with marks is not removed")
    del grades_store.exams[exam.id]
    del grades_store.by_home[(exam.home_path, exam.term, exam.id)]


# -- sheets ---------------------------------------------------------------------------------

def sheet_of(exam, klass, create=False):
    path = resource_path(klass)
    found = exam.sheets.get(path)
    if found is None and create:
        found = exam.sheets[path] = Sheet(exam, path, getattr(klass, "sort_title", klass.__name__))
    return found


def sheets_under(exam, node):
    """The exam's sheets of ``node`` (a class) or of the classes under it: a key range of class paths."""
    path = resource_path(node).rstrip("/")
    if not path:
        return list(exam.sheets.values())
    own = exam.sheets.get(path)
    return ([own] if own is not None else []) + list(exam.sheets.values(min=path + "/", max=path + "/\uffff"))


def remember_places(site, sheet, keys):
    """Note on each pupil that ``sheet`` holds marks of theirs."""
    places = store(site, create=True).places
    for key in keys:
        held = places.get(key, ())
        if not any(s is sheet for s in held):
            places[key] = held + (sheet,)


def sheets_of_pupil(site, key):
    grades_store = store(site)
    return list(grades_store.places.get(key, ())) if grades_store is not None else []
