"""Report cards (成绩单): one pupil's term on one A4 page, as plain data and as PDF.

``card_of(site, pupil, term, sight, translate)`` reads the pupil's exams of the
term (results.pupil_results) and term results (results.term_results) under a
``policy.Sight`` and gives a ``Card``: translated strings only, so the HTML page
and the PDF print the same thing and the PDF can be drawn with no database at
hand (the class's batch is drawn after the request's transaction, see
views/grades_cards.py). What the card shows follows the sight alone: levels
always, a score where it shows scores, totals and a rank where it shows a rank.

A card carries the school, the pupil's name, class and grade, the term, and the
results: never the ID number, the 学籍号, the birth date, addresses or anything
else of the record (a card is handed out and carried home).

Comments: an exam subject on the comment scale (codes.COMMENT, entered like
marks) prints in the card's 评语 box with its label; with none, the box is left
blank for the head teacher to write in by hand. Attendance is not kept yet:
``Card.attendance`` stays None and prints nothing until it is.

``pdf(cards, translate, progress=None)`` draws one A4 page per card with
reportlab and an embedded CJK font (WenQuanYi Micro Hei, registered once, on
first use); ``progress(done, total)`` is called as each card is laid out.
"""
import datetime
import io
import os
import threading
from dataclasses import dataclass, field

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, KeepInFrame, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table
from reportlab.platypus import TableStyle
from xml.sax.saxutils import escape

from xueji_site.grades import books, codes, results, stats
from xueji_site.grades.entry import subject_label
from xueji_site.grades.marks import level_of_share, shown_points
from xueji_site.kernel.i18n import _
from xueji_site.standards import codes as tree_codes

FONT = "WenQuanYi"
FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

HEADING = _("学生成绩报告单")
LEVELS_NOTE = _("按规定，成绩以等级呈现：优秀、良好、合格、待合格。")
PENDING_TEXT = _("待补考或缓考成绩")


class CardError(ValueError):
    """A card that may not be made (the viewer may not see the pupil's results)."""


class FontMissing(RuntimeError):
    """The CJK font the PDF embeds is not installed."""


@dataclass
class Row:
    subject: str                                # the subject's name
    cells: list = field(default_factory=list)   # per exam: what the sight shows ("" where none)
    term: str = ""                              # 学期总评: its level (and score where shown)


@dataclass
class Card:
    key: str            # the record's key (for links; never printed)
    school: str
    pupil: str          # the pupil's name
    class_title: str
    grade: str
    term: str
    term_label: str
    exams: list = field(default_factory=list)     # the column heads: the term's exams, oldest first
    rows: list = field(default_factory=list)      # Row per subject
    totals: list = None   # per exam, where the sight shows scores
    ranks: list = None    # per exam ("3 / 45"), where the sight shows a rank
    comments: list = field(default_factory=list)  # (label, text) of the comment-scale subjects
    attendance: str = None  # not kept yet
    levels_only: bool = True  # no scores shown: the card says so
    printed: str = ""


def _t(translate, text):
    return translate(text) if hasattr(text, "interpolate") else str(text)


def _level_word(letter, translate):
    return translate(codes.LEVEL_LABELS[letter]) if letter else ""


def _cell(line, setup, translate):
    """What one exam's subject shows: the level (and the score, where the sight has it),
    a code (缺考…) or 合格/不合格; "" where nothing is entered."""
    scale = setup["scale"]
    shown = line.shown
    if scale == codes.COMMENT:
        return ""
    if hasattr(shown, "interpolate"):  # a code, or 合格 / 不合格
        return translate(shown)
    if scale == codes.SCORE:
        word = _level_word(line.level, translate)
        return "%s %s" % (word, shown) if word and shown else word
    if scale == codes.LEVEL:
        return _level_word(line.level, translate)
    return _t(translate, shown)


def _term_cell(result, setup, cells, sight, translate):
    if result == stats.PENDING:
        return translate(PENDING_TEXT)
    if result is None or setup is None:
        return next((c for c in reversed(cells) if c), "")  # levels or pass/fail: the latest
    word = _level_word(level_of_share(result / 100.0, setup), translate)
    return "%s %s" % (word, shown_points(result)) if sight.scores else word


def card_of(site, pupil, term, sight, translate):
    """The report card of ``pupil`` for ``term``, as ``sight`` lets its reader see it."""
    if not sight.allowed:
        raise CardError("the viewer may not see this pupil's results")
    klass = pupil.__parent__
    school = klass.__parent__
    grade = books.class_grade(klass, term) if getattr(klass, "cohort", None) is not None else None
    lines = results.pupil_results(site, pupil, sight, term)
    term_figures = results.term_results(site, pupil, term)
    card = Card(key=pupil.__name__, school=_t(translate, school.title), pupil=pupil.name,
                class_title=_t(translate, klass.title),
                grade=translate(tree_codes.GRADE_LABELS[grade]) if grade in tree_codes.GRADE_LABELS else "",
                term=term, term_label=translate(codes.term_label(term)),
                exams=[line.exam.title for line in lines], levels_only=not sight.scores,
                printed=datetime.date.today().isoformat())
    subjects = {}  # code -> (label, the latest score setup or None)
    for line in lines:
        for found in line.subjects:
            setup = line.exam.subjects[found.subject]
            label = _t(translate, subject_label(line.exam, found.subject))
            if setup["scale"] == codes.COMMENT:
                if found.comment:
                    card.comments.append(("%s（%s）" % (label, line.exam.title), found.comment))
                continue
            _label, score_setup = subjects.get(found.subject, (label, None))
            subjects[found.subject] = (label, setup if setup["scale"] == codes.SCORE else score_setup)
    for code in sorted(subjects):
        label, score_setup = subjects[code]
        cells = []
        for line in lines:
            found = next((s for s in line.subjects if s.subject == code), None)
            cells.append(_cell(found, line.exam.subjects[code], translate) if found is not None else "")
        card.rows.append(Row(label, cells, _term_cell(term_figures.get(code), score_setup, cells, sight,
                                                      translate)))
    if sight.scores:
        card.totals = [shown_points(line.total) if line.total is not None else "" for line in lines]
    if sight.rank:
        card.ranks = ["%d / %d" % (line.rank, line.ranked_of) if line.rank is not None else "" for line in lines]
    return card


# -- the PDF ----------------------------------------------------------------------------------

_font_lock = threading.Lock()


def register_font():
    """Register the CJK font with reportlab, once; FontMissing if it is not installed."""
    with _font_lock:
        if FONT in pdfmetrics.getRegisteredFontNames():
            return
        if not os.path.exists(FONT_PATH):
            raise FontMissing("report cards embed the CJK font %s, which is missing "
                              "(Debian: apt-get install fonts-wqy-microhei)" % FONT_PATH)
        pdfmetrics.registerFont(TTFont(FONT, FONT_PATH, subfontIndex=0))


GRID = colors.HexColor("#9aa5b1")
SHADE = colors.HexColor("#f0f4f8")
INK = colors.HexColor("#243b53")


def _styles():
    base = dict(fontName=FONT, wordWrap="CJK", leading=15, fontSize=10.5)
    return {
        "school": ParagraphStyle("school", **dict(base, fontSize=18, leading=24, alignment=1)),
        "title": ParagraphStyle("title", **dict(base, fontSize=15, leading=20, alignment=1)),
        "term": ParagraphStyle("term", **dict(base, alignment=1)),
        "cell": ParagraphStyle("cell", **base),
        "head": ParagraphStyle("head", **dict(base, textColor=INK)),
        "note": ParagraphStyle("note", **dict(base, fontSize=9, leading=12, textColor=colors.HexColor("#52606d"))),
    }


class _CardDone(Flowable):
    """A mark after each card's content: the document template reports progress on it."""

    def __init__(self, done):
        Flowable.__init__(self)
        self.done = done

    def wrap(self, available_width, available_height):
        return 0, 0

    def draw(self):
        pass


class _Document(SimpleDocTemplate):
    def __init__(self, target, total, progress, **options):
        SimpleDocTemplate.__init__(self, target, **options)
        self.card_total = total
        self.card_progress = progress

    def afterFlowable(self, flowable):
        if isinstance(flowable, _CardDone) and self.card_progress is not None:
            self.card_progress(flowable.done, self.card_total)


def _grid_style():
    return TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 10.5),
        ("GRID", (0, 0), (-1, -1), 0.6, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("TEXTCOLOR", (0, 0), (-1, 0), INK),
        ("TEXTCOLOR", (0, 1), (0, -1), INK),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ])


def _card_flowables(card, translate, styles, width):
    """One card's content. Text that may run long (names, titles, comments) is a wrapping
    Paragraph; the short fixed texts (labels, levels, scores) are plain cells, which
    reportlab draws many times faster."""
    p = lambda text, style="cell": Paragraph(escape(text or ""), styles[style])  # noqa: E731
    story = [p(card.school, "school"), p(translate(HEADING), "title"), p(card.term_label, "term"),
             Spacer(1, 5 * mm)]
    who = Table([[translate(_("姓名")), p(card.pupil), translate(_("班级")), p(card.class_title),
                  translate(_("年级")), card.grade]],
                colWidths=[width * w for w in (0.1, 0.25, 0.1, 0.25, 0.1, 0.2)])
    who.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 10.5),
        ("GRID", (0, 0), (-1, -1), 0.6, GRID), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
        + [(what, (col, 0), (col, 0), value) for col in (0, 2, 4)
           for what, value in (("BACKGROUND", SHADE), ("TEXTCOLOR", INK))]))
    story += [who, Spacer(1, 4 * mm)]
    if card.rows:
        first, rest = width * 0.18, width * 0.82 / (len(card.exams) + 1)

        def fit(text):  # a plain cell where it fits the column, else a wrapping paragraph
            return text if pdfmetrics.stringWidth(text, FONT, 10.5) <= rest - 12 else p(text)
        head = [translate(_("科目"))] + [p(title, "head") for title in card.exams] + [translate(_("学期总评"))]
        body = [[p(row.subject)] + [fit(c) for c in row.cells] + [fit(row.term)] for row in card.rows]
        if card.totals is not None:
            body.append([translate(_("总分"))] + [fit(c) for c in card.totals] + [""])
        if card.ranks is not None:
            body.append([translate(_("班级名次"))] + [fit(c) for c in card.ranks] + [""])
        grid = Table([head] + body, colWidths=[first] + [rest] * (len(card.exams) + 1), repeatRows=1)
        grid.setStyle(_grid_style())
        story.append(grid)
    else:
        story.append(p(translate(_("本学期尚无成绩"))))
    if card.levels_only:
        story += [Spacer(1, 2 * mm), p(translate(LEVELS_NOTE), "note")]
    if card.attendance:
        story += [Spacer(1, 4 * mm), p("%s：%s" % (translate(_("出勤")), card.attendance))]
    said = [p("%s：%s" % (heading, text)) for heading, text in card.comments] or [Spacer(1, 30 * mm)]
    remarks = Table([[translate(_("评语"))]] + [[each] for each in said], colWidths=[width])
    remarks.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 10.5),
        ("TEXTCOLOR", (0, 0), (-1, 0), INK), ("BOX", (0, 0), (-1, -1), 0.6, GRID),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, GRID), ("BACKGROUND", (0, 0), (-1, 0), SHADE)]))
    story += [Spacer(1, 5 * mm), remarks, Spacer(1, 10 * mm)]
    signatures = Table([[translate(_("班主任签字：")), translate(_("家长签字：")),
                         "%s：%s" % (translate(_("打印日期")), card.printed)]],
                       colWidths=[width / 3] * 3)
    signatures.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 10.5)]))
    story.append(signatures)
    return story


def pdf(cards, translate, progress=None):
    """The cards as one PDF, one A4 page each (a card too long for a page is shrunk to fit).
    ``progress(done, total)``: called as each card is laid out."""
    register_font()
    cards = list(cards)
    target = io.BytesIO()
    margin = 15 * mm
    document = _Document(target, len(cards), progress, pagesize=A4, leftMargin=margin, rightMargin=margin,
                         topMargin=margin, bottomMargin=margin, title=translate(HEADING),
                         creator="xueji", author="", subject="")
    styles = _styles()
    story = []
    for done, card in enumerate(cards, start=1):
        content = _card_flowables(card, translate, styles, document.width)
        story.append(KeepInFrame(document.width, document.height - 1, content, mode="shrink"))
        story.append(_CardDone(done))
        if done < len(cards):
            story.append(PageBreak())
    if not story:
        story.append(Paragraph(escape(translate(_("暂无记录"))), styles["cell"]))
    document.build(story)
    return target.getvalue()
