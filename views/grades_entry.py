"""Entering a class's marks (issue 13, item 3).

- ``grades-entry?exam=&subject=`` on a class: the keyboard-first grid of one
  subject (static/grades-grid.js moves with arrows and Enter and spreads a
  pasted column). One POST saves the column in one transaction through
  grades/entry.py ``save``; bad cells are marked in place and nothing is saved;
  a grid someone else saved meanwhile is refused with their values beside
  yours (409), so no update is lost. A submitted (locked) column is shown read
  only, each mark with a correction request (the principal decides on the
  approval chain).
- ``grades-submit``, ``grades-unlock``: hand the column in; reopen it (office).
- ``grades-sheet?exam=`` on a class: the whole exam for staff, with totals and
  ranks in the class (staff only: grades/policy.py), exported and printed.
"""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from xueji_site.grades import analysis, books, codes, corrections, entry, marks, stats
from xueji_site.kernel import audit, chain, permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.tree.nodes import SchoolClass
from . import grades_common as common
from .tables import download


def _pupils(klass):
    """(key, name, number) of the pupils in the class now, by the pinyin of their names."""
    present = sorted(entry.class_pupils(klass).items(), key=lambda kp: (kp[1].pinyin, kp[0]))
    return [(key, p.name, i) for i, (key, p) in enumerate(present, 1)]


def _shown(sheet, subject, setup, key, t):
    if sheet is None:
        return ""
    if setup["scale"] == codes.COMMENT:
        return sheet.comment(subject, key)
    return marks.typed(sheet.value(subject, key), setup, t)


def _grid(request, klass, exam, subject, typed=None, errors=None, stale=None, reason="", status=200, kept=None):
    """The grid page. ``typed``: the cells as the user typed them; ``kept``: (version,
    loaded) the user's grid was loaded with, kept through a refused save so that a
    save made by someone else meanwhile is still caught on the next submit."""
    t = request.localizer.translate
    setup = exam.subjects[subject]
    sheet = books.sheet_of(exam, klass)
    locked = sheet is not None and sheet.locked(subject)
    rows = []
    for key, name, number in _pupils(klass):
        now = _shown(sheet, subject, setup, key, t)
        rows.append({"key": key, "name": name, "number": number,
                     "now": kept[1].get(key, now) if kept else now,
                     "value": typed.get(key, now) if typed is not None else now,
                     "error": t(errors[key]) if errors and key in errors else "",
                     "theirs": stale.get(key) if stale else None})
    codes_help = "、".join(t(label) for _c, label in codes.MARK_CODES)
    values = {"exam": exam, "subject": subject, "label": common.subject_name(request, exam, subject),
              "setup": setup, "scale": t(codes.SCALE_LABELS[setup["scale"]]), "rows": rows, "locked": locked,
              "full": marks.shown_points(setup["full"]) if setup["scale"] == codes.SCORE else "",
              "version": kept[0] if kept else sheet.version(subject) if sheet is not None else 0,
              "reason": reason,
              "codes_help": codes_help, "comment": setup["scale"] == codes.COMMENT,
              "levels": "、".join("%s %s" % (c, t(label)) for c, label in codes.LEVELS),
              "stale": bool(stale), "error_count": len(errors or {}),
              "saved_by": sheet.saved.get(subject, ("", "", 0))[1] if sheet is not None else "",
              "may_unlock": locked and not exam.locked and request.has_permission(P.MANAGE_GRADES, klass),
              "may_submit": not locked and sheet is not None and bool(
                  sheet.columns.get(subject) or sheet.comments.get(subject))}
    response = render_to_response("templates/grades_entry.pt", values, request=request)
    response.status = status
    response.cache_control = "no-store"
    return response


def _asked(request, klass):
    exam = common.exam_asked(request, klass)
    subject = common.subject_asked(request, exam)
    if not entry.may_enter(request.user, klass, exam, subject):
        request.response.status = 403
        common.require(False)
    return exam, subject


@view_config(context=SchoolClass, name="grades-entry", permission=P.ENTER_GRADES, request_method="GET")
def grid(context, request):
    exam, subject = _asked(request, context)
    return _grid(request, context, exam, subject)


@view_config(context=SchoolClass, name="grades-entry", permission=P.ENTER_GRADES, request_method="POST")
def save_grid(context, request):
    exam, subject = _asked(request, context)
    t = request.localizer.translate
    keys = [k[2:] for k in request.POST if k.startswith("m-")]
    cells = {k: request.POST.get("m-" + k, "") for k in keys}
    loaded = {k: request.POST.get("l-" + k, "") for k in keys}
    reason = request.POST.get("reason", "").strip()
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        entered, changed = entry.save(exam, context, subject, cells, request.user, base_version=version,
                                      loaded=loaded, reason=reason, registry=request.registry)
    except entry.CellErrors as bad:
        request.session.flash(t(bad.args[0]))
        return _grid(request, context, exam, subject, cells, bad.errors, reason=reason, status=400,
                     kept=(version, loaded))
    except entry.StaleGrid as stale:
        request.session.flash(t(stale.args[0]))
        return _grid(request, context, exam, subject, cells, stale=stale.cells, reason=reason, status=409)
    except entry.EntryError as refused:
        request.session.flash(t(refused.args[0]))
        return _grid(request, context, exam, subject, cells, reason=reason, status=400, kept=(version, loaded))
    request.session.flash(t(_("已保存：新录入 ${entered} 个，修改 ${changed} 个",
                              mapping={"entered": entered, "changed": changed})))
    return HTTPSeeOther(request.resource_url(context, "grades-entry", query={"exam": exam.id, "subject": subject}))


def _after(request, context, exam, subject):
    return HTTPSeeOther(request.resource_url(context, "grades-entry", query={"exam": exam.id, "subject": subject}))


@view_config(context=SchoolClass, name="grades-submit", permission=P.ENTER_GRADES, request_method="POST")
def submit(context, request):
    exam, subject = _asked(request, context)
    t = request.localizer.translate
    try:
        entry.submit(exam, context, subject, request.user)
    except entry.EntryError as refused:
        request.session.flash(t(refused.args[0]))
        return _grid(request, context, exam, subject, status=400)
    request.session.flash(t(_("已提交并锁定；此后修改须经校长审批")))
    return _after(request, context, exam, subject)


@view_config(context=SchoolClass, name="grades-unlock", permission=P.MANAGE_GRADES, request_method="POST")
def unlock(context, request):
    exam = common.exam_asked(request, context)
    subject = common.subject_asked(request, exam)
    t = request.localizer.translate
    try:
        entry.unlock(exam, context, subject, request.user, request.POST.get("reason", ""))
    except entry.EntryError as refused:
        request.session.flash(t(refused.args[0]))
        return _grid(request, context, exam, subject, status=400)
    request.session.flash(t(_("已解除锁定")))
    return _after(request, context, exam, subject)


@view_config(context=SchoolClass, name="grades-correct", permission=P.ENTER_GRADES, request_method="POST")
def correct(context, request):
    """Ask for one locked mark to be changed: the principal decides on the approval chain."""
    exam, subject = _asked(request, context)
    t = request.localizer.translate
    pupil = context.get(request.POST.get("pupil", ""))
    if pupil is None or getattr(pupil, "content_type", None) != "Student":
        request.session.flash(t(_("不是本班学生")))
        return _grid(request, context, exam, subject, status=400)
    try:
        found = corrections.request_correction(exam, context, subject, pupil, request.POST.get("mark", ""),
                                               request.POST.get("reason", ""), request.user, request.registry)
    except (entry.EntryError, chain.ChainError) as refused:
        request.session.flash(t(refused.args[0]))
        return _grid(request, context, exam, subject, status=400)
    request.session.flash(t(_("已提交成绩更正申请 ${id}，等待校长审批", mapping={"id": found.id})))
    return _after(request, context, exam, subject)


# -- the whole exam of a class (staff) -------------------------------------------------------

def sheet_table(request, klass, exam):
    """Header and rows of the class's exam: number, name, each subject as shown, total, rank."""
    t = request.localizer.translate
    sheet = books.sheet_of(exam, klass)
    subjects = list(exam.subjects)
    header = [t(_("序号")), t(_("姓名"))] + [common.subject_name(request, exam, s) for s in subjects] + \
        [t(_("总分")), t(_("班级排名"))]
    if sheet is None:
        return header, []
    ranks = analysis.class_ranks(sheet, exam.subjects)
    names = dict(zip(sheet.pupils, sheet.names))
    present = {key: number for key, _name, number in _pupils(klass)}
    rows = []
    for key in sorted(sheet.pupils, key=lambda k: (present.get(k, len(present) + 1), k)):
        values = {s: sheet.value(s, key) for s in subjects}
        shown = [_shown(sheet, s, exam.subjects[s], key, t) for s in subjects]
        total = stats.total(values, exam.subjects)
        rows.append([present.get(key, ""), names.get(key, "")] + shown + [total, ranks.get(key)])
    return header, rows


@view_config(context=SchoolClass, name="grades-sheet", permission=P.READ_GRADES)
def class_sheet(context, request):
    exam = common.exam_asked(request, context)
    header, rows = sheet_table(request, context, exam)
    fmt = request.params.get("export")
    if fmt in ("xlsx", "csv"):
        audit.log(request, "export", context, rows=len(rows), kind="grades-sheet", exam=exam.id, format=fmt)
        return download(rows, header, "grades-%s-%s" % (exam.id, context.__name__), fmt)
    audit.log(request, "grades-read", context, exam=exam.id)
    template = "templates/grades_sheet_print.pt" if request.params.get("print") else "templates/grades_sheet.pt"
    response = render_to_response(template, {
        "exam": exam, "header": header, "rows": rows, "kind": common.kind_label(request, exam),
        "term_label": request.localizer.translate(codes.term_label(exam.term))}, request=request)
    response.cache_control = "no-store"
    return response
