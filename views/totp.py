"""The TOTP second factor (RFC 6238, 30-second steps, 6 digits): the step after
the password, and enrolment.

* ``/totp`` asks for the code after a correct password (``auth.pending_user``);
  a wrong code counts as a failed login towards the account lockout, and every
  attempt counts towards the per-address throttle. A code is accepted for the
  previous, current or next step (clock drift) and never twice: the last step
  used is stored, so a code seen over a shoulder cannot be replayed.
* ``/totp-enrol`` shows a new secret (as text and as an ``otpauth://`` URI for
  authenticator apps) and switches it on once the user types a code from it.
  The secret waits on the user object, sealed with the external key, never in
  the (signed, not encrypted) session cookie. A second enrolment needs an
  administrator's reset first (views/accounts.py), so a stolen session cannot
  replace the factor.
"""
import time

import deform
import pyotp
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED, remember
from pyramid.view import view_config

from xueji_site.kernel import audit, auth as core_auth, permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Site
from xueji_site.schemas.accounts import TotpSchema
from . import auth



def _form(request, button):
    t = request.localizer.translate
    schema = TotpSchema().bind(request=request)
    return deform.Form(schema, buttons=(deform.Button("verify", title=t(button)),), formid="totp-form")


def _page(request, form, heading, **extra):
    request.response.cache_control = "no-store"
    t = request.localizer.translate
    return dict({"form": form, "heading": t(heading), "notice": None, "error": None}, **extra)


@view_config(context=Site, name="totp", permission=NO_PERMISSION_REQUIRED, renderer="templates/form.pt",
             allow_stale_password=True, allow_without_second_factor=True)
def verify(context, request):
    user = auth.pending_user(request)
    if user is None:
        return HTTPSeeOther(request.application_url + "/login")
    form = _form(request, _("验证"))
    heading = _("两步验证")
    if request.method != "POST":
        return _page(request, form.render(), heading)
    wait = auth.throttled(request)
    if wait:
        return auth.refuse_throttled(request, wait, _page(request, form.render(), heading))
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        return _page(request, failure.render(), heading)
    return _check_code(request, user, values["code"], form, heading)


def _check_code(request, user, code, form, heading):
    t = request.localizer.translate
    if user.locked_until > time.time() or not user.active:
        request.session.pop("pending", None)
        return _page(request, form.render(), heading, error=t(_("尝试次数过多，账号已暂时锁定，请30分钟后再试或联系管理员")))
    step = core_auth.matching_step(user.totp_secret, code, user.totp_last_step)
    if step is None:
        auth.record_failure(request, user, "bad-totp")
        return _page(request, form.render(), heading, error=t(_("验证码不正确或已使用过")))
    user.totp_last_step = step
    came_from = request.session["pending"][2]
    return auth.finish_login(request, user, came_from)


def qr_svg(uri, title):
    """The ``otpauth://`` URI as an inline SVG QR code (segno, made here: the secret never
    leaves the server for a QR service). Markup from segno alone; the title is escaped by it."""
    import segno
    return segno.make(uri, error="m", micro=False).svg_inline(scale=4, border=4, title=title,
                                                               svgid="totp-qr", svgclass="qr")


@view_config(context=Site, name="totp-enrol", permission=P.ACCOUNT, renderer="templates/totp_enrol.pt",
             allow_without_second_factor=True)
def enrol(context, request):
    user = request.user
    if user.totp_secret:
        return HTTPSeeOther(request.application_url + "/")
    if not user.totp_pending:
        user.totp_pending = pyotp.random_base32()
    form = _form(request, _("启用两步验证"))
    uri = core_auth.provisioning_uri(user.totp_pending, user.login)
    page = _page(request, None, _("启用两步验证"), secret=user.totp_pending, uri=uri,
                 qr=qr_svg(uri, request.localizer.translate(_("两步验证配置二维码"))))
    if request.method != "POST":
        page["form"] = form.render()
        return page
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        page["form"] = failure.render()
        return page
    step = core_auth.matching_step(user.totp_pending, values["code"], 0)
    if step is None:
        audit.log(request, "totp-enrol", context, result=audit.FAILED)
        page.update(form=form.render(), error=request.localizer.translate(_("验证码不正确，请核对手机时间后重试")))
        return page
    user.set_second_factor(user.totp_pending, step)
    audit.log(request, "totp-enrol", context)
    headers = remember(request, user.userid)  # a fresh session now that both factors are in
    request.session.flash(request.localizer.translate(_("两步验证已启用")))
    return HTTPSeeOther(request.application_url + "/", headers=headers)
