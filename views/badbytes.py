"""400 for a request carrying bytes that are not UTF-8, before anything reads it.

WSGI hands the path, the query string and the headers over as latin-1 text;
Pyramid and WebOb decode them as UTF-8 when first asked (``request.path``,
``request.GET``, traversal), which raises on ``/%ff`` or ``?q=%ff%fe``. Raised
in the middle of a view, or worse in the error view itself, that became a 500
(or waitress's bare text 500, with none of our headers). Form bodies fared
differently but no better: WebOb replaces bad bytes with U+FFFD, and the
mangled value was stored or compared as if it had been typed.

So the outermost tween (above the transaction, the retries and the exception
views) looks at every part of the request once, and answers 400 for the
first part that is not UTF-8: the path, the query string, any header (cookies
included) and the body of a form (urlencoded or multipart: its text fields,
not its files: read from the raw bytes) or of a JSON request. The page is the usual error page rendered
for a cleaned copy of the request (nothing of the bad parts is read again, and
no session is consulted), so it carries the usual security headers; JSON
endpoints (``/api/``, ``*.json``) get a JSON body. The log names the part,
never its value.
"""
import io
import json
import logging
import re
from urllib.parse import unquote_to_bytes

from pyramid.interfaces import IRequestExtensions
from pyramid.renderers import render_to_response
from pyramid.request import Request, apply_request_extensions
from pyramid.response import Response
from pyramid.tweens import INGRESS

from xueji_site.kernel.i18n import LOCALE_COOKIE, LOCALES, _

log = logging.getLogger(__name__)

# Bodies up to this size are checked here; every view refuses larger ones anyway
# (imports stop at 20 MiB, photos and scans at 5 MiB) before reading them.
BODY_CHECK_LIMIT = 24 * 1024 * 1024
TITLE = _("请求无效")
MESSAGE = _("请求中含有无法识别的字符（不是 UTF-8 编码），请检查网址或表单内容后重试。")


def _utf8(text):
    """Whether a WSGI (latin-1) string holds UTF-8 bytes."""
    try:
        text.encode("latin-1").decode("utf-8")
        return True
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False


def _utf8_bytes(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _query_ok(text):
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return _utf8_bytes(unquote_to_bytes(raw.replace(b"+", b" ")))


def _body_problem(request):
    """The part of the body that is not UTF-8 ("body"), or None."""
    environ = request.environ
    if environ.get("REQUEST_METHOD", "GET") not in ("POST", "PUT", "PATCH", "DELETE"):
        return None
    length = request.content_length
    if not length or length > BODY_CHECK_LIMIT:
        return None
    kind = (environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        return None if _utf8_bytes(unquote_to_bytes(request.body.replace(b"+", b" "))) else "body"
    if kind == "application/json" or kind.endswith("+json"):
        return None if _utf8_bytes(request.body) else "body"
    if kind == "multipart/form-data":
        return None if _multipart_text_ok(request.body, environ.get("CONTENT_TYPE", "")) else "body"
    return None


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_FILENAME = re.compile(rb"\bfilename\*?=", re.I)


def _multipart_text_ok(body, content_type):
    """Whether every part of a multipart body except its files (headers included) is UTF-8.

    Read from the raw bytes: WebOb (through ``cgi``) decodes text fields with
    replacement characters, and does so 64 KiB at a time, so a long valid
    value can come out with U+FFFD in it too; the parsed fields cannot tell."""
    found = _BOUNDARY.search(content_type)
    if found is None:
        return True  # not parseable as multipart: WebOb's problem, not a decoding one
    delimiter = b"--" + found.group(1).encode("latin-1", "replace")
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break  # the closing delimiter
        head, _sep, content = part.partition(b"\r\n\r\n")
        if not _utf8_bytes(head):
            return False
        if _FILENAME.search(head):
            continue  # a file is bytes, whatever they are
        if not _utf8_bytes(content[:-2] if content.endswith(b"\r\n") else content):
            return False
    return True


def bad_part(request):
    """Which part of the request is not UTF-8 ("path", "query", "header X", "body"), or None."""
    environ = request.environ
    if not (_utf8(environ.get("PATH_INFO", "")) and _utf8(environ.get("SCRIPT_NAME", ""))):
        return "path"
    if not _query_ok(environ.get("QUERY_STRING", "")):
        return "query"
    for key, value in environ.items():
        if key.startswith("HTTP_") and isinstance(value, str) and not _utf8(value):
            return "header " + key[5:].replace("_", "-").title()
    return _body_problem(request)


def wants_json(environ):
    """JSON endpoints answer JSON: the API, ``*.json``, or a client asking for JSON only."""
    path = environ.get("PATH_INFO", "")
    accept = environ.get("HTTP_ACCEPT", "")
    return (path.startswith("/api/") or path.rstrip("/").endswith(".json")
            or ("application/json" in accept and "text/html" not in accept))


def _clean_request(request, part):
    """A GET of ``/`` with the original's host and language only: safe to render a page for."""
    keep = ("wsgi.", "SERVER_", "REMOTE_ADDR", "HTTP_HOST", "HTTP_ACCEPT_LANGUAGE", "HTTP_X_FORWARDED_")
    environ = {k: v for k, v in request.environ.items()
               if k.startswith(keep) and (not isinstance(v, str) or _utf8(v)) and k != "wsgi.input"}
    environ.update({"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SCRIPT_NAME": "", "QUERY_STRING": "",
                    "CONTENT_LENGTH": "0", "wsgi.input": io.BytesIO(b"")})
    chosen = request.cookies.get(LOCALE_COOKIE) if part != "header Cookie" else None
    if chosen in LOCALES:
        environ["HTTP_COOKIE"] = "%s=%s" % (LOCALE_COOKIE, chosen)
    clean = Request(environ)
    clean.registry = request.registry
    extensions = request.registry.queryUtility(IRequestExtensions)
    if extensions is not None:
        apply_request_extensions(clean, extensions=extensions)
    clean.user = None  # no session is read for this page
    clean.context, clean.view_name = None, ""
    return clean


def refusal(request, part):
    clean = _clean_request(request, part)
    t = clean.localizer.translate
    if wants_json(request.environ):
        message = t(MESSAGE)
        response = Response(content_type="application/json", charset="utf-8", status=400)
        response.body = json.dumps({"error": "bad-request", "errors": {"": message}},
                                   ensure_ascii=False).encode("utf-8")
    else:
        response = render_to_response("xueji_site.views:templates/error.pt",
                                      {"status": 400, "title": t(TITLE), "message": t(MESSAGE)}, request=clean)
        response.status = 400
    response.cache_control = "no-store"
    return response


def bad_bytes_tween_factory(handler, registry):
    def bad_bytes_tween(request):
        part = bad_part(request)
        if part is None:
            return handler(request)
        log.warning("400: %s is not UTF-8 (%s from %s)", part, request.environ.get("REQUEST_METHOD"),
                    request.environ.get("REMOTE_ADDR"))
        return refusal(request, part)
    return bad_bytes_tween


def includeme(config):
    config.add_tween("xueji_site.views.badbytes.bad_bytes_tween_factory", under=INGRESS)
