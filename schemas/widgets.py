"""Widgets of our own for the generated forms (templates in views/templates/deform/).

- ``PlaceWidget``: a GB/T 2260 code as a plain text input — it works without script,
  and a clerk who knows the code types it — which xueji_site/static/forms.js turns
  into a province → city → county picker with a search by name, fed by
  ``/places.json`` (same origin: the CSP allows it). The name of the code already
  entered is shown beside it by the server.
- ``SectionedFormWidget``: a form whose fields are grouped into fieldsets, as the
  record page groups them (xueji_site/record/layout.py).
- Every select of a code table is searchable: forms.js adds a filter box to long
  lists (the select stays the field that is posted).
"""
import colander
import deform
from pyramid.threadlocal import get_current_request

from xueji_site.standards import places



class PlaceWidget(deform.widget.TextInputWidget):
    template = "place_input"
    shows = "place"  # views/record_sections.py shows such a value by name
    levels = "county"  # how deep the picker goes; any level's code is accepted

    def name_of(self, cstruct):
        """The full name of the code in the input, in the page's language ('' if none)."""
        if not cstruct or cstruct is colander.null:
            return ""
        request = get_current_request()
        locale = request.locale_name if request is not None else "zh_Hans"
        return places.full_name(cstruct, locale)

    def places_url(self):
        request = get_current_request()
        return (request.application_url if request is not None else "") + "/places.json"


class SectionedFormWidget(deform.widget.FormWidget):
    """``sections``: ((key, title, field names), …); fields no section names follow, ungrouped."""

    sections = ()

    def groups(self, form):
        """[(key, title, [child fields])] in order; the first group (key None) holds the
        hidden fields and anything unplaced."""
        by_name = {child.name: child for child in form.children}
        placed = set()
        found = []
        for key, title, names in self.sections:
            children = [by_name[name] for name in names if name in by_name]
            placed.update(child.name for child in children)
            if children:
                found.append((key, title, children))
        rest = [child for child in form.children if child.name not in placed]
        hidden = [child for child in rest if child.widget.hidden]
        visible = [child for child in rest if not child.widget.hidden]
        return [(None, None, hidden)] + found + ([("more", None, visible)] if visible else [])
