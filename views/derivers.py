"""A view deriver: a user whose password must change reaches only the pages
that let them change it (and log out), whatever URL they ask for."""
from pyramid.httpexceptions import HTTPSeeOther


def password_guard(view, info):
    if info.options.get("allow_stale_password"):
        return view

    def guarded(context, request):
        user = request.user
        if user is not None and user.must_change_password:
            return HTTPSeeOther(request.application_url + "/password")
        return view(context, request)

    return guarded


password_guard.options = ("allow_stale_password",)


def includeme(config):
    config.add_view_deriver(password_guard)
