"""What every form schema shares: the CSRF token node, translated choices, dates."""
import colander
import deform

from xueji_site.kernel.i18n import _


@colander.deferred
def _csrf_default(node, kw):
    request = kw.get("request")
    return request.session.get_csrf_token() if request is not None else ""


class FormSchema(colander.MappingSchema):
    """Base of every form: carries the CSRF token Pyramid checks on POST."""

    csrf_token = colander.SchemaNode(
        colander.String(),
        widget=deform.widget.HiddenWidget(),
        default=_csrf_default,
        missing="",
    )


def translate_choices(request, table, blank=True):
    """A deform select's values with labels in the user's language."""
    localize = request.localizer.translate if request is not None else (lambda s: s)
    values = [(code, "%s %s" % (code, localize(label))) for code, label in table]
    return ([("", localize(_("— 请选择 —")))] if blank else []) + values


def deferred_select(table):
    @colander.deferred
    def widget(node, kw):
        return deform.widget.SelectWidget(values=translate_choices(kw.get("request"), table))
    return widget


def one_of_table(table, msg=None):
    """OneOf the table's codes; the table rides along (``validator.table``) so
    that imports and templates offer and read this very table, never one that
    merely has the same codes (户口性质 and 性别 are both 1/2)."""
    validator = colander.OneOf([code for code, _label in table],
                               msg_err=msg or _("请从列表中选择"))
    validator.table = table
    return validator


def date_widget():
    """A native ``<input type="date">`` (views/templates/deform/native_date.pt):
    no inline script (the CSP forbids it), and it posts a plain ISO date."""
    return deform.widget.TextInputWidget(template="native_date")


class Stripped(colander.String):
    """A string with surrounding white space removed (and '' treated as missing)."""

    def deserialize(self, node, cstruct):
        if isinstance(cstruct, str):
            cstruct = cstruct.strip()
            if cstruct == "":
                return colander.null
        return super().deserialize(node, cstruct)


# A person's name: Han characters and Latin letters, with the middle dot of minority
# and foreign names (·, •, .), hyphen and space between them; it starts with a
# character or letter, so nothing in it is markup or reads as a spreadsheet formula
# (= + - @), and it has at most 40 characters.
NAME_PATTERN = r"^[\u3400-\u9fffA-Za-z][\u3400-\u9fffA-Za-z·•\. \-]{0,39}$"
NAME_MESSAGE = _("姓名只能包含汉字、字母、间隔号·和空格，最多40字")


def person_name():
    """The one rule for every field holding a person's name: the pupil's name and
    former name (曾用名), the guardian's, family members', an account holder's."""
    return colander.Regex(NAME_PATTERN, NAME_MESSAGE)


def without(schema, *names):
    """``schema`` minus the named children (keys on edit forms, fields a viewer may not see)."""
    for name in names:
        if name in schema:
            del schema[name]
    return schema


# A field that means nothing without another goes with it (the ID's type with its number).
COMPANIONS = {"id_number": ("id_type",)}


def without_sensitive(schema, sensitive):
    """The same schema minus ``sensitive`` (a registration's list) and their
    companions, for editors who may not see them."""
    names = set(sensitive)
    for name in list(names):
        names.update(COMPANIONS.get(name, ()))
    return without(schema, *sorted(name for name in names if name in schema))
