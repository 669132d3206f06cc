"""A user's own API tokens: create (shown once), list, revoke. Audited."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from xueji_site.kernel import apitokens, audit, permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Site


def _rows(user):
    import datetime
    return [{"id": key, "name": entry["name"],
             "created": datetime.datetime.fromtimestamp(entry["created"]).strftime("%Y-%m-%d %H:%M")}
            for key, entry in sorted(apitokens.tokens_of(user).items(), key=lambda kv: kv[1]["created"])]


@view_config(context=Site, name="tokens", permission=P.ACCOUNT, request_method="GET",
             renderer="templates/tokens.pt")
def tokens(context, request):
    request.response.cache_control = "no-store"
    return {"rows": _rows(request.user), "new_token": None, "error": None}


@view_config(context=Site, name="tokens", permission=P.ACCOUNT, request_method="POST",
             renderer="templates/tokens.pt")
def tokens_action(context, request):
    t = request.localizer.translate
    user = request.user
    request.response.cache_control = "no-store"
    if request.POST.get("action") == "revoke":
        token_id = request.POST.get("id", "")
        if apitokens.revoke(user, token_id):
            audit.log(request, "api-token-revoke", context, token=token_id)
            request.session.flash(t(_("令牌已撤销")))
        return HTTPSeeOther(request.resource_url(context, "tokens"))
    name = request.POST.get("name", "").strip()[:60]
    if not name:
        return {"rows": _rows(user), "new_token": None, "error": t(_("请填写令牌名称"))}
    try:
        token = apitokens.create(user, name)
    except ValueError:
        return {"rows": _rows(user), "new_token": None,
                "error": t(_("令牌数量已达上限（${n} 个），请先撤销不用的令牌", mapping={"n": apitokens.MAX_TOKENS}))}
    audit.log(request, "api-token-create", context, name=name)
    return {"rows": _rows(user), "new_token": token, "error": None}
