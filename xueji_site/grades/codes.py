"""The grades' code tables: subjects, exam kinds, scales, the codes a mark may be
instead of a number, and the school year's terms.

Subjects follow the national curriculum plans (义务教育课程方案（2022年版）,
普通高中课程方案（2017年版2020年修订）); a bureau or school extends the table
for local and school-based courses (grades/books.py). Codes are ours: two
digits for the national subjects, a letter and digits for extensions.
"""
import datetime

from xueji_site.kernel.i18n import _

PRIMARY, JUNIOR, SENIOR = "primary", "junior", "senior"
STAGE_LABELS = {PRIMARY: _("小学"), JUNIOR: _("初中"), SENIOR: _("高中")}


def stage_of_grade(grade):
    """The stage a national grade number (1–12) belongs to."""
    if grade is None:
        return None
    return PRIMARY if grade <= 6 else JUNIOR if grade <= 9 else SENIOR


# code, label, the grades it is taught in (first, last)
SUBJECTS = tuple((code, label, grades) for code, label, grades in (
    ("01", _("语文"), (1, 12)),
    ("02", _("数学"), (1, 12)),
    ("03", _("英语"), (3, 12)),
    ("04", _("道德与法治"), (1, 9)),
    ("05", _("思想政治"), (10, 12)),
    ("06", _("科学"), (1, 6)),
    ("07", _("物理"), (8, 12)),
    ("08", _("化学"), (9, 12)),
    ("09", _("生物"), (7, 12)),
    ("10", _("历史"), (7, 12)),
    ("11", _("地理"), (7, 12)),
    ("12", _("体育与健康"), (1, 12)),
    ("13", _("艺术"), (1, 12)),
    ("14", _("音乐"), (1, 12)),
    ("15", _("美术"), (1, 12)),
    ("16", _("信息科技"), (3, 9)),
    ("17", _("信息技术"), (10, 12)),
    ("18", _("通用技术"), (10, 12)),
    ("19", _("劳动"), (1, 12)),
    ("20", _("综合实践活动"), (1, 9)),
))
SUBJECT_LABELS = {code: label for code, label, _grades in SUBJECTS}


def national_subjects_for(grade):
    """(code, label) of the national subjects taught in ``grade``."""
    return tuple((code, label) for code, label, (first, last) in SUBJECTS
                 if grade is None or first <= grade <= last)


# -- exams ----------------------------------------------------------------------------------

MIDTERM, FINAL, UNIT, DAILY, PROFICIENCY = "midterm", "final", "unit", "daily", "proficiency"
EXAM_KINDS = (
    (MIDTERM, _("期中")),
    (FINAL, _("期末")),
    (UNIT, _("单元测验")),
    (DAILY, _("平时")),
    (PROFICIENCY, _("学业水平考试")),
)
EXAM_KIND_LABELS = dict(EXAM_KINDS)

# -- scales ---------------------------------------------------------------------------------

SCORE, LEVEL, PASSFAIL, COMMENT = "score", "level", "passfail", "comment"
SCALES = (
    (SCORE, _("百分制（分数）")),
    (LEVEL, _("等级制")),
    (PASSFAIL, _("合格/不合格")),
    (COMMENT, _("评语")),
)
SCALE_LABELS = dict(SCALES)

# The four levels, best first. A score's level: the first whose cut-off (a share of
# the full marks) it reaches; the cut-offs are the exam's, these the defaults.
LEVELS = (("A", _("优秀")), ("B", _("良好")), ("C", _("合格")), ("D", _("待合格")))
LEVEL_LABELS = dict(LEVELS)
DEFAULT_CUTOFFS = (0.85, 0.75, 0.60)  # A ≥ 85 %, B ≥ 75 %, C ≥ 60 %, D below
PASS_LEVELS = ("A", "B", "C")
EXCELLENT_LEVELS = ("A",)
PASS, FAIL = "P", "F"
PASSFAIL_LABELS = {PASS: _("合格"), FAIL: _("不合格")}

# -- codes instead of a mark ---------------------------------------------------------------
# A blank cell is "not entered yet": never a zero. Each code's effect on the
# statistics and on the pupil's term result is defined here and nowhere else.

ABSENT, EXEMPT, DEFERRED, CHEATED = "absent", "exempt", "deferred", "cheated"
MARK_CODES = (
    (ABSENT, _("缺考")),
    (EXEMPT, _("免考")),
    (DEFERRED, _("缓考")),
    (CHEATED, _("作弊")),
)
MARK_CODE_LABELS = dict(MARK_CODES)
EFFECTS = {
    # counted as expected to sit; no mark; the term result waits for a make-up (补考)
    ABSENT: _("计入应考人数，不计入实考、平均分和及格率；学期成绩待补考"),
    # not expected to sit; the term result is weighted over the other exams
    EXEMPT: _("不计入应考人数和任何统计；学期成绩按其余考试折算"),
    # expected later; not in the statistics until the deferred mark is entered
    DEFERRED: _("暂不计入统计；学期成绩待缓考成绩录入"),
    # a mark of zero in the statistics and in the term result
    CHEATED: _("按零分计入统计和学期成绩"),
}

# -- terms ----------------------------------------------------------------------------------
# A term is "YYYY-N": the school year starting 1 September of YYYY, term 1 (autumn)
# or 2 (spring, from 1 February).


def term_of(day=None):
    day = day or datetime.date.today()
    if day.month >= 9:
        return "%d-1" % day.year
    if day.month >= 2:
        return "%d-2" % (day.year - 1)
    return "%d-1" % (day.year - 1)


def parse_term(text):
    """(school year, term number) of "2026-1"; ValueError if it is not a term."""
    year, _sep, number = str(text or "").strip().partition("-")
    if not (year.isdigit() and len(year) == 4 and number in ("1", "2")):
        raise ValueError(text)
    return int(year), int(number)


def term_label(term):
    year, number = parse_term(term)
    return _("${start}—${end}学年第${n}学期",
             mapping={"start": year, "end": year + 1, "n": "一" if number == 1 else "二"})


def terms_around(day=None, back=4):
    """The current term and ``back`` before it, newest first."""
    year, number = parse_term(term_of(day))
    found = []
    for _i in range(back + 1):
        found.append("%d-%d" % (year, number))
        year, number = (year, 1) if number == 2 else (year - 1, 2)
    return found


def grade_in_term(cohort, term, first_grade):
    """The grade of a class of ``cohort`` in ``term``, for a school whose first grade is ``first_grade``."""
    year, _number = parse_term(term)
    return first_grade + (year - cohort)
