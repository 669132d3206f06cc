"""Security headers on every response, and no caching of pages about people."""
from pyramid.events import NewResponse

from xueji_site.kernel import settings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; object-src 'none'")


def add_headers(event):
    request, response = event.request, event.response
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if settings.value(request.registry, "xueji.secure_cookies"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    # The raw WSGI path: ``request.path`` decodes it and raises on bytes that are not UTF-8.
    is_static = request.environ.get("PATH_INFO", "").startswith(("/static/", "/static-deform/"))
    if not is_static and response.content_type == "text/html":
        response.cache_control = "no-store"  # pages may hold personal data: never cached


def includeme(config):
    config.add_subscriber(add_headers, NewResponse)
