"""Public certificate verification (security.md H1): a form and a JSON endpoint.

Anyone may ask; nobody learns more than the answer: a wrong name, an unknown
number, an expired code and a malformed number all get the same bytes. Each
address may ask ``xueji.verify_rate`` times (default 100/minute, a sliding
window in process memory, per app server: xueji_site/ratelimit.py) and then gets 429 with
Retry-After. After ``xueji.verify_captcha_after`` look-ups in an hour (default
10; 0 turns it off) each further look-up from the address needs a picture
challenge answered (xueji_site/captchas.py): people checking a few
certificates never see one, a script walking through numbers meets one per
guess. Every look-up, refused ones included, is audited (number masked) —
through ``lookup_audit``, which writes them in batches off the request path
so that a look-up stays a read-only request. The JSON endpoint is a GET: it
changes nothing but the audit log, so it needs no CSRF token; the HTML form
posts with one (or is opened by a holder's QR code as a GET with the code).
"""
import json

from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from xueji_site.kernel import audit, captchas, lookup_audit
from xueji_site.graduates import certificates, verification
from xueji_site.grades import codes as grade_codes
from xueji_site.status import changes as workflow
from xueji_site.kernel.i18n import _
from xueji_site.kernel import ratelimit
from xueji_site.kernel.ratelimit import AddressLimiter
from xueji_site.kernel.nodes import Site
from xueji_site.kernel import settings

CAPTCHA_AFTER = 10  # look-ups per address per hour before a picture challenge


def wait_seconds(request):
    """0 when this address may ask now (the ask is counted), else seconds to wait."""
    limiter = ratelimit.of_registry(request.registry, "xueji.verify_rate")
    return limiter.hit(request.client_addr or "unknown")


def _masked(number):
    number = number[:21]
    return number[:14] + "*" * max(0, len(number) - 14)


def _captcha_counter(registry):
    """Look-ups per address in the last hour, for the picture challenge; None when off."""
    found = getattr(registry, "xueji_captcha_counter", None)
    if found is None:
        after = settings.value(registry, "xueji.verify_captcha_after")
        found = registry.xueji_captcha_counter = AddressLimiter(after, 3600) if after > 0 else False
    return found or None


def _used_nonces(registry):
    found = getattr(registry, "xueji_captcha_used", None)
    if found is None:
        found = registry.xueji_captcha_used = captchas.UsedNonces()
    return found


def _passes_captcha(request, params, address):
    """True when this address may ask without a picture (the ask is counted), or has just
    answered one (an address over the limit stays there until its window slides on)."""
    counter = _captcha_counter(request.registry)
    if counter is None or not counter.hit(address):
        return True
    return captchas.check(params.get("captcha_token", "")[:512], params.get("captcha_answer", "")[:32],
                          _used_nonces(request.registry))


def ask(request, params, via):
    """Rate-limit, challenge, look up, audit.

    Returns (answer, refusal): refusal is None, ``("throttled", seconds)`` or
    ``("captcha", None)`` (a picture challenge must be answered first)."""
    number = certificates.normalise(params.get("number", "")[:64])
    code = params.get("code", "")[:64]
    wait = wait_seconds(request)
    detail = {"certificate": _masked(number), "via": via, "by": "code" if code else "name"}
    entries = lookup_audit.buffer_for(request.registry)
    address = request.client_addr or ""
    if wait:
        entries.add(address, "verify", audit.DENIED, dict(detail, reason="throttled"))
        return None, ("throttled", wait)
    if not _passes_captcha(request, params, address or "unknown"):
        entries.add(address, "verify", audit.DENIED, dict(detail, reason="captcha"))
        return None, ("captcha", None)
    problems = []
    answer = verification.look_up(request.root, number, name=params.get("name", "")[:64], code=code,
                                  problems=problems)
    if problems:  # the index entry was changed in storage: the answer is INVALID, the log says why
        detail = dict(detail, problem=",".join(problems))
    entries.add(address, "verify", audit.OK if answer["valid"] else audit.FAILED, detail)
    return answer, None


def transcript_shown(request, answer):
    """A verification answer's transcript (through a holder's code) as rows to read."""
    t = request.localizer.translate
    return [(t(grade_codes.term_label(r["term"])), t(grade_codes.SUBJECT_LABELS.get(r["subject"], r["subject"])),
             t(grade_codes.LEVEL_LABELS[r["level"]]) if r["level"] in grade_codes.LEVEL_LABELS else "")
            for r in answer.get("transcript", ())]


def _shown(request, answer):
    """The answer with the outcome in words, for people."""
    if not answer["valid"]:
        return answer
    t = request.localizer.translate
    return dict(answer, outcome_label=t(workflow.STATUS_LABELS[answer["outcome"]]),
                certificate_shown=certificates.shown(answer["certificate"]),
                transcript_rows=transcript_shown(request, answer))


def _throttled(response, wait):
    response.status = 429
    response.headers["Retry-After"] = str(wait)
    response.cache_control = "no-store"


def _challenge(request):
    token = captchas.new_token()
    return {"token": token, "image": request.resource_url(request.root, "verify-captcha.png", query={"t": token})}


@view_config(context=Site, name="verify.json", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def verify_json(context, request):
    """``outcome`` is a code (graduated / completed / incomplete); ``outcome_label``
    its Chinese name, untranslated (no localizer on this hot path). After
    ``xueji.verify_captcha_after`` look-ups in an hour an address gets 403
    ``captcha-required`` with a challenge; it asks again with ``captcha_token``
    and ``captcha_answer``."""
    answer, refusal = ask(request, request.GET, "json")
    response = Response(content_type="application/json", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    if refusal and refusal[0] == "throttled":
        _throttled(response, refusal[1])
        answer = {"error": "rate-limited", "retry_after": refusal[1]}
    elif refusal:
        response.status = 403
        answer = {"error": "captcha-required", "captcha": _challenge(request)}
    elif answer["valid"]:
        answer["outcome_label"] = str(workflow.STATUS_LABELS[answer["outcome"]])
    response.body = json.dumps(answer, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return response


@view_config(context=Site, name="verify-captcha.png", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def captcha_image(context, request):
    """The picture of a challenge token (404 for a forged or expired one)."""
    answer = captchas.answer_of(request.GET.get("t", "")[:512])
    if answer is None:
        raise HTTPNotFound()
    response = Response(body=captchas.png(answer), content_type="image/png")
    response.cache_control = "no-store"
    return response


@view_config(context=Site, name="verify", permission=NO_PERMISSION_REQUIRED, renderer="templates/verify.pt")
def verify_page(context, request):
    """The form; a POST (with CSRF token) or a QR link (GET with number and code) asks."""
    page = {"answer": None, "asked": False, "error": None, "captcha": None, "values": {}}
    params = request.POST if request.method == "POST" else request.GET
    request.response.cache_control = "no-store"
    if request.method == "POST" or (params.get("number") and params.get("code")):
        answer, refusal = ask(request, params, "html")
        page["asked"] = True
        t = request.localizer.translate
        if refusal and refusal[0] == "throttled":
            _throttled(request.response, refusal[1])
            page["error"] = t(_("查询过于频繁，请${n}秒后再试", mapping={"n": refusal[1]}))
        elif refusal:
            page["captcha"] = _challenge(request)
            page["values"] = {k: params.get(k, "")[:32] for k in ("number", "name", "code")}
            page["error"] = t(_("查询次数较多，请输入图中的字符后再查验。") if not params.get("captcha_answer")
                              else _("图中字符输入有误，请重新输入。"))
        else:
            page["answer"] = _shown(request, answer)
    return page
