"""Report cards (成绩单, issue 13): the pupil's A4 page and PDF, the class's batch PDF.

Through the real application: the PDF's text is read back with poppler's
``pdftotext`` (bin/test installs poppler-utils), its pages counted by the form
feeds pdftotext writes after each page."""
import base64
import re
import subprocess

import pytest

from xueji_site.grades import books, codes, entry, marks
from xueji_site.kernel import content

from .conftest import Browser, add_user, build_tree, open_site, resolve, student_values, valid_id

TERM = "2026-1"
SCORE = marks.setup_for(codes.SCORE, 100)
ID_NUMBERS = [valid_id("11010520120312%03d" % n) for n in (3, 4, 5)]


def _pdf_text(body):
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=body, capture_output=True, check=True,
                          timeout=30)
    return done.stdout.decode("utf-8")


def _class_with_marks(app, school_code, cohort, grade, options=None):
    """A school of the level its code says, a class in ``grade`` during TERM with three pupils,
    an exam of 语文, 数学 and 英语 with their marks, a comment-scale subject, and the people."""
    registry = app.registry
    with open_site(app) as site:
        nodes = build_tree(site, registry)
        school = content.create("School", nodes["county_a"], {"code": school_code, "name": "朝阳第八中学",
                                                             "address": "", "phone": ""}, registry)
        if options:
            school.grade_options = options
        klass = content.create("SchoolClass", school, {"cohort": cohort, "number": 2, "name": ""}, registry)
        pupils = [content.create("Student", klass, student_values(number, name, "12"[i % 2]), registry)
                  for i, (number, name) in enumerate(zip(ID_NUMBERS, ("陈小红", "赵子龙", "孙悟空")))]
        principal = add_user(site, "principal8", "principal", school)
        add_user(site, "head8", "head_teacher", klass)
        add_user(site, "maths8", "teacher", klass)
        add_user(site, "head-other", "head_teacher", nodes["class_a"])
        add_user(site, "stranger")
        add_user(site, "guard8", "guardian", pupils[0])
        comment = dict(marks.setup_for(codes.COMMENT), label="班主任评语")
        exam = books.add_exam(site, school, "期中考试", codes.MIDTERM, TERM, (grade,),
                              {"01": SCORE, "02": SCORE, "03": SCORE, "Z1": comment})
        keys = [p.__name__ for p in pupils]
        for subject, scores in (("01", ("92", "80", "65")), ("02", ("88", "95", "缺考")), ("03", ("70", "60", "99"))):
            entry.save(exam, klass, subject, dict(zip(keys, scores)), principal)
        sheet = books.sheet_of(exam, klass)
        sheet.set_comments("Z1", {keys[0]: "学习认真，乐于助人。"})
        paths = {name: "/" + "/".join(_path(node)) for name, node in
                 (("school", school), ("class", klass), ("pupil", pupils[0]))}
    return paths


def _path(node):
    found = []
    while node.__parent__ is not None:
        found.insert(0, node.__name__)
        node = node.__parent__
    return found


def _client(app, login):
    client = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "zh-CN"})
    client.login(login)
    return client


def test_the_pdf_holds_the_pupils_name_and_subjects_in_chinese_and_no_id_number(app):
    paths = _class_with_marks(app, "3111000008", 2025, 8)
    guardian = _client(app, "guard8")
    response = guardian.get(paths["pupil"] + "/report-card", {"term": TERM, "pdf": "1"})
    assert response.content_type == "application/pdf" and response.body.startswith(b"%PDF")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers["Cache-Control"]
    text = _pdf_text(response.body)
    for expected in ("陈小红", "朝阳第八中学", "学生成绩报告单", "语文", "数学", "英语",
                     "2026—2027学年第一学期", "学习认真，乐于助人。"):
        assert expected in text
    assert "赵子龙" not in text and ID_NUMBERS[0] not in text and ID_NUMBERS[0][6:14] not in text
    assert text.count("\f") == 1
    with open_site(app) as site:
        read = site.audit.newest(lambda e: e.action == "grades-report-card")
        assert [(e.path, dict(e.detail)["format"], e.login) for e in read] == [(paths["pupil"], "pdf", "guard8")]


def test_a_junior_guardian_sees_levels_and_a_score_only_where_allowed_and_never_a_rank(app):
    paths = _class_with_marks(app, "3111000008", 2025, 8)
    guardian = _client(app, "guard8")
    page = guardian.get(paths["pupil"] + "/report-card", {"term": TERM})
    results = page.html.find(id="card-results")
    row = {tr.th.get_text(): [td.get_text() for td in tr.find_all("td")] for tr in results.tbody.find_all("tr")}
    assert row["语文"] == ["优秀", "优秀"] and row["数学"] == ["优秀", "优秀"]
    assert row["英语"] == ["合格", "合格"]
    assert "92" not in results.get_text() and "总分" not in page.text and "名次" not in page.text
    assert "成绩以等级呈现" in page.text and ID_NUMBERS[0] not in page.text
    with open_site(app) as site:
        school = resolve(site, paths["school"])
        school.grade_options = {"scores": True, "ranks": True}  # ranks are refused in compulsory education
    page = guardian.get(paths["pupil"] + "/report-card", {"term": TERM})
    results = page.html.find(id="card-results")
    assert "优秀 92" in results.get_text() and "总分" in page.text and "250" in results.get_text()
    assert "名次" not in page.text and page.html.find(class_="card-ranks") is None
    assert "名次" not in _pdf_text(guardian.get(paths["pupil"] + "/report-card", {"term": TERM, "pdf": "1"}).body)
    # printed by the head teacher, the card still says what the family may see: it goes home
    staff_card = _client(app, "head8").get(paths["pupil"] + "/report-card", {"term": TERM})
    assert "优秀 92" in staff_card.text and "名次" not in staff_card.text


def test_a_senior_high_school_with_ranks_on_shows_the_rank(app):
    paths = _class_with_marks(app, "3411000009", 2026, 10, options={"scores": True, "ranks": True})
    guardian = _client(app, "guard8")
    page = guardian.get(paths["pupil"] + "/report-card", {"term": TERM})
    ranks = page.html.find(class_="card-ranks")
    # totals 250 and 235; the third pupil's 缺考 leaves no total, so no rank
    assert ranks is not None and [td.get_text() for td in ranks.find_all("td")][0] == "1 / 2"
    text = _pdf_text(guardian.get(paths["pupil"] + "/report-card", {"term": TERM, "pdf": "1"}).body)
    assert "班级名次" in text and "1/2" in re.sub(r"\s", "", text)


def test_another_class_teacher_a_subject_teacher_and_a_stranger_are_refused(app):
    paths = _class_with_marks(app, "3111000008", 2025, 8)
    for login in ("head-other", "maths8", "stranger"):
        client = _client(app, login)
        client.get(paths["pupil"] + "/report-card", {"term": TERM}, status=403)
        client.get(paths["pupil"] + "/report-card", {"term": TERM, "pdf": "1"}, status=403)
        client.get(paths["class"] + "/report-cards", {"term": TERM, "pdf": "1"}, status=403)
    _client(app, "guard8").get(paths["class"] + "/report-cards", {"term": TERM}, status=403)  # the family: its own
    with open_site(app) as site:
        assert not site.audit.newest(lambda e: e.action == "grades-report-card")


def test_the_class_batch_is_one_page_per_pupil_counted_as_it_is_drawn(app):
    paths = _class_with_marks(app, "3111000008", 2025, 8)
    head = _client(app, "head8")
    response = head.get(paths["class"] + "/report-cards", {"term": TERM, "pdf": "1"})
    text = _pdf_text(response.body)
    assert text.count("\f") == 3 and all(name in text for name in ("陈小红", "赵子龙", "孙悟空"))
    assert "待补考或缓考成绩" in re.sub(r"\s", "", text)  # 孙悟空's 数学: 缺考, the term result waits
    page = head.get(paths["class"] + "/report-cards", {"term": TERM})
    assert re.findall(r'<progress value="(\d)" max="3">', page.text) == ["1", "2", "3"]
    assert "已生成 3 / 3 份" in page.text
    link = re.search(r'href="data:application/pdf;base64,([A-Za-z0-9+/=]+)"', page.text).group(1)
    assert _pdf_text(base64.b64decode(link)).count("\f") == 3
    with open_site(app) as site:
        read = site.audit.newest(lambda e: e.action == "grades-report-card")
        assert len(read) == 6 and {dict(e.detail)["batch"] for e in read} == {paths["class"]}


def test_the_pdf_says_clearly_when_the_font_is_missing(monkeypatch):
    from xueji_site.grades import cards
    monkeypatch.setattr(cards, "FONT", "WenQuanYi-missing-test")
    monkeypatch.setattr(cards, "FONT_PATH", "/nonexistent/wqy.ttc")
    with pytest.raises(cards.FontMissing) as refused:
        cards.pdf([], str)
    assert "fonts-wqy-microhei" in str(refused.value)


def test_a_card_too_long_for_a_page_is_shrunk_onto_one():
    from xueji_site.grades import cards
    card = cards.Card(key="k", school="朝阳第八中学", pupil="陈小红", class_title="2025级2班", grade="初二",
                      term=TERM, term_label="2026—2027学年第一学期", exams=["期中考试", "期末考试"],
                      rows=[cards.Row(name, ["优秀", "缺考"], "待补考或缓考成绩") for name in ("语文", "数学", "英语")],
                      comments=[("班主任评语（期末考试）", "学习认真，乐于助人。" * 400)])
    text = _pdf_text(cards.pdf([card, card], str))
    assert text.count("\f") == 2 and text.count("陈小红") == 2
