"""The grades' home pages and exam setup (issue 13).

- ``grades`` on a bureau or school: the term's exams that concern it, with how
  much is entered; on a class: the exams it sits, subject by subject, with the
  links its teachers need (enter, submit, the class's sheet, the analysis).
- ``grades-exam-add``: set an exam here (the form comes from schemas/grades.py).
- ``grades-exam``: one exam: its subjects' setup (editable until marks exist),
  what each class has entered and submitted, locking and removing it.

Figures come from the exam's sheets (grades/analysis.py), never from pupils.
"""
import deform
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from xueji_site.grades import analysis, assignments, books, codes, entry, marks, policy
from xueji_site.kernel import audit, permissions as P, settings
from xueji_site.kernel.i18n import _
from xueji_site.schemas.grades import SubjectSetupSchema, exam_schema
from xueji_site.standards import codes as tree_codes
from xueji_site.tree.nodes import Bureau, School, SchoolClass
from . import grades_common as common


def _classes(school):
    return sorted((c for c in school.values() if getattr(c, "content_type", None) == "SchoolClass"),
                  key=lambda c: c.__name__)


def _exam_row(request, exam, node):
    """An exam as the list shows it: what it is and how much of it is entered under ``node``."""
    done = analysis.completion(exam, node)
    entered = sum(e for e, _n, _l in done.values())
    expected = sum(n for _e, n, _l in done.values())
    return {"exam": exam, "kind": common.kind_label(request, exam),
            "home": request.localizer.translate(exam.home.title),
            "grades": "、".join(str(g) for g in exam.grades),
            "subjects": "、".join(common.subject_name(request, exam, s) for s in exam.subjects),
            "entered": entered, "expected": expected, "classes": len({c for c, _s in done})}


def _page(request, template, values):
    response = render_to_response(template, values, request=request)
    response.cache_control = "no-store"
    return response


@view_config(context=Bureau, name="grades", permission=P.READ_GRADES)
@view_config(context=School, name="grades", permission=P.READ_GRADES)
def unit_grades(context, request):
    term = common.term_asked(request)
    exams = books.exams_in_scope(request.site, context, term)
    return _page(request, "templates/grades_unit.pt", {
        "term": term, "terms": common.terms_offered(request, term),
        "rows": [_exam_row(request, e, context) for e in exams],
        "may_manage": request.has_permission(P.MANAGE_GRADES, context),
        "may_enter": request.has_permission(P.ENTER_GRADES, context)})


def _subject_state(request, exam, klass, sheet, subject):
    user = request.user
    setup = exam.subjects[subject]
    if sheet is None:
        entered = 0
    elif setup["scale"] == codes.COMMENT:
        entered = len(sheet.comments.get(subject, {}))
    else:
        entered = sum(1 for v in sheet.column(subject) if v != books.BLANK)
    return {"code": subject, "label": common.subject_name(request, exam, subject),
            "scale": request.localizer.translate(codes.SCALE_LABELS[setup["scale"]]),
            "full": marks.shown_points(setup["full"]) if setup["scale"] == codes.SCORE else "",
            "entered": entered, "locked": sheet is not None and sheet.locked(subject),
            "teachers": "、".join(assignments.teaching(klass, exam.term).get(subject, ())),
            "may_enter": entry.may_enter(user, klass, exam, subject)}


@view_config(context=SchoolClass, name="grades", permission=P.VIEW)
def class_grades(context, request):
    """The class's exams: the head teacher and office read them, subject teachers enter theirs."""
    common.require(common.may_read(request, context) or common.may_enter_some(request, context))
    term = common.term_asked(request)
    grade = books.class_grade(context, term)
    exams = books.exams_for_class(context, term, grade)
    pupils = len(entry.class_pupils(context))
    rows = []
    for exam in exams:
        sheet = books.sheet_of(exam, context)
        rows.append({"exam": exam, "kind": common.kind_label(request, exam),
                     "subjects": [_subject_state(request, exam, context, sheet, s) for s in exam.subjects]})
    mine = assignments.subjects_of(context, term, request.user.userid) if request.user else []
    return _page(request, "templates/grades_class.pt", {
        "term": term, "terms": common.terms_offered(request, term), "rows": rows, "pupils": pupils,
        "grade": grade, "mine": [request.localizer.translate(codes.SUBJECT_LABELS.get(s, s)) for s in mine],
        "may_read": common.may_read(request, context),
        "may_manage": request.has_permission(P.MANAGE_GRADES, context)})


# -- setting an exam ------------------------------------------------------------------------

def _grade_choices(context):
    level = getattr(context, "level", tree_codes.LEVEL_OTHER) if context.content_type == "School" \
        else tree_codes.LEVEL_OTHER
    first, count = tree_codes.LEVEL_GRADES[level]
    return [(str(g), tree_codes.GRADE_LABELS.get(g, str(g))) for g in range(first, first + count)]


def _subject_choices(grades):
    found = {}
    for grade in grades:
        for code, label in codes.national_subjects_for(grade):
            found[code] = label
    return sorted(found.items())


def _exam_form(request, context):
    grades = _grade_choices(context)
    schema = exam_schema(request, grades, _subject_choices(int(g) for g, _l in grades),
                         common.terms_offered(request, common.term_asked(request)))
    t = request.localizer.translate
    return deform.Form(schema, formid="exam-form", buttons=(deform.Button("save", title=t(_("保存"))),))


@view_config(context=Bureau, name="grades-exam-add", permission=P.MANAGE_GRADES, renderer="templates/form.pt")
@view_config(context=School, name="grades-exam-add", permission=P.MANAGE_GRADES, renderer="templates/form.pt")
def add_exam(context, request):
    t = request.localizer.translate
    form = _exam_form(request, context)
    page = {"heading": t(_("新建考试：${place}", mapping={"place": t(context.title)})),
            "notice": t(_("考试对所选年级的全部班级有效；下级学校和班级可以看到。"))}
    if request.method != "POST":
        return dict(page, form=form.render())
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        request.response.status = 400
        return dict(page, form=failure.render())
    setup = marks.setup_for(values["scale"], values["full"])
    exam = books.add_exam(request.site, context, values["title"], values["kind"], values["term"],
                          sorted(int(g) for g in values["grades"]),
                          {s: dict(setup) for s in sorted(values["subjects"])}, float(values["weight"]))
    audit.log(request, "grades-exam-add", context, exam=exam.id, term=exam.term)
    request.session.flash(t(_("已新建考试 ${title}", mapping={"title": exam.title})))
    return HTTPSeeOther(request.resource_url(context, "grades-exam", query={"exam": exam.id}))


# -- one exam -------------------------------------------------------------------------------

def _setup_row(request, exam, subject, may_change):
    setup = exam.subjects[subject]
    return {"code": subject, "label": common.subject_name(request, exam, subject), "scale": setup["scale"],
            "full": marks.shown_points(setup["full"]) if setup["scale"] == codes.SCORE else "",
            "cuts": [marks.shown_points(round(c * 100, 1)) for c in setup["cutoffs"]],
            "may_change": may_change and not books.has_marks(exam, subject)}


def _completion_rows(request, exam, context):
    """Per class under ``context``: each subject's entered/pupils and whether it is submitted."""
    done = analysis.completion(exam, context)
    if context.content_type == "School":
        grade_of = {k.__name__: books.class_grade(k, exam.term) for k in _classes(context)}
        paths = [(request.resource_path(k).rstrip("/"), k.title) for k in _classes(context)
                 if exam.covers(k, grade_of[k.__name__])]
    else:
        paths = sorted({(c, exam.sheets[c].class_title) for c, _s in done})
    rows = []
    for path, title in paths:
        cells = [done.get((path, s), (0, None, False)) for s in exam.subjects]
        rows.append({"title": request.localizer.translate(title), "path": path, "cells": cells,
                     "missing": sum(1 for e, n, _l in cells if not e or (n and e < n))})
    return rows


@view_config(context=Bureau, name="grades-exam", permission=P.READ_GRADES)
@view_config(context=School, name="grades-exam", permission=P.READ_GRADES)
def exam_page(context, request, status=200, errors=None):
    exam = common.exam_asked(request, context)
    at_home = exam.home is context
    may_change = at_home and request.has_permission(P.MANAGE_GRADES, context)
    response = _page(request, "templates/grades_exam.pt", {
        "exam": exam, "kind": common.kind_label(request, exam),
        "term_label": request.localizer.translate(codes.term_label(exam.term)),
        "home": request.localizer.translate(exam.home.title), "at_home": at_home, "may_change": may_change,
        "setups": [_setup_row(request, exam, s, may_change) for s in exam.subjects],
        "scales": [(s, request.localizer.translate(label)) for s, label in codes.SCALES],
        "subjects": [common.subject_name(request, exam, s) for s in exam.subjects],
        "completion": _completion_rows(request, exam, context), "errors": errors or {},
        "removable": may_change and not len(exam.sheets)})
    response.status = status
    return response


def _back(request, context, exam):
    return HTTPSeeOther(request.resource_url(context, "grades-exam", query={"exam": exam.id}))


def _own_exam(request, context):
    exam = common.exam_asked(request, context)
    if exam.home is not context:
        raise HTTPBadRequest()
    return exam


@view_config(context=Bureau, name="grades-exam-subject", request_method="POST", permission=P.MANAGE_GRADES)
@view_config(context=School, name="grades-exam-subject", request_method="POST", permission=P.MANAGE_GRADES)
def change_subject(context, request):
    """One subject's scale, full marks and cut-offs, while it has no marks."""
    exam = _own_exam(request, context)
    subject = common.subject_asked(request, exam)
    t = request.localizer.translate
    try:
        values = SubjectSetupSchema().deserialize({k: request.POST.get(k, "") for k in
                                                   ("scale", "full", "cut_a", "cut_b", "cut_c")})
    except Exception as invalid:  # colander.Invalid: shown beside the subject's row
        messages = getattr(invalid, "asdict", lambda: {})()
        return exam_page(context, request, 400, {subject: "；".join(messages.values()) or t(_("填写有误"))})
    cutoffs = tuple(float(values[k]) / 100 for k in ("cut_a", "cut_b", "cut_c"))
    try:
        books.set_subject(exam, subject, marks.setup_for(values["scale"], values["full"], cutoffs))
    except ValueError:
        return exam_page(context, request, 400, {subject: t(_("该科目已有成绩，不能再修改满分和记分方式"))})
    audit.log(request, "grades-exam-change", context, exam=exam.id, subject=subject)
    request.session.flash(t(_("已保存 ${subject} 的设置", mapping={"subject": common.subject_name(request, exam, subject)})))
    return _back(request, context, exam)


@view_config(context=Bureau, name="grades-exam-lock", request_method="POST", permission=P.MANAGE_GRADES)
@view_config(context=School, name="grades-exam-lock", request_method="POST", permission=P.MANAGE_GRADES)
def lock_exam(context, request):
    exam = _own_exam(request, context)
    locked = request.POST.get("locked") == "1"
    entry.lock_exam(exam, request.user, locked)
    t = request.localizer.translate
    request.session.flash(t(_("考试成绩已锁定") if locked else _("考试成绩已解除锁定")))
    return _back(request, context, exam)


@view_config(context=Bureau, name="grades-exam-remove", request_method="POST", permission=P.MANAGE_GRADES)
@view_config(context=School, name="grades-exam-remove", request_method="POST", permission=P.MANAGE_GRADES)
def remove_exam(context, request):
    exam = _own_exam(request, context)
    t = request.localizer.translate
    if len(exam.sheets):
        request.session.flash(t(_("已有成绩的考试不能删除")))
        return exam_page(context, request, 400)
    books.remove_exam(request.site, exam)
    audit.log(request, "grades-exam-remove", context, exam=exam.id)
    request.session.flash(t(_("已删除考试 ${title}", mapping={"title": exam.title})))
    return HTTPSeeOther(request.resource_url(context, "grades", query={"term": exam.term}))


# -- what families see: the school's choice under the stage's ceiling -------------------------

def _options_page(context, request, error=None, status=200):
    level = getattr(context, "level", tree_codes.LEVEL_OTHER)
    stages = [codes.PRIMARY, codes.JUNIOR, codes.SENIOR] if level == tree_codes.LEVEL_OTHER else [level]
    t = request.localizer.translate
    ceilings = [(t(codes.STAGE_LABELS[s]), settings.value(request.registry, policy.SETTING + s)) for s in stages]
    response = _page(request, "templates/grades_options.pt", {
        "options": policy.school_options(context), "ceilings": ceilings, "error": error,
        "may_rank": any(c == policy.RANKS for _s, c in ceilings),
        "may_score": any(c in (policy.SCORES, policy.RANKS) for _s, c in ceilings)})
    response.status = status
    return response


@view_config(context=School, name="grades-options", permission=P.MANAGE_GRADES, request_method="GET")
def family_options(context, request):
    return _options_page(context, request)


@view_config(context=School, name="grades-options", permission=P.MANAGE_GRADES, request_method="POST")
def change_family_options(context, request):
    """Whether families see scores and (senior high only) ranks. The stage's ceiling
    (a setting) still caps it per pupil: grades/policy.py ``family_sight``."""
    t = request.localizer.translate
    chosen = {"scores": request.POST.get("scores") == "1", "ranks": request.POST.get("ranks") == "1"}
    level = getattr(context, "level", tree_codes.LEVEL_OTHER)
    stages = [codes.PRIMARY, codes.JUNIOR, codes.SENIOR] if level == tree_codes.LEVEL_OTHER else [level]
    if chosen["ranks"] and not any(settings.value(request.registry, policy.SETTING + s) == policy.RANKS
                                   for s in stages):
        return _options_page(context, request, t(_("义务教育阶段不得对学生排名（教基厅函〔2021〕34号）；"
                                                   "本校所在学段不能向家长显示排名")), 400)
    context.grade_options = chosen
    audit.log(request, "grades-options", context, **chosen)
    request.session.flash(t(_("已保存向家长显示成绩的方式")))
    return HTTPSeeOther(request.resource_url(context, "grades-options"))
