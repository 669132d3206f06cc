"""The Pyramid security policy: identity from a server-checked session, roles from the tree.

A session cookie alone is not enough: it must carry a token the user object
still lists, so logout and a password change revoke it on the server side.
Sessions expire after 30 idle minutes (the cookie factory's timeout) and 12
hours after login (checked here).

A password checked for an account with a second factor does not log in: the
session then carries only a short-lived "pending" mark (see views/totp.py),
which this policy ignores, so nothing is reachable until the code is given.
"""
import time

from pyramid_zodbconn import get_connection

from xueji_site.kernel import security
from xueji_site.kernel.root import get_site
from xueji_site.kernel.apitokens import find_user
from xueji_site.kernel import settings

ABSOLUTE_TIMEOUT = 12 * 3600


def request_site(request):
    return get_site(get_connection(request))


def request_user(request):
    """The logged-in User, or None (reified as ``request.user``)."""
    if "Authorization" in request.headers:  # an API client: the cookie session is not consulted
        return user_from_bearer(request)
    session = request.session
    userid, token, since = session.get("uid"), session.get("tok"), session.get("at", 0)
    if not userid:
        return None
    limit = settings.value(request.registry, "xueji.session_absolute_timeout")
    if time.time() - since > limit:
        return None
    user = request.site.principals.get(userid)
    if user is None or not user.active or not user.has_session(token):
        return None
    return user


def needs_second_factor(request, user):
    """Whether ``user`` (or one of their groups) holds a role that requires a second factor."""
    principals = request.site.principals
    second_factor = security.second_factor_roles(request.registry)
    holders = [user] + [principals.get(g) for g in getattr(user, "groups", ())]
    for holder in filter(None, holders):
        places = list(getattr(holder, "places", ()) or ()) + [request.site]
        for node in places:
            if second_factor & set(security.local_roles_of(node, holder.userid)):
                return True
    return False


def password_is_stale(request, user):
    """The password must change: first login, after a reset, or older than the maximum age."""
    days = settings.value(request.registry, "xueji.password_max_age_days")
    return user.must_change_password or user.password_expired(days)


class SecurityPolicy:
    def identity(self, request):
        return request.user

    def authenticated_userid(self, request):
        user = request.user
        return user.userid if user is not None else None

    def permits(self, request, context, permission):
        return security.permits(request.user, context, permission)

    def remember(self, request, userid, **kw):
        """Start a fresh session for ``userid`` (a new cookie, a new server token)."""
        user = request.site.principals.get(userid)
        request.session.invalidate()
        request.session["uid"] = userid
        request.session["tok"] = user.start_session()
        request.session["at"] = time.time()
        request.user = user
        return []

    def forget(self, request, **kw):
        user = request.user
        if user is not None:
            user.end_session(request.session.get("tok"))
        request.session.invalidate()
        request.user = None
        return []


# -- API bearer tokens (issue 3, batch import & API helper; see apitokens.py) --

def bearer_token(request):
    """The token of an ``Authorization: Bearer …`` header, or None."""
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def user_from_bearer(request):
    """The user an API token names, or None (any other Authorization scheme: None)."""
    token = bearer_token(request)
    return find_user(request.site.principals, token) if token else None


def csrf_applies(request):
    """CSRF callback: checks apply to every request but one authenticated by a valid
    bearer token (an API client). A request carrying an Authorization header is never
    authenticated by the cookie (``request_user``), and one whose header is not a
    valid token (Basic, empty, unknown) is checked like a browser's."""
    return bearer_token(request) is None or request.user is None
