"""Choosing the interface language (a cookie; the browser's choice otherwise)."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from xueji_site.kernel.i18n import LOCALE_COOKIE, LOCALES
from xueji_site.kernel.nodes import Site


@view_config(context=Site, name="language", permission=NO_PERMISSION_REQUIRED, allow_stale_password=True)
def set_language(context, request):
    chosen = request.params.get("l")
    back = request.referer if (request.referer or "").startswith(request.application_url) else None
    response = HTTPSeeOther(back or request.application_url + "/")
    if chosen in LOCALES:
        response.set_cookie(LOCALE_COOKIE, chosen, max_age=365 * 86400, httponly=True, samesite="Lax")
    return response
