"""View derivers that narrow what a logged-in user may reach:

* a user whose password must change (first login, reset, or older than
  ``xueji.password_max_age_days``) reaches only the pages that let them change
  it (and log out), whatever URL they ask for;
* a user holding a role that requires a second factor (registered with ``second_factor=True``)
  but not yet enrolled reaches only the enrolment page (and the password page,
  logout, language).

Static assets stay reachable so that those pages render styled.

And the gates a view declares where a reader looks, as view options:

* ``require_reauth=True`` (or ``"unsafe"``: its POSTs only): a password checked in the last minutes;
* ``clears_export=rows_of``: an export of pupils' data past the threshold, or
  for an outside body, needs an approval (G3/G4). ``rows_of(context, request)``
  says what is exported: ``(rows, (export, type name, conditions))``, or None
  for data that needs none. The view finds the approval's audit details in
  ``request.export_clearance``. It runs after the password gate, so that an
  approval is never used up by a request sent back for the password.
"""
from pyramid.httpexceptions import HTTPSeeOther

from xueji_site.kernel.policy import needs_second_factor, password_is_stale
from . import approvals as approval_views, reauth


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


UNSAFE_ONLY = "unsafe"  # require_reauth=UNSAFE_ONLY: the form shows; what it posts needs the password


def reauth_gate(view, info):
    """``require_reauth=True``: the view runs only when the password was checked
    recently (``xueji.reauth_seconds``); otherwise the user is sent to /reauth
    and back (views/reauth.py). Bulk copies and imports declare it;
    ``require_reauth="unsafe"`` gates only what a page posts (role grants, one's
    own contact details, a break-glass read)."""
    required = info.options.get("require_reauth")
    if not required:
        return view
    only_unsafe = required == UNSAFE_ONLY

    def gated(context, request):
        if only_unsafe and request.method in ("GET", "HEAD"):
            return view(context, request)
        stale = reauth.demand(request)
        return stale if stale is not None else view(context, request)

    return gated


reauth_gate.options = ("require_reauth",)


def export_gate(view, info):
    rows_of = info.options.get("clears_export")
    if rows_of is None:
        return view

    def gated(context, request):
        asked = rows_of(context, request)
        request.export_clearance = {"audience": approval_views.kind_of(request)}
        if asked is not None:
            rows, covers = asked
            clearance = approval_views.demand(request, context, rows, approval_views.kind_of(request), covers)
            if clearance.refusal is not None:
                return clearance.refusal
            request.export_clearance = clearance.detail
        return view(context, request)

    return gated


export_gate.options = ("clears_export",)


def includeme(config):
    config.add_view_deriver(password_guard)
    config.add_view_deriver(second_factor_guard)
    config.add_view_deriver(reauth_gate)
    config.add_view_deriver(export_gate, under="reauth_gate")
