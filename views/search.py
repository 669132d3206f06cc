"""Student search under any node: keyword, conditions, pages, sorting, export.

The form is posted (with its CSRF token); links for more pages repeat it
as a query string, without a number keyword. At the root every logged-in user may search (the catalog scope limits the
results to what they may see); below it the node's view permission is needed.
"""

from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound
from pyramid.traversal import resource_path
from pyramid.view import view_config

from xueji_site.exports import approvals
from xueji_site.kernel import audit, content, permissions as P
from xueji_site.kernel.folder import Container
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Site
from xueji_site.record import listing
from xueji_site.search import conditions, query as search
from xueji_site.standards import codes, deidentify
from . import listing as listing_views
from .tables import cell, download

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
COLUMNS = (_("姓名"), _("性别"), _("出生日期"), _("民族"), _("学校"), _("班级"), _("年级"), _("学籍状态"))


def student_row(student, t):
    klass = student.__parent__
    school = getattr(klass, "__parent__", None)
    grade = search.grade_of(student)
    return [cell(student.name, t), cell(codes.label(codes.GENDER, student.gender), t),
            cell(getattr(student, "birth_date", None), t),
            cell(codes.label(codes.ETHNICITY, getattr(student, "ethnicity", "")), t),
            cell(getattr(school, "title", ""), t), cell(getattr(klass, "title", ""), t),
            cell(codes.GRADE_LABELS.get(grade, _("已毕业")) if grade else "", t),
            cell(listing.status_label(student), t)]


def _run(context, request, form, sort, reverse, offset, limit):
    return search.search(request.site, request.user, resource_path(context), form["q"],
                         conditions.conditions_of(form), sort=sort, reverse=reverse, offset=offset, limit=limit)


@view_config(context=Site, name="search", permission=P.ACCOUNT, renderer="templates/search.pt")
@view_config(context=Container, name="search", permission=P.VIEW, renderer="templates/search.pt")
def search_view(context, request):
    if context.content_type == "Student":  # a record is a container of its own records
        raise HTTPNotFound()
    form = conditions.read_form(request.params)
    sort = request.params.get("sort") if request.params.get("sort") in search.SORTS else "title"
    reverse = request.params.get("dir") == "desc"
    page = conditions.bounded_int(request.params.get("page"), 1)
    asked = any(form.values())
    total, students = _run(context, request, form, sort, reverse, (page - 1) * PAGE_SIZE, PAGE_SIZE) \
        if asked else (0, [])
    t = request.localizer.translate
    rows = [(request.resource_url(s) if request.has_permission(P.VIEW_RECORD, s) else None, student_row(s, t))
            for s in students]
    request.response.cache_control = "no-store"
    return {"form": form, "asked": asked, "total": total, "rows": rows, "header": [t(c) for c in COLUMNS],
            "page": page, "pages": max(1, -(-total // PAGE_SIZE)), "sort": sort, "reverse": reverse,
            "query": conditions.link_query(form), "choices": _choices(t)}


def _choices(t):
    return {
        "level": [(k, t(v)) for k, v in codes.LEVEL_LABELS.items()],
        "grade": [(str(k), t(v)) for k, v in sorted(codes.GRADE_LABELS.items())],
        "gender": [(k, t(v)) for k, v in codes.GENDER],
        "ethnicity": [(k, t(v)) for k, v in codes.ETHNICITY],
        "status": [(k, t(v)) for k, v in conditions.STATUS_LABELS],
        "flags": [(k, t(v)) for k, v in conditions.FLAG_LABELS],
    }


# What an external export shows (G4): a whitelist, de-identified.
EXTERNAL_COLUMNS = (_("姓名"), _("性别"), _("出生年月"), _("民族"), _("学校"), _("班级"), _("年级"))


def external_row(student, t):
    klass = student.__parent__
    school = getattr(klass, "__parent__", None)
    grade = search.grade_of(student)
    return [deidentify.masked_name(student.name), cell(codes.label(codes.GENDER, student.gender), t),
            deidentify.birth_month(getattr(student, "birth_date", None)),
            cell(codes.label(codes.ETHNICITY, getattr(student, "ethnicity", "")), t),
            cell(getattr(school, "title", ""), t), cell(getattr(klass, "title", ""), t),
            cell(codes.GRADE_LABELS.get(grade, _("已毕业")) if grade else "", t)]


def _search_rows(context, request):
    """What a search export asks clearance for (views/derivers.py): the pupils it finds."""
    if context.content_type == "Student":  # a record is a container of its own records
        raise HTTPNotFound()
    if request.params["export"] not in ("csv", "xlsx"):
        raise HTTPBadRequest()
    form = conditions.read_form(request.params)
    count, _found = _run(context, request, form, "title", False, 0, 1)
    return min(count, EXPORT_LIMIT), (approvals.SEARCH, "", conditions.condition_key(form))


@view_config(context=Site, name="search", request_param="export", permission=P.ACCOUNT, require_reauth=True,
             clears_export=_search_rows)
@view_config(context=Container, name="search", request_param="export", permission=P.VIEW, require_reauth=True,
             clears_export=_search_rows)
def search_export(context, request):
    """The search's result as a file (``export=csv`` or ``xlsx``), behind the gates declared
    above: a recent password (ASVS 3.7.1) and, past the threshold, an export approval."""
    fmt = request.params["export"]
    form = conditions.read_form(request.params)
    sort = request.params.get("sort") if request.params.get("sort") in search.SORTS else "title"
    reverse = request.params.get("dir") == "desc"
    clearance_detail = request.export_clearance
    kind = clearance_detail["audience"]
    t = request.localizer.translate
    total, students = _run(context, request, form, sort, reverse, 0, EXPORT_LIMIT)
    external = kind == approvals.EXTERNAL
    if external:
        header, rows = [t(c) for c in EXTERNAL_COLUMNS], [external_row(s, t) for s in students]
    else:  # the registrar's columns, masked as the user may see them (as the class list's export)
        header, rows = listing_views.export_table(request, content.get("Student", request.registry), students)
    # The keyword may be an ID number: the log records only that there was one.
    audit.log(request, "export", context, rows=len(rows), kind="search", format=fmt,
              keyword="yes" if form["q"] else "no", **clearance_detail,
              **{"if_" + k: v for k, v in conditions.conditions_of(form).items()})
    return download(rows, header, "search-%s" % (context.__name__ or "root"), fmt)
