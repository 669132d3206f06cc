"""Re-authentication before a sensitive action (ASVS 3.7.1): exports, imports,
role grants.

A session proves the user logged in up to 12 hours ago; a stolen or
unattended session should not be enough to grant roles or carry the
registry away. A view about to do such a thing calls ``demand(request)``:
when the last password check (login or re-authentication) is older than
``xueji.reauth_seconds`` (default 900), it gets a redirect to ``/reauth``,
which asks for the password again (and the second-factor code when the user
has one) and then returns to the page. A POST is not replayed: the user sends
the form again. Failures count towards the account lockout and the
per-address throttle like failed logins.
"""
import time
from urllib.parse import urlencode

import colander
import deform
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from xueji_site.kernel import audit, auth as core_auth, permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Site
from xueji_site.schemas.base import FormSchema
from xueji_site.kernel.users import check_password
from . import auth
from xueji_site.kernel import settings

DEFAULT_WINDOW = 900


def last_check(request):
    return max(request.session.get("at", 0), request.session.get("reauth_at", 0))


def demand(request):
    """None when the password was checked recently enough; else a redirect to /reauth."""
    window = settings.value(request.registry, "xueji.reauth_seconds")
    if time.time() - last_check(request) <= window:
        return None
    came_from = request.path_qs if request.method == "GET" else request.path
    audit.log(request, "reauth-required", request.context, target=request.path)
    return HTTPSeeOther(request.application_url + "/reauth?" + urlencode({"came_from": came_from}))


def _schema(request, with_code):
    schema = FormSchema().clone()
    schema.add(colander.SchemaNode(colander.String(), name="password", title=_("密码"),
                                   widget=deform.widget.PasswordWidget(), validator=colander.Length(1, 200)))
    if with_code:
        schema.add(colander.SchemaNode(colander.String(), name="code", title=_("动态验证码"),
                                       validator=colander.Regex(r"^[0-9]{6}$", _("请输入6位数字"))))
    return schema.bind(request=request)


@view_config(context=Site, name="reauth", permission=P.ACCOUNT, renderer="templates/form.pt")
def reauth(context, request):
    t = request.localizer.translate
    user = request.user
    came_from = request.params.get("came_from", "")
    schema = _schema(request, bool(user.totp_secret))
    form = deform.Form(schema, buttons=(deform.Button("confirm", title=t(_("确认"))),), formid="reauth-form",
                       action=request.application_url + "/reauth?" + urlencode({"came_from": came_from}))
    page = {"heading": t(_("请再次验证身份")), "error": None,
            "notice": t(_("此操作涉及大量个人信息或权限变更，请再次输入密码。"))}
    request.response.cache_control = "no-store"
    if request.method != "POST":
        return dict(page, form=form.render())
    wait = auth.throttled(request)
    if wait:
        return auth.refuse_throttled(request, wait, dict(page, form=form.render()))
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        return dict(page, form=failure.render())
    return _confirm(request, user, values, dict(page, form=form.render()), came_from)


def _confirm(request, user, values, page, came_from):
    step = None
    ok = user.locked_until <= time.time() and check_password(values["password"], user.password_hash)
    if ok and user.totp_secret:
        step = core_auth.matching_step(user.totp_secret, values.get("code", ""), user.totp_last_step)
        ok = step is not None
    if not ok:
        auth.record_failure(request, user, "bad-reauth")
        page["error"] = request.localizer.translate(_("密码或验证码不正确"))
        return page
    if step is not None:
        user.totp_last_step = step
    request.session["reauth_at"] = time.time()
    audit.log(request, "reauth", request.site)
    return HTTPSeeOther(auth._safe_target(request, came_from) or request.application_url + "/")
