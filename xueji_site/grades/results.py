"""One pupil's results, as the viewer may see them (grades/policy.py ``Sight``).

Read from the sheets the pupil has marks on (``store.places``), so the marks
entered in a class the pupil has left are still theirs. A family sees levels,
the score only where the sight allows, the class as bands (how many pupils at
each level: never another pupil's mark) and a rank only where the sight allows;
staff see scores, the class mean and the rank in the class.
"""
from dataclasses import dataclass, field

from xueji_site.grades import books, codes, stats
from xueji_site.grades.analysis import class_ranks
from xueji_site.grades.marks import level_of, show


@dataclass
class SubjectLine:
    subject: str
    level: str = None      # A–D, or None (blank, or a code other than 作弊)
    shown: object = ""     # the score or the code, where the viewer may see it
    comment: str = ""
    bands: dict = None     # the class's count at each level (families and staff)
    class_mean: float = None  # staff only


@dataclass
class ExamLine:
    exam: object
    class_title: str
    subjects: list = field(default_factory=list)
    total: float = None    # where the viewer may see scores
    rank: int = None       # where the viewer may see a rank
    ranked_of: int = None


def _line(sheet, key, sight):
    exam = sheet.exam
    line = ExamLine(exam, sheet.class_title)
    values = {}
    for subject, setup in exam.subjects.items():
        value = sheet.value(subject, key)
        values[subject] = value
        summary = stats.summarise(sheet.column(subject), setup)
        code_or_score = show(value, setup)
        hidden_score = setup["scale"] == codes.SCORE and value >= 0 and not sight.scores
        line.subjects.append(SubjectLine(
            subject, level_of(value, setup), "" if hidden_score else code_or_score,
            sheet.comment(subject, key) if setup["scale"] == codes.COMMENT else "",
            summary.bands if setup["scale"] != codes.COMMENT else None,
            summary.mean if sight.staff else None))
    if sight.scores:
        line.total = stats.total(values, exam.subjects)
    if sight.rank:
        ranked = class_ranks(sheet, exam.subjects)
        line.rank, line.ranked_of = ranked.get(key), len(ranked)
    return line


def pupil_results(site, pupil, sight, term=None):
    """The pupil's exams (of ``term``, or all), oldest first, as ExamLines."""
    if not sight.allowed:
        return []
    key = pupil.__name__
    sheets = [s for s in books.sheets_of_pupil(site, key) if term is None or s.exam.term == term]
    sheets.sort(key=lambda s: (s.exam.term, s.exam.created, s.exam.id))
    return [_line(sheet, key, sight) for sheet in sheets]


def term_results(site, pupil, term):
    """{subject: a percentage (0–100), stats.PENDING or None}: the pupil's term result in
    each subject, weighing the term's exams (stats.term_result). Staff figures: a
    family sees the levels of these (``marks.level_of_share``), by the same sight rules."""
    key = pupil.__name__
    parts = {}
    for sheet in books.sheets_of_pupil(site, key):
        exam = sheet.exam
        if exam.term != term:
            continue
        for subject, setup in exam.subjects.items():
            parts.setdefault(subject, []).append((sheet.value(subject, key), setup, exam.weight))
    return {subject: stats.term_result(found) for subject, found in sorted(parts.items())}
