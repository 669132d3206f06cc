"""A class's teaching assignments (任课安排) for a term (issue 13, item 2): which
teacher enters which subject. The academic office or principal (``manage-grades``)
assigns the school's own staff only — an account that holds a role in this
school or one of its classes — so an assignment never opens a class to an
outsider. Assigning grants the class's 任课教师 role (grades/assignments.py)."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.traversal import resource_path
from pyramid.view import view_config

from xueji_site.grades import assignments, books, codes
from xueji_site.kernel import audit, permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.tree.nodes import SchoolClass
from . import grades_common as common


def _subjects(klass, term):
    grade = books.class_grade(klass, term)
    return [(code, label) for code, label in codes.national_subjects_for(grade)]


def _of_school(user, school):
    """Whether ``user`` holds a role at ``school`` or below it."""
    base = resource_path(school).rstrip("/") + "/"
    return any((resource_path(p).rstrip("/") + "/").startswith(base) for p in getattr(user, "places", ()) or ())


def _page(context, request, term, error=None, status=200):
    t = request.localizer.translate
    table = assignments.teaching(context, term)
    principals = request.site.principals
    rows = []
    for code, label in _subjects(context, term):
        teachers = [principals.get(u) for u in table.get(code, ())]
        rows.append({"code": code, "label": t(label),
                     "teachers": [(u.login, u.title) for u in teachers if u is not None]})
    response = render_to_response("templates/grades_teachers.pt", {
        "term": term, "terms": common.terms_offered(request, term), "rows": rows, "error": error}, request=request)
    response.status = status
    response.cache_control = "no-store"
    return response


@view_config(context=SchoolClass, name="grades-teachers", permission=P.MANAGE_GRADES, request_method="GET")
def teachers(context, request):
    return _page(context, request, common.term_asked(request))


@view_config(context=SchoolClass, name="grades-teachers", permission=P.MANAGE_GRADES, request_method="POST")
def change_teachers(context, request):
    t = request.localizer.translate
    term = common.term_asked(request)
    subject = request.POST.get("subject", "")
    if subject not in dict(_subjects(context, term)):
        return _page(context, request, term, t(_("请从列表中选择科目")), 400)
    user = request.site.principals.by_login_name(request.POST.get("login", "").strip())
    if user is None or not user.active or not _of_school(user, context.__parent__):
        return _page(context, request, term, t(_("找不到本校的这个账号：任课教师须是本校教职工账号")), 400)
    label = t(dict(_subjects(context, term))[subject])
    if request.POST.get("action") == "remove":
        assignments.unassign(context, term, subject, user, request.registry)
        message = _("已取消 ${who} 的 ${subject} 任课", mapping={"who": user.title, "subject": label})
    else:
        assignments.assign(context, term, subject, user, request.registry)
        message = _("已安排 ${who} 任教 ${subject}", mapping={"who": user.title, "subject": label})
    audit.log(request, "grades-assign", context, term=term, subject=subject, teacher=user.login,
              change=request.POST.get("action") or "assign")
    request.session.flash(t(message))
    return HTTPSeeOther(request.resource_url(context, "grades-teachers", query={"term": term}))
