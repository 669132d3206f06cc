"""A whole exam's marks in one file (issue 13, items 3 and 8), on a bureau, school or class.

- ``grades-import`` GET: the exams of this term and the last, each with its
  template (xlsx, csv), for those who read or enter marks here; the upload form
  (exam, file, mode, reason) for those who enter them (``enter-grades``).
- ``grades-import`` POST: the file is checked row by row and, in the mode asked
  (all or nothing, the valid rows only, or check only), written through
  grades/entry.py in the request's one transaction; the page is the per-row
  report. A file that cannot be used (unreadable, another exam's, unknown
  columns) is a 400 with the reason; nothing is written then.
- ``grades-template?exam=E…&export=xlsx|csv``: the template, which is also the
  export of what is entered (the subjects the user may read or enter).

The work is grades/transfer.py's; this module only reads the request and
renders. Both are bulk copies or imports: the password must have been checked
recently (``require_reauth``). Uploads over the size cap are refused on their
headers (413) before anything reads the body (views/importing.py ``UPLOAD_VIEWS``).
"""
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from xueji_site.grades import books, codes, entry, transfer
from xueji_site.kernel import audit, permissions as P, spreadsheets
from xueji_site.kernel.i18n import _
from xueji_site.tree.nodes import Bureau, School, SchoolClass
from .tables import download

LIMITS = spreadsheets.Limits()
MAX_SHOWN = 1000             # report rows listed on the page (errors and changes)
REASON_LENGTH = 200
MODE_LABELS = ((transfer.ALL, _("全部正确才导入（有错误的行则全部不导入）")),
               (transfer.VALID, _("只导入正确的行")),
               ("check", _("只检查，不导入")))


def _terms():
    return codes.terms_around(back=1)


def _offered(request, node):
    """The exams of this term and the last that concern ``node`` (for a school or a
    class: that some class here sits)."""
    found = []
    for term in _terms():
        for exam in books.exams_in_scope(request.site, node, term):
            if isinstance(node, Bureau) or transfer.covered_classes(exam, node):
                found.append(exam)
    return found


def _exam_asked(request, node, value):
    exam = books.get_exam(request.site, (value or "").strip()[:20])
    if exam is None or exam.id not in {e.id for e in books.exams_in_scope(request.site, node, exam.term)}:
        return None
    return exam


def _exam_rows(request, exams):
    t = request.localizer.translate
    return [{"id": e.id, "title": e.title, "term": t(codes.term_label(e.term)),
             "kind": t(codes.EXAM_KIND_LABELS.get(e.kind, e.kind)),
             "subjects": "、".join(t(entry.subject_label(e, s)) for s in e.subjects)} for e in exams]


def _page(context, request, status=200, **values):
    t = request.localizer.translate
    page = {"exams": _exam_rows(request, _offered(request, context)), "error": None, "report": None,
            "chosen": "", "mode": transfer.ALL, "reason": "", "modes": [(m, t(label)) for m, label in MODE_LABELS],
            "may_import": bool(request.has_permission(P.ENTER_GRADES, context)),
            "limit_rows": LIMITS.max_rows, "limit_mb": LIMITS.max_bytes // (1024 * 1024)}
    page.update(values)
    response = render_to_response("templates/grades_import.pt", page, request=request)
    response.status = status
    response.cache_control = "no-store"
    return response


def _may_export(request, node):
    return bool(request.has_permission(P.READ_GRADES, node) or request.has_permission(P.ENTER_GRADES, node))


@view_config(context=Bureau, name="grades-import", permission=P.VIEW, request_method="GET", require_reauth=True)
@view_config(context=School, name="grades-import", permission=P.VIEW, request_method="GET", require_reauth=True)
@view_config(context=SchoolClass, name="grades-import", permission=P.VIEW, request_method="GET",
             require_reauth=True)
def import_form(context, request):
    """The templates for those who read or enter marks here; the upload for those who enter."""
    if not _may_export(request, context):
        raise HTTPForbidden()
    return _page(context, request, chosen=request.params.get("exam", ""))


@view_config(context=Bureau, name="grades-import", permission=P.ENTER_GRADES, request_method="POST",
             require_reauth=True)
@view_config(context=School, name="grades-import", permission=P.ENTER_GRADES, request_method="POST",
             require_reauth=True)
@view_config(context=SchoolClass, name="grades-import", permission=P.ENTER_GRADES, request_method="POST",
             require_reauth=True)
def import_upload(context, request):
    t = request.localizer.translate
    mode = request.POST.get("mode", transfer.ALL)
    reason = request.POST.get("reason", "").strip()
    chosen = request.POST.get("exam", "")
    kept = {"chosen": chosen, "mode": mode, "reason": reason[:REASON_LENGTH]}
    exam = _exam_asked(request, context, chosen)
    upload = request.POST.get("file")
    if exam is None:
        return _page(context, request, 400, error=t(_("请选择考试")), **kept)
    if mode not in (transfer.ALL, transfer.VALID, "check"):
        return _page(context, request, 400, error=t(_("请选择导入方式")), **kept)
    if len(reason) > REASON_LENGTH:
        return _page(context, request, 400, error=t(_("修改原因不超过 ${n} 字", mapping={"n": REASON_LENGTH})),
                     **kept)
    if not hasattr(upload, "file"):
        return _page(context, request, 400, error=t(_("请选择要上传的文件")), **kept)
    data = upload.file.read(LIMITS.max_bytes + 1)
    try:
        table = spreadsheets.open_table(data, LIMITS)
        report = transfer.read_marks(request.site, exam, context, spreadsheets.read_rows(table), request.user,
                                     reason=reason, translate=t)
    except spreadsheets.Rejected as exc:
        return _page(context, request, 400, error=t(exc.message), **kept)
    if report.refused:
        return _page(context, request, 400, error="；".join(report.problems), **kept)
    if mode != "check":
        try:
            transfer.apply(report, mode)
        except entry.EntryError as refused:  # changed since it was read: nothing of this file is kept
            request.tm.doom()
            return _page(context, request, 409, error=t(refused.args[0]), **kept)
    shown = [r for r in report.rows if r.status != transfer.UNCHANGED][:MAX_SHOWN]
    return _page(context, request, report=report, shown=shown, exam_title=exam.title, checked=mode == "check",
                 labels={k: t(v) for k, v in transfer.STATUS_LABELS.items()}, **kept)


@view_config(context=Bureau, name="grades-template", permission=P.VIEW, request_method="GET", require_reauth=True)
@view_config(context=School, name="grades-template", permission=P.VIEW, request_method="GET", require_reauth=True)
@view_config(context=SchoolClass, name="grades-template", permission=P.VIEW, request_method="GET",
             require_reauth=True)
def template(context, request):
    """The template and export: for those who read or enter marks here (a bureau reads)."""
    if not _may_export(request, context):
        raise HTTPForbidden()
    exam = _exam_asked(request, context, request.params.get("exam"))
    if exam is None:
        raise HTTPNotFound()
    fmt = request.params.get("export", "xlsx")
    if fmt not in ("xlsx", "csv"):
        raise HTTPNotFound()
    head, rows = transfer.template(exam, context, request.localizer.translate, user=request.user)
    rows = list(rows)
    audit.log(request, "export", context, rows=len(rows) - 1, kind="grades-template", exam=exam.id, format=fmt)
    return download(rows, head, "grades-%s-%s" % (exam.id, context.__name__ or "all"), fmt)


def includeme(config):
    config.scan(__name__)
