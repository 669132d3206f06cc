"""An exam's analysis for a class, a school or a bureau (issue 13, items 4 and 6):
each subject's count, mean, median, standard deviation, highest and lowest,
pass and excellence rates and bands over the scope; one subject compared
between the units below (the classes of a school, the schools of a county);
charts of the distribution, the units' box plots and the bands. Every table
exports (xlsx, csv) and prints. Figures come from the exam's packed sheets
(grades/analysis.py), never from the pupils; they are counts and rates, no
pupil's result, so families never reach this page (``read-grades``).
"""
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.traversal import find_resource
from pyramid.view import view_config

from xueji_site.grades import analysis, codes, stats
from xueji_site.kernel import audit, charts, permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.tree.nodes import Bureau, School, SchoolClass
from . import grades_common as common
from .tables import download

SUMMARY_HEADER = (_("应考"), _("实考"), _("缺考"), _("平均分"), _("中位数"), _("标准差"), _("最高分"), _("最低分"),
                  _("及格率（%）"), _("优秀率（%）"))
CHARTS = ("distribution", "units", "bands")


def _figures(request, context, exam):
    return analysis.analyse(exam, context, request.resource_path(context).rstrip("/") or "/", depth=1)


def _unit_title(request, path):
    try:
        node = find_resource(request.site, path)
    except KeyError:
        return path.rsplit("/", 1)[-1]
    return request.localizer.translate(node.title)


def _bands(summary):
    return [summary.bands.get(letter, 0) for letter in stats.BANDS]


def subject_table(request, exam, figures):
    """Header and rows: one row per subject over the whole scope."""
    t = request.localizer.translate
    header = [t(_("科目"))] + [t(h) for h in SUMMARY_HEADER] + [t(label) for _l, label in codes.LEVELS]
    rows = [[common.subject_name(request, exam, s)] + list(summary.as_row()) + _bands(summary)
            for s, summary in figures.subjects.items() if exam.subjects[s]["scale"] != codes.COMMENT]
    return header, rows


def unit_table(request, exam, figures, subject):
    """Header and rows: one row per unit below the scope for ``subject``."""
    t = request.localizer.translate
    header = [t(_("单位"))] + [t(h) for h in SUMMARY_HEADER] + [t(label) for _l, label in codes.LEVELS]
    rows = []
    for unit, by_subject in figures.units.items():
        summary = by_subject.get(subject)
        if summary is not None:
            rows.append([_unit_title(request, unit)] + list(summary.as_row()) + _bands(summary))
    return header, rows


def _subject_chosen(request, exam):
    chosen = request.params.get("subject") or next(
        (s for s, setup in exam.subjects.items() if setup["scale"] == codes.SCORE), next(iter(exam.subjects)))
    if exam.subject(chosen) is None:
        raise HTTPBadRequest()
    return chosen


@view_config(context=Bureau, name="grades-analysis", permission=P.READ_GRADES)
@view_config(context=School, name="grades-analysis", permission=P.READ_GRADES)
@view_config(context=SchoolClass, name="grades-analysis", permission=P.READ_GRADES)
def analysis_page(context, request):
    exam = common.exam_asked(request, context)
    subject = _subject_chosen(request, exam)
    figures = _figures(request, context, exam)
    t = request.localizer.translate
    table = request.params.get("table", "subjects")
    header, rows = unit_table(request, exam, figures, subject) if table == "units" else \
        subject_table(request, exam, figures)
    fmt = request.params.get("export")
    if fmt is not None:
        if fmt not in ("xlsx", "csv"):
            raise HTTPBadRequest()
        audit.log(request, "export", context, rows=len(rows), kind="grades-analysis", exam=exam.id, format=fmt)
        return download(rows, header, "grades-analysis-%s-%s" % (exam.id, table), fmt)
    unit_header, unit_rows = unit_table(request, exam, figures, subject)
    subject_header, subject_rows = subject_table(request, exam, figures)
    values = {"exam": exam, "kind": common.kind_label(request, exam), "subject": subject,
              "subject_label": common.subject_name(request, exam, subject),
              "subjects": [(s, common.subject_name(request, exam, s)) for s, setup in exam.subjects.items()
                           if setup["scale"] != codes.COMMENT],
              "term_label": t(codes.term_label(exam.term)),
              "subject_header": subject_header, "subject_rows": subject_rows,
              "unit_header": unit_header, "unit_rows": unit_rows if context.content_type != "SchoolClass" else [],
              "scored": exam.subjects[subject]["scale"] == codes.SCORE,
              "chart_alt": t(_("${title}（图表；数据见表格）", mapping={"title": exam.title}))}
    template = "templates/grades_analysis_print.pt" if request.params.get("print") else \
        "templates/grades_analysis.pt"
    response = render_to_response(template, values, request=request)
    response.cache_control = "no-store"
    return response


def chart_of(request, context, exam, subject, kind):
    """The SVG of one chart: the scores' distribution, the units' box plots, or the bands."""
    t = request.localizer.translate
    figures = _figures(request, context, exam)
    label = common.subject_name(request, exam, subject)
    if kind == "distribution":
        full = exam.subjects[subject]["full"]
        return charts.histogram(t(_("${subject}成绩分布", mapping={"subject": label})),
                                name=t(_("人数")), translate=t,
                                binned=_bins(figures.scores.get(subject, []), full))
    if kind == "units":
        groups = [(_unit_title(request, unit), by_subject.get(subject, []))
                  for unit, by_subject in figures.unit_scores.items()]
        return charts.box(t(_("${subject}各单位成绩比较", mapping={"subject": label})), groups, translate=t)
    summary = figures.subjects[subject]
    return charts.bar(t(_("${subject}等级分布", mapping={"subject": label})),
                      [t(name) for _l, name in codes.LEVELS], [(t(_("人数")), _bands(summary))], horizontal=False)


def _bins(scores, full):
    """Ten bands of a tenth of the full marks each (the last one closed), counted."""
    width = float(full) / 10
    counts = [0] * 10
    for score in scores:
        counts[min(9, int(score / width))] += 1
    return [(counts[i], i * width, (i + 1) * width) for i in range(10)]


@view_config(context=Bureau, name="grades-analysis.svg", permission=P.READ_GRADES)
@view_config(context=School, name="grades-analysis.svg", permission=P.READ_GRADES)
@view_config(context=SchoolClass, name="grades-analysis.svg", permission=P.READ_GRADES)
def analysis_chart(context, request):
    exam = common.exam_asked(request, context)
    subject = _subject_chosen(request, exam)
    kind = request.params.get("chart", "distribution")
    if kind not in CHARTS or (kind != "bands" and exam.subjects[subject]["scale"] != codes.SCORE):
        raise HTTPBadRequest()
    svg = chart_of(request, context, exam, subject, kind).svg
    response = Response(body=svg.encode("utf-8"), content_type="image/svg+xml", charset="utf-8")
    response.cache_control = "no-store"
    return response
