"""Possible duplicates (same name, birth date and guardian): review and merge."""
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config

from xueji_site.kernel import audit, permissions as P
from xueji_site.record import duplicates
from xueji_site.kernel.i18n import _
from xueji_site.tree.nodes import Bureau, School


@view_config(context=School, name="duplicates", permission=P.EDIT, renderer="templates/duplicates.pt")
@view_config(context=Bureau, name="duplicates", permission=P.EDIT, renderer="templates/duplicates.pt")
def duplicate_groups(context, request):
    t = request.localizer.translate
    if request.method == "POST":
        return _merge(context, request)
    found = []
    for group in duplicates.groups(request.site, request.user):
        found.append([{"docid": s.docid, "name": s.name, "born": s.birth_date.isoformat(),
                       "guardian": s.guardian_name, "place": "%s %s" % (s.__parent__.__parent__.title,
                                                                       t(s.__parent__.title)),
                       "url": request.resource_url(s), "has_id": bool(s.id_hash)} for s in group])
    return {"groups": found}


def _merge(context, request):
    t = request.localizer.translate
    try:
        keep = request.site.docmap[int(request.POST["keep"])]
        drop = request.site.docmap[int(request.POST["drop"])]
    except (KeyError, ValueError):
        raise HTTPNotFound()
    if keep is drop or duplicates.disc_person(keep, None) != duplicates.disc_person(drop, None):
        request.session.flash(t(_("只能合并疑似同一人的两条记录")))
        return HTTPSeeOther(request.resource_url(context, "duplicates"))
    if not (request.has_permission(P.EDIT, keep) and request.has_permission(P.MERGE, drop)):
        raise HTTPForbidden()
    audit.log(request, "merge", keep, merged=drop.__name__)
    duplicates.merge(keep, drop)
    request.session.flash(t(_("已合并，保留记录：${name}", mapping={"name": keep.name})))
    return HTTPSeeOther(request.resource_url(keep))
