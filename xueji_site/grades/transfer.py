"""A whole exam in and out of a spreadsheet: the template (which is also the
export) and reading a filled one back (issue 13, items 3 and 8). No HTTP here:
the page (views/grades_import.py), the script (scripts/grades.py) and the
benchmark come through this module.

The file: a first line naming the exam (``考试编号 | E000001 | title …``), then
the column titles, then one row per pupil of the classes the exam covers under
the node (a bureau, a school or one class). A pupil is named by their record
key (记录号: opaque, never the 学籍号, which holds the ID number); on import a
全国学籍号 column may stand in for it (looked up by its keyed hash). One column
per subject, titled with the subject's label and code, ``数学(02)``, and the
current values filled in.

``read_marks`` checks every row and gives a ``Report``: the file as a whole is
refused (another exam's file, an unknown column, no header) or each row is OK,
unchanged or in error with its messages. A cell left empty changes nothing (a
mark is cleared in the grid, not by a file with holes). ``apply`` then writes
through ``entry.save``, one class × subject at a time, so permissions, locks,
history and the audit stay in one place: all-or-nothing (one bad row and
nothing changes) or the valid rows only. It runs in the caller's transaction,
which the caller commits. A rerun of the same file changes nothing: equal
values are not changes.
"""
import re
from collections import OrderedDict
from dataclasses import dataclass, field

from pyramid.threadlocal import get_current_request
from pyramid.traversal import find_root, resource_path

from xueji_site.grades import books, codes, entry, marks
from xueji_site.kernel import audit, security
from xueji_site.kernel import permissions as P
from xueji_site.kernel.crypto import keyring
from xueji_site.kernel.i18n import _
from xueji_site.kernel.spreadsheets import FORMULA_START, text_of
from xueji_site.standards.idnumbers import normalise

EXAM_TITLE = _("考试编号")
KEY_TITLE = _("记录号")
REGISTRY_TITLE = _("全国学籍号")
SEAT_TITLE = _("班内学号")
NAME_TITLE = _("姓名")
SCHOOL_TITLE = _("学校")
CLASS_TITLE = _("班级")
REGISTRY_ALIASES = ("学籍号", "学籍号码", "全国学籍号码")  # other files' names of the column
INFO_ALIASES = ("序号", "学号", "班级名称")
HINT = _("请勿修改第一行和前五列；成绩填写分数、等级或缺考、免考、缓考、作弊；留空的单元格不作修改")

ALL, VALID = "all", "valid"   # all-or-nothing; the valid rows only
MODES = (ALL, VALID)
OK, UNCHANGED, ERROR = "ok", "unchanged", "error"
EXAM_ID_RE = re.compile(r"^E\d{6,}$")
SUBJECT_HEADER_RE = re.compile(r"^(.*?)[(（]\s*([A-Za-z0-9]{1,8})\s*[)）]$")
HEADER_SCAN = 5        # rows searched for the exam line and the header
CLASS_CACHE = 16       # classes whose pupils are kept while reading (bounded memory)
INFO = "info"          # a column read for checking only (seat number, school, class)


# -- which classes ---------------------------------------------------------------------------

def _inside(path, base):
    base = base.rstrip("/")
    return path == base or path.startswith(base + "/")


def _is(node, *types):
    return getattr(node, "content_type", None) in types


def covered_classes(exam, node):
    """The classes under ``node`` (site, bureau, school or class) that sit ``exam``, by path."""
    node_path, home_path = resource_path(node), exam.home_path
    if _inside(node_path, home_path):
        start = node
    elif _inside(home_path, node_path):
        start = exam.home
    else:
        return []
    found = [k for k in _classes_below(start) if exam.covers(k, books.class_grade(k, exam.term))]
    return sorted(found, key=resource_path)


def _classes_below(node):
    if _is(node, "SchoolClass"):
        yield node
        return
    for child in node.values():
        if _is(child, "SchoolClass"):
            yield child
        elif _is(child, "Bureau", "School"):
            yield from _classes_below(child)


def _pupils_in_order(klass):
    """(key, record) of the class's pupils, in the grid's order (pinyin of the name, key)."""
    return sorted(entry.class_pupils(klass).items(), key=lambda kp: (kp[1].pinyin, kp[0]))


def _may_read(user, klass):
    return user is None or bool(security.permits(user, klass, P.READ_GRADES))


def _may_enter(user, klass, exam, subject):
    return user is None or entry.may_enter(user, klass, exam, subject)


# -- the template ----------------------------------------------------------------------------

def _text(value, translate):
    return translate(value) if hasattr(value, "interpolate") else str(value)


def subject_header(exam, subject, translate):
    """``数学(02)``: the label to read, the code to match it back."""
    return "%s(%s)" % (_text(entry.subject_label(exam, subject), translate), subject)


def head_row(exam, translate):
    """The file's first line: what exam it is (checked on import)."""
    return [translate(EXAM_TITLE), exam.id, _text(exam.title, translate),
            translate(codes.term_label(exam.term)), translate(HINT)]


def column_titles(exam, subjects, translate):
    return [translate(t) for t in (KEY_TITLE, SEAT_TITLE, NAME_TITLE, SCHOOL_TITLE, CLASS_TITLE)] + \
        [subject_header(exam, s, translate) for s in subjects]


def cell_of(sheet, subject, setup, key, translate):
    """A cell as the template holds it: a score as a number (a numeric cell in xlsx),
    anything else as the grid shows it; "" when nothing is entered."""
    if sheet is None:
        return ""
    if setup["scale"] == codes.COMMENT:
        return sheet.comment(subject, key)
    value = sheet.value(subject, key)
    if setup["scale"] == codes.SCORE and value >= 0:
        return value // 10 if value % 10 == 0 else value / 10
    return marks.typed(value, setup, translate)


def template(exam, node, translate, user=None, after_class=None):
    """(head, rows) of ``exam`` under ``node``: ``head`` is the exam line (what a table
    writer puts first), ``rows`` an iterator of the column titles then one row per pupil,
    class by class, with the current values. With ``user``, the subjects are those they
    may read or enter somewhere here, and a cell they may neither read nor enter is
    left empty. ``after_class(klass)`` is called after each class (progress, cache)."""
    classes = covered_classes(exam, node)
    subjects = [s for s in exam.subjects
                if user is None or any(_may_read(user, k) or _may_enter(user, k, exam, s) for k in classes)]

    def rows():
        yield column_titles(exam, subjects, translate)
        for klass in classes:
            sheet = books.sheet_of(exam, klass)
            readable = _may_read(user, klass)
            shown = {s: readable or _may_enter(user, klass, exam, s) for s in subjects}
            school = _text(klass.__parent__.title, translate)
            class_title = _text(klass.title, translate)
            for key, pupil in _pupils_in_order(klass):
                yield [key, pupil.seat_no or "", pupil.name, school, class_title] + [
                    cell_of(sheet, s, exam.subjects[s], key, translate) if shown[s] else "" for s in subjects]
            if after_class is not None:
                after_class(klass)

    return head_row(exam, translate), rows()


# -- reading a file back ---------------------------------------------------------------------

@dataclass
class RowResult:
    number: int            # the row number in the sheet (the exam line is row 1)
    key: str = ""
    name: str = ""
    status: str = OK
    messages: list = field(default_factory=list)  # translated texts
    entered: int = 0       # cells that would fill an empty mark
    changed: int = 0       # cells that would change an earlier one


@dataclass
class Report:
    exam: object
    node: object
    user: object
    reason: str = ""
    problems: list = field(default_factory=list)   # the file as a whole is refused: translated texts
    rows: list = field(default_factory=list)
    subjects: list = field(default_factory=list)   # the subject columns, in the file's order
    unknown_columns: list = field(default_factory=list)
    classes: dict = field(default_factory=dict)    # class path -> class, of the rows with changes
    pending: dict = field(default_factory=dict)    # class path -> subject -> {key: (text, row number)}
    applied: bool = False
    entered: int = 0
    changed: int = 0

    @property
    def refused(self):
        return bool(self.problems)

    def count(self, status):
        return sum(1 for r in self.rows if r.status == status)

    @property
    def errors(self):
        return self.count(ERROR)

    @property
    def ok(self):
        return self.count(OK)

    @property
    def unchanged(self):
        return self.count(UNCHANGED)

    def as_detail(self):
        return {"rows": len(self.rows), "ok": self.ok, "unchanged": self.unchanged, "errors": self.errors,
                "entered": self.entered, "changed": self.changed}


def _normal(text):
    """A header or name as compared: no spaces (ASCII or full-width), no ★ or *."""
    return re.sub(r"[\s\u3000★☆*＊]", "", text or "")


def cell_text(raw):
    """A cell as text: numbers without a spurious .0, a formula guard (') taken off again."""
    text = text_of(raw).strip()
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_START:
        text = text[1:]
    return text


class _Reader:
    """Reads one file for one exam, node and user (``read_marks``)."""

    def __init__(self, site, exam, node, user, reason, translate):
        self.site, self.exam, self.node, self.user = site, exam, node, user
        self.translate = translate
        self.report = Report(exam, node, user, (reason or "").strip())
        self._index = None       # pupil key -> class
        self._pupils = OrderedDict()  # class path -> {key: record}, the last CLASS_CACHE classes
        self._rights = {}        # (class path, subject) -> may enter; (class path, None) -> may read
        self._seen = {}          # pupil key -> first row number

    def say(self, message, subject=None):
        t = self.translate
        return "%s：%s" % (t(entry.subject_label(self.exam, subject)), t(message)) if subject else t(message)

    # -- the exam line and the header

    def find_header(self, rows):
        """Consume rows up to the header; return its cells, or None when the file is refused."""
        found_id = None
        for number, cells in enumerate(rows, start=1):
            texts = [cell_text(c) for c in cells]
            if found_id is None:
                found_id = next((t for t in texts if EXAM_ID_RE.match(t)), None)
            if self._is_header(texts):
                if found_id is None:
                    self.report.problems.append(self.translate(_(
                        "文件第一行没有考试编号：请使用本系统下载的模板填写")))
                    return None, number
                if found_id != self.exam.id:
                    self.report.problems.append(self.translate(_(
                        "此文件是考试 ${found} 的成绩，不是所选考试 ${exam} 的；请核对后重新上传",
                        mapping={"found": found_id, "exam": self.exam.id})))
                    return None, number
                return texts, number
            if number >= HEADER_SCAN:
                break
        self.report.problems.append(self.translate(_("找不到表头：表头须有“记录号”或“全国学籍号”列")))
        return None, 0

    def _titles(self, *titles):
        return {_normal(s) for t in titles for s in (str(t), self.translate(t))}

    def _is_header(self, texts):
        keys = self._titles(KEY_TITLE, REGISTRY_TITLE)
        return any(_normal(t) in keys for t in texts)

    def map_header(self, texts):
        """[(kind, subject)] per column: kind "key", "registry", "name", INFO, "subject" or None."""
        t = self.translate
        fixed = [("key", self._titles(KEY_TITLE)), ("registry", self._titles(REGISTRY_TITLE, *REGISTRY_ALIASES)),
                 ("name", self._titles(NAME_TITLE)),
                 (INFO, self._titles(SEAT_TITLE, SCHOOL_TITLE, CLASS_TITLE, *INFO_ALIASES))]
        labels = {}
        for code in self.exam.subjects:
            for text in self._titles(entry.subject_label(self.exam, code)):
                labels.setdefault(text, code)
        layout, taken = [], set()
        for text in texts:
            plain = _normal(text)
            kind = next((k for k, names in fixed if plain in names), None)
            if not plain:
                layout.append((None, None))
                continue
            if kind is not None:
                if kind in taken and kind != INFO:
                    self.report.problems.append(t(_("列“${column}”出现了两次", mapping={"column": text[:40]})))
                taken.add(kind)
                layout.append((kind, None))
                continue
            match = SUBJECT_HEADER_RE.match(plain)
            subject = match.group(2) if match else labels.get(plain)
            if match and subject not in self.exam.subjects:
                self.report.problems.append(t(_("列“${column}”：本考试没有代码为 ${code} 的科目",
                                                mapping={"column": text[:40], "code": subject})))
                subject = None
            elif subject is None:
                self.report.unknown_columns.append(text[:40])
                self.report.problems.append(t(_(
                    "未识别的列“${column}”：成绩列的表头须为“科目(代码)”，如“数学(02)”；其他列请删除",
                    mapping={"column": text[:40]})))
            elif subject in self.report.subjects:
                self.report.problems.append(t(_("科目“${column}”的列出现了两次", mapping={"column": text[:40]})))
                subject = None
            if subject is not None:
                self.report.subjects.append(subject)
            layout.append(("subject" if subject else None, subject))
        if "key" not in taken and "registry" not in taken:
            self.report.problems.append(t(_("找不到表头：表头须有“记录号”或“全国学籍号”列")))
        return layout

    # -- the pupils

    def index(self):
        if self._index is None:
            self._index = {}
            for klass in covered_classes(self.exam, self.node):
                for key in klass.keys():
                    self._index[key] = klass
        return self._index

    def pupils_of(self, klass):
        path = resource_path(klass)
        found = self._pupils.get(path)
        if found is None:
            found = self._pupils[path] = entry.class_pupils(klass)
            if len(self._pupils) > CLASS_CACHE:
                self._pupils.popitem(last=False)
        else:
            self._pupils.move_to_end(path)
        return found

    def by_registry_no(self, text):
        catalog = getattr(self.site, "catalog", None)
        number = normalise(text)
        if catalog is None or "hashes" not in catalog or not number:
            return None
        for docid in catalog["hashes"].applyEq(keyring().blind("registry", number)):
            found = self.site.docmap.get(docid)
            if _is(found, "Student"):
                return found.__name__
        return None

    def may_read(self, klass, path):
        if (path, None) not in self._rights:
            self._rights[(path, None)] = _may_read(self.user, klass)
        return self._rights[(path, None)]

    def may_enter(self, klass, path, subject):
        if (path, subject) not in self._rights:
            self._rights[(path, subject)] = _may_enter(self.user, klass, self.exam, subject)
        return self._rights[(path, subject)]

    # -- a row

    def row(self, number, layout, cells):
        result = RowResult(number)
        texts = [cell_text(c) for c in cells]
        by_kind = {}
        for (kind, _subject), text in zip(layout, texts):
            if kind in ("key", "registry", "name"):
                by_kind[kind] = text
        for position, text in enumerate(texts):
            if text and (position >= len(layout) or layout[position] == (None, None)):
                result.messages.append(self.say(_("第 ${n} 列没有表头，其内容无法读入", mapping={"n": position + 1})))
                break
        key = by_kind.get("key", "")
        if not key and by_kind.get("registry"):
            key = self.by_registry_no(by_kind["registry"]) or ""
            if not key:
                result.messages.append(self.say(_("找不到全国学籍号为“${no}”的学生",
                                                  mapping={"no": by_kind["registry"][:20]})))
                return self._done(result)
        result.key, result.name = key[:40], by_kind.get("name", "")[:40]
        if not key:
            result.messages.append(self.say(_("请填写记录号（或全国学籍号）")))
            return self._done(result)
        klass = self.index().get(key)
        pupil = self.pupils_of(klass).get(key) if klass is not None else None
        if pupil is None:
            result.messages.append(self.say(_("找不到记录号为“${key}”的学生，或该生不在本考试涉及的班级中",
                                              mapping={"key": key[:40]})))
            return self._done(result)
        first = self._seen.setdefault(key, number)
        if first != number:
            result.messages.append(self.say(_("与第 ${row} 行是同一名学生", mapping={"row": first})))
            return self._done(result)
        if result.name and _normal(result.name) != _normal(pupil.name):
            result.messages.append(self.say(_("姓名“${name}”与记录不符（记录中为“${kept}”）",
                                              mapping={"name": result.name, "kept": pupil.name})))
        result.name = pupil.name
        self._cells(result, klass, key, layout, texts)
        return self._done(result)

    def _cells(self, result, klass, key, layout, texts):
        path = resource_path(klass)
        sheet = books.sheet_of(self.exam, klass)
        wanted = []
        for (kind, subject), text in zip(layout, texts):
            if kind != "subject" or not text:
                continue
            setup = self.exam.subjects[subject]
            may = self.may_enter(klass, path, subject)
            if not may and not self.may_read(klass, path):
                result.messages.append(self.say(_("您不是本班该科目的任课教师，不能录入此科目成绩"), subject))
                continue
            comment = setup["scale"] == codes.COMMENT
            try:
                value = self._comment(text) if comment else marks.parse(text, setup)
            except marks.MarkError as exc:
                result.messages.append(self.say(exc.args[0], subject))
                continue
            if sheet is None:
                before = "" if comment else books.BLANK
            else:
                before = sheet.comment(subject, key) if comment else sheet.value(subject, key)
            if value == before:
                continue
            if not may:
                result.messages.append(self.say(_("您不是本班该科目的任课教师，不能录入此科目成绩"), subject))
            elif self.exam.locked or (sheet is not None and sheet.locked(subject)):
                result.messages.append(self.say(_("此科目成绩已提交锁定；修改须填写原因并经校长审批"), subject))
            elif before not in (books.BLANK, "") and not self.report.reason:
                result.messages.append(self.say(_("修改已录入的成绩须填写修改原因"), subject))
            else:
                earlier = before not in (books.BLANK, "")
                result.changed += earlier
                result.entered += not earlier
                wanted.append((subject, text))
        if wanted:
            self.report.classes[path] = klass
            by_subject = self.report.pending.setdefault(path, {})
            for subject, text in wanted:
                by_subject.setdefault(subject, {})[key] = (text, result.number)

    @staticmethod
    def _comment(text):
        if len(text) > entry.COMMENT_LENGTH:
            raise marks.MarkError(_("评语不超过 ${n} 字", mapping={"n": entry.COMMENT_LENGTH}))
        return text

    def _done(self, result):
        if result.messages:
            result.status = ERROR
        elif not (result.entered or result.changed):
            result.status = UNCHANGED
        self.report.rows.append(result)
        return result


def _plain(text):
    return text.interpolate() if hasattr(text, "interpolate") else str(text)


def read_marks(site, exam, node, rows, user, reason="", translate=None, after_row=None):
    """Check every row of a filled template of ``exam`` under ``node`` for ``user``.

    ``rows``: the file's rows as lists of cell values (``spreadsheets.read_rows``;
    its Rejected passes through). ``reason``: why earlier marks change (required
    for such changes). Messages are texts translated with ``translate`` (default:
    the Chinese msgids). ``after_row(result)`` is called after each row. Nothing is
    written here."""
    reader = _Reader(site, exam, node, user, reason, translate or _plain)
    report = reader.report
    rows = iter(rows)
    header, header_row = reader.find_header(rows)
    if header is None:
        return report
    layout = reader.map_header(header)
    if report.problems:
        return report
    if not reader.index():
        report.problems.append(reader.translate(_("本考试在此范围内没有参考的班级")))
        return report
    for number, cells in enumerate(rows, start=header_row + 1):
        if all(cell_text(c) == "" for c in cells):
            continue
        result = reader.row(number, layout, list(cells))
        if after_row is not None:
            after_row(result)
    return report


# -- applying it -----------------------------------------------------------------------------

def apply(report, mode, after_class=None):
    """Write what ``report`` found, through ``entry.save`` per class × subject.

    ``mode``: ALL (any bad row: nothing changes) or VALID (the rows without errors).
    Returns (entered, changed). A refused file changes nothing. entry.save's own
    refusals (EntryError) pass through: the caller aborts its transaction then.
    ``after_class(klass)`` is called after each class (progress, cache)."""
    if mode not in MODES:
        raise ValueError("mode must be one of %s" % (MODES,))
    exam, user = report.exam, report.user
    if report.refused or (mode == ALL and report.errors):
        _audit(report, mode, applied=False)
        return 0, 0
    refused_rows = {r.number for r in report.rows if r.status == ERROR}
    entered = changed = 0
    for path in sorted(report.pending):
        klass = report.classes[path]
        for subject in report.subjects:
            cells = {key: text for key, (text, number) in report.pending[path].get(subject, {}).items()
                     if number not in refused_rows}
            if cells:
                new, earlier = entry.save(exam, klass, subject, cells, user, reason=report.reason)
                entered += new
                changed += earlier
        if after_class is not None:
            after_class(klass)
    report.applied, report.entered, report.changed = True, entered, changed
    _audit(report, mode, applied=True)
    return entered, changed


def _audit(report, mode, applied):
    user = report.user
    audit.log(get_current_request(), "grades-import", report.node, site=find_root(report.node),
              actor=(user.userid, user.login) if user is not None else None,
              exam=report.exam.id, mode=mode, applied=applied, reason=report.reason, **report.as_detail())


# -- the report as a table -------------------------------------------------------------------

STATUS_LABELS = {OK: _("可导入"), UNCHANGED: _("无变化"), ERROR: _("有错误")}


def report_table(report, translate):
    """(header, rows) of the per-row report: row number, key, name, result, problems."""
    header = [translate(t) for t in (_("行号"), KEY_TITLE, NAME_TITLE, _("结果"), _("问题"))]
    rows = [[r.number, r.key, r.name, translate(STATUS_LABELS[r.status]), "；".join(r.messages)]
            for r in report.rows]
    return header, rows
