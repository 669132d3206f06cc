"""Grades (成绩): exams, marks entered by class and subject, the figures computed
from them, and who may see which of them.

- codes.py: subjects, exam kinds, scales, the codes a mark may be, terms
- books.py: exams and the packed mark sheets (one per exam × class)
- marks.py: a typed cell ↔ a kept value, levels
- stats.py: summaries, ranks, totals, term results (the codes' effects)
- entry.py: saving a column (permissions, locks, stale grids, history, audit)
- assignments.py: teaching assignments as local roles
- corrections.py: changing a locked mark on the approval chain
- policy.py: the ranking rules of 教基厅函〔2021〕34号, enforced in one place
- transfer.py: a whole exam in and out of a spreadsheet (the template, the import)
- cards.py: report cards as data and as a PDF
- transcript.py: the term results kept with a graduate's archived record
- registration.py: the package's registrations (``includeme``)

Among ``xueji_site.FEATURES``. Its pages are views/grades_*.py, its script
scripts/grades.py (``xueji-grades``), its bench bench/grades.py.
"""


def includeme(config):
    config.include("xueji_site.grades.registration")
