"""A pupil's photo: upload (re-encoded, sealed, consent for under-14s), show, remove."""
import datetime
import time

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from xueji_site.kernel import audit, history, permissions as P
from xueji_site.record import photos
from xueji_site.kernel.i18n import _
from xueji_site.record.models import Student

PHOTO_ERRORS = {
    "too-large": _("照片文件不能超过 5 MB"),
    "not-an-image": _("只接受 JPEG 或 PNG 照片"),
    "too-many-pixels": _("照片像素过多（上限 2500 万像素）"),
}


@view_config(context=Student, name="photo", permission=P.VIEW_RECORD)
def photo(context, request):
    if not context.has_photo:
        raise HTTPNotFound()
    response = Response(body=context.photo(), content_type="image/jpeg")
    response.cache_control = "no-store"
    response.content_disposition = "inline"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@view_config(context=Student, name="photo-upload", permission=P.EDIT, renderer="templates/photo.pt")
def photo_upload(context, request):
    t = request.localizer.translate
    today = datetime.date.today()
    page = {"needs_consent": photos.needs_consent(context, today), "error": None}
    if request.method != "POST":
        return page
    if "remove" in request.POST:
        context.set_photo(None)
        history.record(context, "photo-removed")
        audit.log(request, "photo-remove", context)
        request.session.flash(t(_("照片已删除")))
        return HTTPSeeOther(request.resource_url(context))
    upload = request.POST.get("photo")
    if not hasattr(upload, "file"):
        page["error"] = t(_("请选择照片文件"))
        return page
    if page["needs_consent"] and request.POST.get("consent") != "1":
        page["error"] = t(_("学生未满14周岁，须确认已取得监护人同意"))
        return page
    try:
        jpeg = photos.prepare(upload.file.read(photos.MAX_BYTES + 1))
    except photos.PhotoError as exc:
        page["error"] = t(PHOTO_ERRORS[exc.args[0]])
        audit.log(request, "photo-upload", context, result=audit.FAILED, reason=exc.args[0])
        return page
    consent = (request.user.userid, request.user.login, time.time()) if page["needs_consent"] else None
    context.set_photo(jpeg, consent)
    history.record(context, "photo-changed", note=_consent_note(consent))
    audit.log(request, "photo-upload", context, bytes=len(jpeg), consent="yes" if consent else "n/a")
    request.session.flash(t(_("照片已保存")))
    return HTTPSeeOther(request.resource_url(context))


def _consent_note(consent):
    return "guardian consent recorded by %s" % consent[1] if consent else ""
