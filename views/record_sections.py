"""How a pupil's record is shown: grouped as the 学籍卡 (xueji_site/record/layout.py, the one
definition the record page, the printed card and the record form share), each value as a
person reads it:

- flags read 是/否, never True/False;
- a choice left empty is empty, never the select's "— 请选择 —" prompt;
- code-table values show their label, places (GB/T 2260) their full name and the
  nationality its name (places.py, nationalities.py);
- sensitive fields stay masked for those who may not see them.

A field of the schema that no section names still shows, under 其他: nothing is
hidden by forgetting to place it here.
"""
import datetime

import deform

from xueji_site.standards import countries as nationalities, places
from xueji_site.kernel import permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.standards.idnumbers import mask_field
from xueji_site.record.layout import OTHER, SECTIONS  # the one definition of the sections
from .tables import cell

PLACE_FIELDS = frozenset(("birthplace", "native_place", "household_place"))
NATIONALITY_FIELDS = frozenset(("nationality",))
MONTH_FIELDS = frozenset(("enrolled_on",))
HIDDEN = frozenset(("csrf_token", "review_reason"))


def value_text(request, ct, schema, obj, name, value):
    """``value`` of field ``name`` of ``obj`` as shown to this request's user."""
    t = request.localizer.translate
    if name in ct.sensitive and not request.has_permission(P.VIEW_SENSITIVE, obj):
        return mask_field(name, value)
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return t(_("是") if value else _("否"))
    if name in PLACE_FIELDS or getattr(schema[name].widget, "shows", None) == "place":
        return places.display(value, request.locale_name)
    if name in NATIONALITY_FIELDS:
        return nationalities.name(value, t, request.locale_name)
    if name in MONTH_FIELDS and isinstance(value, str) and len(value) == 6 and value.isdigit():
        return "%s-%s" % (value[:4], value[4:])
    widget = schema[name].widget
    if isinstance(widget, deform.widget.SelectWidget):
        labels = {code: label for code, label in widget.values if code != ""}
        shown = labels.get(value)
        if shown is None:
            return str(value)  # a code the table no longer has: the code itself
        shown = t(shown)
        return shown[len(value) + 1:] if shown.startswith(value + " ") else shown
    if isinstance(value, float):
        return ("%.1f" % value).rstrip("0").rstrip(".")
    return cell(value, t)


def sections(request, ct, schema, obj):
    """[{"key", "title", "rows": [(label, value, field)]}] in the card's order; empty sections
    stay (the card shows every heading)."""
    t = request.localizer.translate
    fields = [node.name for node in schema.children if node.name not in HIDDEN]
    placed = {name for _key, _title, names in SECTIONS for name in names}
    found = []
    for key, title, names in SECTIONS + ((OTHER[0], OTHER[1], tuple(f for f in fields if f not in placed)),):
        rows = [(t(schema[name].title), value_text(request, ct, schema, obj, name, getattr(obj, name, None)), name)
                for name in names if name in schema]
        if rows or key != OTHER[0]:
            found.append({"key": key, "title": t(title), "rows": rows})
    return found


def printed_on():
    return datetime.date.today().isoformat()
