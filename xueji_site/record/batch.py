"""Batch modification: one field set to one value for many pupils at once.

The plan is computed, shown, and computed again when applied (never trusted
from the browser): each pupil's whole record is validated with the new value
through the record's own schema, so a batch cannot make a record invalid.
Fields that need review (the record type's review fields) become change
requests instead of changes.
"""
from dataclasses import dataclass, field

import colander

from xueji_site.kernel import catalog, content, permissions as P
from xueji_site.record import review
from xueji_site.kernel.i18n import _

# Fields it makes sense to set for many pupils at once (codes and flags of
# circumstance, not identities).
FIELDS = ("attendance_mode", "enrolment_mode", "source", "household_type", "left_behind", "only_child",
          "preschool", "migrant_child", "needs_aid", "boarding_subsidy", "bought_place", "school_bus",
          "commute_mode", "hmt_status", "political_status", "nationality", "enrolled_on", "postcode",
          review.CLASS)


@dataclass
class Row:
    student: object
    before: object
    after: object
    error: str = ""


@dataclass
class Plan:
    field: str
    value: object
    rows: list = field(default_factory=list)

    @property
    def valid(self):
        return [row for row in self.rows if not row.error]

    @property
    def invalid(self):
        return [row for row in self.rows if row.error]

    def signature(self):
        """What the plan would do, to check at apply time that nothing moved meanwhile."""
        return ",".join(sorted("%s" % row.student.docid for row in self.valid))


def students_in(request, context, class_keys=None):
    """The pupils under ``context`` (a school or class) the user may see, from the catalog."""
    site = request.site
    found = []
    classes = [context] if context.content_type == "SchoolClass" else [
        context[key] for key in (class_keys or context.keys()) if key in context]
    for klass in classes:
        total, pupils = catalog.children(site, request.user, klass, content_type="Student",
                                         sort="title", limit=10**6)
        found.extend(pupils)
    return found


def plan(request, students, field_name, value):
    """Validate ``field_name`` = ``value`` on each pupil's whole record."""
    ct = content.get("Student")
    result = Plan(field_name, value)
    translate = request.localizer.translate
    for student in students:
        if not request.has_permission(P.EDIT, student):
            continue
        if field_name == review.CLASS:
            if student.__parent__.__name__ != value:
                result.rows.append(Row(student, student.__parent__.__name__, value))
            continue
        before = getattr(student, field_name, None)
        if before == value:
            continue
        schema = ct.schema(request, student, False).bind(request=request, context=student, adding=False)
        values = {node.name: getattr(student, node.name, None) for node in schema.children
                  if node.name != "csrf_token"}
        values[field_name] = value
        row = Row(student, before, value)
        try:
            schema.deserialize(schema.serialize({k: v for k, v in values.items() if v not in (None, "")}))
        except colander.Invalid as exc:
            row.error = "; ".join(translate(msg) for msg in _field_messages(exc))
        result.rows.append(row)
    return result


def _field_messages(exc):
    """The messages of the fields at fault (not the form's "please correct" banner)."""
    return [msg for child in exc.children for msg in child.messages()] or exc.messages()


def apply(request, result):
    """Apply the valid rows: direct change, or a change request for review fields."""
    ct = content.get("Student")
    changed, proposed, refused = 0, 0, 0
    for row in result.valid:
        if result.field in ct.review_fields or result.field == review.CLASS:
            try:
                review.propose(row.student, {result.field: result.value}, request.user, _("批量修改"))
                proposed += 1
            except review.ReviewError:
                refused += 1
        elif content.modify(row.student, {result.field: result.value}, note="batch"):
            changed += 1
    return changed, proposed, refused
