"""An exam's figures for a class, a school or a bureau: read from the sheets of the
classes under the node (a key range of ``exam.sheets``), never from pupils.

``analyse(exam, node)`` gives, per subject, the Summary of the whole scope and
one per unit below it (the classes of a school, the schools of a bureau), and
the sorted scores for box plots; ``completion(exam, node)`` what is entered.
"""
from dataclasses import dataclass, field

from xueji_site.grades import books, codes, stats
from xueji_site.grades.books import BLANK
from xueji_site.grades.marks import points


@dataclass
class Analysis:
    subjects: dict = field(default_factory=dict)  # subject -> Summary of the scope
    units: dict = field(default_factory=dict)     # unit path -> {subject: Summary}
    scores: dict = field(default_factory=dict)    # subject -> sorted scores of the scope
    unit_scores: dict = field(default_factory=dict)  # unit path -> {subject: sorted scores} (box plots)


def _unit(sheet_path, node_path, depth):
    """The path of the unit a sheet's class belongs to, ``depth`` levels below the node."""
    rest = sheet_path[len(node_path.rstrip("/")):].strip("/").split("/")
    return node_path.rstrip("/") + "/" + "/".join(rest[:depth])


def analyse(exam, node, node_path, depth=1, subjects=None):
    """Figures of ``exam`` under ``node`` (whose path is ``node_path``). ``depth``: how far
    below the node the units are (1: its children; a school's classes, a county's schools)."""
    found = Analysis()
    wanted = [s for s in exam.subjects if subjects is None or s in subjects]
    columns = {s: [] for s in wanted}
    by_unit = {}
    for sheet in books.sheets_under(exam, node):
        unit = _unit(sheet.class_path, node_path, depth)
        for subject in wanted:
            values = list(sheet.column(subject))
            columns[subject] += values
            by_unit.setdefault(unit, {}).setdefault(subject, []).extend(values)
    for subject in wanted:
        setup = exam.subjects[subject]
        found.subjects[subject] = stats.summarise(columns[subject], setup)
        if setup["scale"] == codes.SCORE:
            found.scores[subject] = sorted(p for p in (points(v, setup) for v in columns[subject]) if p is not None)
    for unit, per_subject in sorted(by_unit.items()):
        found.units[unit] = {s: stats.summarise(v, exam.subjects[s]) for s, v in per_subject.items()}
        found.unit_scores[unit] = {s: sorted(p for p in (points(x, exam.subjects[s]) for x in v) if p is not None)
                                   for s, v in per_subject.items() if exam.subjects[s]["scale"] == codes.SCORE}
    return found


def completion(exam, node):
    """{(class path, subject): (entered, pupils, locked)} of the sheets under ``node``."""
    found = {}
    for sheet in books.sheets_under(exam, node):
        for subject in exam.subjects:
            column = sheet.column(subject)
            entered = sum(1 for v in column if v != BLANK) if exam.subjects[subject]["scale"] != codes.COMMENT \
                else len(sheet.comments.get(subject, {}))
            found[(sheet.class_path, subject)] = (entered, len(sheet.pupils), sheet.locked(subject))
    return found


def class_ranks(sheet, setups):
    """Competition ranks by total within one class's sheet: {pupil key: rank}."""
    columns = {s: sheet.column(s) for s in setups}
    totals = {key: stats.total({s: columns[s][i] for s in setups}, setups) for i, key in enumerate(sheet.pupils)}
    return stats.ranks(totals)
