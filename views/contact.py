"""Contact details of accounts: e-mail and mobile number.

- ``/account``: the user's own account page. The phone changes at once; a new
  e-mail address waits until the link mailed to it is followed (contacts.py), and
  the old address is told when it has been replaced. Removing one's address needs
  no confirmation. A recent password is required (reauth.py), as for other changes
  a stolen session should not make.
- ``/email-confirm?token=…``: the link's target. The GET only shows what will
  happen (mail scanners follow links); the POST, by the logged-in owner of the
  token, makes the change.
- ``/user-contact?userid=…``: an administrator (manage-users) sets both directly,
  under the same separation of duties as the other account actions.

Every change is audited (``account-contact``, ``account-email-requested``,
``account-email-confirmed``) with the addresses masked.
"""
import datetime

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.i18n import TranslationString
from pyramid.view import view_config
from pyramid_mailer import get_mailer
import deform

from xueji_site.kernel import audit, contacts, permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.kernel.mail import Message
from xueji_site.kernel.nodes import Site
from xueji_site.schemas.contact import contact_schema
from .derivers import UNSAFE_ONLY
from .accounts import _may_manage

GREETING = _("您好，${name}：")
CONFIRM_SUBJECT = _("【学籍系统】请确认您的电子信箱")
CONFIRM_BODY = (GREETING,
                _("有人（应是您本人）在学籍管理系统中将账号 ${login} 的电子信箱改为本地址。"
                  "请在 ${until} 之前打开下面的链接并登录确认："),
                "${link}",
                _("如果这不是您本人的操作，请忽略本邮件，电子信箱不会更改。"))
CHANGED_SUBJECT = _("【学籍系统】您的账号电子信箱已更改")
CHANGED_BODY = (GREETING,
                _("学籍管理系统账号 ${login} 的电子信箱已改为 ${address}，今后的通知将发往新地址。"),
                _("如果这不是您本人的操作，请立即联系系统管理员。"))


def _sender(request):
    return request.registry.settings.get("mail.default_sender", "xueji@localhost")


def _mail(request, subject, paragraphs, mapping, recipient):
    t = request.localizer.translate
    body = "\n\n".join(t(TranslationString(p, mapping=mapping)) for p in paragraphs) + "\n"
    get_mailer(request).send(Message(
        subject=t(TranslationString(subject, mapping=mapping)), sender=_sender(request),
        recipients=[recipient], body=body))


def _tell_old_address(request, user, old, new):
    if old and old != new:
        _mail(request, CHANGED_SUBJECT, CHANGED_BODY,
              {"name": user.title, "login": user.login, "address": contacts.masked_email(new) or "—"}, old)


def _when(stamp):
    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M") if stamp else ""


def _form(request, formid, label, action):
    schema = contact_schema().bind(request=request)
    return deform.Form(schema, formid=formid, action=action,
                       buttons=(deform.Button("save", title=request.localizer.translate(label)),))


def _changed_fields(user, values, fields):
    return [name for name in fields if (getattr(user, name) or "") != values[name]]


# -- the user's own page ---------------------------------------------------------------

def _account_page(request, user, form_html, error=None):
    pending = user.email_pending if user.email_token_hash else ""
    return {"user": user, "form": form_html, "error": error, "pending": pending,
            "pending_until": _when(user.email_token_expires) if pending else "",
            "email": user.email, "phone": user.phone}


@view_config(context=Site, name="account", permission=P.ACCOUNT, renderer="templates/account.pt",
             require_reauth=UNSAFE_ONLY)  # a stolen session must not redirect the user's mail
def account(context, request):
    user = request.user
    request.response.cache_control = "no-store"
    form = _form(request, "account-form", _("保存"), request.resource_url(context, "account"))
    if request.method != "POST":
        return _account_page(request, user, form.render({"email": user.email, "phone": user.phone}))
    if request.POST.get("cancel-email"):
        if user.email_token_hash:
            contacts.cancel_email_change(user)
            audit.log(request, "account-email-cancelled", context, target=user.login)
        request.session.flash(request.localizer.translate(_("已取消电子信箱的更改")))
        return HTTPSeeOther(request.resource_url(context, "account"))
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        return _account_page(request, user, failure.render())
    return _save_own(context, request, user, values)


def _save_own(context, request, user, values):
    t = request.localizer.translate
    messages = []
    if values["phone"] != (user.phone or ""):
        user.phone = values["phone"]
        audit.log(request, "account-contact", context, target=user.login, fields="phone",
                  phone=contacts.masked_phone(values["phone"]))
        messages.append(_("手机号码已保存"))
    new = values["email"]
    if new != (user.email or ""):  # sending the pending address again sends a new link
        if not new:  # removing the address: nothing to confirm
            old = user.email
            user.email = ""
            contacts.cancel_email_change(user)
            audit.log(request, "account-contact", context, target=user.login, fields="email", email="")
            _tell_old_address(request, user, old, "")
            messages.append(_("电子信箱已删除"))
        else:
            hours = contacts.confirm_hours(request.registry.settings)
            token = contacts.start_email_change(user, new, hours)
            link = request.resource_url(context, "email-confirm", query={"token": token})
            _mail(request, CONFIRM_SUBJECT, CONFIRM_BODY,
                  {"name": user.title, "login": user.login, "until": _when(user.email_token_expires),
                   "link": link}, new)
            audit.log(request, "account-email-requested", context, target=user.login,
                      email=contacts.masked_email(new))
            messages.append(_("确认邮件已发送至 ${address}：请在 ${hours} 小时内打开邮件中的链接，"
                              "确认后新的电子信箱才会生效。", mapping={"address": new, "hours": hours}))
    elif new == (user.email or "") and user.email_token_hash:
        contacts.cancel_email_change(user)  # back to the current address: the pending one is dropped
    for message in messages or [_("没有修改")]:
        request.session.flash(t(message))
    return HTTPSeeOther(request.resource_url(context, "account"))


# -- the link in the mail ------------------------------------------------------------------

@view_config(context=Site, name="email-confirm", permission=P.ACCOUNT, renderer="templates/email_confirm.pt")
def email_confirm(context, request):
    user = request.user
    t = request.localizer.translate
    token = request.params.get("token", "")[:200]
    request.response.cache_control = "no-store"
    page = {"token": token, "pending": user.email_pending if user.email_token_hash else "", "error": None}
    if request.method != "POST":
        if not page["pending"]:
            request.response.status = 400
            page["error"] = t(_("该确认链接无效或已使用。"))
        return page
    outcome, old = contacts.confirm_email_change(user, token)
    if outcome != contacts.OK:
        audit.log(request, "account-email-confirmed", context, result=audit.FAILED, target=user.login,
                  reason=outcome)
        request.response.status = 400
        page["pending"] = ""
        page["error"] = t(_("该确认链接已过期，请在“我的账号”中重新填写电子信箱。") if outcome == contacts.EXPIRED
                          else _("该确认链接无效或已使用。"))
        return page
    audit.log(request, "account-email-confirmed", context, target=user.login,
              email=contacts.masked_email(user.email))
    _tell_old_address(request, user, old, user.email)
    request.session.flash(t(_("电子信箱已确认并生效：${address}", mapping={"address": user.email})))
    return HTTPSeeOther(request.resource_url(context, "account"))


# -- the administrator's form ---------------------------------------------------------------

@view_config(context=Site, name="user-contact", permission=P.MANAGE_USERS, renderer="templates/form.pt",
             require_reauth=UNSAFE_ONLY)
def user_contact(context, request):
    t = request.localizer.translate
    user = context.principals.get(request.params.get("userid", ""))
    if user is None or getattr(user, "kind", "") != "user":
        request.session.flash(t(_("无效的操作")))
        return HTTPSeeOther(request.resource_url(context, "users"))
    if user is request.user:  # one's own address is confirmed by mail, like everyone's
        request.session.flash(t(_("请在“我的账号”中修改自己的联系方式")))
        return HTTPSeeOther(request.resource_url(context, "account"))
    if not _may_manage(request, context, user):
        request.session.flash(t(_("只有安全管理员可以管理系统管理员、安全管理员和审计员的账号")))
        audit.log(request, "account-contact", context, result=audit.DENIED, target=user.login)
        return HTTPSeeOther(request.resource_url(context, "users"))
    request.response.cache_control = "no-store"
    form = _form(request, "user-contact-form", _("保存"),
                 request.resource_url(context, "user-contact", query={"userid": user.userid}))
    heading = t(_("联系方式：${login}", mapping={"login": user.login}))
    notice = t(_("由管理员填写的电子信箱立即生效，不需要用户确认。"))
    if request.method != "POST":
        return {"form": form.render({"email": user.email, "phone": user.phone}), "heading": heading,
                "notice": notice}
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        return {"form": failure.render(), "heading": heading, "notice": notice}
    changed = _changed_fields(user, values, ("email", "phone"))
    if changed:
        old = user.email
        for name in changed:
            setattr(user, name, values[name])
        if "email" in changed:
            contacts.cancel_email_change(user)  # the administrator's address replaces any pending one
            _tell_old_address(request, user, old, user.email)
        audit.log(request, "account-contact", context, target=user.login, fields=changed,
                  email=contacts.masked_email(user.email), phone=contacts.masked_phone(user.phone))
        request.session.flash(t(_("已保存：${login}", mapping={"login": user.login})))
    else:
        request.session.flash(t(_("没有修改")))
    return HTTPSeeOther(request.resource_url(context, "users", query={"q": user.login}))
