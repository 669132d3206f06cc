"""GB/T 2260 administrative divisions.

The data is python-stdnum's ``stdnum/cn/loc.dat`` (about 6,900 county codes,
current and retired, gathered from Wikipedia's lists of GB/T 2260 codes; the
file names its sources). Retired codes stay valid: old ID numbers keep them.
"""
import functools

from stdnum import numdb

from xueji_site.standards.codes import PROVINCE_CODES, PROVINCES

LEVEL_PROVINCE, LEVEL_CITY, LEVEL_COUNTY = "province", "city", "county"


def level_of(code):
    """Province (XX0000), city (XXXX00) or county, by the code's shape."""
    if code.endswith("0000"):
        return LEVEL_PROVINCE
    if code.endswith("00"):
        return LEVEL_CITY
    return LEVEL_COUNTY


def _current(name):
    """Strip stdnum's "[start-end]" validity markers, keeping the newest name."""
    names = [part.split("]", 1)[-1] for part in name.split(",")]
    return names[-1]


@functools.lru_cache(maxsize=8192)
def lookup(code):
    """(province name, county-or-city name) for a 6-digit code, or None if unknown.

    Cached: the table never changes while the process runs, and imports ask
    about the same few counties for every row."""
    if len(code) != 6 or not code.isdigit() or code[:2] not in PROVINCE_CODES:
        return None
    info = {}
    for _part, props in numdb.get("cn/loc").info(code):
        info.update(props)
    if "province" not in info:
        return None
    if level_of(code) == LEVEL_PROVINCE:
        return info["province"], None
    if "county" not in info:
        return None
    return info["province"], _current(info["county"])


def name_of(code):
    """A display name for a division code, or '' when the code is unknown."""
    found = lookup(code)
    if not found:
        return ""
    province, local = found
    return local if local else province


def is_known(code):
    return lookup(code) is not None


# -- names → codes (imports: places written as 浙江省杭州市上城区) ---------------

# City-level entries that are containers, not places one would name.
_GENERIC = frozenset({"市辖区", "县", "市", "省直辖县级行政单位", "省直辖行政单位",
                      "自治区直辖县级行政区划", "省直辖县级行政区划"})
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")
_CITY_SUFFIXES = ("自治州", "地区", "市", "盟")
_SPACES = str.maketrans("", "", " \t\r\n\u3000·")


def _names(raw):
    """[(name, current?)] from stdnum's "[1983-2021]下城区,[2021-]…" form."""
    found = []
    parts = raw.split(",")
    for index, part in enumerate(parts):
        span, _sep, name = part.rpartition("]")
        ended = bool(span) and not span.endswith("-")
        found.append((name, index == len(parts) - 1 and not ended))
    return found


def _short(name, suffixes):
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[:-len(suffix)]
    return None


class _Places:
    """The name indexes, built once from stdnum's table."""

    def __init__(self):
        self.provinces = {}   # written form → set of 2-digit codes
        self.cities = {}      # written form → set of XXXX00 codes
        self.counties = {}    # name → set of county codes
        self.current = set()  # codes whose newest name has no end year
        for _length, low, _high, props, children in numdb.get("cn/loc").prefixes:
            if low not in PROVINCE_CODES:
                continue
            for province in (props.get("province", ""), dict(PROVINCES)[low]):  # 香港特別行政區, 香港特别行政区
                for form in (province, _short(province, _PROVINCE_SUFFIXES)):
                    if form:
                        self.provinces.setdefault(form, set()).add(low)
            for _l, tail, _h, sub, _c in children:
                code = low + tail
                names = _names(sub.get("county", ""))
                if names and names[-1][1]:
                    self.current.add(code)
                level = level_of(code)
                for name, _current in names:
                    if not name or name in _GENERIC:
                        continue
                    if level == LEVEL_CITY:
                        for form in (name, _short(name, _CITY_SUFFIXES)):
                            if form:
                                self.cities.setdefault(form, set()).add(code)
                    elif level == LEVEL_COUNTY:
                        self.counties.setdefault(name, set()).add(code)

    @staticmethod
    def _splits(text, index, codes_ok):
        """(code, rest) for every indexed form ``text`` starts with, plus (None, text)."""
        found = [(None, text)]
        for end in range(2, min(len(text), 12) + 1):
            for code in index.get(text[:end], ()):
                if codes_ok(code):
                    found.append((code, text[end:]))
        return found

    def match(self, text):
        found = set()
        for province, rest in self._splits(text, self.provinces, lambda c: True):
            in_province = (lambda c: c[:2] == province) if province else (lambda c: True)
            for city, tail in self._splits(rest, self.cities, in_province):
                if not tail:
                    if city:
                        found.add(city)
                    elif province and not rest:
                        found.add(province + "0000")
                    continue
                for code in self.counties.get(tail, ()):
                    if in_province(code) and (city is None or code[:4] == city[:4]):
                        found.add(code)
        return found


@functools.lru_cache(maxsize=1)
def _places():
    return _Places()


@functools.lru_cache(maxsize=4096)
def find(text):
    """The GB/T 2260 code for a place written by name: (code, candidates).

    Accepts the full name (浙江省杭州市上城区) and shorter forms that are
    unambiguous: a level left out (杭州市上城区, 浙江省上城区, 上城区), the
    province or prefecture without its suffix (浙江杭州上城区). Where a name
    fits several codes and exactly one is current, that one is meant. A name
    followed by more (an address: 浙江省杭州市上城区解放路1号) gives the
    county it starts with, if that is certain. ``code`` is None when the name
    is unknown (no candidates) or ambiguous (the candidates, sorted)."""
    places = _places()
    text = (text or "").translate(_SPACES)
    found = places.match(text)
    if not found:
        for end in range(len(text) - 1, 3, -1):
            prefix = {c for c in places.match(text[:end]) if level_of(c) == LEVEL_COUNTY}
            if prefix and not places.counties.get(text[:end]):  # a county name alone is too weak
                found = prefix
                break
    if len(found) > 1:
        current = found & places.current
        if len(current) == 1:
            found = current
    if len(found) == 1:
        return next(iter(found)), ()
    return None, tuple(sorted(found))


def full_name(code):
    """省 + 市 + 区县 as written on forms (浙江省杭州市上城区); '' when unknown."""
    found = lookup(code[:6]) if code else None
    if not found:
        return ""
    province, local = found
    if local is None:
        return province
    city = lookup(code[:4] + "00") if level_of(code[:6]) == LEVEL_COUNTY else None
    city_name = city[1] if city and city[1] and city[1] not in _GENERIC else ""
    return province + city_name + local if local != province else province
