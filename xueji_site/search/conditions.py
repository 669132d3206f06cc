"""A search's conditions as the search form and the export approvals read them:
the form's fields, cleaned (unknown codes dropped), the index conditions they
make, and the canonical string an export approval covers."""
from urllib.parse import urlencode

from xueji_site.kernel.i18n import _
from xueji_site.record.statuses import STATUS_LABELS as STATUS_TABLE
from xueji_site.search.query import is_number
from xueji_site.standards import codes

FLAG_LABELS = (
    ("left_behind", _("留守儿童")), ("migrant", _("随迁子女")), ("disabled", _("残疾")),
    ("orphan", _("孤儿")), ("only_child", _("独生子女")), ("boarding", _("住校")),
)
# Every status of the state machine: pupils who left stay findable (and countable) by status.
STATUS_LABELS = tuple(STATUS_TABLE.items())
FIELDS = ("q", "level", "grade", "gender", "ethnicity", "status", "enrolled") + tuple(f for f, _l in FLAG_LABELS)


def bounded_int(value, default, low=1, high=10**6):
    try:
        return max(low, min(high, int(value)))
    except (TypeError, ValueError):
        return default


def read_form(params):
    """The search form's values, cleaned: unknown codes are dropped."""
    form = {name: (params.get(name) or "").strip()[:40] for name in FIELDS}
    if form["level"] not in codes.LEVEL_GRADES:
        form["level"] = ""
    form["grade"] = str(bounded_int(form["grade"], "", 1, 12)) if form["grade"] else ""
    if form["gender"] not in dict(codes.GENDER):
        form["gender"] = ""
    if form["ethnicity"] not in dict(codes.ETHNICITY):
        form["ethnicity"] = ""
    if form["status"] not in STATUS_TABLE:
        form["status"] = ""
    form["enrolled"] = str(bounded_int(form["enrolled"], "", 1900, 2100)) if form["enrolled"] else ""
    for flag, _label in FLAG_LABELS:
        if form[flag] not in ("0", "1"):
            form[flag] = ""
    return form


def conditions_of(form):
    found = {k: v for k, v in form.items() if k != "q" and v}
    if "grade" in found:
        found["grade"] = int(found["grade"])
    return found


def link_query(form):
    """The form for paging, sorting and export links. The form is posted so
    that an ID number or 学籍号 never lands in a URL (or a proxy's log); a
    number matches one or two pupils, so its links may drop it."""
    return {k: v for k, v in form.items() if v and not (k == "q" and is_number(v))}


def condition_key(form):
    """A search's conditions as one canonical query string: what an export
    approval covers (a number keyword is left out, as from the links)."""
    return urlencode(sorted(link_query(form).items()))


