"""Batch import of pupils from a spreadsheet: columns, row checks, import, report.

No HTTP here: the web view (views/importing.py), the console script
(scripts/importer.py) and the benchmark all come through this module.

The columns are derived from the student schema, so a field the schema gains
is importable without touching this file: one column per schema node (the
CSRF token and Mapping/Sequence nodes excepted), headed by the node's title.
A header may also be one of the national system's names for the column
(HEADER_ALIASES); each cell is read by its column's kind (importcells.py:
the column's own code table, places by name, months, dates) before the row
goes through the schema. Each row goes through the same bound colander schema as the add form, so it
gets the same messages. A row whose ID number or 学籍号 is already registered
in this school under the same name and birth date is "already here" and is
skipped; that is what makes a re-run (after a crash, or by mistake) create
nothing twice.
"""
import re
from dataclasses import dataclass, field

import colander

from xueji_site.standards import codes
from xueji_site.kernel import content
from xueji_site.imports import importcells
from xueji_site.kernel.crypto import keyring
from xueji_site.kernel.i18n import _
from xueji_site.standards.idnumbers import IdError, normalise, validate_resident_id
from xueji_site.kernel.spreadsheets import read_rows, text_of

TYPE_NAME = "Student"
CLASS_TITLE = _("班级")
RESULT_TITLE = _("检查结果")
NEW, EXISTS, ERROR = "new", "exists", "error"
SKIPPED_TYPES = (colander.Mapping, colander.Sequence, colander.Tuple)


# -- columns -------------------------------------------------------------------

@dataclass(eq=False)
class Column:
    name: str
    title: object          # the msgid (Chinese), a TranslationString
    kind: str              # "code", "date", "month", "place", "country", "bool", "int", "number" or "text"
    required: bool
    table: tuple = ()      # (code, label) pairs for "code" columns
    lookup: dict = field(default_factory=dict)  # key(text) → code
    description: object = None
    default: object = colander.null  # what an empty cell means (the form's pre-filled value)
    choices: str = ""      # the table as messages list it, in the reader's language
    ranges: bool = False   # a date column that may hold a validity period (…-2030.01.01, 长期)

    def label_of(self, code):
        return self._translate(codes.label(self.table, code))

    _translate = staticmethod(lambda s: s)


# Date columns that the national form fills with a period ("2010.06.01-2020.06.01").
PERIOD_COLUMNS = {"id_valid_until"}


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
    required = node.missing is colander.required
    description = node.description or None
    default = _default(node)
    table = _table(node.validator)
    if table is not None:
        col = Column(node.name, node.title, "code", required, table,
                     importcells.code_lookup(table, _aliases(table), translate), description, default,
                     importcells.choices_text(table, translate))
        col._translate = translate
        return col
    kind = _tagged_kind(node.validator) or {
        colander.Date: "date", colander.DateTime: "date", colander.Boolean: "bool",
        colander.Integer: "int", colander.Float: "number", colander.Decimal: "number",
    }.get(type(node.typ), "text")
    return Column(node.name, node.title, kind, required, description=description, default=default,
                  ranges=node.name in PERIOD_COLUMNS)


def _default(node):
    """The node's default as a cstruct, as the form would pre-fill it."""
    if node.default in (colander.null, colander.required, None) or isinstance(node.default, colander.deferred):
        return colander.null
    try:
        return node.serialize(node.default)
    except colander.Invalid:
        return colander.null


def _validators(validator):
    yield validator
    for inner in getattr(validator, "validators", ()) or ():  # colander.All / Any
        yield from _validators(inner)


def _table(validator):
    """The code table behind a OneOf: the one the schema named (``one_of_table``
    attaches it), else the bare codes. Never a codes.py table found by its set
    of codes: 性别, 户口性质 and 就读方式 are all 1/2."""
    for check in _validators(validator):
        if isinstance(check, colander.OneOf):
            return getattr(check, "table", None) or tuple((c, c) for c in check.choices)
    return None


def _tagged_kind(validator):
    for check in _validators(validator):
        kind = getattr(check, "import_kind", None)
        if kind:
            return kind
    return None


# Other written forms of table entries met in schools' files, by codes.py table name:
# the national forms' own wording (单亲留守儿童, 统一招生考试/普通入学, 家长自行接送)
# and the usual short forms. Only forms that name one entry beyond doubt.
IMPORT_ALIASES = {
    "GENDER": {"男性": "1", "女性": "2"},
    "ID_TYPE": {"身份证": "1", "二代身份证": "1"},
    "HEALTH": {"健康": "10", "良好": "10", "一般": "20", "较弱": "20", "慢性病": "30", "生理缺陷": "40"},
    "POLITICAL": {"党员": "01", "预备党员": "02", "团员": "03"},
    "DISABILITY": {"无": ""},
    "HOUSEHOLD_TYPE": {"农业": "1", "非农业": "2"},
    "ENROLMENT_MODE": {"就近": "11", "统一招生考试/普通入学": "21", "普通入学": "21", "统招": "21"},
    "LEFT_BEHIND": {"否": "0", "单亲留守儿童": "1", "双亲留守儿童": "2"},
    "COMMUTE_MODE": {"自行车": "2", "电动车": "2", "公交": "3", "家长自行接送": "5"},
}


def _aliases(table):
    """codes.NAME_ALIASES and IMPORT_ALIASES[NAME] for the codes.NAME that *is*
    this table, plus 是/否 for 0/1 tables."""
    aliases = {}
    for name, value in vars(codes).items():
        if value is table:
            aliases.update(getattr(codes, name + "_ALIASES", {}))
            aliases.update(IMPORT_ALIASES.get(name, {}))
    if {c for c, _label in table} == {"0", "1"}:
        aliases.update({"是": "1", "否": "0"})
    return aliases


# -- headers -------------------------------------------------------------------

# Other names of our columns: the national system's student-information layout
# (全国中小学生学籍信息管理系统: 身份证件类型, 身份证件号, 是否独生子女 …) and the
# usual variants. A header is compared without ★/*, spaces and a 是否 prefix.
HEADER_ALIASES = {
    "name": ("学生姓名",),
    "gender": ("学生性别",),
    "birthplace": ("出生地行政区划", "出生地代码", "出生地行政区划代码"),
    "native_place": ("籍贯行政区划",),
    "nationality": ("国籍", "国籍地区", "国籍(地区)", "国家/地区", "国别"),
    "id_type": ("身份证件类型", "身份证类型", "证件类别"),
    "id_number": ("身份证件号", "身份证件号码", "身份证号", "身份证号码", "证件号", "公民身份号码"),
    "id_valid_until": ("身份证件有效期", "证件有效期限"),
    "registry_no": ("学籍号", "学籍号码", "全国学籍号码", "学籍编号"),
    "hmt_status": ("港澳台侨外码",),
    "health": ("健康状态",),
    "inclusive": ("随班就读",),
    "household_place": ("户口所在地行政区划", "户籍所在地", "户口所在地区"),
    "household_type": ("户籍性质", "户口类别"),
    "seat_no": ("学号",),
    "enrolled_on": ("入学时间", "入学日期"),
    "current_address": ("现居住地址", "现住地址", "现居住地"),
    "mailing_address": ("通讯地址",),
    "home_address": ("家庭住址",),
    "phone": ("电话", "联系方式", "电话号码"),
    "postcode": ("邮编",),
    "email": ("电子邮箱", "邮箱", "e-mail", "email"),
    "preschool": ("学前教育",),
    "migrant_child": ("随迁子女",),
    "bought_place": ("由政府购买学位",),
    "school_bus": ("需要乘坐校车",),
    "distance_km": ("上下学距离", "上下学距离(km)"),
    "commute_mode": ("上下学交通方式",),
    "guardian_name": ("监护人",),
    "guardian_relation": ("监护人与学生关系", "与学生关系"),
    "guardian_id_number": ("监护人身份证件号", "监护人身份证号码", "监护人证件号码", "监护人身份证件号码"),
    "guardian_phone": ("监护人联系电话", "监护人手机", "监护人手机号"),
}
CLASS_ALIASES = ("班级名称", "班级编号", "班号", "class")
GRADE_TITLE = _("年级")
HEADER_SCAN = 5  # rows searched for the header (a title row may stand above it)


def header_key(text):
    """A header as compared: no ★ or *, no spaces, full-width as ASCII, lower case."""
    return re.sub(r"[★☆*＊\s]", "", importcells.normal(text)).casefold()


@dataclass
class Layout:
    """Which sheet column feeds which schema column (``None``: ignored)."""

    positions: list
    class_position: int
    unknown: list
    missing: list
    recognised: list = field(default_factory=list)  # (header as written, our title), in sheet order
    grade_position: int = None
    header_row: int = 1

    def position_of(self, name):
        for index, col in enumerate(self.positions):
            if col is not None and col.name == name:
                return index
        return None


def _header_index(cols, translate):
    by_key = {}
    for col in cols:
        for text in (str(col.title), translate(col.title), col.name) + HEADER_ALIASES.get(col.name, ()):
            by_key.setdefault(header_key(text), col)
    return by_key


def _match_header(text, by_key):
    found = header_key(text)
    for candidate in (found, re.sub(r"^是否", "", found), re.sub(r"\(.*\)$", "", found)):
        if candidate in by_key:
            return by_key[candidate]
    return None


def map_header(header, cols, translate):
    by_key = _header_index(cols, translate)
    class_names = {header_key(t) for t in (str(CLASS_TITLE), translate(CLASS_TITLE)) + CLASS_ALIASES}
    grade_names = {header_key(str(GRADE_TITLE)), header_key(translate(GRADE_TITLE)), "grade"}
    positions, unknown, recognised = [], [], []
    class_position = grade_position = None
    for index, cell in enumerate(header):
        text = text_of(cell).strip()
        col = _match_header(text, by_key) if text else None
        if col is None and header_key(text) in class_names and class_position is None:
            class_position = index
            recognised.append((text, translate(CLASS_TITLE)))
        elif col is None and header_key(text) in grade_names and grade_position is None:
            grade_position = index
            recognised.append((text, translate(GRADE_TITLE)))
        elif col is not None and col not in positions:
            positions.append(col)
            recognised.append((text, translate(col.title)))
            continue
        elif text:
            unknown.append(text)
        positions.append(None)
    missing = [col for col in cols if col.required and col.default is colander.null
               and col not in positions]
    return Layout(positions, class_position, unknown, missing, recognised, grade_position)


# -- cells ---------------------------------------------------------------------

def cstruct_of(col, raw):
    """The form-like value for ``raw``: (cstruct, error message or None)."""
    return importcells.read(col, raw)


# -- rows ----------------------------------------------------------------------

@dataclass
class RowResult:
    number: int            # the row number in the sheet (the header is row 1)
    status: str
    messages: list = field(default_factory=list)  # translated "标题：消息"
    appstruct: dict = None
    klass: object = None
    cells: dict = field(default_factory=dict)     # sheet column index → its messages (the bad cells)
    fields: set = field(default_factory=set)      # schema fields already refused cell by cell


CHINESE_NUMBERS = {n: i for i, n in enumerate("一二三四五六七八九十", start=1)}
CHINESE_NUMBERS.update({"十一": 11, "十二": 12})
CLASS_KEY_RE = re.compile(r"^(\d{4})\s*(?:级|-|/|\.|年级)\s*[(（]?(\d{1,2})[)）]?\s*班?$")
CLASS_NUMBER_RE = re.compile(r"^[(（]?(\d{1,2}|[一二三四五六七八九十]{1,2})[)）]?\s*班?$")
COHORT_RE = re.compile(r"^(\d{4})\s*级$")
GRADE_WORDS = {"七年级": 7, "八年级": 8, "九年级": 9, "初一": 7, "初二": 8, "初三": 9,
               "高一": 10, "高二": 11, "高三": 12}


def _number(text):
    return int(text) if text.isdigit() else CHINESE_NUMBERS.get(text)


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
        self._classes = None
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
        if self._already_here(cstruct, number, layout, result):
            result.status = EXISTS
            return result
        self._validate(klass if klass is not None else self.school, cstruct, layout, result)
        return result

    def _say(self, result, title, message, position=None):
        t = self.translate
        text = "%s：%s" % (t(title), t(message)) if title else t(message)
        result.messages.append(text)
        if position is not None:
            result.cells.setdefault(position, []).append(text)

    # -- which class

    def _school_classes(self):
        if self._classes is None:
            self._classes = [obj for obj in self.school.values()
                             if getattr(obj, "content_type", None) == "SchoolClass"]
        return self._classes

    def _cell(self, cells, position):
        if position is None or position >= len(cells):
            return ""
        return importcells.normal(importcells.text_of_cell(cells[position]))

    def _class(self, layout, cells, result):
        key = self._cell(cells, layout.class_position) or self.class_default
        grade = self._cell(cells, layout.grade_position)
        if not key:
            self._say(result, CLASS_TITLE, _("请填写班级（如 2024-03）"), layout.class_position)
            return None
        klass = self._find_class(key, grade)
        if klass is None:
            shown = "%s %s" % (grade, key) if grade and CLASS_NUMBER_RE.match(key) else key
            self._say(result, CLASS_TITLE, _("本校没有班级“${key}”", mapping={"key": shown[:40]}),
                      layout.class_position)
        return klass

    def _find_class(self, key, grade):
        """The class a cell names: its key (2024-03), its title (2024级3班,
        2024级(3)班) or its own name; or, beside a 年级 column (一年级,
        初一, 2024级), its number in that grade (3, 3班, (3)班, 三班)."""
        found = self.school.get(key)
        if getattr(found, "content_type", None) == "SchoolClass":
            return found
        match = CLASS_KEY_RE.match(key)
        if match:
            found = self.school.get("%04d-%02d" % (int(match.group(1)), int(match.group(2))))
            return found if getattr(found, "content_type", None) == "SchoolClass" else None
        for klass in self._school_classes():
            if klass.name and key in (klass.name, self.translate(klass.title)):
                return klass
        match = CLASS_NUMBER_RE.match(key)
        if not (match and grade):
            return None
        number = _number(match.group(1))
        cohort = COHORT_RE.match(grade)
        wanted = None if cohort else self._grade_number(grade)
        for klass in self._school_classes():
            if klass.number != number:
                continue
            if cohort and klass.cohort == int(cohort.group(1)):
                return klass
            if wanted is not None and klass.grade() == wanted:
                return klass
        return None

    def _grade_number(self, text):
        for number, label in codes.GRADE_LABELS.items():
            if text in (str(label), self.translate(label)):
                return number
        if text in GRADE_WORDS:
            return GRADE_WORDS[text]
        match = re.match(r"^(\d{1,2}|[一二三四五六七八九十]{1,2})\s*年级?$", text)
        return _number(match.group(1)) if match else None

    # -- the cells and the schema

    def _cstruct(self, layout, cells, result):
        cstruct = {col.name: col.default for col in self.columns if col.default is not colander.null}
        for position, (col, raw) in enumerate(zip(layout.positions, cells)):
            if col is None:
                continue
            value, error = cstruct_of(col, raw)
            if error is not None:
                self._say(result, col.title, error, position)
                result.fields.add(col.name)
                cstruct.pop(col.name, None)  # no default in place of a refused cell
                continue
            if value is not colander.null or col.name not in cstruct:
                cstruct[col.name] = value
        for col in self.columns:
            if col.name in result.fields:
                cstruct[col.name] = colander.null
        return cstruct

    def _validate(self, context, cstruct, layout, result):
        """Through the schema bound to the row's class (the school's when the
        class is unknown, so that every other message is still given)."""
        schema = self._schemas.get(context.__name__)
        if schema is None:
            schema = self._schemas[context.__name__] = bound_schema(self.request, context)
        try:
            appstruct = schema.deserialize(cstruct)
        except colander.Invalid as exc:
            for name, message in field_errors(exc, self.translate).items():
                top = name.split(".", 1)[0]
                if top in result.fields:
                    continue  # already said, cell by cell ("必填" would only repeat it)
                title = schema[top].title if top in schema else ""
                text = "%s：%s" % (self.translate(title), message) if title else message
                result.messages.append(text)
                position = layout.position_of(top)
                if position is not None:
                    result.cells.setdefault(position, []).append(text)
            return
        if not result.messages and result.klass is not None:
            result.status, result.appstruct = NEW, appstruct

    def _already_here(self, cstruct, number, layout, result):
        """Duplicates within the file are errors; a record already in this
        school with the same name and birth date is "already here"."""
        hashes = identity_hashes(cstruct)
        for blind in hashes:
            first = self._seen.setdefault(blind, number)
            if first != number:
                position = layout.position_of("id_number")
                if position is None:
                    position = layout.position_of("registry_no")
                self._say(result, _("证件号码"), _("与第 ${row} 行重复", mapping={"row": first}), position)
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

MAX_PROBLEMS = 500  # rows whose messages the check page lists (the report has them all)


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
    recognised_columns: list = field(default_factory=list)  # (header as written, our title)
    problems: list = field(default_factory=list)            # (row number, [messages]), the first MAX_PROBLEMS
    header_row: int = 1

    def as_detail(self):
        return {"rows": self.rows, "created": self.created, "skipped": self.exists,
                "errors": self.errors}

    @property
    def problems_cut(self):
        return self.errors > len(self.problems)


def find_header(checker, rows):
    """(row number, header, layout) of the header: the first of the top rows
    in which at least three columns are recognised (a file may open with a
    title row such as 学生信息), else the first row. ``rows`` is consumed up
    to the header."""
    seen = []
    for number, cells in enumerate(rows, start=1):
        layout = checker.layout(cells)
        if len(layout.recognised) >= 3:
            layout.header_row = number
            return number, cells, layout
        seen.append(cells)
        if number >= HEADER_SCAN:
            break
    if not seen:
        return 1, [], checker.layout([])
    # No header found: the first row is it, and the others read go back in front.
    rows.push_back(seen[1:])
    return 1, seen[0], checker.layout(seen[0])


class _Rows:
    """An iterator over rows with a way to put some back in front."""

    def __init__(self, rows):
        self._rows, self._back = rows, []

    def __iter__(self):
        return self

    def __next__(self):
        if self._back:
            return self._back.pop(0)
        return next(self._rows)

    def push_back(self, rows):
        self._back = list(rows) + self._back


def process(checker, table, create=False, registry=None, report=None, after_row=None):
    """Check every row of ``table``; with ``create``, add the valid ones.

    ``report`` (a ``Report``) receives each row and its result;
    ``after_row(summary, result)`` is called after each row (progress, batch
    commits). Raises spreadsheets.Rejected for a file that cannot be read.
    """
    summary = Summary()
    rows = _Rows(read_rows(table))
    header_row, header, layout = find_header(checker, rows)
    summary.header_row = header_row
    summary.unknown_columns = layout.unknown
    summary.recognised_columns = layout.recognised
    summary.missing_columns = [checker.translate(c.title) for c in layout.missing]
    if report is not None:
        report.start(header)
    for number, cells in enumerate(rows, start=header_row + 1):
        if all(text_of(c).strip() == "" for c in cells):
            continue
        result = checker.check(number, layout, cells)
        _count(summary, result)
        if result.status == ERROR and len(summary.problems) < MAX_PROBLEMS:
            summary.problems.append((number, list(result.messages)))
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
