"""Granting and revoking local roles on a node.

Only roles the granter may grant here (``security.may_grant``) are offered
or accepted. Granting to a login that does not exist creates the account
with a one-time password shown once on this page (never put in a cookie).
"""
import deform
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.location import lineage
from pyramid.view import view_config

from xueji_site.kernel import permissions as P, security
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Node
from xueji_site.schemas.accounts import GrantSchema
from xueji_site.kernel.users import new_one_time_password
from .derivers import UNSAFE_ONLY


def _holders(request, node):
    principals = request.site.principals
    rows = []
    for principal, roles in sorted((node.local_roles or {}).items()):
        holder = principals.get(principal)
        name = getattr(holder, "login", None) or getattr(holder, "title", principal)
        rows.append({"principal": principal, "name": name, "title": getattr(holder, "title", ""),
                     "roles": [(r, request.localizer.translate(security.role_label(r)),
                                security.may_grant(request.user, node, r)) for r in roles]})
    return rows


def _inherited(request, context):
    found = []
    for node in list(lineage(context))[1:]:
        for row in _holders(request, node):
            found.append((request.localizer.translate(node.title), row))
    return found


@view_config(context=Node, name="sharing", permission=P.SHARE, renderer="templates/sharing.pt",
             require_reauth=UNSAFE_ONLY)  # granting and revoking roles needs a recent password
def sharing(context, request):
    t = request.localizer.translate
    user = request.user
    roles = security.grantable_roles(user, context)
    schema = GrantSchema().bind(request=request, roles=roles)
    form = deform.Form(schema, buttons=(deform.Button("grant", title=t(_("授予"))),), formid="grant-form")
    result = {"holders": _holders(request, context), "inherited": _inherited(request, context),
              "form": form.render() if roles else None, "one_time": None}
    if request.method != "POST":
        return result
    if "revoke" in request.POST:
        return _revoke(context, request)
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        result["form"] = failure.render()
        return result
    principals = request.site.principals
    target = principals.by_login_name(values["login"])
    if target is not None and _two_duties(context, target, values["role"]):
        request.session.flash(t(_("同一账号不能兼任系统管理员、安全管理员、审计员中的两个角色")))
        return HTTPSeeOther(request.resource_url(context, "sharing"))
    if target is None:
        password = new_one_time_password()
        target = principals.add_user(values["login"], values["title"], password=password, must_change=True)
        result["one_time"] = (target.login, password)
    current = security.local_roles_of(context, target.userid)
    security.set_local_roles(context, target.userid, current + (values["role"],), user=target)
    request.session.flash(t(_("已授予 ${login}：${role}", mapping={
        "login": target.login, "role": t(security.role_label(values["role"]))})))
    if result["one_time"]:
        result["holders"] = _holders(request, context)
        result["form"] = form.render()
        return result
    return HTTPSeeOther(request.resource_url(context, "sharing"))


def _two_duties(context, target, role):
    """Separation of duties (security.DUTY_ROLES): refused before anything is written."""
    held = set(security.local_roles_of(context, target.userid)) | {role}
    return len(security.DUTY_ROLES & held) > 1


def _revoke(context, request):
    t = request.localizer.translate
    principal, role = request.POST.get("principal", ""), request.POST.get("role", "")
    current = security.local_roles_of(context, principal)
    if role in current and security.may_grant(request.user, context, role):
        holder = request.site.principals.get(principal)
        security.set_local_roles(context, principal, [r for r in current if r != role], user=holder)
        request.session.flash(t(_("已撤销角色")))
    else:
        request.session.flash(t(_("无法撤销该角色")))
    return HTTPSeeOther(request.resource_url(context, "sharing"))
