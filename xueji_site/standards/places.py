"""GB/T 2260 places by name: the full name of a code (浙江省杭州市西湖区) for record pages,
and the current divisions for the province → city → county picker.

Built once per process from the same table as ``divisions`` (python-stdnum's
``cn/loc``, current and retired codes with their validity years). A retired code
keeps its newest name (old ID numbers and records carry them) but is not offered
by the picker. The city level of the municipalities and of counties governed
directly by a province is a grouping (市辖区, 县, 省直辖县级行政单位…): the picker
shows it, full names leave it out.

Names are Chinese proper names: Traditional Chinese pages get them converted with
OpenCC; English pages show them as they are (no English names are in the table).
"""
import functools
import re

from stdnum import numdb

GROUPINGS = frozenset(("市辖区", "县", "市", "省直辖县级行政单位", "自治区直辖县级行政单位",
                       "省直辖县级行政区划", "自治区直辖县级行政区划"))
_MARK = re.compile(r"^\[(\d*)-(\d*)\]")
CODE = re.compile(r"^\d{6}(\d{6})?$")


def _newest(name):
    """(newest name, still in use) from stdnum's ``[start-end]name,…`` notation."""
    last = name.split(",")[-1]
    found = _MARK.match(last)
    if not found:
        return last, True
    return last[found.end():], not found.group(2)


@functools.lru_cache(maxsize=1)
def table():
    """{6-digit code: (name, current)} for every province, city and county."""
    found = {}
    for _length, prefix, _high, props, children in numdb.get("cn/loc").prefixes:
        province_name, _ = _newest(props.get("province", ""))
        found[prefix + "0000"] = (province_name, True)
        for _l, suffix, _h, child, _grand in children:
            if "county" not in child:
                continue
            name, current = _newest(child["county"])
            code = prefix + suffix
            if code.endswith("0000"):
                found[code] = (province_name, current)
            else:
                found[code] = (name, current)
    return found


def _parts(code):
    """Province, city and county names making up ``code`` (6 digits); () when unknown."""
    known = table()
    if code not in known:
        return ()
    province = known.get(code[:2] + "0000", ("", True))[0]
    if code.endswith("0000"):
        return (province,)
    city = known.get(code[:4] + "00", ("", True))[0]
    city = "" if city in GROUPINGS or city == province else city
    if code.endswith("00"):
        return tuple(p for p in (province, city or known[code][0]) if p)
    return tuple(p for p in (province, city, known[code][0]) if p)


def _converter(locale):
    if locale != "zh_Hant":
        return lambda text: text
    return to_traditional


@functools.lru_cache(maxsize=4096)
def to_traditional(text):
    return _opencc().convert(text)


@functools.lru_cache(maxsize=1)
def _opencc():
    import opencc
    return opencc.OpenCC("s2t")


def full_name(code, locale="zh_Hans"):
    """浙江省杭州市西湖区 for 330106 (and for a 12-digit code starting with it); '' if unknown."""
    code = (code or "").strip()
    if not CODE.match(code):
        return ""
    return _converter(locale)("".join(_parts(code[:6])))


def display(code, locale="zh_Hans"):
    """How a record shows a place: its full name; a 12-digit code keeps its own digits after
    the county's name (the township is not in the table); an unknown code shows itself."""
    code = "" if code is None else str(code).strip()
    name = full_name(code, locale)
    if not name:
        return code
    return name if len(code) == 6 else "%s（%s）" % (name, code)


@functools.lru_cache(maxsize=4)
def picker_entries(locale="zh_Hans"):
    """[[code, name], …] of the divisions in use, by code: what the picker offers. A city-level
    grouping (市辖区, 省直辖县级行政单位…) carries a third item, 1: full names leave it out.
    A county whose city-level code is missing gets a grouping."""
    convert = _converter(locale)
    known = table()
    current = {code: name for code, (name, live) in known.items() if live}
    for code in list(current):
        city = code[:4] + "00"
        if not code.endswith("00") and city not in current:
            current[city] = known.get(city, ("",))[0] or "省直辖县级行政单位"
    return [[code, convert(current[code])] + ([1] if _is_grouping(code, current[code]) else [])
            for code in sorted(current)]


def _is_grouping(code, name):
    return code.endswith("00") and not code.endswith("0000") and (
        name in GROUPINGS or name == table().get(code[:2] + "0000", ("",))[0])
