"""Reading one spreadsheet cell as the form would receive it.

Schools' files come from the national system's export, from Excel sheets
typed by hand, from other software: a code column may hold the code (2),
the label (走读) or both (2 住校, 2-住校); a place its GB/T 2260 code or its
name (浙江省杭州市上城区); a nationality 中国 or CHN; a month 2026-09,
2026.09, 202609, 2026/9, 2026年9月 or a real Excel date. Each reader here
returns ``(cstruct, error)``: the string the schema then validates (so the
form's rules and messages still apply), or ``colander.null`` and a
TranslationString saying what is wrong and what would be right.

Nothing is guessed: a value that fits no entry of the column's own table,
or fits two, is refused with the choices.
"""
import datetime
import re
import unicodedata

import colander

from xueji_site.standards import countries, divisions
from xueji_site.kernel.i18n import _

TRUE_WORDS = {"是", "1", "true", "yes", "y", "√", "✓", "是的", "1是"}
FALSE_WORDS = {"否", "0", "false", "no", "n", "×", "不是", "0否"}
MAX_SHOWN = 30            # characters of a refused value quoted back
MAX_LISTED = 12           # choices listed in full in a message
SEPARATORS = r"[\s\-_:：.．、,，)）\]】/]*"
CODE_LABEL_RE = re.compile(r"^[(（\[【]?([0-9A-Za-z]{1,3})" + SEPARATORS + r"(\D.*)$")
FULL_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                          r"(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
MONTH_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
COMPACT_MONTH_RE = re.compile(r"^(\d{4})(\d{2})$")
RANGE_RE = re.compile(r"^(.+?)\s*(?:[-~～—至到]+)\s*(.+)$")
LASTING = {"长期", "长期有效", "永久", "永久有效"}
UNITS_RE = re.compile(r"\s*(公里|千米|km|KM|Km)$")


def normal(text):
    """Full-width letters, digits and brackets as ASCII; outer white space gone."""
    return unicodedata.normalize("NFKC", text).strip()


def key(text):
    """How cell texts are compared with table entries."""
    return re.sub(r"\s+", "", normal(text)).casefold()


def text_of_cell(raw):
    """A cell as text: whole numbers without ".0", dates as ISO."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "1" if raw else "0"
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, datetime.datetime):
        return raw.date().isoformat() if raw.time() == datetime.time() else raw.isoformat(" ")
    if isinstance(raw, datetime.date):
        return raw.isoformat()
    return str(raw)


def quoted(text):
    text = text.strip()
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


# -- code tables ---------------------------------------------------------------

def code_lookup(table, aliases, translate):
    """key(text) → code for every way a table entry may be written alone."""
    lookup = {}
    for code, label in table:
        for text in {str(label), translate(label)}:
            lookup.setdefault(key(text), code)
            if text.endswith("族") and len(text) >= 2:
                lookup.setdefault(key(text[:-1]), code)  # 汉 for 汉族
    for text, code in aliases.items():
        lookup[key(text)] = code
    for code, _label in table:
        lookup[key(code)] = code  # a code wins over a label that looks like one
    return lookup


LIST_SEPARATOR = _("、")  # between the items of a list in a message ("," in English)


def choices_text(table, translate):
    """The table as a message lists it: "1 走读、2 住校"."""
    shown = ["%s %s" % (code, translate(label)) for code, label in table]
    separator = translate(LIST_SEPARATOR)
    if len(shown) <= MAX_LISTED:
        return separator.join(shown)
    return translate(_("${first}……共 ${count} 项（见模板中的下拉列表）",
                       mapping={"first": separator.join(shown[:6]), "count": len(shown)}))


def read_code(col, raw):
    text = normal(text_of_cell(raw))
    if not text:
        return colander.null, None
    codes = {c for c, _label in col.table}
    found = col.lookup.get(key(text))
    if found is None and text.isdigit():
        width = max((len(c) for c in codes), default=len(text))
        padded = text.zfill(width)  # Excel turned 01 into 1
        found = padded if padded in codes else None
    if found is None:
        match = CODE_LABEL_RE.match(text)
        if match:
            code = match.group(1).upper() if match.group(1).upper() in codes else match.group(1)
            if code.isdigit() and code not in codes:
                code = code.zfill(max((len(c) for c in codes), default=len(code)))
            by_label = col.lookup.get(key(match.group(2)))
            if code in codes and by_label == code:
                found = code
            elif code in codes and by_label is not None:
                return colander.null, _("“${value}”的代码与名称不一致（${code} 是 ${label}）",
                                        mapping={"value": quoted(text), "code": code,
                                                 "label": col.label_of(code)})
    if found is None:
        upper = text.upper()
        found = upper if upper in codes else None
    if found is None:
        return colander.null, _("“${value}”不是可选值；可填：${choices}",
                                mapping={"value": quoted(text), "choices": col.choices})
    return found, None


# -- yes / no --------------------------------------------------------------------

def read_bool(col, raw):
    text = re.sub(r"[\s\-_:：.、]", "", normal(text_of_cell(raw))).lower()
    if not text:
        return colander.null, None
    if text in TRUE_WORDS:
        return "true", None
    if text in FALSE_WORDS:
        return "false", None
    return colander.null, _("“${value}”不是“是”或“否”（也可填 1 或 0）", mapping={"value": quoted(str(raw))})


# -- dates -----------------------------------------------------------------------

def _date(year, month, day, text):
    try:
        return datetime.date(int(year), int(month), int(day)), None
    except ValueError:
        return None, _("日期不存在：“${value}”", mapping={"value": quoted(text)})


def _as_date(raw):
    """(date, None) for a real or written full date, (None, error) if it is
    one that does not exist, (None, None) when it is no full date at all."""
    if isinstance(raw, datetime.datetime):
        return raw.date(), None
    if isinstance(raw, datetime.date):
        return raw, None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if float(raw).is_integer() and 10_000_000 <= raw < 100_000_000:
            raw = str(int(raw))  # 20170312 typed as a number
        elif 1 <= raw < 2_958_466:  # an Excel serial date that lost its format
            from openpyxl.utils.datetime import from_excel
            return from_excel(raw).date(), None
        else:
            return None, None
    text = normal(text_of_cell(raw))
    match = FULL_DATE_RE.match(text) or COMPACT_DATE_RE.match(text)
    if match:
        return _date(match.group(1), match.group(2), match.group(3), text)
    return None, None


DATE_FORMS = _("日期格式应为 YYYY-MM-DD（也可写 2017.03.12、20170312、2017/3/12、2017年3月12日）")


def read_date(col, raw, ranges=False):
    """A full date. With ``ranges`` (a validity period, as on the national
    form: 2010.06.01-2020.06.01) the period's end is meant, and 长期 means
    no end (an empty cell)."""
    if isinstance(raw, str) and not raw.strip():
        return colander.null, None
    found, error = _as_date(raw)
    if found is None and error is None and ranges and isinstance(raw, str):
        text = normal(raw)
        if text in LASTING:
            return colander.null, None
        match = RANGE_RE.match(text)
        if match and (match.group(2) in LASTING or _as_date(match.group(2))[0]):
            if _as_date(match.group(1))[0] is None:
                return colander.null, DATE_FORMS
            if match.group(2) in LASTING:
                return colander.null, None
            found, error = _as_date(match.group(2))
    if error is not None:
        return colander.null, error
    if found is None:
        return colander.null, DATE_FORMS
    return found.isoformat(), None


MONTH_FORMS = _("年月格式应为 YYYYMM，如 202609（也可写 2026-09、2026.09、2026/9、2026年9月）")


def read_month(col, raw):
    """A year and month as YYYYMM (入学年月)."""
    if isinstance(raw, str) and not raw.strip():
        return colander.null, None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and float(raw).is_integer() \
            and 100_000 <= raw < 1_000_000:
        raw = str(int(raw))  # 202609 typed as a number
    found, error = _as_date(raw)
    if error is not None:
        return colander.null, error
    if found is not None:
        return found.strftime("%Y%m"), None
    text = normal(text_of_cell(raw))
    match = MONTH_RE.match(text) or COMPACT_MONTH_RE.match(text)
    if not match:
        return colander.null, MONTH_FORMS
    if not 1 <= int(match.group(2)) <= 12:
        return colander.null, _("月份应在 1–12 之间：“${value}”", mapping={"value": quoted(text)})
    return "%s%02d" % (match.group(1), int(match.group(2))), None


# -- places and countries -----------------------------------------------------------

def _places(codes):
    named = ["%s（%s）" % (divisions.full_name(c), c) for c in codes[:5]]
    return "、".join(named) + ("……" if len(codes) > 5 else "")


PLACE_CODE_RE = re.compile(r"^(\d{12}|\d{6})" + SEPARATORS + r"(.*)$")


def read_place(col, raw):
    """A GB/T 2260 code (6 or 12 digits) as it is, or a place's name → its code."""
    text = normal(text_of_cell(raw))
    if not text:
        return colander.null, None
    match = PLACE_CODE_RE.match(text)
    if match:
        code, name = match.group(1), match.group(2)
        if name:
            named, _candidates = divisions.find(name)
            if named != code[:6] and divisions.name_of(code[:6]) != name:
                return colander.null, _("代码 ${code} 是“${name}”，与“${value}”不符",
                                        mapping={"code": code, "value": quoted(name),
                                                 "name": divisions.full_name(code) or "?"})
        return code, None  # the schema says whether the code is known
    code, candidates = divisions.find(text)
    if code is not None:
        return code, None
    if candidates:
        return colander.null, _("“${value}”不止一处：${places}；请写明省、市",
                                mapping={"value": quoted(text), "places": _places(list(candidates))})
    return colander.null, _("无法识别地名“${value}”：请写到区县（如 浙江省杭州市上城区），或填写6位行政区划代码",
                            mapping={"value": quoted(text)})


def read_country(col, raw):
    text = normal(text_of_cell(raw))
    if not text:
        return colander.null, None
    found = countries.code_of(text)
    if found is None:
        match = re.match(r"^([A-Za-z]{3})" + SEPARATORS + r"(.+)$", text)  # "CHN 中国", "CHN-中国"
        if match and countries.code_of(match.group(1)) == countries.code_of(match.group(2)):
            found = countries.code_of(match.group(1))
    if found is None:
        return colander.null, _("无法识别国籍/地区“${value}”：请填写名称（如 中国）或三位字母代码（如 CHN）",
                                mapping={"value": quoted(text)})
    return found, None


# -- the rest --------------------------------------------------------------------

def read_text(col, raw):
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and abs(raw) >= 1e15:
        return colander.null, _("数字超过15位，Excel 已丢失末几位：请将该列设为“文本”格式后重新填写")
    return text_of_cell(raw).strip(), None  # as written: names and addresses are not normalised


def read_number(col, raw):
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return text_of_cell(raw), None
    return UNITS_RE.sub("", normal(text_of_cell(raw))), None


READERS = {"code": read_code, "bool": read_bool, "date": read_date, "month": read_month,
           "place": read_place, "country": read_country, "number": read_number}


def read(col, raw):
    """(cstruct, error) for one cell of ``col``; an empty cell is colander.null."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return colander.null, None
    if col.kind == "date":
        return read_date(col, raw, ranges=col.ranges)
    return READERS.get(col.kind, read_text)(col, raw)
