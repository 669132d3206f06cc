"""The Pyramid security policy: identity from a server-checked session, roles from the tree.

A session cookie alone is not enough: it must carry a token the user object
still lists, so logout and a password change revoke it on the server side.
Sessions expire after 30 idle minutes (the cookie factory's timeout) and 12
hours after login (checked here).
"""
import time

from pyramid_zodbconn import get_connection

from . import security
from .site import get_site

ABSOLUTE_TIMEOUT = 12 * 3600


def request_site(request):
    return get_site(get_connection(request))


def request_user(request):
    """The logged-in User, or None (reified as ``request.user``)."""
    session = request.session
    userid, token, since = session.get("uid"), session.get("tok"), session.get("at", 0)
    if not userid:
        return None
    limit = float(request.registry.settings.get("xueji.session_absolute_timeout", ABSOLUTE_TIMEOUT))
    if time.time() - since > limit:
        return None
    user = request.site.principals.get(userid)
    if user is None or not user.active or not user.has_session(token):
        return None
    return user


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
