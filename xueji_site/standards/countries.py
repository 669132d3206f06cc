"""GB/T 2659 (= ISO 3166-1) country and region codes, and their names.

The registry stores 国籍/地区 as the three-letter code (CHN); people write
中国, 中华人民共和国, 美国, China, CN or 156. The codes come from
``pycountry`` (ISO 3166-1 as published by Debian's iso-codes); the names
from CLDR through Babel (what the UI's languages call each country: 中国,
韓國, South Korea) and from iso-codes' own Chinese translations (the formal
names: 大韩民国). A name that two codes share is dropped rather than guessed.
"""
import functools
import gettext
import unicodedata

import pycountry
from babel import Locale

from xueji_site.kernel.i18n import _
from xueji_site.standards import places

UI_LOCALES = ("zh_Hans", "zh_Hant", "en")
ISO_TRANSLATIONS = ("zh_CN", "zh_TW", "zh_HK")

# Written forms in Chinese records that neither CLDR nor iso-codes carries.
EXTRA_NAMES = {
    "中华人民共和国": "CHN", "中國": "CHN", "中国大陆": "CHN",
    "中国香港": "HKG", "香港特别行政区": "HKG", "中国澳门": "MAC", "澳门特别行政区": "MAC",
    "中国台湾": "TWN", "台湾地区": "TWN",
}


def _key(text):
    return unicodedata.normalize("NFKC", text).strip().replace(" ", "").casefold()


@functools.lru_cache(maxsize=1)
def _index():
    names = {}

    def add(text, code):
        if text:
            names.setdefault(_key(text), set()).add(code)

    locales = [Locale.parse(name) for name in UI_LOCALES]
    iso = []
    for language in ISO_TRANSLATIONS:
        try:
            iso.append(gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language]))
        except OSError:
            pass
    for country in pycountry.countries:
        code = country.alpha_3
        for text in (code, country.alpha_2, country.numeric, country.name,
                     getattr(country, "official_name", None), getattr(country, "common_name", None)):
            add(text, code)
        for locale in locales:
            add(locale.territories.get(country.alpha_2), code)
        for catalog in iso:
            for text in (country.name, getattr(country, "official_name", None)):
                if text:
                    add(catalog.gettext(text), code)
    lookup = {text: next(iter(codes)) for text, codes in names.items() if len(codes) == 1}
    lookup.update({_key(text): code for text, code in EXTRA_NAMES.items()})
    return lookup


def code_of(text):
    """The alpha-3 code for a written code or name, or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    return _index().get(_key(text))


def name_of(code, locale="zh_Hans"):
    """The country's name in ``locale`` (CLDR), or '' for an unknown code."""
    country = pycountry.countries.get(alpha_3=code) if code else None
    if country is None:
        return ""
    return Locale.parse(locale).territories.get(country.alpha_2, country.name)


def table(locale="zh_Hans"):
    """(alpha-3, name) for every country: CHN first, then by code."""
    ordered = sorted(pycountry.countries, key=lambda c: (c.alpha_3 != "CHN", c.alpha_3))
    return tuple((c.alpha_3, name_of(c.alpha_3, locale)) for c in ordered)


# -- for the record form and page: the select's choices and a code's name --------------
# Hong Kong, Macao and Taiwan are named as GB/T 2659 names them, in every language.

CHINA = "CHN"
FIRST = ("CHN", "HKG", "MAC", "TWN")  # listed first: almost every pupil is one of these
OWN_NAMES = {"HKG": _("中国香港"), "MAC": _("中国澳门"), "TWN": _("中国台湾")}


@functools.lru_cache(maxsize=1)
def codes():
    """Every code, the four of China first, then alphabetical."""
    rest = sorted(c.alpha_3 for c in pycountry.countries if c.alpha_3 not in FIRST)
    return tuple(FIRST) + tuple(rest)


def is_known(code):
    return pycountry.countries.get(alpha_3=code) is not None if code else False


@functools.lru_cache(maxsize=8)
def _names(locale):
    """Names in ``locale``: CLDR's; Traditional Chinese pages get the Simplified
    names converted with OpenCC, so that they stay mainland usage."""
    names = {code: name_of(code, "zh_Hans" if locale == "zh_Hant" else locale) for code in codes()}
    if locale == "zh_Hant":
        names = {code: places.to_traditional(found) for code, found in names.items()}
    return names


def name(code, translate=None, locale="zh_Hans"):
    """The name of ``code`` in ``locale`` ('' for none, the code itself when unknown)."""
    if not code:
        return ""
    if code in OWN_NAMES:
        own = OWN_NAMES[code]
        return translate(own) if translate is not None else own.interpolate()
    return _names(locale).get(code) or code


def choices(locale="zh_Hans", translate=None):
    """(code, "CHN 中国") for a select, in the order of ``codes()``."""
    return [(code, "%s %s" % (code, name(code, translate, locale))) for code in codes()]
