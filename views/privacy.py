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
from xueji_site.kernel.registry import content_registry

VERSION = "1.1"  # 1.1: the table of fields, purposes, bases and retention; consent for optional extras
EFFECTIVE = "2026-11-29"


@view_config(context=Site, name="privacy", permission=NO_PERMISSION_REQUIRED, renderer="templates/privacy.pt",
             allow_stale_password=True, allow_without_second_factor=True)
def privacy(context, request):
    return {"version": VERSION, "effective": EFFECTIVE,
            "uses": field_uses(request.localizer.translate, request.registry)}


def field_uses(translate, registry=None):
    """(whose, fields, purpose, basis, retention) rows: every registered type's
    field inventory (kernel/inventory.py), grouped for reading."""
    groups = {}
    for ct in content_registry(registry).all():
        if not ct.inventory:
            continue
        whose = ct.inventory_title or ct.title
        titles = {node.name: node.title for node in ct.schema(None, None, True).children}
        for name, use in ct.inventory.items():
            groups.setdefault((whose, use), []).append(translate(titles[name]))
    return [(translate(whose), "、".join(fields), translate(inventory.purpose_label(use)),
             translate(inventory.BASIS_LABELS[use.basis]), translate(inventory.RETENTION_LABELS[use.retention]))
            for (whose, use), fields in groups.items()]
