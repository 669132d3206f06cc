"""The privacy notice (个人信息保护告知): public, linked from every page's footer.

The text lives in templates/privacy.pt and is versioned: change VERSION (and
its date) whenever the meaning of the text changes, so that a guardian or an
evaluator can tell which notice was in force when.
"""
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from xueji_site.resources import Site

VERSION = "1.0"
EFFECTIVE = "2026-11-28"


@view_config(context=Site, name="privacy", permission=NO_PERMISSION_REQUIRED, renderer="templates/privacy.pt",
             allow_stale_password=True, allow_without_second_factor=True)
def privacy(context, request):
    return {"version": VERSION, "effective": EFFECTIVE}
