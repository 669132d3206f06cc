"""The JSON API, ``/api/v1/<tree path>``: the same schemas, permissions,
masking and audit as the HTML pages, answered in JSON only.

- ``GET  …/<class>/students?offset=&limit=``  a class's pupils (catalog, scoped)
- ``POST …/<class>/students``                 create a pupil (201)
- ``GET  …/<class>/<record>``                 the full record (audited as view-record)
- ``PATCH …/<class>/<record>``                change fields; key fields go to review

Clients authenticate with ``Authorization: Bearer <token>`` (views/tokens.py);
such requests are exempt from CSRF because the cookie is then not consulted.
Validation errors are ``{"errors": {"field": "message"}}`` with status 422
(400 for a body that is not a JSON object), in the language Accept-Language
asks for. 401 without a valid token, 403 outside the user's scope, 404 for
what does not exist.
"""
import datetime
import logging
import secrets

import colander
from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPException
from pyramid.traversal import resource_path
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config, view_config

from xueji_site.kernel import audit, catalog, content, permissions as P
from xueji_site.imports import importing
from xueji_site.kernel.i18n import _
from xueji_site.kernel.masking import mask_field
from xueji_site.tree.nodes import SchoolClass
from xueji_site.record.models import Student
from .approvals import threshold
from xueji_site.record import review
from .errors import logged_path
from xueji_site import root_factory
from xueji_site.kernel import settings

log = logging.getLogger(__name__)
ROUTE = "api"
MAX_PAGE = 200
SCALARS = (str, int, float, bool, type(None))


class ApiError(Exception):
    def __init__(self, status, errors):
        super().__init__(status)
        self.status, self.errors = status, errors


def _t(request, message):
    return request.localizer.translate(message)


def _json_value(value):
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value if isinstance(value, SCALARS) else str(value)


def _schema(request, context, adding):
    """The bound schema; fields this user may not see are left out on edit."""
    ct = content.get(importing.TYPE_NAME)
    schema = importing.bound_schema(request, context, adding)
    if not adding and ct.sensitive and not request.has_permission(P.VIEW_SENSITIVE, context):
        for name in ct.sensitive:
            if name in schema:
                del schema[name]
    return schema


def _record(request, student):
    ct = content.type_of(student)
    schema = importing.bound_schema(request, student, adding=False)
    unmasked = request.has_permission(P.VIEW_SENSITIVE, student)
    fields = {}
    for node in schema.children:
        value = getattr(student, node.name, None)
        if node.name in ct.sensitive and not unmasked:
            value = mask_field(node.name, value)
        fields[node.name] = _json_value(value)
    klass = student.__parent__
    return {"id": student.__name__, "url": _api_url(student), "class": klass.__name__,
            "school": klass.__parent__.__name__, "fields": fields}


def _api_url(obj):
    return "/api/v1" + resource_path(obj)


def _body(request):
    try:
        body = request.json_body
    except ValueError:
        raise ApiError(400, {"": _t(request, _("请求体应为 JSON 对象"))})
    if not isinstance(body, dict):
        raise ApiError(400, {"": _t(request, _("请求体应为 JSON 对象"))})
    return body


def _cstruct(request, schema, body, base):
    """``body`` laid over ``base`` as form-like strings; unknown fields are errors."""
    cstruct, errors = dict(base), {}
    for name, value in body.items():
        if name not in schema or name == "csrf_token":
            errors[str(name)[:60]] = _t(request, _("未知字段或无权修改的字段"))
        elif not isinstance(value, SCALARS):
            errors[name] = _t(request, _("字段值应为字符串、数字或布尔值"))
        elif value is None or value == "":
            cstruct[name] = colander.null
        elif isinstance(value, bool):
            cstruct[name] = "true" if value else "false"
        else:
            cstruct[name] = str(value)
    if errors:
        raise ApiError(422, errors)
    return cstruct


def _deserialize(request, schema, cstruct):
    try:
        return schema.deserialize(cstruct)
    except colander.Invalid as exc:
        raise ApiError(422, importing.field_errors(exc, request.localizer.translate))


# -- views ----------------------------------------------------------------------------

@view_config(route_name=ROUTE, context=SchoolClass, name="students", request_method="GET",
             permission=P.VIEW, renderer="json")
def list_students(context, request):
    """A class's pupils, a page at a time. A class larger than an unapproved
    export (``xueji.export_approval_rows``, G3) is not handed out here: paging
    through it would be the bulk copy that the web export asks approval for."""
    offset = _int(request.params.get("offset"), 0, 0, 10**7)
    limit = _int(request.params.get("limit"), 50, 1, MAX_PAGE)
    total, found = catalog.children(request.site, request.user, context, content_type="Student",
                                    sort="name", offset=offset, limit=limit)
    most = threshold(request)
    if total > most:
        audit.log(request, "export", context, result=audit.DENIED, rows=total, type="Student", via="api",
                  reason="needs-approval")
        request.response.status = 403  # returned, not raised: the denial's audit entry must commit
        return {"errors": {"": _t(request, _("该班级超过 ${limit} 人：批量读取须在网页上申请导出批准后导出。",
                                             mapping={"limit": most}))}}
    items = [{"id": s.__name__, "name": s.name, "gender": s.gender,
              "birth_date": _json_value(s.birth_date),
              "url": _api_url(s)}
             for s in found]
    audit.log(request, "export", context, rows=len(items), type="Student", via="api", offset=offset,
              audience="internal")
    return {"total": total, "offset": offset, "limit": limit, "items": items}


def _int(value, default, low, high):
    try:
        return max(low, min(high, int(value)))
    except (TypeError, ValueError):
        return default


@view_config(route_name=ROUTE, context=SchoolClass, name="students", request_method="POST",
             permission=P.ADD, renderer="json")
def create_student(context, request):
    schema = _schema(request, context, adding=True)
    defaults = {c.name: c.default for c in importing.columns(schema) if c.default is not colander.null}
    appstruct = _deserialize(request, schema, _cstruct(request, schema, _body(request), defaults))
    student = content.create(importing.TYPE_NAME, context, appstruct, request.registry)
    audit.log(request, "api-create", student)
    request.response.status = 201
    return _record(request, student)


@view_config(route_name=ROUTE, context=Student, name="", request_method="GET",
             permission=P.VIEW_RECORD, renderer="json")
def get_student(context, request):
    audit.log(request, "view-record", context, via="api")
    request.response.cache_control = "no-store"
    return _record(request, context)


@view_config(route_name=ROUTE, context=Student, name="", request_method="PATCH",
             permission=P.EDIT, renderer="json")
def patch_student(context, request):
    schema = _schema(request, context, adding=False)
    body = _body(request)
    reason = str(body.pop("review_reason", "") or "")[:500]
    current = {}
    for node in schema.children:
        value = getattr(context, node.name, None)
        current[node.name] = node.serialize(colander.null if value is None else value)
    appstruct = _deserialize(request, schema, _cstruct(request, schema, body, current))
    ct = content.type_of(context)
    direct, reviewed = review.split_changes(context, appstruct, getattr(ct, "review_fields", ()))
    pending = []
    if reviewed:
        try:
            review.propose(context, reviewed, request.user, reason, request.registry)
        except review.ReviewError as exc:
            raise ApiError(409, {name: _t(request, exc.args[0]) for name in reviewed})
        pending = sorted(reviewed)
    changed = sorted(content.modify(context, direct)) if direct else []
    result = _record(request, context)
    result.update(changed=changed, pending_review=pending)
    return result


# -- errors as JSON -------------------------------------------------------------------

@exception_view_config(ApiError, route_name=ROUTE, renderer="json")
def api_error(exc, request):
    request.response.status = exc.status
    return {"errors": exc.errors}


@forbidden_view_config(route_name=ROUTE, renderer="json")
def api_forbidden(request):
    if request.user is None:
        request.response.status = 401
        request.response.headers["WWW-Authenticate"] = 'Bearer realm="xueji"'
        return {"errors": {"": _t(request, _("需要有效的 API 令牌"))}}
    request.response.status = 403
    return {"errors": {"": _t(request, _("您没有访问此页面的权限。"))}}


@notfound_view_config(route_name=ROUTE, renderer="json")
def api_notfound(request):
    request.response.status = 404
    return {"errors": {"": _t(request, _("页面不存在"))}}


@exception_view_config(BadCSRFToken, route_name=ROUTE, renderer="json")
def api_bad_csrf(request):
    request.response.status = 400
    return {"errors": {"": _t(request, _("请使用 API 令牌（Authorization: Bearer）调用接口"))}}


@exception_view_config(HTTPException, route_name=ROUTE, renderer="json")
def api_http_error(exc, request):
    request.response.status = exc.status_int
    return {"errors": {"": exc.title}}


@exception_view_config(Exception, route_name=ROUTE, retryable_error=False, renderer="json")
@exception_view_config(Exception, route_name=ROUTE, last_retry_attempt=True, renderer="json")
def api_server_error(exc, request):
    if settings.value(request.registry, "xueji.reraise_errors"):
        raise exc
    incident = secrets.token_hex(6)
    log.error("incident %s: %s %s", incident, request.method, logged_path(request), exc_info=exc)
    request.response.status = 500
    return {"errors": {"": _t(request, _("服务器处理请求时出错，请稍后再试。"))}, "incident": incident}


def includeme(config):
    config.add_route(ROUTE, "/api/v1/*traverse", factory=root_factory)
    config.scan(__name__)
