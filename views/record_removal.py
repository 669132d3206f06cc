"""Deleting a pupil's record: only a sysadmin, soon after an entry made in error
(record/removal.py). Everyone else cancels a wrong registration (注销) through a
status change; the page says so and links there."""
import datetime

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from xueji_site.kernel import permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.record import removal
from xueji_site.record.models import Student


@view_config(context=Student, name="delete", permission=P.DELETE, renderer="templates/delete_record.pt")
def delete_record(context, request):
    t = request.localizer.translate
    error = None
    if request.method == "POST":
        parent = context.__parent__
        try:
            removal.hard_delete(request, context, request.POST.get("reason", ""), request.registry)
        except removal.RemovalError as exc:
            error = t(exc.args[0])
        else:
            request.session.flash(t(_("已删除误录的记录；记录内容已加密存入审计日志")))
            return HTTPSeeOther(request.resource_url(parent))
        request.response.status = 400
    until = removal.deadline(context, request.registry)
    return {"error": error, "allowed": removal.may_delete(context, request.registry),
            "until": datetime.datetime.fromtimestamp(until).strftime("%Y-%m-%d %H:%M") if until else "",
            "reason": request.POST.get("reason", "") if request.method == "POST" else ""}
