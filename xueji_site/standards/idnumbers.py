"""Identifier rules: resident ID (GB 11643), 全国学籍号, 学校标识码.

python-stdnum's ``cn.ric`` does the GB 11643 check digit, birth date and
GB/T 2260 birthplace checks (it knows retired codes and when they were valid);
this module adds what a registry needs on top: no future birth dates, the
gender digit, 15-digit conversion, and the registry-number forms.

Each check raises ``IdError`` with a short reason key; schemas turn the key
into a translated message.
"""
import datetime
import re

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from xueji_site.kernel.masking import mask, mask_field  # noqa: F401  (masking of these numbers)
from xueji_site.standards.codes import PROVINCE_CODES, SCHOOL_CATEGORY


class IdError(ValueError):
    """``args[0]`` is a reason key: length, format, checksum, date, future, place…"""

    @property
    def reason(self):
        return self.args[0]


_STDNUM_REASONS = {
    "InvalidLength": "length",
    "InvalidFormat": "format",
    "InvalidChecksum": "checksum",
    "InvalidComponent": "date-or-place",
}


def normalise(number):
    """Upper-case, strip spaces; a lower-case x check character becomes X."""
    return re.sub(r"\s+", "", number or "").upper()


def upgrade_15(number):
    """A 15-digit (GB 11643-1989) number as its 18-digit form."""
    if len(number) != 15 or not number.isdigit():
        raise IdError("format")
    body = number[:6] + "19" + number[6:]
    return body + ric.calc_check_digit(body + "0")


def validate_resident_id(number, today=None):
    """Return the normalised 18-digit number or raise IdError."""
    number = normalise(number)
    if len(number) == 15:
        number = upgrade_15(number)
    if len(number) != 18:
        raise IdError("length")
    if not re.match(r"^\d{17}[\dX]$", number):
        raise IdError("format")
    try:
        ric.validate(number)
    except ValidationError as exc:
        raise IdError(_STDNUM_REASONS.get(type(exc).__name__, "format")) from exc
    if ric.get_birth_date(number) > (today or datetime.date.today()):
        raise IdError("future")
    return number


def birth_date_of(number):
    return ric.get_birth_date(number)


def gender_of(number):
    """'1' (male) for an odd sequence digit, '2' (female) for an even one."""
    return "1" if int(number[16]) % 2 else "2"


# -- 全国学籍号 -------------------------------------------------------------

def registry_no_from_id(number):
    """The G form: 'G' + the resident ID number."""
    return "G" + number


def _id_like_check(body17):
    return ric.calc_check_digit(body17 + "0")


def validate_registry_no(value, today=None):
    """Validate a 学籍号 in G, J or L form; return it normalised.

    G + resident ID; J + 18 characters built like an ID (location code,
    birth date, sequence, check); L + 6-digit code + 8-digit date + 4 digits
    (temporary, no check character).
    """
    value = normalise(value)
    if len(value) != 19 or value[0] not in "GJL":
        raise IdError("registry-format")
    kind, rest = value[0], value[1:]
    if kind == "G":
        validate_resident_id(rest, today)
        return value
    if kind == "J":
        if not re.match(r"^\d{17}[\dX]$", rest):
            raise IdError("registry-format")
        if rest[-1] != _id_like_check(rest[:17]):
            raise IdError("checksum")
    elif not rest.isdigit():
        raise IdError("registry-format")
    _check_date(rest[6:14], today)
    return value


def _check_date(yyyymmdd, today=None):
    try:
        born = datetime.datetime.strptime(yyyymmdd, "%Y%m%d").date()
    except ValueError as exc:
        raise IdError("date") from exc
    if born > (today or datetime.date.today()):
        raise IdError("future")
    return born


def make_j_number(location6, birth, sequence3):
    """Build a J-form 学籍号 for a pupil without a usable ID number."""
    body = "%s%s%03d" % (location6, birth.strftime("%Y%m%d"), sequence3)
    return "J" + body + _id_like_check(body)


# -- 学校标识码 -------------------------------------------------------------

_CATEGORIES = frozenset(code for code, _label in SCHOOL_CATEGORY)


def validate_school_code(code):
    """10 digits: 2 category + 2 province + 6 serial."""
    code = normalise(code)
    if not re.match(r"^\d{10}$", code):
        raise IdError("school-format")
    if code[:2] not in _CATEGORIES:
        raise IdError("school-category")
    if code[2:4] not in PROVINCE_CODES:
        raise IdError("school-province")
    return code


