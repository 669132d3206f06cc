"""Public certificate verification (security.md H1): a form and a JSON endpoint.

Anyone may ask; nobody learns more than the answer: a wrong name, an unknown
number, an expired code and a malformed number all get the same bytes. Each
address may ask ``xueji.verify_rate`` times (default 100/minute, a sliding
window in process memory, per app server: xueji_site/ratelimit.py) and then gets 429 with
Retry-After. Every look-up, refused ones included, is audited (number
masked) — through ``lookup_audit``, which writes them in batches off the
request path so that a look-up stays a read-only request. The JSON endpoint is a GET: it changes nothing but the audit log,
so it needs no CSRF token; the HTML form posts with one (or is opened by a
holder's QR code as a GET with the code).
"""
import json
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from xueji_site import audit, certificates, lookup_audit, verification, workflow
from xueji_site.i18n import _
from xueji_site.ratelimit import AddressLimiter
from xueji_site.resources import Site


def _limiter(registry):
    found = getattr(registry, "xueji_verify_limiter", None)
    if found is None:
        found = registry.xueji_verify_limiter = AddressLimiter.from_setting(
            registry.settings.get("xueji.verify_rate", "100/minute"))
    return found


def wait_seconds(request):
    """0 when this address may ask now (the ask is counted), else seconds to wait."""
    return _limiter(request.registry).hit(request.client_addr or "unknown")


def _masked(number):
    number = number[:21]
    return number[:14] + "*" * max(0, len(number) - 14)


def ask(request, params, via):
    """Rate-limit, look up, audit. Returns (answer dict, seconds to wait or 0)."""
    number = certificates.normalise(params.get("number", "")[:64])
    code = params.get("code", "")[:64]
    wait = wait_seconds(request)
    detail = {"certificate": _masked(number), "via": via, "by": "code" if code else "name"}
    entries = lookup_audit.buffer_for(request.registry)
    address = request.client_addr or ""
    if wait:
        entries.add(address, "verify", audit.DENIED, dict(detail, reason="throttled"))
        return None, wait
    answer = verification.look_up(request.root, number, name=params.get("name", "")[:64], code=code)
    entries.add(address, "verify", audit.OK if answer["valid"] else audit.FAILED, detail)
    return answer, 0


def _shown(request, answer):
    """The answer with the outcome in words, for people."""
    if not answer["valid"]:
        return answer
    t = request.localizer.translate
    return dict(answer, outcome_label=t(workflow.STATUS_LABELS[answer["outcome"]]),
                certificate_shown=certificates.shown(answer["certificate"]))


def _throttled(response, wait):
    response.status = 429
    response.headers["Retry-After"] = str(wait)
    response.cache_control = "no-store"


@view_config(context=Site, name="verify.json", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def verify_json(context, request):
    """``outcome`` is a code (graduated / completed / incomplete); ``outcome_label``
    its Chinese name, untranslated (no localizer on this hot path)."""
    answer, wait = ask(request, request.GET, "json")
    response = Response(content_type="application/json", charset="utf-8")
    if wait:
        _throttled(response, wait)
        answer = {"error": "rate-limited", "retry_after": wait}
    else:
        response.headers["Cache-Control"] = "no-store"
        if answer["valid"]:
            answer["outcome_label"] = str(workflow.STATUS_LABELS[answer["outcome"]])
    response.body = json.dumps(answer, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return response


@view_config(context=Site, name="verify", permission=NO_PERMISSION_REQUIRED, renderer="templates/verify.pt")
def verify_page(context, request):
    """The form; a POST (with CSRF token) or a QR link (GET with number and code) asks."""
    page = {"answer": None, "asked": False, "error": None}
    params = request.POST if request.method == "POST" else request.GET
    request.response.cache_control = "no-store"
    if request.method == "POST" or (params.get("number") and params.get("code")):
        answer, wait = ask(request, params, "html")
        page["asked"] = True
        if wait:
            _throttled(request.response, wait)
            t = request.localizer.translate
            page["error"] = t(_("查询过于频繁，请${n}秒后再试", mapping={"n": wait}))
        else:
            page["answer"] = _shown(request, answer)
    return page
