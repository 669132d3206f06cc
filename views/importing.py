"""The "导入" pages of a school: template, upload and check, report, confirm.

Two steps: the upload is checked row by row and the user gets a summary and
the report (the sheet back with a result column); then a second POST imports
the valid rows or nothing. Between the two steps the upload waits in
``xueji.upload_dir`` (default var/uploads) under a random token, bound to the
user and the school in a small JSON file beside it — not in the cookie
session — and is deleted after the confirm, or after an hour.

The import runs inside the confirm request, in the request's one
transaction (≤ 20,000 rows per upload): it is all-or-nothing, and a conflict
retry (pyramid_retry) runs it again from the stored file, which is deleted
only after the commit. Size caps are enforced before the body is read.
"""
import json
import os
import re
import secrets
import time

from pyramid.events import NewRequest
from pyramid.httpexceptions import HTTPLengthRequired, HTTPNotFound, HTTPRequestEntityTooLarge, HTTPSeeOther
from pyramid.response import Response
from pyramid.traversal import resource_path
from pyramid.view import view_config

from xueji_site.kernel import audit, permissions as P, spreadsheets
from xueji_site.imports import importing
from xueji_site.kernel.i18n import _
from xueji_site.tree import class_size
from xueji_site.imports.importfiles import Report, recognised_texts, template
from xueji_site.tree.nodes import School
from xueji_site.kernel import settings as xueji_settings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
MAX_AGE = 3600
LIMITS = spreadsheets.Limits()
BODY_SLACK = 64 * 1024  # multipart overhead and the other form fields


def upload_dir(request):
    settings = request.registry.settings
    path = xueji_settings.raw(settings, "xueji.upload_dir") or os.path.join(settings.get("here", os.getcwd()), "var", "uploads")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def _paths(request, token):
    base = os.path.join(upload_dir(request), token)
    return base + ".data", base + ".json", base + ".report.xlsx"


def _sweep(directory, now):
    """Delete uploads older than MAX_AGE (abandoned between the two steps)."""
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        try:
            if now - os.path.getmtime(path) > MAX_AGE:
                os.remove(path)
        except OSError:
            pass


def _discard(request, token):
    for path in _paths(request, token):
        try:
            os.remove(path)
        except OSError:
            pass


def _store(request, school, data, report, meta):
    _sweep(upload_dir(request), time.time())
    token = secrets.token_urlsafe(24)
    data_path, meta_path, report_path = _paths(request, token)
    meta = dict(meta, user=request.user.userid, school=resource_path(school), created=time.time())
    for path, payload in ((data_path, data), (report_path, report),
                          (meta_path, json.dumps(meta).encode("utf-8"))):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
    return token


def _load_meta(request, school, token):
    """The stored upload's metadata if ``token`` is this user's, for this school, and fresh."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise HTTPNotFound()
    _data, meta_path, _report = _paths(request, token)
    try:
        with open(meta_path, encoding="utf-8") as src:
            meta = json.load(src)
    except (OSError, ValueError):
        raise HTTPNotFound()
    if (meta.get("user") != request.user.userid or meta.get("school") != resource_path(school)
            or time.time() - meta.get("created", 0) > MAX_AGE):
        raise HTTPNotFound()
    return meta


# -- the size cap, before anything reads the body ---------------------------------

UPLOAD_VIEWS = ("import", "grades-import")  # the spreadsheet uploads: rosters, an exam's marks


def refuse_large_uploads(event):
    """413 for a spreadsheet upload over the cap (411 without a length), checked
    on the headers before Pyramid's CSRF check parses the body."""
    request = event.request
    endings = tuple(end for view in UPLOAD_VIEWS for end in ("/" + view, "/@@" + view))
    if request.method != "POST" or not request.path.rstrip("/").endswith(endings):
        return
    if request.content_length is None:
        raise HTTPLengthRequired()
    if request.content_length > LIMITS.max_bytes + BODY_SLACK:
        raise HTTPRequestEntityTooLarge()


# -- pages -----------------------------------------------------------------------------

def _classes(school):
    return [(key, obj.title) for key, obj in school.items() if getattr(obj, "content_type", None) == "SchoolClass"]


def _page(context, request, **extra):
    t = request.localizer.translate
    page = {"classes": [(k, t(title)) for k, title in _classes(context)], "error": None,
            "result": None, "token": None, "limit_rows": LIMITS.max_rows, "recognised": [], "class_warnings": [],
            "limit_mb": LIMITS.max_bytes // (1024 * 1024)}
    page.update(extra)
    return page


@view_config(context=School, name="import", permission=P.ADD, request_method="GET",
             renderer="templates/import.pt", require_reauth=True)  # a bulk import (ASVS 3.7.1)
def import_form(context, request):
    return _page(context, request)


@view_config(context=School, name="import-template", permission=P.ADD, request_method="GET")
def import_template(context, request):
    checker_cols = importing.columns(importing.bound_schema(request, context), request.localizer.translate)
    return _xlsx(template(checker_cols, request.localizer.translate), "import-template.xlsx")


def _xlsx(payload, filename):
    response = Response(body=payload, content_type=XLSX)
    response.content_disposition = 'attachment; filename="%s"' % filename
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "no-store"
    return response


@view_config(context=School, name="import", permission=P.ADD, request_method="POST",
             renderer="templates/import.pt", require_reauth=True)
def import_upload(context, request):
    t = request.localizer.translate
    upload = request.POST.get("file")
    class_default = request.POST.get("class", "").strip()[:20]
    if not hasattr(upload, "file"):
        return _page(context, request, error=t(_("请选择要上传的文件")))
    data = upload.file.read(LIMITS.max_bytes + 1)
    try:
        table = spreadsheets.open_table(data, LIMITS)
        checker = importing.RowChecker(request, context, class_default)
        report = Report(t)
        summary = importing.process(checker, table, report=report)
    except spreadsheets.Rejected as exc:
        return _page(context, request, error=t(exc.message))
    filename = os.path.basename((upload.filename or "upload").replace("\\", "/"))[:100]
    token = _store(request, context, data, report.finish(summary),
                   {"class": class_default, "filename": filename})
    return _page(context, request, result=summary, token=token, filename=filename,
                 recognised=recognised_texts(summary),
                 class_warnings=class_size.import_warnings(context, summary.by_class, request.registry.settings, t))


@view_config(context=School, name="import-report", permission=P.ADD, request_method="GET")
def import_report(context, request):
    token = request.params.get("token")
    _load_meta(request, context, token)
    try:
        with open(_paths(request, token)[2], "rb") as src:
            payload = src.read()
    except OSError:
        raise HTTPNotFound()
    return _xlsx(payload, "import-report.xlsx")


@view_config(context=School, name="import-confirm", permission=P.ADD, request_method="POST")
def import_confirm(context, request):
    t = request.localizer.translate
    token = request.POST.get("token")
    meta = _load_meta(request, context, token)
    if request.POST.get("action") != "valid":
        audit.log(request, "import", context, rows=0, created=0, skipped=0, errors=0,
                  file=meta.get("filename"), result="cancelled")
        _discard(request, token)
        request.session.flash(t(_("已取消导入，未做任何修改")))
        return HTTPSeeOther(request.resource_url(context, "import"))
    with open(_paths(request, token)[0], "rb") as src:
        table = spreadsheets.open_table(src.read(), LIMITS)
    checker = importing.RowChecker(request, context, meta.get("class"))
    summary = importing.process(checker, table, create=True, registry=request.registry)
    audit.log(request, "import", context, file=meta.get("filename"), **summary.as_detail())
    request.tm.get().addAfterCommitHook(lambda ok: ok and _discard(request, token))
    request.session.flash(t(_("导入完成：新增 ${created} 名，已存在跳过 ${skipped} 名，错误 ${errors} 行",
                              mapping=summary.as_detail())))
    return HTTPSeeOther(request.resource_url(context))


def includeme(config):
    config.add_subscriber(refuse_large_uploads, NewRequest)
    config.scan(__name__)
