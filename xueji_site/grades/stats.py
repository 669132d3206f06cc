"""Figures from marks: a group's summary, ranks, a pupil's totals and term result.

Every figure here reads packed columns of sheets (grades/books.py), never pupils.
How each code counts is stated once, in grades/codes.py ``EFFECTS``:

- blank: not entered — in no figure (and the sheet counts it as missing);
- 缺考: in the number expected to sit (应考), not in those who sat (实考) nor
  in means, medians or rates;
- 免考: in nothing; 缓考: in nothing until its mark is entered;
- 作弊: a zero, everywhere.

Rates are shares of those who sat. The standard deviation is the population's
(the group is the whole class, not a sample). Means and rates are rounded half
up at the end only.
"""
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from xueji_site.grades import codes
from xueji_site.grades.books import BLANK, CODE_VALUES
from xueji_site.grades.marks import level_of, points

BANDS = tuple(letter for letter, _label in codes.LEVELS)


def rounded(number, places=1):
    if number is None:
        return None
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(number)).quantize(quantum, rounding=ROUND_HALF_UP))


@dataclass
class Summary:
    expected: int = 0   # 应考: sat, absent or cheated
    sat: int = 0        # 实考
    missing: int = 0    # not entered yet
    absent: int = 0
    exempt: int = 0
    deferred: int = 0
    cheated: int = 0
    mean: float = None
    median: float = None
    std: float = None
    high: float = None
    low: float = None
    pass_rate: float = None       # share of those who sat at 合格 or better
    excellent_rate: float = None  # share at 优秀
    bands: dict = field(default_factory=dict)  # level letter -> count

    def as_row(self):
        return (self.expected, self.sat, self.absent, self.mean, self.median, self.std, self.high, self.low,
                _percent(self.pass_rate), _percent(self.excellent_rate))


def _percent(share):
    return None if share is None else rounded(share * 100, 1)


def summarise(values, setup):
    """The Summary of an iterable of packed values under one subject's setup."""
    found = Summary(bands={letter: 0 for letter in BANDS})
    scores = []
    for value in values:
        if value == BLANK:
            found.missing += 1
            continue
        if value == CODE_VALUES[codes.ABSENT]:
            found.absent += 1
            found.expected += 1
            continue
        if value == CODE_VALUES[codes.EXEMPT]:
            found.exempt += 1
            continue
        if value == CODE_VALUES[codes.DEFERRED]:
            found.deferred += 1
            continue
        if value == CODE_VALUES[codes.CHEATED]:
            found.cheated += 1
        found.expected += 1
        found.sat += 1
        letter = level_of(value, setup)
        if letter is not None:
            found.bands[letter] += 1
        score = points(value, setup)
        if score is not None:
            scores.append(score)
    if found.sat:
        found.pass_rate = sum(found.bands[b] for b in codes.PASS_LEVELS) / found.sat
        found.excellent_rate = sum(found.bands[b] for b in codes.EXCELLENT_LEVELS) / found.sat
    if scores:
        scores.sort()
        count = len(scores)
        mean = math.fsum(scores) / count
        found.mean = rounded(mean, 2)
        middle = count // 2
        found.median = rounded(scores[middle] if count % 2 else (scores[middle - 1] + scores[middle]) / 2, 2)
        found.std = rounded(math.sqrt(math.fsum((s - mean) ** 2 for s in scores) / count), 2)
        found.high, found.low = scores[-1], scores[0]
    return found


def quartiles(scores):
    """(low, q1, median, q3, high) of sorted scores, for a box plot (None when empty)."""
    if not scores:
        return None

    def at(share):
        position = share * (len(scores) - 1)
        below = int(math.floor(position))
        above = min(below + 1, len(scores) - 1)
        return scores[below] + (scores[above] - scores[below]) * (position - below)
    return (scores[0], at(0.25), at(0.5), at(0.75), scores[-1])


def ranks(totals):
    """Competition ranks (1, 2, 2, 4) of ``{key: total}``, highest first; keys whose
    total is None are not ranked."""
    ordered = sorted(((t, k) for k, t in totals.items() if t is not None), key=lambda p: -p[0])
    found, previous, rank = {}, None, 0
    for position, (total, key) in enumerate(ordered, start=1):
        if total != previous:
            rank, previous = position, total
        found[key] = rank
    return found


def total(values_by_subject, setups):
    """A pupil's total over the scored subjects of one exam: None unless every scored
    subject has a mark (作弊 counts as 0; a blank, 缺考, 免考 or 缓考 leaves it incomplete)."""
    found = 0.0
    counted = 0
    for subject, setup in setups.items():
        if setup["scale"] != codes.SCORE:
            continue
        score = points(values_by_subject.get(subject, BLANK), setup)
        if score is None:
            return None
        found += score
        counted += 1
    return rounded(found, 1) if counted else None


PENDING = "pending"


def term_result(parts):
    """A pupil's term result in one subject from its exams' marks.

    ``parts``: (value, setup, weight) per exam of the term. Each mark counts as a
    share of its full marks, weighted by its exam's weight. 免考 drops the exam (the
    other weights are rescaled); 缺考 or 缓考 leaves the result PENDING (a make-up
    is due); a blank is left out (not a zero). Returns a percentage (0–100, one
    decimal), PENDING, or None when there is nothing to go on."""
    weighted, weights = 0.0, 0.0
    for value, setup, weight in parts:
        if value in (CODE_VALUES[codes.ABSENT], CODE_VALUES[codes.DEFERRED]):
            return PENDING
        if value == BLANK or value == CODE_VALUES[codes.EXEMPT] or setup["scale"] != codes.SCORE:
            continue
        score = points(value, setup)
        weighted += weight * score / float(setup["full"])
        weights += weight
    if not weights:
        return None
    return rounded(weighted / weights * 100, 1)
