"""Batch import of pupils from a spreadsheet: columns, row checks, import, report.

No HTTP here: the web view (views/importing.py), the console script
(scripts/importer.py) and the benchmark all come through this module.

The columns are derived from the student schema, so a field the schema gains
is importable without touching this file: one column per schema node (the
CSRF token and Mapping/Sequence nodes excepted), headed by the node's title.
Each row goes through the same bound colander schema as the add form, so it
gets the same messages. A row whose ID number or 学籍号 is already registered
in this school under the same name and birth date is "already here" and is
skipped; that is what makes a re-run (after a crash, or by mistake) create
nothing twice.
"""
import datetime
import re
from dataclasses import dataclass, field

import colander

from . import codes, content
from .crypto import keyring
from .i18n import _
from .idnumbers import IdError, normalise, validate_resident_id
from .spreadsheets import read_rows, text_of

TYPE_NAME = "Student"
CLASS_TITLE = _("班级")
RESULT_TITLE = _("检查结果")
NEW, EXISTS, ERROR = "new", "exists", "error"
SKIPPED_TYPES = (colander.Mapping, colander.Sequence, colander.Tuple)
TRUE_WORDS = {"是", "1", "true", "yes", "y", "√", "✓", "是的"}
FALSE_WORDS = {"否", "0", "false", "no", "n", "×", "不是"}


# -- columns -------------------------------------------------------------------

@dataclass
class Column:
    name: str
    title: object          # the msgid (Chinese), a TranslationString
    kind: str              # "code", "date", "bool", "int", "number" or "text"
    required: bool
    table: tuple = ()      # (code, label) pairs for "code" columns
    lookup: dict = field(default_factory=dict)  # accepted text → code
    description: object = None
    default: object = colander.null  # what an empty cell means (the form's pre-filled value)


def bound_schema(request, context, adding=True):
    """The student schema bound like the add form's, minus the CSRF node
    (its deferred default would start a session for scripts and API clients)."""
    schema = content.get(TYPE_NAME).schema(request, context, adding)
    if "csrf_token" in schema:
        del schema["csrf_token"]
    return schema.bind(request=request, context=context, adding=adding)


def columns(schema, translate=None):
    """The importable columns of a bound schema, in schema order."""
    found = []
    for node in schema.children:
        if node.name == "csrf_token" or isinstance(node.typ, SKIPPED_TYPES):
            continue
        found.append(_column(node, translate or (lambda s: s)))
    return found


def _column(node, translate):
    choices = _one_of(node.validator)
    required = node.missing is colander.required
    description = node.description or None
    default = _default(node)
    if choices is not None:
        table, aliases = _code_table(choices)
        return Column(node.name, node.title, "code", required, table,
                      _lookup(table, aliases, translate), description, default)
    kind = {colander.Date: "date", colander.DateTime: "date", colander.Boolean: "bool",
            colander.Integer: "int", colander.Float: "number", colander.Decimal: "number"}
    return Column(node.name, node.title, kind.get(type(node.typ), "text"), required,
                  description=description, default=default)


def _default(node):
    """The node's default as a cstruct, as the form would pre-fill it."""
    if node.default in (colander.null, colander.required, None) or isinstance(node.default, colander.deferred):
        return colander.null
    try:
        return node.serialize(node.default)
    except colander.Invalid:
        return colander.null


def _one_of(validator):
    if isinstance(validator, colander.OneOf):
        return list(validator.choices)
    for inner in getattr(validator, "validators", ()) or ():  # colander.All / Any
        found = _one_of(inner)
        if found is not None:
            return found
    return None


def _code_table(choices):
    """The codes.py table holding exactly these codes (and its _ALIASES, if any)."""
    wanted = set(choices)
    for name, value in vars(codes).items():
        if (isinstance(value, tuple) and value and all(isinstance(p, tuple) and len(p) == 2 for p in value)
                and {p[0] for p in value} == wanted):
            return value, getattr(codes, name + "_ALIASES", {})
    return tuple((c, c) for c in choices), {}


def _lookup(table, aliases, translate):
    lookup = {}
    for code, label in table:
        for text in (str(label), translate(label)):
            lookup[text] = code
            lookup["%s %s" % (code, text)] = lookup["%s-%s" % (code, text)] = code
            if text.endswith("族") and len(text) > 2:
                lookup[text[:-1]] = code  # 汉 for 汉族
        lookup[code] = code
    lookup.update(aliases)
    codes_set = {code for code, _label in table}
    if codes_set == {"0", "1"}:
        lookup.update({"是": "1", "否": "0"})
    return lookup


# -- headers -------------------------------------------------------------------

@dataclass
class Layout:
    """Which sheet column feeds which schema column (``None``: ignored)."""

    positions: list
    class_position: int
    unknown: list
    missing: list


def map_header(header, cols, translate):
    by_text = {}
    for col in cols:
        for text in (str(col.title), translate(col.title), col.name):
            by_text.setdefault(text, col)
    class_names = {str(CLASS_TITLE), translate(CLASS_TITLE), "class"}
    positions, class_position, unknown = [], None, []
    for index, cell in enumerate(header):
        text = text_of(cell).strip()
        col = by_text.get(text)
        if text in class_names and col is None:
            class_position = index
        elif col is not None and col not in positions:
            positions.append(col)
            continue
        elif text:
            unknown.append(text)
        positions.append(None)
    missing = [col for col in cols if col.required and col.default is colander.null
               and col not in positions]
    return Layout(positions, class_position, unknown, missing)


# -- cells ---------------------------------------------------------------------

DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def cstruct_of(col, raw):
    """The form-like value for ``raw``: (cstruct, error message or None)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return colander.null, None
    converter = {"code": _code_cell, "date": _date_cell, "bool": _bool_cell}.get(col.kind, _text_cell)
    return converter(col, raw)


def _text_cell(col, raw):
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return text_of(raw).strip(), None


def _code_cell(col, raw):
    text = _text_cell(col, raw)[0]
    code = col.lookup.get(text)
    if code is None and text.isdigit():
        width = max((len(c) for c, _label in col.table), default=len(text))
        code = col.lookup.get(text.zfill(width))  # Excel turned 01 into 1
    return (code if code is not None else text), None


def _date_cell(col, raw):
    if isinstance(raw, datetime.datetime):
        return raw.date().isoformat(), None
    if isinstance(raw, datetime.date):
        return raw.isoformat(), None
    if isinstance(raw, (int, float)) and 1 < raw < 100000:
        from openpyxl.utils.datetime import from_excel
        return from_excel(raw).date().isoformat(), None
    text = text_of(raw).strip()
    match = DATE_RE.match(text)
    if match:
        return "%s-%02d-%02d" % (match.group(1), int(match.group(2)), int(match.group(3))), None
    if re.match(r"^\d{8}$", text):
        return "%s-%s-%s" % (text[:4], text[4:6], text[6:]), None
    return colander.null, _("日期格式应为 YYYY-MM-DD")


def _bool_cell(col, raw):
    text = text_of(raw).strip().lower()
    if text in TRUE_WORDS:
        return "true", None
    if text in FALSE_WORDS:
        return "false", None
    return colander.null, _("请填写“是”或“否”")


# -- rows ----------------------------------------------------------------------

@dataclass
class RowResult:
    number: int            # the row number in the sheet (the header is row 1)
    status: str
    messages: list = field(default_factory=list)  # translated "标题：消息"
    appstruct: dict = None
    klass: object = None


class RowChecker:
    """Checks rows for one school: placement, cells, duplicates, the schema.

    ``request`` is a real request (web) or a request-like object built by the
    script: the schema's validators use ``request.localizer`` and look up
    existing records through ``request.context``'s catalog.
    """

    def __init__(self, request, school, class_default=None):
        self.request = request
        self.school = school
        self.class_default = class_default or ""
        self.translate = request.localizer.translate
        self.columns = columns(bound_schema(request, school), self.translate)
        self._schemas = {}
        self._seen = {}  # keyed hash → first row number carrying it
        site = school
        while getattr(site, "__parent__", None) is not None:
            site = site.__parent__
        self.site = site

    def layout(self, header):
        return map_header(header, self.columns, self.translate)

    def check(self, number, layout, cells):
        result = RowResult(number, ERROR)
        klass = self._class(layout, cells, result)
        cstruct = self._cstruct(layout, cells, result)
        result.klass = klass
        if self._already_here(cstruct, number, result):
            result.status = EXISTS
            return result
        self._validate(klass if klass is not None else self.school, cstruct, result)
        return result

    def _say(self, result, title, message):
        t = self.translate
        result.messages.append("%s：%s" % (t(title), t(message)))

    def _class(self, layout, cells, result):
        key = ""
        if layout.class_position is not None and layout.class_position < len(cells):
            key = text_of(cells[layout.class_position]).strip()
        key = key or self.class_default
        if not key:
            self._say(result, CLASS_TITLE, _("请填写班级（如 2024-03）"))
            return None
        klass = self.school.get(key)
        if getattr(klass, "content_type", None) != "SchoolClass":
            self._say(result, CLASS_TITLE, _("本校没有班级“${key}”", mapping={"key": key[:40]}))
            return None
        return klass

    def _cstruct(self, layout, cells, result):
        cstruct = {col.name: col.default for col in self.columns if col.default is not colander.null}
        for col, raw in zip(layout.positions, cells):
            if col is None:
                continue
            value, error = cstruct_of(col, raw)
            if error is not None:
                self._say(result, col.title, error)
            if value is not colander.null or col.name not in cstruct:
                cstruct[col.name] = value
        return cstruct

    def _validate(self, context, cstruct, result):
        """Through the schema bound to the row's class (the school's when the
        class is unknown, so that every other message is still given)."""
        schema = self._schemas.get(context.__name__)
        if schema is None:
            schema = self._schemas[context.__name__] = bound_schema(self.request, context)
        try:
            appstruct = schema.deserialize(cstruct)
        except colander.Invalid as exc:
            for name, message in field_errors(exc, self.translate).items():
                title = schema[name].title if name in schema else ""
                result.messages.append("%s：%s" % (self.translate(title), message) if title else message)
            return
        if not result.messages and result.klass is not None:
            result.status, result.appstruct = NEW, appstruct

    def _already_here(self, cstruct, number, result):
        """Duplicates within the file are errors; a record already in this
        school with the same name and birth date is "already here"."""
        hashes = identity_hashes(cstruct)
        for blind in hashes:
            first = self._seen.setdefault(blind, number)
            if first != number:
                self._say(result, _("证件号码"), _("与第 ${row} 行重复", mapping={"row": first}))
                return False
        for blind in hashes:
            existing = self._existing(blind)
            if existing is not None:
                return self._same_person_here(existing, cstruct)
        return False

    def _existing(self, blind):
        for docid in self.site.catalog["hashes"].applyEq(blind):
            return self.site.docmap.get(docid)
        return None

    def _same_person_here(self, existing, cstruct):
        if getattr(existing, "content_type", None) != TYPE_NAME:
            return False
        klass = getattr(existing, "__parent__", None)
        if getattr(klass, "__parent__", None) is not self.school:
            return False
        born = existing.birth_date.isoformat() if existing.birth_date else None
        return existing.name == (cstruct.get("name") or "").strip() and born == cstruct.get("birth_date")


def identity_hashes(cstruct):
    """The keyed hashes a row's ID number and 学籍号 would be stored under."""
    number = normalise(cstruct.get("id_number") or "") if isinstance(cstruct.get("id_number"), str) else ""
    registry = normalise(cstruct.get("registry_no") or "") if isinstance(cstruct.get("registry_no"), str) else ""
    resident = cstruct.get("id_type") in (codes.ID_TYPE_RESIDENT, colander.null, None, "")
    if resident and len(number) == 15:
        try:
            number = validate_resident_id(number)
        except IdError:
            pass
    if resident and len(number) == 18 and not registry:
        registry = "G" + number
    ring = keyring()
    found = []
    if number:
        found.append(ring.blind("id", number))
    if registry:
        found.append(ring.blind("registry", registry))
    return found


def field_errors(invalid, translate):
    """{field name: translated message} from a colander.Invalid, one message
    per field (colander's asdict would prefix the form-level message)."""
    errors = {}
    for child in invalid.children:
        name = child.node.name
        text = "; ".join(translate(m) for m in child.messages())
        if child.children:
            for sub, msg in field_errors(child, translate).items():
                errors["%s.%s" % (name, sub)] = msg
        errors[name] = text if text else errors.get(name, "")
    if not errors and invalid.msg:
        errors[""] = "; ".join(translate(m) for m in invalid.messages())
    return errors


# -- a whole file ----------------------------------------------------------------

@dataclass
class Summary:
    rows: int = 0
    new: int = 0
    exists: int = 0
    errors: int = 0
    created: int = 0
    unknown_columns: list = field(default_factory=list)
    missing_columns: list = field(default_factory=list)
    by_class: dict = field(default_factory=dict)  # class key → rows that would be added to it (class sizes)

    def as_detail(self):
        return {"rows": self.rows, "created": self.created, "skipped": self.exists,
                "errors": self.errors}


def process(checker, table, create=False, registry=None, report=None, after_row=None):
    """Check every row of ``table``; with ``create``, add the valid ones.

    ``report`` (a ``Report``) receives each row and its result;
    ``after_row(summary, result)`` is called after each row (progress, batch
    commits). Raises spreadsheets.Rejected for a file that cannot be read.
    """
    summary = Summary()
    rows = read_rows(table)
    header = next(rows, None) or []
    layout = checker.layout(header)
    summary.unknown_columns = layout.unknown
    summary.missing_columns = [checker.translate(c.title) for c in layout.missing]
    if report is not None:
        report.start(header)
    for number, cells in enumerate(rows, start=2):
        if all(text_of(c).strip() == "" for c in cells):
            continue
        result = checker.check(number, layout, cells)
        _count(summary, result)
        if create and result.status == NEW:
            content.create(TYPE_NAME, result.klass, result.appstruct, registry)
            summary.created += 1
        if report is not None:
            report.add(cells, result)
        if after_row is not None:
            after_row(summary, result)
    return summary


def _count(summary, result):
    summary.rows += 1
    if result.status == NEW:
        summary.new += 1
        if result.klass is not None:
            key = result.klass.__name__
            summary.by_class[key] = summary.by_class.get(key, 0) + 1
    elif result.status == EXISTS:
        summary.exists += 1
    else:
        summary.errors += 1
