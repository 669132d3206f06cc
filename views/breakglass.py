"""The break-glass page of a pupil's record: a reason, then that record unmasked
for a few minutes, audited and alerted (xueji_site/breakglass.py)."""
import datetime

import colander
import deform
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config
from pyramid_mailer import get_mailer

from xueji_site.kernel import alerts, audit, breakglass, permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.record.models import Student
from xueji_site.schemas.base import FormSchema, Stripped
from .derivers import UNSAFE_ONLY


def _one_line(node, value):
    if "\n" in value or "\r" in value:
        raise colander.Invalid(node, _("请在一行内写明理由"))


def _schema(request):
    schema = FormSchema().clone()
    schema.add(colander.SchemaNode(
        Stripped(), name="reason", title=_("查看理由"),
        validator=colander.All(colander.Length(5, 300, min_err=_("请写明理由（至少5个字）"),
                                               max_err=_("理由不能超过300字")), _one_line),
        description=_("例如：学籍管理员报告此记录证件号码显示异常，核对存储数据。理由将通知安全管理员和审计员。")))
    return schema.bind(request=request)


def _form(request):
    t = request.localizer.translate
    return deform.Form(_schema(request), formid="break-glass-form",
                       buttons=(deform.Button("open", title=t(_("紧急查看")), css_class="danger"),))


def _page(request, context, form_html):
    t = request.localizer.translate
    minutes = breakglass.minutes(request.registry.settings)
    return {"form": form_html, "heading": t(_("紧急查看：${title}", mapping={"title": t(context.title)})),
            "notice": t(_("系统管理员平时只能看到遮盖后的个人信息。紧急查看会在${minutes}分钟内显示这一条学籍的完整信息"
                         "（含证件号码、学籍号、联系方式和家庭成员），并立即通知安全管理员和审计员。仅在维护系统确有必要时使用。",
                         mapping={"minutes": minutes}))}


@view_config(context=Student, name="break-glass", permission=P.BREAK_GLASS, renderer="templates/form.pt",
             require_reauth=UNSAFE_ONLY)  # a password checked in the last minutes, as for exports
def break_glass(context, request):
    t = request.localizer.translate
    if request.has_permission(P.VIEW_SENSITIVE, context):
        until = breakglass.open_until(request.user, context)
        if until is None:  # the user's own roles show this record in full: nothing to open
            request.session.flash(t(_("您可以直接查看此记录的完整信息")))
        return HTTPSeeOther(request.resource_url(context))
    request.response.cache_control = "no-store"
    form = _form(request)
    if request.method != "POST":
        return _page(request, context, form.render())
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        audit.log(request, "break-glass", context, result=audit.FAILED, why="no-reason")
        return _page(request, context, failure.render())
    minutes = breakglass.minutes(request.registry.settings)
    until = breakglass.open_record(request.user, context, minutes * 60)
    path = request.resource_path(context).rstrip("/")
    audit.log(request, "break-glass", context, reason=values["reason"], minutes=minutes,
              until=datetime.datetime.fromtimestamp(until).strftime("%Y-%m-%d %H:%M:%S"))
    alert = alerts.raise_event(request.site, alerts.BREAK_GLASS, request.user.userid, request.user.login,
                               path=path, reason=values["reason"], minutes=minutes)
    sender = request.registry.settings.get("mail.default_sender", "xueji@localhost")
    alerts.mail(get_mailer(request), t, request.site, [alert], sender)
    request.session.flash(t(_("已开启紧急查看，${minutes}分钟内有效；已通知安全管理员和审计员。", mapping={"minutes": minutes})))
    return HTTPSeeOther(request.resource_url(context))
