"""Translation strings and locale negotiation.

Every user-facing string goes through ``_`` so the catalogues in
``locale/`` can render it in Simplified Chinese (default), Traditional
Chinese or English.
"""
from pyramid.i18n import TranslationStringFactory

DOMAIN = "xueji"
_ = TranslationStringFactory(DOMAIN)

DEFAULT_LOCALE = "zh_Hans"
LOCALES = ("zh_Hans", "zh_Hant", "en")
LOCALE_COOKIE = "_LOCALE_"
LOCALE_LABELS = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}


_TAG_TO_LOCALE = {
    "zh-tw": "zh_Hant", "zh-hant": "zh_Hant", "zh-hk": "zh_Hant", "zh-mo": "zh_Hant",
    "zh-cn": "zh_Hans", "zh-hans": "zh_Hans", "zh-sg": "zh_Hans", "zh": "zh_Hans",
    "en": "en",
}


def _from_accept_language(header):
    """Map an Accept-Language header to one of our locales (None if no match)."""
    found = header.lookup(list(_TAG_TO_LOCALE), default="")
    return _TAG_TO_LOCALE.get(found.lower()) if found else None


def negotiate_locale(request):
    """Cookie first (the user's explicit choice), then the browser, then zh_Hans."""
    chosen = request.cookies.get(LOCALE_COOKIE)
    if chosen in LOCALES:
        return chosen
    accept = request.accept_language
    if accept:
        found = _from_accept_language(accept)
        if found:
            return found
    return DEFAULT_LOCALE


def translator(request):
    """A callable translating TranslationStrings for colander/deform."""
    localizer = request.localizer

    def translate(term):
        return localizer.translate(term)

    return translate
