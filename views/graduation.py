"""Graduating a cohort: the school's page (compulsory: done at once; senior
high: an application) and the bureau's page of applications to approve."""
import datetime

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config

from xueji_site.kernel import audit, permissions as P
from xueji_site.graduates import graduation
from xueji_site.status import changes as workflow
from xueji_site.kernel.i18n import _
from xueji_site.tree.nodes import Bureau, School
from xueji_site.tree.places import COUNTY, bureau_of


def _outcome_choices(request, school):
    t = request.localizer.translate
    allowed = graduation.OUTCOMES if school.level == "senior" else (workflow.GRADUATED,)
    return [(o, t(workflow.STATUS_LABELS[o])) for o in allowed]


def _application_view(request, application):
    """An application as the bureau reads it: names and totals, never record keys."""
    t = request.localizer.translate
    school = application.subject
    cohort, outcomes = application.payload["cohort"], application.payload["outcomes"]
    found, blocking = graduation.candidates(school, cohort)
    names = {pupil.__name__: pupil.name for pupil in found + blocking}
    counts = {}
    for pupil in found:
        outcome = outcomes.get(pupil.__name__, workflow.GRADUATED)
        counts[outcome] = counts.get(outcome, 0) + 1
    return {"key": application.id, "school": school.title, "cohort": cohort,
            "by": application.requested_by[1],
            "at": datetime.datetime.fromtimestamp(application.requested_at).strftime("%Y-%m-%d %H:%M"),
            "total": len(found), "blocked": len(blocking),
            "counts": [(t(workflow.STATUS_LABELS[o]), n) for o, n in sorted(counts.items())],
            "special": sorted((names.get(k, k), t(workflow.STATUS_LABELS[v])) for k, v in outcomes.items()
                              if v != workflow.GRADUATED)}


@view_config(context=School, name="graduation", permission=P.GRADUATE, renderer="templates/graduation.pt")
def school_page(context, request):
    cohorts = graduation.cohorts(context)
    try:
        cohort = int(request.params.get("cohort") or (cohorts[-1] if cohorts else 0))
    except ValueError:
        raise HTTPNotFound()
    found, blocking = graduation.candidates(context, cohort)
    page = {"cohorts": cohorts, "cohort": cohort, "pupils": found, "blocking": blocking, "error": None,
            "senior": graduation.needs_bureau(context), "choices": _outcome_choices(request, context),
            "waiting": [_application_view(request, a) for a in graduation.waiting(context)],
            "may_approve": _may_approve(request, context)}
    if request.method == "POST":
        return _submit(context, request, cohort, found, page)
    return page


def _may_approve(request, school):
    bureau = bureau_of(school, COUNTY)
    return bureau is not None and bool(request.has_permission(P.APPROVE_BUREAU, bureau))


def _submit(context, request, cohort, found, page):
    t = request.localizer.translate
    outcomes = {p.__name__: request.POST.get("outcome-" + p.__name__, workflow.GRADUATED) for p in found}
    outcomes = {k: v for k, v in outcomes.items() if v != workflow.GRADUATED}
    try:
        if graduation.needs_bureau(context):
            graduation.apply(context, cohort, outcomes, request.user, registry=request.registry)
            message = _("${cohort}级毕业申请已提交，等待教育局审核", mapping={"cohort": cohort})
            done = 0
        else:
            done = len(graduation.graduate(context, cohort, outcomes))
            message = _("${cohort}级已办理毕业：${n}人", mapping={"cohort": cohort, "n": done})
    except graduation.GraduationError as exc:
        page["error"] = t(exc.args[0])
        audit.log(request, "graduate", context, result=audit.DENIED, cohort=cohort)
        return page
    audit.log(request, "graduate", context, cohort=cohort, graduates=done, special=len(outcomes))
    request.session.flash(t(message))
    return HTTPSeeOther(request.resource_url(context, "graduation", query={"cohort": cohort}))


@view_config(context=Bureau, name="graduation", permission=P.GRADUATE, renderer="templates/graduation_queue.pt")
def bureau_page(context, request):
    """Senior high applications waiting under this bureau; approve or reject each."""
    t = request.localizer.translate
    applications = {_application_view(request, a)["key"]: a for a in graduation.waiting(context)}
    if request.method == "POST":
        application = applications.get(request.POST.get("key", ""))
        if application is None:
            raise HTTPNotFound()
        if not _may_approve(request, application.subject):
            raise HTTPForbidden()
        approve = request.POST.get("action") == "approve"
        try:
            done = graduation.decide(application, request.user, approve, request.POST.get("reason", ""),
                                     registry=request.registry)
        except graduation.GraduationError as exc:
            request.session.flash(t(exc.args[0]))
            return HTTPSeeOther(request.resource_url(context, "graduation"))
        if approve:
            audit.log(request, "graduate", application.subject, cohort=application.payload["cohort"],
                      graduates=len(done))
        request.session.flash(t(_("已处理毕业申请")))
        return HTTPSeeOther(request.resource_url(context, "graduation"))
    return {"items": [_application_view(request, a) for a in applications.values()]}
