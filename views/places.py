"""``/places.json``: the GB/T 2260 divisions in use, for the place picker (static/forms.js).

Public reference data, but served to logged-in users only (every form that uses it
is behind the login): [[code, name], …] by code, names in the page's language. The
list changes only with a new release, so browsers keep it for a day and revalidate
with its ETag.
"""
import hashlib
import json

from pyramid.response import Response
from pyramid.view import view_config

from xueji_site.kernel import permissions as P
from xueji_site.standards import places
from xueji_site.kernel.nodes import Site

_BODIES = {}


def _body(locale):
    if locale not in _BODIES:
        data = json.dumps(places.picker_entries(locale), ensure_ascii=False, separators=(",", ":")).encode()
        _BODIES[locale] = (data, hashlib.sha256(data).hexdigest()[:32])
    return _BODIES[locale]


@view_config(context=Site, name="places.json", permission=P.ACCOUNT, request_method="GET")
def places_json(context, request):
    body, etag = _body(request.locale_name)
    if etag in request.if_none_match:
        response = Response(status=304)
        del response.content_type
    else:
        response = Response(body=body, content_type="application/json", charset="utf-8")
    response.etag = etag
    response.cache_control = "private, max-age=86400"
    response.vary = ("Cookie", "Accept-Language")
    return response
