"""A whole exam's marks from a spreadsheet (issue 13, item 3): the template is the
export, a filled one is checked row by row and written all-or-nothing or the valid
rows only, a rerun changes nothing, and a file of another exam, a subject the
teacher does not teach or a locked subject is refused with a reason — real xlsx
files, through the real application."""
import io
import re

import openpyxl
import pytest

from xueji_site.grades import books, codes, entry, marks

from .conftest import open_site
from .test_grades_views import _column, _node, graded  # noqa: F401  (a fixture)


def _template(browser, graded, at="school_a"):
    url = "%s/grades-template?exam=%s&export=xlsx" % (graded["paths"][at], graded["exam"])
    return openpyxl.load_workbook(io.BytesIO(browser.get(url).body))


def _rows(book):
    return [list(r) for r in book.active.iter_rows(values_only=True)]


def _header(rows):
    return next(i for i, r in enumerate(rows) if r and "姓名" in [str(c) for c in r if c is not None])


def _fill(book, by_name):
    """Set cells by pupil name and subject header prefix: {"李明": {"数学": "90"}}."""
    sheet = book.active
    rows = _rows(book)
    head = _header(rows)
    titles = [str(c or "") for c in rows[head]]
    name_at = titles.index("姓名")
    for r, row in enumerate(rows[head + 1:], start=head + 2):
        for subject, text in by_name.get(row[name_at], {}).items():
            column = next(i for i, title in enumerate(titles) if title.startswith(subject + "("))
            sheet.cell(row=r, column=column + 1, value=text)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _said(page):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.text))


def _with_column(book, title):
    """The template with one more subject column (one the user was not given)."""
    rows = _rows(book)
    head = _header(rows)
    book.active.cell(row=head + 1, column=len(rows[head]) + 1, value=title)
    return book


def _upload(browser, graded, data, mode="all", reason="", status=200, at="school_a", exam=None):
    page = browser.get(graded["paths"][at] + "/grades-import")
    form = page.forms["grades-import-form"]
    form["exam"] = exam or graded["exam"]
    form["mode"] = mode
    form["reason"] = reason
    form["file"] = ("marks.xlsx", data)
    return form.submit(status=status)


def test_the_template_lists_the_pupils_with_the_marks_entered(browser, app, graded):
    from .test_grades_views import _enter
    _enter(app, graded, "02", {"first": "92"})
    browser.login("office")
    rows = _rows(_template(browser, graded))
    assert graded["exam"] in [str(c) for c in rows[0] if c is not None]
    head = _header(rows)
    titles = [str(c or "") for c in rows[head]]
    assert "数学(02)" in titles and "语文(01)" in titles
    by_name = {r[titles.index("姓名")]: r for r in rows[head + 1:]}
    assert set(by_name) == {"李明", "张伟"}
    assert str(by_name["李明"][titles.index("数学(02)")]) in ("92", "92.0")


def test_bad_rows_import_nothing_all_or_nothing_and_the_rest_with_valid_only(browser, app, graded):
    browser.login("office")
    data = _fill(_template(browser, graded), {"李明": {"数学": "95", "语文": "88"}, "张伟": {"数学": "120"}})
    page = _upload(browser, graded, data, "all")
    assert "分数不能超过满分 100" in _said(page) and "全部未导入" in _said(page)
    assert _column(app, graded, "02") == {}
    page = _upload(browser, graded, data, "valid")
    assert "新录入 2 个" in _said(page)
    assert _column(app, graded, "02") == {"first": 950, "second": books.BLANK}
    assert _column(app, graded, "01")["first"] == 880
    page = _upload(browser, graded, data, "valid")  # the same file again: nothing is written twice
    assert "新录入 0 个" in _said(page) and "修改 0 个" in _said(page)
    with open_site(app) as site:
        saves = site.audit.newest(lambda e: e.action == "grades-save")
        assert len(saves) == 2  # 数学 and 语文, once each


def test_a_file_of_another_exam_is_refused_and_changes_nothing(browser, app, graded):
    with open_site(app) as site:
        school = _node(site, graded["paths"]["school_a"])
        other = books.add_exam(site, school, "期末考试", codes.FINAL, graded_term(), (3,),
                               {"02": marks.setup_for(codes.SCORE, 100)})
        other_id = other.id
    browser.login("office")
    data = _fill(_template(browser, graded), {"李明": {"数学": "95"}})
    page = _upload(browser, graded, data, "valid", status=400, exam=other_id)
    assert "不是所选考试" in _said(page)
    with open_site(app) as site:
        assert not len(books.get_exam(site, other_id).sheets)


def graded_term():
    return codes.term_of()


def test_a_teacher_may_import_only_their_subject_and_not_a_locked_one(browser, app, graded):
    browser.login("maths")
    book = _template(browser, graded, at="class_a")
    assert "语文(01)" not in [str(c) for c in _rows(book)[_header(_rows(book))]]  # only what they enter
    data = _fill(_with_column(book, "语文(01)"), {"李明": {"数学": "81", "语文": "70"}})
    page = _upload(browser, graded, data, "all", at="class_a")
    assert "任课教师" in _said(page) and _column(app, graded, "02") == {}
    data = _fill(_template(browser, graded, at="class_a"), {"李明": {"数学": "81"}})
    _upload(browser, graded, data, "all", at="class_a")
    assert _column(app, graded, "02")["first"] == 810
    with open_site(app) as site:
        exam = books.get_exam(site, graded["exam"])
        entry.submit(exam, _node(site, graded["paths"]["class_a"]), "02", site.principals.by_login_name("maths"))
    data = _fill(_template(browser, graded, at="class_a"), {"李明": {"数学": "85"}})
    page = _upload(browser, graded, data, "valid", reason="复核", at="class_a")
    assert "锁定" in _said(page) and _column(app, graded, "02")["first"] == 810


def test_an_unreadable_file_is_a_clear_400(browser, app, graded):
    browser.login("office")
    page = _upload(browser, graded, b"\x00\x01not a spreadsheet", status=400)
    assert 'id="import-error"' in page.text


def test_an_upload_over_the_cap_is_refused_on_its_headers(browser, app, graded):
    browser.login("office")
    page = _upload(browser, graded, b"a,b\n" + b"x" * (30 * 1024 * 1024), status=413)
    assert page.status_int == 413 and _column(app, graded, "02") == {}
