"""Logging in and out, and changing one's password: the pages. The rules (lockout,
the per-address throttle, second-factor codes) are the kernel's (kernel/auth.py);
a throttled address gets 429 with Retry-After."""
import time
from urllib.parse import urlparse

import deform
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import view_config

from xueji_site.kernel import audit, auth as core_auth, permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.kernel.policy import password_is_stale
from xueji_site.kernel.nodes import Site
from xueji_site.schemas.accounts import LoginSchema, change_password_schema
from xueji_site.kernel.users import check_password

PENDING_SECONDS = core_auth.PENDING_SECONDS


def throttled(request):
    """Seconds to wait when this address has used up its failed attempts, else 0."""
    return core_auth.throttled(request.registry, request.client_addr)


def refuse_throttled(request, wait, page):
    """Turn ``page`` into a 429 answer with Retry-After, and audit the refusal."""
    request.response.status = 429
    request.response.headers["Retry-After"] = str(wait)
    request.site.audit.append("", request.params.get("login", "")[:100], request.client_addr, "login", "",
                              audit.DENIED, {"reason": "throttled"})
    page["error"] = request.localizer.translate(_("尝试过于频繁，请${n}秒后再试", mapping={"n": wait}))
    return page


def _safe_target(request, came_from):
    """Only a local path may be a redirect target (no open redirects)."""
    if not came_from:
        return None
    parsed = urlparse(came_from)
    if parsed.scheme or parsed.netloc or not came_from.startswith("/") or came_from.startswith("//"):
        return None
    return request.application_url + came_from


def _landing(request, user):
    for node in user.places:
        if request.has_permission(P.VIEW, node):
            return request.resource_url(node)
    return request.application_url + "/"


@view_config(context=Site, name="login", permission=NO_PERMISSION_REQUIRED,
             renderer="templates/login.pt", allow_stale_password=True, allow_without_second_factor=True)
def login(context, request):
    t = request.localizer.translate
    schema = LoginSchema().bind(request=request)
    form = deform.Form(schema, buttons=(deform.Button("submit", title=t(_("登录"))),), formid="login-form")
    came_from = request.params.get("came_from", "")
    request.response.cache_control = "no-store"
    if request.method != "POST":
        return {"form": form.render({"csrf_token": request.session.get_csrf_token()}), "came_from": came_from,
                "error": None}
    wait = throttled(request)
    if wait:
        return refuse_throttled(request, wait, {"form": form.render(), "came_from": came_from})
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        return {"form": failure.render(), "came_from": came_from, "error": None}
    user = context.principals.by_login_name(values["login"])
    error = _check_login(request, context, user, values)
    if error:
        return {"form": form.render({"login": values["login"]}), "came_from": came_from, "error": t(error)}
    if user.totp_secret:
        return _ask_second_factor(request, user, came_from)
    return finish_login(request, user, came_from)


def _ask_second_factor(request, user, came_from):
    """The password was right; the session holds only a pending mark until the code."""
    request.session.invalidate()
    request.session["pending"] = (user.userid, time.time(), came_from)
    audit.log(request, "login-password", request.site, target=user.login)
    return HTTPSeeOther(request.application_url + "/totp")


def pending_user(request):
    """The user whose password was checked in this session within PENDING_SECONDS, or None."""
    pending = request.session.get("pending")
    if not pending:
        return None
    userid, since, _came_from = pending
    if time.time() - since > PENDING_SECONDS:
        return None
    return request.site.principals.get(userid)


def finish_login(request, user, came_from=""):
    """Every factor checked: a fresh session, audited, and on to the right page."""
    user.failed_logins = 0
    user.last_login = time.time()
    headers = remember(request, user.userid)
    audit.log(request, "login", request.site, result=audit.OK)
    target = _safe_target(request, came_from) or _landing(request, user)
    if password_is_stale(request, user):
        target = request.application_url + "/password"
    return HTTPSeeOther(target, headers=headers)


def record_failure(request, user, reason):
    """One more failed attempt on ``user`` (password or code): the kernel's lockout."""
    core_auth.record_failure(request.registry, request.site, user, request.client_addr, reason)


def _check_login(request, site, user, values):
    """None when the login may proceed; otherwise an (uninformative) message."""
    problem = core_auth.check_login(request.registry, site, user, values["login"], values["password"],
                                    request.client_addr)
    if problem is None:
        return None
    if problem == core_auth.LOCKED:
        return _("尝试次数过多，账号已暂时锁定，请30分钟后再试或联系管理员")
    return _("登录名或密码错误")


@view_config(context=Site, name="logout", request_method="POST", permission=NO_PERMISSION_REQUIRED,
             allow_stale_password=True, allow_without_second_factor=True)
def logout(context, request):
    if request.user is not None:
        audit.log(request, "logout", context)
    headers = forget(request)
    return HTTPSeeOther(request.application_url + "/login", headers=headers)


@view_config(context=Site, name="password", permission=P.ACCOUNT,
             renderer="templates/form.pt", allow_stale_password=True, allow_without_second_factor=True)
def change_password(context, request):
    t = request.localizer.translate
    user = request.user
    schema = change_password_schema().bind(request=request, user=user)
    form = deform.Form(schema, buttons=(deform.Button("save", title=t(_("修改密码"))),), formid="password-form")
    heading = t(_("修改密码"))
    notice = t(_("首次登录或密码已过期，请先设置新密码")) if password_is_stale(request, user) else None
    request.response.cache_control = "no-store"
    if request.method != "POST":
        return {"form": form.render(), "heading": heading, "notice": notice}
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        return {"form": failure.render(), "heading": heading, "notice": notice}
    problem = None
    if not user.check_password(values["current"]):
        problem = _("当前密码不正确")
    elif any(check_password(values["new_password"], old) for old in
             list(user.password_history) + [user.password_hash]):
        problem = _("新密码不能与最近5次使用过的密码相同")
    if problem:
        audit.log(request, "password-change", context, result=audit.FAILED)
        return {"form": form.render(), "heading": heading, "notice": notice, "error": t(problem)}
    user.set_password(values["new_password"])
    headers = remember(request, user.userid)  # every other session has ended
    audit.log(request, "password-change", context)
    request.session.flash(t(_("密码已修改")))
    return HTTPSeeOther(_landing(request, user), headers=headers)
