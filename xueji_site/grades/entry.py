"""Entering marks: one class × exam × subject at a time, whole or not at all.

``save`` is what the grid, the pupil's page, the import and the API call. It
checks, in this order, and changes nothing when a check fails: the exam has
the subject; the user may enter it (``may_enter``); it is not locked; the grid
is not stale (someone saved the column since it was loaded: the cells they
changed are returned); every pupil is in the class; every cell parses; a
change to a mark entered before has a reason. Then it writes the column in
one go, notes the sheet on each pupil, and puts every change of an earlier
mark in the pupil's history (before, after, who, when, why) and the save in
the audit log.
"""
from pyramid.threadlocal import get_current_request
from pyramid.traversal import find_root

from xueji_site.grades import assignments, books, codes, marks
from xueji_site.kernel import audit, history, security
from xueji_site.kernel import permissions as P
from xueji_site.kernel.i18n import _

COMMENT_LENGTH = 200


class EntryError(ValueError):
    """Refused as a whole: ``args[0]`` says why (a translation string)."""


class CellErrors(EntryError):
    """Some cells are not marks: ``errors`` maps pupil key -> message."""

    def __init__(self, errors):
        super().__init__(_("有 ${n} 个单元格填写有误，均未保存", mapping={"n": len(errors)}))
        self.errors = errors


class StaleGrid(EntryError):
    """The column was saved by someone else since the grid was loaded: ``cells``
    maps pupil key -> what the column holds now, for each cell that changed."""

    def __init__(self, cells, by):
        super().__init__(_("${who} 已在您打开本页后保存了此科目成绩，您的修改未保存；请核对标出的单元格后重新提交",
                           mapping={"who": by}))
        self.cells = cells


def subject_label(exam, subject):
    return codes.SUBJECT_LABELS.get(subject) or exam.subjects[subject].get("label") or subject


def may_enter(user, klass, exam, subject):
    """Whether ``user`` may enter ``subject`` of ``exam`` for ``klass``: a teacher
    assigned to it, or the school's academic office or principal."""
    if user is None or not security.permits(user, klass, P.ENTER_GRADES):
        return False
    if security.permits(user, klass, P.MANAGE_GRADES):
        return True
    return assignments.teaches(klass, exam.term, subject, user.userid)


def class_pupils(klass):
    """{key: record} of the pupils now in the class (not voided)."""
    return {key: pupil for key, pupil in klass.items()
            if getattr(pupil, "content_type", None) == "Student" and not getattr(pupil, "voided", False)}


def check_entry(exam, klass, subject, user):
    """The subject's setup in ``exam``, if ``user`` may enter it for ``klass``; EntryError if not."""
    setup = exam.subject(subject)
    if setup is None:
        raise EntryError(_("该考试没有此科目"))
    if not may_enter(user, klass, exam, subject):
        raise EntryError(_("您不是本班该科目的任课教师，不能录入此科目成绩"))
    return setup


def plain(text):
    """A translation string as the current request's reader reads it (a script: the default)."""
    request = get_current_request()
    if request is not None and hasattr(text, "interpolate"):
        return request.localizer.translate(text)
    return text.interpolate() if hasattr(text, "interpolate") else str(text)


def history_change(exam, subject, before, after):
    """One history change line of a mark: ("期中考试·数学", before, after), values as shown."""
    setup = exam.subject(subject)
    label = "%s·%s" % (plain(exam.title), plain(subject_label(exam, subject)))
    if setup["scale"] == codes.COMMENT:
        return label, before, after
    return label, plain(marks.show(before, setup)), plain(marks.show(after, setup))


def save(exam, klass, subject, cells, user, base_version=None, loaded=None, reason="", registry=None):
    """Save ``cells`` ({pupil key: typed text}) of one column. Returns (entered, changed).

    ``base_version`` and ``loaded`` ({key: text as the grid showed it}) come from a
    grid: when the column's version moved on, StaleGrid."""
    setup = check_entry(exam, klass, subject, user)
    sheet = books.sheet_of(exam, klass)
    if sheet is not None and sheet.locked(subject):
        raise EntryError(_("此科目成绩已提交锁定；修改须填写原因并经校长审批"))
    if base_version is not None and sheet is not None and sheet.version(subject) != base_version:
        raise _stale(sheet, subject, setup, loaded or {})
    pupils = class_pupils(klass)
    comment = setup["scale"] == codes.COMMENT
    parsed, errors = {}, {}
    for key, text in cells.items():
        if key not in pupils:
            errors[key] = _("不是本班学生")
            continue
        try:
            parsed[key] = _comment(text) if comment else marks.parse(text, setup)
        except marks.MarkError as exc:
            errors[key] = exc.args[0]
    if errors:
        raise CellErrors(errors)
    sheet = sheet if sheet is not None else books.sheet_of(exam, klass, create=True)
    added = sheet.add_pupils(sorted((k, p.name) for k, p in pupils.items()))
    books.remember_places(find_root(klass), sheet, added)
    changes = _comment_changes(sheet, subject, parsed) if comment else _mark_changes(sheet, subject, parsed)
    earlier = [(key, before, after) for key, before, after in changes if before not in (books.BLANK, "")]
    if earlier and not (reason or "").strip():
        raise EntryError(_("修改已录入的成绩须填写修改原因"))
    if not changes:
        return 0, 0
    if comment:
        texts = dict(sheet.comments.get(subject, {}))
        texts.update({key: after for key, _before, after in changes})
        sheet.set_comments(subject, {k: v for k, v in texts.items() if v})
        sheet.versions = dict(sheet.versions, **{subject: sheet.version(subject) + 1})
    else:
        column = sheet.column(subject)
        index = sheet.index()
        for key, _before, after in changes:
            column[index[key]] = after
        sheet.set_column(subject, column, user)
    for key, before, after in earlier:
        history.record(pupils[key], "grades", (history_change(exam, subject, before, after),), reason.strip(),
                       actor=(user.userid, user.login))
    audit.log(get_current_request(), "grades-save", klass, site=find_root(klass), actor=(user.userid, user.login),
              exam=exam.id, subject=subject, entered=len(changes) - len(earlier), changed=len(earlier),
              reason=reason.strip())
    return len(changes) - len(earlier), len(earlier)


def _comment(text):
    text = (text or "").strip()
    if len(text) > COMMENT_LENGTH:
        raise marks.MarkError(_("评语不超过 ${n} 字", mapping={"n": COMMENT_LENGTH}))
    return text


def _mark_changes(sheet, subject, parsed):
    column, index = sheet.column(subject), sheet.index()
    return [(key, column[index[key]], value) for key, value in sorted(parsed.items())
            if column[index[key]] != value]


def _comment_changes(sheet, subject, parsed):
    return [(key, sheet.comment(subject, key), text) for key, text in sorted(parsed.items())
            if sheet.comment(subject, key) != text]


def _stale(sheet, subject, setup, loaded):
    now = {}
    for key in sheet.pupils:
        if setup["scale"] == codes.COMMENT:
            text = sheet.comment(subject, key)
        else:
            text = marks.typed(sheet.value(subject, key), setup, plain)
        if key in loaded and (loaded[key] or "").strip() != text:
            now[key] = text
    by = sheet.saved.get(subject, ("", "?", 0))[1]
    return StaleGrid(now, by)


# -- submitting and locking ----------------------------------------------------------------

def submit(exam, klass, subject, user):
    """The teacher hands the column in (提交): it is locked; later changes go through
    a correction request (grades/corrections.py)."""
    check_entry(exam, klass, subject, user)
    sheet = books.sheet_of(exam, klass)
    if sheet is None or not sheet.columns.get(subject) and not sheet.comments.get(subject):
        raise EntryError(_("尚未录入成绩，不能提交"))
    if sheet.locked(subject):
        raise EntryError(_("此科目成绩已提交锁定"))
    sheet.lock(subject, user)
    audit.log(get_current_request(), "grades-submit", klass, site=find_root(klass),
              actor=(user.userid, user.login), exam=exam.id, subject=subject)


def unlock(exam, klass, subject, user, reason):
    """The academic office reopens a submitted column (with a reason), e.g. a whole
    column entered in the wrong order."""
    if not security.permits(user, klass, P.MANAGE_GRADES):
        raise EntryError(_("您无权解除锁定"))
    if not (reason or "").strip():
        raise EntryError(_("解除锁定须填写原因"))
    sheet = books.sheet_of(exam, klass)
    if sheet is None or subject not in sheet.locks:
        raise EntryError(_("此科目成绩未锁定"))
    sheet.unlock(subject)
    audit.log(get_current_request(), "grades-unlock", klass, site=find_root(klass),
              actor=(user.userid, user.login), exam=exam.id, subject=subject, reason=reason.strip())


def lock_exam(exam, user, locked=True):
    if not security.permits(user, exam.home, P.MANAGE_GRADES):
        raise EntryError(_("您无权锁定此考试"))
    exam.locked = locked
    audit.log(get_current_request(), "grades-lock-exam" if locked else "grades-unlock-exam", exam.home,
              site=find_root(exam.home), actor=(user.userid, user.login), exam=exam.id)
