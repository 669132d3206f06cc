"""The user's to-do list (待办): every request on the approval chain they may decide
now, whatever the process, oldest first, each linked to the page it is decided on.
The count shows beside "待办" on every page (views/layout.py). Below it, for those
who start status changes, the pupils whose 休学 has ended (status/resumption.py)."""
import datetime

from pyramid.view import view_config

from xueji_site.kernel import chain, permissions as P
from xueji_site.kernel.nodes import Site
from xueji_site.status import resumption


def items(request):
    """What waits for the request's user: dicts for the page and the count."""
    t = request.localizer.translate
    found = []
    for waiting in chain.queue_for(request.site, request.user, registry=request.registry):
        process = chain.process_of(waiting, request.registry)
        step = process.step(waiting.waiting_step)
        node, view, query = process.where(waiting) if process.where is not None else (waiting.subject, "", {})
        found.append({
            "id": waiting.id, "process": t(process.label), "what": t(chain.describe(waiting, request.registry)),
            "about": t(getattr(waiting.subject, "title", "")), "step": t(step.label),
            "by": waiting.requested_by[1],
            "at": datetime.datetime.fromtimestamp(waiting.requested_at).strftime("%Y-%m-%d %H:%M"),
            "due": waiting.due(request.registry).isoformat(), "overdue": waiting.overdue(registry=request.registry),
            "url": request.resource_url(node, view, query=query) if node is not None else None,
        })
    return found


def resumptions(request, today=None):
    """Pupils in the user's scope, still suspended after their 休学 ended, whose status
    the user may change: longest overdue first."""
    t = request.localizer.translate
    return [{"name": t(student.title), "klass": "%s %s" % (student.__parent__.__parent__.title,
                                                           t(student.__parent__.title)),
             "due": student.suspended_until.isoformat(), "url": request.resource_url(student, "status")}
            for student in resumption.overdue(request.site, today, request.user)
            if request.has_permission(P.REQUEST_CHANGE, student)]


@view_config(context=Site, name="todo", permission=P.ACCOUNT, renderer="templates/todo.pt")
def todo(context, request):
    request.response.cache_control = "no-store"
    return {"items": items(request), "resumptions": resumptions(request)}
