"""Grades through the web (issue 13): setting an exam, the marks grid (who may
enter which subject, bad cells, a stale grid), submitting and a locked mark
corrected on the approval chain with its history, the pupil's page under the
ranking rules for each role, and the class's sheet exported.

webtest against the real application on an in-memory ZODB."""
import io
import re

import openpyxl
import pytest
from pyramid.traversal import resource_path

from xueji_site.grades import assignments, books, codes, marks
from xueji_site.kernel import content

from .conftest import add_user, build_tree, open_site, resolve as _node, setting, student_values, valid_id

TERM = codes.term_of()
SCORE = marks.setup_for(codes.SCORE, 100)


def _paths(tree):
    return {name: resource_path(node) for name, node in tree.items()}


@pytest.fixture
def graded(app):
    """School A's class (grade 3 this school year) with two pupils, a maths and a
    Chinese teacher, the principal, the head teacher, a guardian, and a mid-term exam."""
    with open_site(app) as site:
        tree = build_tree(site, app.registry)
        klass = tree["class_a"]
        second = content.create("Student", klass, student_values(valid_id("11010520170401002"), "张伟", "1"),
                                app.registry)
        maths, chinese = add_user(site, "maths"), add_user(site, "chinese")
        assignments.assign(klass, TERM, "02", maths, app.registry)
        assignments.assign(klass, TERM, "01", chinese, app.registry)
        add_user(site, "principal", "principal", tree["school_a"])
        add_user(site, "office", "academic_admin", tree["school_a"])
        add_user(site, "head", "head_teacher", klass)
        add_user(site, "parent", "guardian", tree["pupil_a"])
        add_user(site, "otherparent", "guardian", tree["pupil_b"])
        exam = books.add_exam(site, tree["school_a"], "期中考试", codes.MIDTERM, TERM,
                              (books.class_grade(klass, TERM),),
                              {"01": dict(SCORE), "02": dict(SCORE), "12": marks.setup_for(codes.LEVEL)})
        paths = dict(_paths(tree), second=resource_path(second))
        keys = {"first": tree["pupil_a"].__name__, "second": second.__name__}
        exam_id = exam.id
    return {"paths": paths, "keys": keys, "exam": exam_id}


def _grid_url(graded, subject):
    return "%s/grades-entry?exam=%s&subject=%s" % (graded["paths"]["class_a"], graded["exam"], subject)


def _fill(form, graded, **marks_by_pupil):
    for who, text in marks_by_pupil.items():
        form["m-" + graded["keys"][who]] = text
    return form


def _column(app, graded, subject):
    with open_site(app) as site:
        exam = books.get_exam(site, graded["exam"])
        sheet = exam.sheets.get(graded["paths"]["class_a"])
        if sheet is None:
            return {}
        return {who: sheet.value(subject, key) for who, key in graded["keys"].items()}


# -- setting an exam ------------------------------------------------------------------------

def test_the_office_sets_an_exam_from_the_form_and_bad_values_are_refused_in_place(browser, app, graded):
    browser.login("office")
    school = graded["paths"]["school_a"]
    form = browser.get(school + "/grades-exam-add").forms["exam-form"]
    form["title"] = "第一单元测验"
    form["kind"] = codes.UNIT
    form["full"] = "0"
    page = form.submit("save", status=400)
    assert "满分至少为1" in page.text and "请至少选择一个年级" in page.text
    form = page.forms["exam-form"]
    form["full"] = "120"
    boxes = {box._value: box for box in form.fields["checkbox"]}  # deform names every box "checkbox"
    [grade_3] = [b for b in form.fields["checkbox"][:6] if b._value == "3"]
    grade_3.checked = True
    boxes["02"].checked = True  # 数学
    page = form.submit("save", status=303).follow()
    assert "第一单元测验" in page.text and "数学" in page.text
    with open_site(app) as site:
        made = [e for e in books.exams_at(site, site[school.strip("/").split("/")[0]], None)] + \
            books.exams_in_scope(site, _node(site, school), TERM)
        unit = [e for e in made if e.title == "第一单元测验"]
        assert len(unit) == 1 and unit[0].grades == (3,) and unit[0].subjects == {"02": dict(
            marks.setup_for(codes.SCORE, 120))}


def test_a_subject_teacher_may_not_set_exams(browser, graded):
    browser.login("maths")
    browser.get(graded["paths"]["school_a"] + "/grades-exam-add", status=403)


# -- the grid -------------------------------------------------------------------------------

def test_a_teacher_enters_their_subject_and_another_teachers_subject_is_refused(browser, app, graded):
    browser.login("maths")
    page = browser.get(graded["paths"]["class_a"] + "/grades")
    assert "期中考试" in page.text and _grid_url(graded, "02").split("?")[1].replace("&", "&amp;") in page.text
    form = browser.get(_grid_url(graded, "02")).forms["grades-grid"]
    _fill(form, graded, first="88.5", second="缺考")
    page = form.submit("save", status=303).follow()
    assert "新录入 2 个" in page.text
    assert _column(app, graded, "02") == {"first": 885, "second": books.CODE_VALUES[codes.ABSENT]}
    browser.get(_grid_url(graded, "01"), status=403)  # 语文 is the other teacher's
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    browser.post(_grid_url(graded, "01"), {"csrf_token": token, "m-" + graded["keys"]["first"]: "90"}, status=403)
    assert _column(app, graded, "01") == {"first": books.BLANK, "second": books.BLANK}


def test_bad_cells_are_marked_in_place_and_nothing_is_saved(browser, app, graded):
    browser.login("maths")
    form = browser.get(_grid_url(graded, "02")).forms["grades-grid"]
    _fill(form, graded, first="101", second="77")
    page = form.submit("save", status=400)
    assert "分数不能超过满分 100" in page.text and 'aria-invalid="true"' in page.text
    assert page.forms["grades-grid"]["m-" + graded["keys"]["second"]].value == "77"  # what was typed stays
    assert _column(app, graded, "02") == {}


def test_a_stale_grid_is_refused_with_the_other_save_shown_and_nothing_lost(browser, app, graded):
    browser.login("maths")
    mine = browser.get(_grid_url(graded, "02")).forms["grades-grid"]
    other = type(browser)(app, extra_environ={"REMOTE_ADDR": "127.0.0.2"})
    other.login("office")
    theirs = other.get(_grid_url(graded, "02")).forms["grades-grid"]
    _fill(theirs, graded, first="60").submit("save", status=303)
    page = _fill(mine, graded, first="95", second="80").submit("save", status=409)
    assert "Office" in page.text or "office" in page.text
    assert "现为" in page.text and "60" in page.text
    assert _column(app, graded, "02")["first"] == 600  # the office's mark is not overwritten
    again = page.forms["grades-grid"]  # the grid now knows the office's save: a deliberate resubmit goes in
    again["reason"] = "核对试卷后更正"
    again.submit("save", status=303)
    assert _column(app, graded, "02") == {"first": 950, "second": 800}


def test_a_submitted_mark_is_changed_only_through_the_principal_with_its_history(browser, app, graded):
    browser.login("maths")
    form = _fill(browser.get(_grid_url(graded, "02")).forms["grades-grid"], graded, first="70", second="66")
    form.submit("save", status=303)
    page = browser.get(_grid_url(graded, "02"))
    [handing_in] = [f for f in page.forms.values() if "grades-submit" in f.action]
    page = handing_in.submit(status=303).follow()  # 提交并锁定
    assert 'id="grades-grid"' not in page.text and "已提交锁定" in page.text
    correction = [f for f in page.forms.values() if "pupil" in f.fields and
                  f["pupil"].value == graded["keys"]["first"]][0]
    correction["mark"] = "76"
    page = correction.submit(status=400)  # no reason: refused
    assert "须填写原因" in page.text and _column(app, graded, "02")["first"] == 700
    correction = [f for f in page.forms.values() if "pupil" in f.fields and
                  f["pupil"].value == graded["keys"]["first"]][0]
    correction["mark"], correction["reason"] = "76", "漏加第5题6分"
    page = correction.submit(status=303).follow()
    assert "等待校长审批" in page.text and _column(app, graded, "02")["first"] == 700
    browser.logout()
    browser.login("principal")
    page = browser.get(graded["paths"]["pupil_a"] + "/grades")
    decision = page.forms[[k for k, f in page.forms.items() if "request" in f.fields][0]]
    page = decision.submit("action", value="approve", status=303).follow()
    assert "已批准成绩更正" in page.text
    assert _column(app, graded, "02")["first"] == 760
    record = browser.get(graded["paths"]["pupil_a"] + "/")
    history = re.search(r'<section[^>]*class="history".*?</section>', record.text, re.S).group(0)
    assert "期中考试·数学: 70 → 76" in history
    assert "漏加第5题6分" in history and "成绩更正生效" in history


# -- the pupil's page under the ranking rules -----------------------------------------------

def _enter(app, graded, subject, by_pupil):
    from xueji_site.grades import entry
    with open_site(app) as site:
        exam = books.get_exam(site, graded["exam"])
        klass = _node(site, graded["paths"]["class_a"])
        office = site.principals.by_login_name("office")
        entry.save(exam, klass, subject, {graded["keys"][w]: t for w, t in by_pupil.items()}, office)


def test_a_guardian_in_compulsory_education_sees_levels_and_bands_never_a_rank(browser, app, graded):
    _enter(app, graded, "02", {"first": "92", "second": "61"})
    _enter(app, graded, "01", {"first": "58", "second": "80"})
    browser.login("parent")
    page = browser.get(graded["paths"]["pupil_a"] + "/grades")
    assert "优秀" in page.text and "待合格" in page.text  # 92 and 58, as levels
    assert ">92<" not in page.text and ">58<" not in page.text and ">80<" not in page.text
    assert "排名" not in page.text and "张伟" not in page.text
    assert "A 1" in page.text  # the class's bands: one pupil at A in 数学
    browser.get(graded["paths"]["second"] + "/grades", status=403)  # another family's child
    chart = browser.get(graded["paths"]["pupil_a"] + "/grades-trend.svg")
    assert chart.content_type == "image/svg+xml" and "等级" in chart.text and "得分率" not in chart.text


def test_a_school_may_show_scores_to_families_but_never_ranks_below_senior_high(browser, app, graded):
    _enter(app, graded, "02", {"first": "92", "second": "61"})
    with open_site(app) as site:
        _node(site, graded["paths"]["school_a"]).grade_options = {"scores": True, "ranks": True}
    browser.login("parent")
    page = browser.get(graded["paths"]["pupil_a"] + "/grades")
    assert ">92<" in page.text and "排名" not in page.text


def test_staff_see_scores_means_and_the_rank_in_the_class(browser, app, graded):
    _enter(app, graded, "02", {"first": "92", "second": "61"})
    _enter(app, graded, "01", {"first": "80", "second": "85"})  # a total needs every scored subject
    browser.login("head")
    page = browser.get(graded["paths"]["pupil_a"] + "/grades")
    assert ">92<" in page.text and "班级排名" in page.text and "1 / 2" in page.text
    assert "76.5" in page.text  # the class mean of 数学


def test_a_guardian_in_a_senior_high_school_with_ranking_on_sees_the_rank(browser, app):
    with open_site(app) as site:
        tree = build_tree(site, app.registry)
        high = content.create("School", tree["county_a"], {"code": "3411000009", "name": "朝阳高级中学",
                                                           "address": "", "phone": ""}, app.registry)
        cohort = int(TERM[:4])
        klass = content.create("SchoolClass", high, {"cohort": cohort, "number": 1, "name": ""}, app.registry)
        pupil = content.create("Student", klass, student_values(valid_id("11010520100401003"), "赵敏", "2"),
                               app.registry)
        rival = content.create("Student", klass, student_values(valid_id("11010520100401004"), "钱进", "1"),
                               app.registry)
        high.grade_options = {"scores": True, "ranks": True}
        add_user(site, "hsparent", "guardian", pupil)
        office = add_user(site, "hsoffice", "academic_admin", high)
        exam = books.add_exam(site, high, "期末考试", codes.FINAL, TERM, (10,), {"02": dict(SCORE)})
        from xueji_site.grades import entry
        entry.save(exam, klass, "02", {pupil.__name__: "70", rival.__name__: "90"}, office)
        path = resource_path(pupil)
    browser.login("hsparent")
    page = browser.get(path + "/grades")
    assert "班级排名" in page.text and "2 / 2" in page.text and ">70<" in page.text
    assert "钱进" not in page.text and ">90<" not in page.text
    with setting(app, "xueji.grades.families.senior", "levels"):  # the bureau's ceiling wins
        page = browser.get(path + "/grades")
        assert "排名" not in page.text and ">70<" not in page.text and "合格" in page.text


def test_a_subject_teacher_does_not_read_a_pupils_results(browser, graded):
    browser.login("maths")
    browser.get(graded["paths"]["pupil_a"] + "/grades", status=403)


# -- the class's sheet ---------------------------------------------------------------------

def test_the_class_sheet_shows_totals_and_ranks_and_exports_as_xlsx(browser, app, graded):
    _enter(app, graded, "02", {"first": "92", "second": "61"})
    _enter(app, graded, "01", {"first": "80", "second": "85"})
    browser.login("head")
    url = "%s/grades-sheet?exam=%s" % (graded["paths"]["class_a"], graded["exam"])
    page = browser.get(url)
    assert "172" in page.text and "146" in page.text and "教基厅函" in page.text
    sheet = openpyxl.load_workbook(io.BytesIO(browser.get(url + "&export=xlsx").body)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][1] == "姓名" and "总分" in rows[0]
    assert sorted((r[1], r[-2], r[-1]) for r in rows[1:]) == [("张伟", 146, 2), ("李明", 172, 1)]
    assert "打印" in browser.get(url + "&print=1").text
    browser.logout()
    browser.login("maths")
    browser.get(url, status=403)  # a subject teacher enters marks, the class's results are the staff's


# -- analysis -------------------------------------------------------------------------------

def test_the_school_and_county_analysis_show_the_figures_charts_and_exports(browser, app, graded):
    _enter(app, graded, "02", {"first": "92", "second": "缺考"})
    _enter(app, graded, "12", {"first": "B", "second": "C"})
    browser.login("principal")
    url = "%s/grades-analysis?exam=%s&subject=02" % (graded["paths"]["school_a"], graded["exam"])
    page = browser.get(url)
    text = re.sub(r">\s+<", "><", page.text)
    assert "<th>数学</th><td>2</td><td>1</td><td>1</td><td>92.0</td>" in text  # 应考 2, 实考 1, 缺考 1, mean
    assert "2024级3班" in text  # the units below a school are its classes
    for chart in ("distribution", "units", "bands"):
        svg = browser.get("%s/grades-analysis.svg?exam=%s&subject=02&chart=%s" % (
            graded["paths"]["school_a"], graded["exam"], chart))
        assert svg.content_type == "image/svg+xml" and "<script" not in svg.text
    browser.get("%s/grades-analysis.svg?exam=%s&subject=12&chart=distribution" % (
        graded["paths"]["school_a"], graded["exam"]), status=400)  # a level subject has no score histogram
    rows = list(openpyxl.load_workbook(io.BytesIO(browser.get(url + "&table=units&export=xlsx").body)).active
                .iter_rows(values_only=True))
    assert rows[0][0] == "单位" and rows[1][0] == "2024级3班" and rows[1][4] == 92.0
    assert "打印" in browser.get(url + "&print=1").text
    browser.get(url + "&export=pdf", status=400)


def test_families_and_subject_teachers_do_not_reach_the_analysis(browser, graded):
    url = "%s/grades-analysis?exam=%s" % (graded["paths"]["class_a"], graded["exam"])
    browser.login("parent")
    browser.get(url, status=403)
    browser.logout()
    browser.login("maths")
    browser.get(url, status=403)


# -- teaching assignments -------------------------------------------------------------------

def test_the_office_assigns_a_school_teacher_and_refuses_an_outsider(browser, app, graded):
    with open_site(app) as site:
        tree_school = _node(site, graded["paths"]["school_a"])
        add_user(site, "newteacher", "teacher", tree_school)
        add_user(site, "outsider", "teacher", _node(site, graded["paths"]["school_b"]))
    browser.login("office")
    url = graded["paths"]["class_a"] + "/grades-teachers"
    page = browser.get(url)
    form = [f for f in page.forms.values() if f.get("subject", default=None) is not None
            and f["subject"].value == "03" and f["login"].value == ""][0]
    form["login"] = "outsider"
    refused = form.submit("action", value="assign", status=400)
    assert "本校教职工" in refused.text
    form = [f for f in refused.forms.values() if f.get("subject", default=None) is not None
            and f["subject"].value == "03" and f["login"].value == ""][0]
    form["login"] = "newteacher"
    form.submit("action", value="assign", status=303)
    browser.logout()
    browser.login("newteacher")
    browser.get(_grid_url(graded, "02"), status=403)
    with open_site(app) as site:
        exam = books.get_exam(site, graded["exam"])
        exam.subjects = dict(exam.subjects, **{"03": dict(SCORE)})
    assert "cell-" in browser.get(_grid_url(graded, "03")).text  # 英语 is theirs now


def test_a_primary_school_may_show_scores_but_is_refused_ranks(browser, app, graded):
    _enter(app, graded, "02", {"first": "92", "second": "61"})
    browser.login("office")
    url = graded["paths"]["school_a"] + "/grades-options"
    form = browser.get(url).forms["grades-options-form"]
    form["scores"] = True
    form.submit(status=303)
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(url).text).group(1)
    refused = browser.post(url, {"csrf_token": token, "scores": "1", "ranks": "1"}, status=400)
    assert "教基厅函" in refused.text
    with open_site(app) as site:
        assert _node(site, graded["paths"]["school_a"]).grade_options == {"scores": True, "ranks": False}
    browser.logout()
    browser.login("parent")
    assert ">92<" in browser.get(graded["paths"]["pupil_a"] + "/grades").text


def test_the_graduates_transcript_goes_with_the_archived_record(browser, app, graded):
    from xueji_site.graduates import archive, graduation
    _enter(app, graded, "02", {"first": "92", "second": "61"})
    _enter(app, graded, "12", {"first": "B", "second": "C"})
    with open_site(app) as site:
        school = _node(site, graded["paths"]["school_a"])
        graduated = dict(graduation.graduate(school, 2024))
        pupil = _node(site, graded["paths"]["pupil_a"])
        assert pupil in graduated
        record = archive.archive_pupil(pupil, app.registry)
        assert record.grades == ((TERM, "02", "A", 92.0), (TERM, "12", "B", None))
        path = resource_path(record)
    browser.login("parent")
    page = browser.get(path)
    transcript = re.search(r'<section id="transcript">.*?</section>', page.text, re.S).group(0)
    assert "数学" in transcript and "优秀" in transcript and "体育与健康" in transcript and "良好" in transcript
    assert "92" not in transcript  # a transcript shows levels


def test_a_holders_code_shows_the_transcript_only_when_they_chose_to_share_it(browser, app, graded):
    from xueji_site.graduates import archive, graduation
    _enter(app, graded, "02", {"first": "92", "second": "61"})
    with open_site(app) as site:
        school = _node(site, graded["paths"]["school_a"])
        number = dict(graduation.graduate(school, 2024))[_node(site, graded["paths"]["pupil_a"])]
        path = resource_path(archive.archive_pupil(_node(site, graded["paths"]["pupil_a"]), app.registry))
    browser.login("parent")
    codes_seen = {}
    for share in (False, True):
        form = browser.get(path).forms["code-form"]
        form["transcript"] = share
        report = form.submit()
        assert ("verified-transcript" in report.text) is share
        codes_seen[share] = re.search(r'id="code">([A-Z0-9-]+)<', report.text).group(1)
    public = type(browser)(app, extra_environ={"REMOTE_ADDR": "192.0.2.9"})
    for share, code in codes_seen.items():
        answer = public.get("/verify.json", {"number": number, "code": code}).json
        assert answer["valid"] and ("transcript" in answer) is share
    assert public.get("/verify.json", {"number": number, "code": codes_seen[True]}).json["transcript"] == [
        {"term": TERM, "subject": "02", "level": "A"}]
    by_name = public.get("/verify.json", {"number": number, "name": "李明"}).json
    assert by_name["valid"] and "transcript" not in by_name  # a name look-up never shows it
    page = public.get("/verify", {"number": number, "code": codes_seen[True]})
    assert "成绩档案" in page.text and "优秀" in page.text and "数学" in page.text
