"""国籍/地区: the GB/T 2659 (ISO 3166-1) three-letter codes and their names.

The 249 ISO 3166-1 alpha-3 codes come from CLDR through Babel (a dependency
already): its territory aliases map each alpha-3 code to the alpha-2 one that
names the territory. Left out are CLDR's retired codes (BUR, ZAR, DDR, FXX,
TMP, YMD) and its codes that are not ISO 3166-1 countries (ASC, CPT, DGA, TAA,
QUU, XAA, XBB, XKK, ZZZ). Names are CLDR's Simplified Chinese and English ones;
Traditional Chinese pages get the Simplified names converted with OpenCC (so
that they stay mainland usage), and Hong Kong, Macao and Taiwan are named as
GB/T 2659 names them, 中国香港, 中国澳门, 中国台湾, in every language.
"""
import functools

from .i18n import _

_RETIRED = frozenset(("BUR", "ZAR", "DDR", "FXX", "TMP", "YMD"))
_NOT_ISO = frozenset(("ASC", "CPT", "DGA", "TAA", "QUU", "XAA", "XBB", "XKK", "ZZZ"))
CHINA = "CHN"
FIRST = ("CHN", "HKG", "MAC", "TWN")  # listed first: almost every pupil is one of these
OWN_NAMES = {"HKG": _("中国香港"), "MAC": _("中国澳门"), "TWN": _("中国台湾")}
_BABEL_LOCALES = {"zh_Hans": "zh_Hans", "zh_Hant": "zh_Hans", "en": "en"}


@functools.lru_cache(maxsize=1)
def alpha2():
    """{alpha-3: alpha-2} for the ISO 3166-1 countries and territories."""
    from babel import Locale
    from babel.core import get_global
    named = Locale.parse("en").territories
    found = {}
    for code, targets in get_global("territory_aliases").items():
        if (len(code) == 3 and code.isalpha() and code not in _RETIRED and code not in _NOT_ISO
                and len(targets) == 1 and len(targets[0]) == 2 and targets[0] in named):
            found[code] = targets[0]
    return found


@functools.lru_cache(maxsize=1)
def codes():
    """Every code, the four of China first, then alphabetical."""
    rest = sorted(code for code in alpha2() if code not in FIRST)
    return tuple(FIRST) + tuple(rest)


def is_known(code):
    return code in alpha2()


@functools.lru_cache(maxsize=8)
def _names(locale):
    from babel import Locale
    territories = Locale.parse(_BABEL_LOCALES.get(locale, "zh_Hans")).territories
    names = {code: territories.get(two, code) for code, two in alpha2().items()}
    if locale == "zh_Hant":
        from .places import _to_traditional
        names = {code: _to_traditional(name) for code, name in names.items()}
    return names


def name(code, translate=None, locale="zh_Hans"):
    """The name of ``code`` in ``locale`` ('' for none, the code itself when unknown)."""
    if not code:
        return ""
    if code in OWN_NAMES:
        own = OWN_NAMES[code]
        return translate(own) if translate is not None else own.interpolate()
    return _names(locale).get(code, code)


def choices(locale="zh_Hans", translate=None):
    """(code, "CHN 中国") for a select, in the order of ``codes()``."""
    return [(code, "%s %s" % (code, name(code, translate, locale))) for code in codes()]
