"""Account administration for sysadmins and security admins: find accounts by
login prefix (a BTree range, never a scan of everyone), unlock, reset to a
one-time password, deactivate and reactivate, and reset the second factor
(the user must enrol again). Every action is audited."""
import datetime
import itertools

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from xueji_site.kernel import audit, permissions as P, security
from xueji_site.kernel.contacts import masked_email
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Site
from xueji_site.kernel.users import new_one_time_password

PAGE = 50


def _when(stamp):
    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M") if stamp else ""


def _status(user, now):
    if not user.active:
        return _("已停用")
    if user.locked_until > now:
        return _("已锁定")
    if user.must_change_password:
        return _("待改密码")
    return _("正常")


def _may_manage(request, site, user):
    """Separation of duties: a sysadmin may not reset (and so take over) the
    auditor's or the security administrator's account; only a security admin may."""
    if not security.DUTY_ROLES.intersection(security.local_roles_of(site, user.userid)):
        return True
    return security.SECURITY_ADMIN in security.local_roles_of(site, request.user.userid)


@view_config(context=Site, name="users", permission=P.MANAGE_USERS, renderer="templates/users.pt")
def users(context, request):
    import time
    t = request.localizer.translate
    prefix = request.params.get("q", "").strip().lower()
    start = request.params.get("after", "")
    principals = context.principals
    logins = principals.by_login.keys(min=max(prefix, start) or None, excludemin=bool(start))
    rows = []
    now = time.time()
    for login in itertools.islice(logins, PAGE + 1):
        if prefix and not login.startswith(prefix):
            break
        user = principals.get(principals.by_login[login])
        rows.append({"login": login, "title": user.title, "userid": user.userid,
                     "status": t(_status(user, now)), "email": masked_email(user.email), "last_login": _when(user.last_login),
                     "places": len(user.places), "active": user.active})
    more = len(rows) > PAGE
    return {"rows": rows[:PAGE], "q": prefix, "next": rows[PAGE - 1]["login"] if more else None,
            "one_time": None}


@view_config(context=Site, name="users", permission=P.MANAGE_USERS, request_method="POST",
             renderer="templates/users.pt")
def user_action(context, request):
    t = request.localizer.translate
    user = context.principals.get(request.POST.get("userid", ""))
    action = request.POST.get("action")
    if user is None or action not in ("unlock", "reset", "deactivate", "activate", "totp-reset"):
        request.session.flash(t(_("无效的操作")))
        return HTTPSeeOther(request.resource_url(context, "users"))
    if user is request.user and action in ("deactivate", "reset", "totp-reset"):
        request.session.flash(t(_("不能对自己的账号执行此操作")))
        return HTTPSeeOther(request.resource_url(context, "users"))
    if not _may_manage(request, context, user):
        request.session.flash(t(_("只有安全管理员可以管理系统管理员、安全管理员和审计员的账号")))
        audit.log(request, "account-" + action, context, result=audit.DENIED, target=user.login)
        return HTTPSeeOther(request.resource_url(context, "users"))
    one_time = None
    if action == "unlock":
        user.locked_until, user.failed_logins = 0.0, 0
    elif action == "reset":
        one_time = new_one_time_password()
        user.set_password(one_time, must_change=True)
        user.locked_until, user.failed_logins = 0.0, 0
    elif action == "totp-reset":  # a lost phone: the user enrols again at next login
        user.clear_second_factor()
    elif action == "deactivate":
        user.active = False
        user.sessions.clear()
    else:
        user.active = True
    audit.log(request, "account-" + action, context, target=user.login)
    if one_time:
        page = users(context, request)
        page["one_time"] = (user.login, one_time)
        return page
    request.session.flash(t(_("已完成：${login}", mapping={"login": user.login})))
    return HTTPSeeOther(request.resource_url(context, "users", query={"q": user.login}))
