"""Certificate numbers (毕业/结业/肄业证书编号) for K-12 graduates.

No national K-12 format exists (shared/reference/domain.md (d)), so this one
follows the shape of the higher-education number (issuer + year + type +
serial) and the check character of the resident ID number:

    SSSSSSSSSS YYYY O NNNNN C      21 characters, no separators stored
    │          │    │ │     └ check: ISO 7064 MOD 11-2 over the 20 digits (0-9 or X)
    │          │    │ └ serial within school and year, 00001-99999
    │          │    └ outcome: 1 毕业, 2 结业, 3 肄业
    │          └ year of leaving
    └ the school's 10-digit 学校标识码 (its first two digits give the level)

Why MOD 11-2: clerks already know it from the ID number (same X), and it
catches every single mistyped digit and every swap of two neighbouring
digits — the usual errors when a number is read off paper and typed in.
"""
import re

from stdnum.iso7064 import mod_11_2

from xueji_site.status.changes import COMPLETED, GRADUATED, INCOMPLETE

OUTCOME_DIGITS = {GRADUATED: "1", COMPLETED: "2", INCOMPLETE: "3"}
OUTCOMES = {digit: status for status, digit in OUTCOME_DIGITS.items()}
PATTERN = re.compile(r"^\d{20}[\dX]$")
MAX_SERIAL = 99999


def make(school_code, year, outcome, serial):
    """The full number for the given parts (check character appended)."""
    if not (0 < serial <= MAX_SERIAL):
        raise ValueError("serial out of range")
    body = "%s%04d%s%05d" % (school_code, int(year), OUTCOME_DIGITS[outcome], serial)
    if len(body) != 20 or not body.isdigit():
        raise ValueError("bad certificate parts")
    return body + mod_11_2.calc_check_digit(body)


def normalise(text):
    """What someone typed, without spaces and dashes, X upper-cased."""
    return re.sub(r"[\s\-]", "", text or "").upper()


def is_valid(number):
    """Well-formed and the check character agrees (no database involved)."""
    number = normalise(number)
    return bool(PATTERN.match(number)) and mod_11_2.is_valid(number)


def parts(number):
    """(school code, year, outcome status, serial) of a valid number."""
    return number[:10], int(number[10:14]), OUTCOMES.get(number[14]), int(number[15:20])


def shown(number):
    """Grouped for reading aloud and printing: 2111000001 2025 1 00001 4."""
    return " ".join((number[:10], number[10:14], number[14], number[15:20], number[20:]))
