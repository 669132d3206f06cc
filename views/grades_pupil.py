"""A pupil's grades page (issue 13, items 5 and 6): this term by subject, the term
result, the trend across exams (a chart), and the class as bands — as the viewer
may see them (grades/policy.py ``sight``: the one place the ranking rules live).

Staff who may enter a subject for the pupil's class enter a single mark here;
the principal decides the pupil's open correction requests here (the approval
chain's to-do list links to this page). Every read is audited: a family's
reading its child's results is a read of the child's record.
"""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.view import view_config

from xueji_site.grades import books, codes, corrections, entry, marks, policy, results, stats
from xueji_site.kernel import audit, chain, charts, permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.record.models import Student
from . import grades_common as common

LEVEL_HEIGHT = {"A": 4, "B": 3, "C": 2, "D": 1}  # a level on the family's trend chart


def _sight(request, pupil, term):
    klass = pupil.__parent__
    stage = common.stage_of_class(klass, term) if klass.content_type == "SchoolClass" else None
    return policy.sight(request, pupil, stage)


def _subject_rows(request, line, sight):
    t = request.localizer.translate
    rows = []
    for subject in line.subjects:
        shown = subject.shown
        rows.append({"label": common.subject_name(request, line.exam, subject.subject),
                     "level": t(codes.LEVEL_LABELS[subject.level]) if subject.level else "",
                     "letter": subject.level or "", "shown": t(shown) if hasattr(shown, "interpolate") else shown,
                     "comment": subject.comment,
                     "bands": "  ".join("%s %s" % (letter, (subject.bands or {}).get(letter, 0))
                                        for letter in stats.BANDS) if subject.bands is not None else "",
                     "mean": "" if subject.class_mean is None else marks.shown_points(subject.class_mean)})
    return rows


def _term_rows(request, pupil, term, lines, sight):
    """The term result per subject: a percentage for staff and where scores may be seen, else its level."""
    t = request.localizer.translate
    setups = {}
    for line in lines:
        setups.update(line.exam.subjects)
    found = []
    for subject, result in results.term_results(request.site, pupil, term).items():
        if result is None:
            continue
        if result == stats.PENDING:
            shown = t(_("待补考或缓考成绩"))
        elif sight.scores:
            shown = "%s%%" % marks.shown_points(result)
        else:
            letter = marks.level_of_share(result / 100, setups.get(subject, {}))
            shown = t(codes.LEVEL_LABELS[letter])
        found.append({"label": t(codes.SUBJECT_LABELS.get(subject, subject)), "shown": shown})
    return found


def _single_entry(request, pupil, term):
    """(exam, subject, label) the user may enter for the pupil's class in ``term``."""
    klass = pupil.__parent__
    if klass.content_type != "SchoolClass" or not request.has_permission(P.ENTER_GRADES, klass):
        return []
    found = []
    for exam in books.exams_for_class(klass, term, books.class_grade(klass, term)):
        sheet = books.sheet_of(exam, klass)
        for subject in exam.subjects:
            if entry.may_enter(request.user, klass, exam, subject) and not (sheet and sheet.locked(subject)):
                found.append((exam.id, subject, "%s · %s" % (exam.title, common.subject_name(request, exam, subject))))
    return found


def _open_corrections(request, pupil):
    t = request.localizer.translate
    found = []
    for waiting in chain.requests_of(request.site, pupil, corrections.PROCESS):
        if not waiting.is_open:
            continue
        exam = books.get_exam(request.site, waiting.payload["exam"])
        if exam is None:
            continue
        label, before, after = entry.history_change(exam, waiting.payload["subject"], waiting.payload["before"],
                                                    waiting.payload["after"])
        found.append({"id": waiting.id, "what": label, "before": before, "after": after,
                      "reason": waiting.reason, "by": waiting.requested_by[1],
                      "may_decide": chain.problem(request.site, request.user, waiting, request.registry) is None})
    return found


@view_config(context=Student, name="grades", permission=P.VIEW)
def pupil_grades(context, request):
    term = common.term_asked(request)
    sight = _sight(request, context, term)
    common.require(sight.allowed)
    lines = results.pupil_results(request.site, context, sight, term)
    t = request.localizer.translate
    audit.log(request, "grades-read", context, term=term, family=not sight.staff)
    exams = [{"exam": line.exam, "kind": common.kind_label(request, line.exam), "class_title": t(line.class_title),
              "subjects": _subject_rows(request, line, sight),
              "total": "" if line.total is None else marks.shown_points(line.total),
              "rank": line.rank, "ranked_of": line.ranked_of} for line in lines]
    response = render_to_response("templates/grades_pupil.pt", {
        "term": term, "terms": common.terms_offered(request, term), "exams": exams, "sight": sight,
        "term_rows": _term_rows(request, context, term, lines, sight),
        "single": _single_entry(request, context, term) if sight.staff else [],
        "corrections": _open_corrections(request, context) if sight.staff else [],
        "has_trend": bool(books.sheets_of_pupil(request.site, context.__name__)),
        "chart_alt": t(_("成绩趋势（图表；数据见上表）"))}, request=request)
    response.cache_control = "no-store"
    return response


def trend_series(request, pupil, sight):
    """(exam labels, [(subject label, [value per exam])]): the share of full marks in percent
    where the viewer may see scores, else the level as a height (A 4 … D 1). Read from
    the sheets the pupil has marks on, oldest exam first."""
    key = pupil.__name__
    sheets = sorted(books.sheets_of_pupil(request.site, key), key=lambda s: (s.exam.term, s.exam.created, s.exam.id))
    labels, series = [], {}
    for i, sheet in enumerate(sheets):
        exam = sheet.exam
        labels.append("%s %s" % (exam.term, exam.title))
        for subject, setup in exam.subjects.items():
            value = sheet.value(subject, key)
            if sight.scores and setup["scale"] == codes.SCORE:
                got = marks.points(value, setup)
                height = None if got is None else stats.rounded(got / float(setup["full"]) * 100, 1)
            else:
                height = LEVEL_HEIGHT.get(marks.level_of(value, setup))
            name = common.subject_name(request, exam, subject)
            series.setdefault(name, [None] * len(sheets))[i] = height
    return labels, sorted(series.items())


@view_config(context=Student, name="grades-trend.svg", permission=P.VIEW)
def trend_chart(context, request):
    sight = _sight(request, context, codes.term_of())
    common.require(sight.allowed)
    t = request.localizer.translate
    labels, series = trend_series(request, context, sight)
    unit = "%" if sight.scores else ""
    title = t(_("成绩趋势（得分率 %）") if sight.scores else _("成绩趋势（等级：优秀 4 · 良好 3 · 合格 2 · 待合格 1）"))
    svg = charts.line(title, labels, series, unit=unit).svg
    response = Response(body=svg.encode("utf-8"), content_type="image/svg+xml", charset="utf-8")
    response.cache_control = "no-store"
    return response


def _back(request, pupil, term):
    return HTTPSeeOther(request.resource_url(pupil, "grades", query={"term": term}))


@view_config(context=Student, name="grades-single", permission=P.VIEW, request_method="POST")
def single_entry(context, request):
    """One mark of this pupil, through the same ``entry.save`` as the grid."""
    klass = context.__parent__
    t = request.localizer.translate
    exam_id, _sep, subject = request.POST.get("what", "").partition("/")
    exam = books.get_exam(request.site, exam_id)
    term = exam.term if exam is not None else common.term_asked(request)
    if exam is None or exam.subject(subject) is None or klass.content_type != "SchoolClass" \
            or not exam.covers(klass, books.class_grade(klass, exam.term)):
        request.session.flash(t(_("请选择考试和科目")))
        return _back(request, context, term)
    try:
        entered, changed = entry.save(exam, klass, subject, {context.__name__: request.POST.get("mark", "")},
                                      request.user, reason=request.POST.get("reason", ""), registry=request.registry)
    except entry.CellErrors as bad:
        request.session.flash("%s：%s" % (t(bad.args[0]), "；".join(t(m) for m in bad.errors.values())))
        return _back(request, context, term)
    except entry.EntryError as refused:
        request.session.flash(t(refused.args[0]))
        return _back(request, context, term)
    request.session.flash(t(_("已保存：新录入 ${entered} 个，修改 ${changed} 个",
                              mapping={"entered": entered, "changed": changed})))
    return _back(request, context, term)


@view_config(context=Student, name="grades-decide", permission=P.VIEW, request_method="POST")
def decide_correction(context, request):
    """The principal's decision on a correction request of this pupil."""
    t = request.localizer.translate
    waiting = chain.get(request.site, request.POST.get("request", ""))
    if waiting is None or waiting.subject is not context or not waiting.is_open:
        request.session.flash(t(_("该申请已被处理或不存在")))
        return _back(request, context, common.term_asked(request))
    approve = request.POST.get("action") == "approve"
    try:
        chain.decide(request.site, waiting, request.user, approve, request.POST.get("reason", ""),
                     registry=request.registry)
    except chain.ChainError as refused:
        request.session.flash(t(refused.args[0]))
        return _back(request, context, common.term_asked(request))
    request.session.flash(t(_("已批准成绩更正") if approve else _("已驳回成绩更正")))
    return _back(request, context, common.term_asked(request))
