"""View derivers that narrow what a logged-in user may reach:

* a user whose password must change (first login, reset, or older than
  ``xueji.password_max_age_days``) reaches only the pages that let them change
  it (and log out), whatever URL they ask for;
* a user holding a role that requires a second factor (registered with ``second_factor=True``)
  but not yet enrolled reaches only the enrolment page (and the password page,
  logout, language).

Static assets stay reachable so that those pages render styled.
"""
from pyramid.httpexceptions import HTTPSeeOther

from xueji_site.kernel.policy import needs_second_factor, password_is_stale
from . import reauth


def _is_static(request):
    route = request.matched_route
    return route is not None and route.name.startswith("__")


def password_guard(view, info):
    if info.options.get("allow_stale_password"):
        return view

    def guarded(context, request):
        user = request.user
        if user is not None and not _is_static(request) and password_is_stale(request, user):
            return HTTPSeeOther(request.application_url + "/password")
        return view(context, request)

    return guarded


password_guard.options = ("allow_stale_password",)


def second_factor_guard(view, info):
    if info.options.get("allow_without_second_factor"):
        return view

    def guarded(context, request):
        user = request.user
        if (user is not None and not user.totp_secret and not _is_static(request)
                and needs_second_factor(request, user)):
            return HTTPSeeOther(request.application_url + "/totp-enrol")
        return view(context, request)

    return guarded


second_factor_guard.options = ("allow_without_second_factor",)


def reauth_gate(view, info):
    """``require_reauth=True``: the view runs only when the password was checked
    recently (``xueji.reauth_seconds``); otherwise the user is sent to /reauth
    and back (views/reauth.py). Bulk copies and role grants declare it."""
    if not info.options.get("require_reauth"):
        return view

    def gated(context, request):
        stale = reauth.demand(request)
        return stale if stale is not None else view(context, request)

    return gated


reauth_gate.options = ("require_reauth",)


def includeme(config):
    config.add_view_deriver(password_guard)
    config.add_view_deriver(second_factor_guard)
    config.add_view_deriver(reauth_gate)
