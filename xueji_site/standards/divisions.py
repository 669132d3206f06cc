"""GB/T 2260 administrative divisions.

The data is python-stdnum's ``stdnum/cn/loc.dat`` (about 6,900 county codes,
current and retired, gathered from Wikipedia's lists of GB/T 2260 codes; the
file names its sources). Retired codes stay valid: old ID numbers keep them.
"""
import functools

from stdnum import numdb

from xueji_site.standards.codes import PROVINCE_CODES

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
