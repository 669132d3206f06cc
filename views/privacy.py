"""The privacy notice (个人信息保护告知): public, linked from every page's footer.

The text lives in templates/privacy.pt and is versioned: change VERSION (and
its date) whenever the meaning of the text changes, so that a guardian or an
evaluator can tell which notice was in force when.
"""
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from xueji_site.kernel import inventory
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Site

VERSION = "1.1"  # 1.1: the table of fields, purposes, bases and retention; consent for optional extras
EFFECTIVE = "2026-11-29"


@view_config(context=Site, name="privacy", permission=NO_PERMISSION_REQUIRED, renderer="templates/privacy.pt",
             allow_stale_password=True, allow_without_second_factor=True)
def privacy(context, request):
    return {"version": VERSION, "effective": EFFECTIVE, "uses": field_uses(request.localizer.translate)}


def field_uses(translate):
    """(whose, fields, purpose, basis, retention) rows: xueji_site/inventory.py grouped for reading."""
    from xueji_site.schemas.family import family_schema
    from xueji_site.schemas.student import student_schema
    groups = {}
    for whose, table, schema in ((_("学生"), inventory.STUDENT, student_schema(None, None, True)),
                                 (_("家庭成员"), inventory.FAMILY, family_schema(None, None, True))):
        titles = {node.name: node.title for node in schema.children}
        for name, use in table.items():
            groups.setdefault((whose, use), []).append(translate(titles[name]))
    return [(translate(whose), "、".join(fields), translate(inventory.PURPOSES[use.purpose]),
             translate(inventory.BASIS_LABELS[use.basis]), translate(inventory.RETENTION_LABELS[use.retention]))
            for (whose, use), fields in groups.items()]
