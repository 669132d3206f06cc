"""One mark as typed and as kept: reading a cell, showing a value, its level.

A cell may hold a number (百分制), a level (A–D or 优秀/良好/合格/待合格), 合格 or
不合格, or a code (缺考, 免考, 缓考, 作弊: their names or their Latin names); an empty
cell is "not entered". Anything else is refused with a message saying what fits.
"""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from xueji_site.grades import codes
from xueji_site.grades.books import BLANK, CODE_VALUES, MAX_TENTHS, VALUE_CODES
from xueji_site.kernel.i18n import _


class MarkError(ValueError):
    """A cell that is not a mark: ``args[0]`` says why, in a translation string."""


_CODE_WORDS = {}
for _code, _label in codes.MARK_CODES:
    _CODE_WORDS[_code] = _code
    _CODE_WORDS[str(_label)] = _code
_CODE_WORDS.update({"缺": codes.ABSENT, "免": codes.EXEMPT, "缓": codes.DEFERRED})
_LEVEL_WORDS = {}
for _i, (_level, _label) in enumerate(codes.LEVELS):
    _LEVEL_WORDS[_level] = _i
    _LEVEL_WORDS[_level.lower()] = _i
    _LEVEL_WORDS[str(_label)] = _i
_PASS_WORDS = {"合格": 1, "通过": 1, "P": 1, "p": 1, "不合格": 0, "未通过": 0, "F": 0, "f": 0}


def tenths(number):
    """A number rounded half up to tenths, as an int (85.25 → 853)."""
    return int((Decimal(str(number)) * 10).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse(text, setup):
    """The packed value of a typed cell under a subject's ``setup``; MarkError if it does not fit."""
    text = (text or "").strip().replace("\u3000", "")
    if not text:
        return BLANK
    if text in _CODE_WORDS:
        return CODE_VALUES[_CODE_WORDS[text]]
    scale = setup["scale"]
    if scale == codes.LEVEL:
        if text in _LEVEL_WORDS:
            return _LEVEL_WORDS[text]
        raise MarkError(_("请填写等级 A、B、C、D（优秀、良好、合格、待合格）或缺考、免考、缓考、作弊"))
    if scale == codes.PASSFAIL:
        if text in _PASS_WORDS:
            return _PASS_WORDS[text]
        raise MarkError(_("请填写合格或不合格，或缺考、免考、缓考、作弊"))
    if scale == codes.COMMENT:
        raise MarkError(_("此科目只填评语"))
    try:
        number = Decimal(text.replace("，", ".").replace("。", "."))
    except InvalidOperation:
        raise MarkError(_("请填写分数（数字）或缺考、免考、缓考、作弊"))
    if not number.is_finite():
        raise MarkError(_("请填写分数（数字）或缺考、免考、缓考、作弊"))
    if number < 0:
        raise MarkError(_("分数不能为负数"))
    if number > Decimal(str(setup["full"])):
        raise MarkError(_("分数不能超过满分 ${full}", mapping={"full": shown_points(setup["full"])}))
    value = tenths(number)
    if value > MAX_TENTHS:
        raise MarkError(_("分数过大"))
    return value


def shown_points(number):
    """85.0 → "85", 85.5 → "85.5"."""
    text = "%.1f" % float(number)
    return text[:-2] if text.endswith(".0") else text


def code_of(value):
    return VALUE_CODES.get(value)


def show(value, setup):
    """What a cell shows for a packed value (untranslated labels are translation strings)."""
    if value == BLANK:
        return ""
    if value in VALUE_CODES:
        return codes.MARK_CODE_LABELS[VALUE_CODES[value]]
    scale = setup["scale"]
    if scale == codes.LEVEL:
        return codes.LEVELS[value][0]
    if scale == codes.PASSFAIL:
        return codes.PASSFAIL_LABELS[codes.PASS if value else codes.FAIL]
    return shown_points(value / 10)


def typed(value, setup, translate):
    """The text a grid cell holds for a value (what ``parse`` reads back)."""
    shown = show(value, setup)
    return translate(shown) if hasattr(shown, "interpolate") else shown


def points(value, setup):
    """A value's points for the statistics: a number, or None (blank and codes but 作弊, which is 0)."""
    if value == CODE_VALUES[codes.CHEATED]:
        return 0.0
    if value < 0 or setup["scale"] != codes.SCORE:
        return None
    return value / 10


def level_of(value, setup):
    """The level letter of a value (None for blanks and codes other than 作弊)."""
    if value == CODE_VALUES[codes.CHEATED]:
        return codes.LEVELS[-1][0]
    if value < 0:
        return None
    scale = setup["scale"]
    if scale == codes.LEVEL:
        return codes.LEVELS[value][0]
    if scale == codes.PASSFAIL:
        return "C" if value else "D"
    if scale != codes.SCORE:
        return None
    return level_of_share(value / 10 / float(setup["full"]), setup)


def level_of_share(share, setup):
    cutoffs = setup.get("cutoffs") or codes.DEFAULT_CUTOFFS
    for (letter, _label), cutoff in zip(codes.LEVELS, cutoffs):
        if share + 1e-9 >= cutoff:
            return letter
    return codes.LEVELS[-1][0]


def setup_for(scale, full=100, cutoffs=None):
    """A subject's setup in an exam."""
    return {"scale": scale, "full": float(full) if scale == codes.SCORE else 0.0,
            "cutoffs": tuple(cutoffs or codes.DEFAULT_CUTOFFS)}
