"""Error pages: login redirect, 403, 404, 400 for a bad CSRF token, 503 for a
write conflict that outlasted its retries, and a generic 500 with an incident
id (the traceback goes to the log, not the page)."""
import logging
import random
import secrets
import time
from urllib.parse import urlencode

from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.events import subscriber
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from pyramid_retry import IBeforeRetry
from ZODB.POSException import ConflictError

try:  # RelStorage's commit-lock timeout; absent on a site without RelStorage
    from relstorage.adapters.interfaces import UnableToAcquireCommitLockError
except ImportError:  # pragma: no cover
    class UnableToAcquireCommitLockError(Exception):
        """Stands in when RelStorage is not installed: never raised."""

from xueji_site.kernel.i18n import _
from xueji_site.kernel import settings

log = logging.getLogger(__name__)
RETRY_BACKOFF = 0.01  # seconds; the first retry waits up to 20 ms, the second up to 40 ms


def logged_path(request):
    """The request's path for a log line, never raising: ``request.path`` decodes the
    raw WSGI path and fails on bytes that are not UTF-8 (which the error view then
    turned into waitress's bare 500). Undecodable bytes and control characters are escaped."""
    raw = request.environ.get("PATH_INFO", "")
    text = raw.encode("latin-1", "replace").decode("utf-8", "backslashreplace")
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


def _page(request, status, title, message):
    request.response.status = status
    request.response.cache_control = "no-store"
    t = request.localizer.translate
    return {"status": status, "title": t(title), "message": t(message)}


def refused_page(request):
    """A 403 page *returned*, not raised: a raised exception makes pyramid_tm roll the
    transaction back, and with it the audit entry recording the refusal."""
    from pyramid.renderers import render_to_response
    response = render_to_response("xueji_site.views:templates/error.pt",
                                  _page(request, 403, _("无权访问"), _("您没有访问此页面的权限。")), request=request)
    response.status = 403
    response.cache_control = "no-store"
    return response


@forbidden_view_config(renderer="templates/error.pt")
def forbidden(request):
    if request.user is None:
        url = request.application_url + "/login"
        if request.method == "GET":
            url += "?" + urlencode({"came_from": request.path_qs})
        return HTTPSeeOther(url)
    return _page(request, 403, _("无权访问"), _("您没有访问此页面的权限。"))


@notfound_view_config(renderer="templates/error.pt")
def notfound(request):
    return _page(request, 404, _("页面不存在"), _("您要找的页面不存在或已被移除。"))


@exception_view_config(BadCSRFToken, renderer="templates/error.pt")
def bad_csrf(request):
    return _page(request, 400, _("请求无效"), _("表单已过期或缺少安全令牌，请返回重新提交。"))


@exception_view_config(HTTPBadRequest, renderer="templates/error.pt")
def bad_request(request):
    return _page(request, 400, _("请求无效"), _("请求的参数不正确。"))


@subscriber(IBeforeRetry)
def back_off(event):
    """Wait a random moment before a retry, longer after each failed attempt: writers
    that collided on one record then come back at different times instead of
    colliding again (20 simultaneous editors of one school: see tests/test_faults.py)."""
    attempt = int(event.environ.get("retry.attempt", 0)) + 1
    time.sleep(random.uniform(0, RETRY_BACKOFF * 2 ** attempt))


@exception_view_config(ConflictError, last_retry_attempt=True, renderer="templates/error.pt")
def busy(exc, request):
    """Others changed the same record at the same moment, every retry included
    (pyramid_retry, ``retry.attempts``): nothing was saved; the user may resend."""
    log.warning("conflict after the last retry: %s %s", request.method, logged_path(request))
    request.response.headers["Retry-After"] = "1"
    return _page(request, 503, _("系统繁忙"), _("同一记录正被他人同时修改，本次修改未保存，请稍后重新提交。"))


@exception_view_config(UnableToAcquireCommitLockError, renderer="templates/error.pt")
def commit_lock_timeout(exc, request):
    """RelStorage waited ``commit-lock-timeout`` for its commit lock (other
    writers held it that long): not a conflict, so not retried — the wait was
    already long — but the same answer: nothing saved, send it again later."""
    log.warning("commit lock not acquired in time: %s %s", request.method, logged_path(request))
    request.response.headers["Retry-After"] = "5"
    return _page(request, 503, _("系统繁忙"), _("系统繁忙，本次修改未保存，请稍后重新提交。"))


@exception_view_config(Exception, retryable_error=False, renderer="templates/error.pt")
@exception_view_config(Exception, last_retry_attempt=True, renderer="templates/error.pt")
def server_error(exc, request):
    if settings.value(request.registry, "xueji.reraise_errors"):
        raise exc
    incident = secrets.token_hex(6)
    log.error("incident %s: %s %s", incident, request.method, logged_path(request), exc_info=exc)
    page = _page(request, 500, _("系统错误"), _("服务器处理请求时出错，请稍后再试。"))
    page["incident"] = incident
    return page
