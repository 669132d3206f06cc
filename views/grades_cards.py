"""Report cards (成绩单, issue 13): a pupil's term as a printable A4 page and as a PDF,
and a class's cards in one PDF.

- ``report-card?term=2026-1`` on a pupil: the print page; ``&pdf=1``: the PDF. For
  the staff who read the class's grades and for the pupil's guardians (``view`` on
  the record, then ``policy.sight``: a subject teacher or anyone else is refused).
  Whoever prints it, the card shows what the pupil's *family* sees in that stage
  (levels; a score, totals or a rank only where grades/policy.py allows): a card
  is what goes home, so one printed by the head teacher may not say more.
- ``report-cards?term=…`` on a class (``read-grades``): the class's PDF, drawn while
  the page counts the cards; ``&pdf=1`` sends the PDF at once.

The count is a streamed page, not a job polled for its status: the cards are read
inside the request (its transaction and its audit entries, one per card read),
then the response's body is a generator that draws the PDF in a worker thread and
writes a line for each card laid out (the newest shows; CSS hides the others),
then the link to the PDF (a ``data:`` link: nothing is written to disk, no
second request or shared state is needed, and it works across processes and
without script). Drawing needs no database: a card is plain data.
"""
import base64
import html
import logging
import queue
import threading
from urllib.parse import quote

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.renderers import render, render_to_response
from pyramid.response import Response
from pyramid.view import view_config

from xueji_site.grades import cards, codes, entry, policy
from xueji_site.kernel import audit, permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.record.models import Student
from xueji_site.tree.nodes import SchoolClass
from . import grades_common as common

log = logging.getLogger(__name__)

AUDIT_ACTION = "grades-report-card"
STEPS_MARK = "<!--card-steps-->"
RESULT_MARK = "<!--card-result-->"


def _family_sight(request, klass, term):
    return policy.family_sight(request.registry, klass.__parent__, common.stage_of_class(klass, term))


def _pdf_response(request, data, ascii_name, name):
    response = Response(body=data, content_type="application/pdf")
    response.content_disposition = "attachment; filename=\"%s\"; filename*=UTF-8''%s" % (ascii_name, quote(name))
    response.cache_control = "no-store"
    return response


def _term_links(request, context, view, term):
    return [(each, label, request.resource_url(context, view, query={"term": each}))
            for each, label in common.terms_offered(request, term)]


@view_config(context=Student, name="report-card", permission=P.VIEW)
def report_card(context, request):
    klass = context.__parent__
    if getattr(klass, "content_type", None) != "SchoolClass":
        raise HTTPNotFound()  # a record no longer in a class (archived): its transcript is elsewhere
    term = common.term_asked(request)
    if not policy.sight(request, context, common.stage_of_class(klass, term)).allowed:
        raise HTTPForbidden()
    t = request.localizer.translate
    card = cards.card_of(request.site, context, term, _family_sight(request, klass, term), t)
    as_pdf = request.params.get("pdf") == "1"
    audit.log(request, AUDIT_ACTION, context, term=term, format="pdf" if as_pdf else "html")
    if as_pdf:
        return _pdf_response(request, cards.pdf([card], t), "report-card-%s.pdf" % term,
                             "%s-%s-%s.pdf" % (t(_("成绩单")), card.pupil, term))
    back = request.resource_url(context, "grades", query={"term": term})  # the pupil's results page
    response = render_to_response("templates/grades_card.pt", {
        "card": card, "terms": _term_links(request, context, "report-card", term), "back_url": back,
        "pdf_url": request.resource_url(context, "report-card", query={"term": term, "pdf": "1"})},
        request=request)
    response.cache_control = "no-store"
    return response


@view_config(context=SchoolClass, name="report-cards", permission=P.READ_GRADES)
def class_cards(context, request):
    term = common.term_asked(request)
    t = request.localizer.translate
    sight = _family_sight(request, context, term)
    pupils = sorted(entry.class_pupils(context).values(), key=lambda p: (p.pinyin, p.__name__))
    made = [cards.card_of(request.site, pupil, term, sight, t) for pupil in pupils]
    batch = request.resource_path(context).rstrip("/")
    for pupil in pupils:
        audit.log(request, AUDIT_ACTION, pupil, term=term, format="pdf", batch=batch)
    class_title = t(context.title)
    ascii_name = "report-cards-%s-%s.pdf" % (context.__name__, term)
    name = "%s-%s-%s.pdf" % (t(_("成绩单")), class_title, term)
    if request.params.get("pdf") == "1":
        return _pdf_response(request, cards.pdf(made, t), ascii_name, name)
    page = render("templates/grades_cards.pt", {
        "school": t(context.__parent__.title), "class_title": class_title, "count": len(made),
        "term": term, "term_label": t(codes.term_label(term)),
        "terms": _term_links(request, context, "report-cards", term),
        "back_url": request.resource_url(context, "grades", query={"term": term}),
        "pdf_url": request.resource_url(context, "report-cards", query={"term": term, "pdf": "1"}),
        "pupils": [(pupil.name, request.resource_url(pupil, "report-card", query={"term": term}))
                   for pupil in pupils]}, request=request)
    head, rest = page.split(STEPS_MARK, 1)
    middle, tail = rest.split(RESULT_MARK, 1)
    response = Response(app_iter=_drawing(made, t, head, middle, tail, name), content_type="text/html",
                        charset="utf-8")
    response.cache_control = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a proxy in front must pass the count on as it comes
    return response


def _drawing(made, translate, head, middle, tail, name):
    """The streamed page: its head, a line per card drawn, then the PDF's link."""
    total = len(made)
    updates = queue.Queue()
    outcome = {}

    def work():
        try:
            outcome["pdf"] = cards.pdf(made, translate, progress=lambda done, _total: updates.put(done))
        except Exception:  # shown on the page; the traceback goes to the log
            log.exception("drawing %d report cards failed", total)
        finally:
            updates.put(None)

    yield head.encode("utf-8")
    worker = threading.Thread(target=work, name="report-cards", daemon=True)
    worker.start()
    while True:
        done = updates.get()
        if done is None:
            break
        line = translate(_("已生成 ${done} / ${total} 份", mapping={"done": done, "total": total}))
        yield ('<p class="card-step"><progress value="%d" max="%d"></progress> %s</p>\n'
               % (done, total, html.escape(line))).encode("utf-8")
    worker.join()
    yield middle.encode("utf-8")
    data = outcome.get("pdf")
    if data is None:
        result = '<p class="error">%s</p>' % html.escape(translate(_("成绩单生成失败，请稍后重试。")))
    else:
        result = ('<p class="card-done"><a class="button" download="%s" href="data:application/pdf;base64,%s">'
                  '%s</a></p>' % (html.escape(name), base64.b64encode(data).decode("ascii"),
                                  html.escape(translate(_("下载全班成绩单（PDF）")))))
    yield result.encode("utf-8")
    yield tail.encode("utf-8")
