"""Class lists (issue 12): status shown and filterable, counts that say whom they
include and agree with the reports, the registrar's export columns within what
the role may see, numbers as numbers, and class sizes against the standard."""
import csv
import io
import re

import openpyxl
import pytest
from pyramid.threadlocal import get_current_registry

from xueji_site.tree import class_size
from xueji_site.standards import codes
from xueji_site.kernel import content
from xueji_site.search import reports
from xueji_site.status import changes as workflow
from xueji_site.kernel.catalog import SYSTEM
from .conftest import Browser, add_user, build_tree, open_site, resolve
from .import_helpers import pupils, xlsx_bytes
from .test_search import _pupil

SCHOOL = "/110000/110105/2111000001"
CLASS = SCHOOL + "/2024-03"


def _csv(response):
    return list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))


@pytest.fixture
def roll(app):
    """A class of six: 李明 and three more enrolled, one suspended, one withdrawn."""
    with open_site(app) as site:
        registry = get_current_registry()
        nodes = build_tree(site, registry)
        klass = nodes["class_a"]
        nodes["pupil_a"].guardian_name, nodes["pupil_a"].guardian_relation = "李强", "11"
        nodes["pupil_a"].guardian_phone = "13912345678"
        for n, (name, gender) in enumerate((("张三", "1"), ("张红", "2"), ("王五", "1")), start=1):
            _pupil(klass, "110105", n, name, gender, registry)
        sick = _pupil(klass, "110105", 4, "赵休", "2", registry)
        content.modify(sick, {"status": workflow.SUSPENDED}, registry)
        gone = _pupil(klass, "110105", 5, "钱退", "1", registry)
        content.modify(gone, {"status": workflow.WITHDRAWN}, registry)
        add_user(site, "reg", "school_registrar", at=nodes["school_a"])
        add_user(site, "head", "head_teacher", at=klass)
        add_user(site, "teach", "teacher", at=klass)
    return nodes


def _rows(page):
    """{name: cells} of the pupils' table on a class page."""
    found = {}
    for tr in page.html.select("section.listing table.grid tbody tr"):
        cells = [td.get_text(strip=True) for td in tr.find_all("td")]
        found[cells[0]] = cells
    return found


def test_class_list_shows_status_filters_by_it_and_says_whom_each_count_includes(app, browser, roll):
    browser.login("reg")
    page = browser.get(CLASS + "/")
    header = [th.get_text() for th in page.html.select("section.listing table.grid thead th")]
    assert header == ["姓名", "性别", "出生日期", "民族", "学籍状态"]
    rows = _rows(page)
    assert len(rows) == 6 and rows["赵休"][-1] == "休学" and rows["钱退"][-1] == "退学" and rows["李明"][-1] == "在籍"
    note = page.html.find(id="count-note").get_text()
    assert "名册共 6 人" in note and "在籍 4" in note and "休学 1" in note and "退学 1" in note
    assert "统计报表只计在籍学生（4 人）" in note
    offered = [o["value"] for o in page.html.select("#status-filter select[name=status] option")]
    assert offered == ["", "enrolled", "suspended", "withdrawn"]
    # the filter
    suspended = browser.get(CLASS + "/", {"type": "Student", "status": "suspended"})
    assert list(_rows(suspended)) == ["赵休"]
    assert sorted(_rows(browser.get(CLASS + "/", {"type": "Student", "status": "enrolled"}))) == \
        sorted(["李明", "张三", "张红", "王五"])
    assert len(_rows(browser.get(CLASS + "/", {"type": "Student", "status": "<script>"}))) == 6  # ignored, no 500
    # the class's enrolment report counts exactly the 在籍 of the list
    with open_site(app) as site:
        _h, report_rows = reports.run("enrolment", site, SYSTEM, resolve(site, CLASS)).grid(str)
    assert report_rows[-1] == ["合计", 3, 1, 4]
    # the school's page: each class with both numbers
    school = browser.get(SCHOOL + "/")
    heads = [th.get_text() for th in school.html.select("section.listing table.grid thead th")]
    assert heads == ["班级", "级", "年级", "在籍人数", "名册人数（含休学等）", "班额"]
    cells = [td.get_text(strip=True) for td in school.html.select("section.listing table.grid tbody tr")[0].find_all("td")]
    assert cells[3:5] == ["4", "6"] and cells[5] == "标准 45"
    # the status-filtered export carries only those pupils, and says so in the audit
    text = _csv(browser.get(CLASS + "/export", {"type": "Student", "status": "withdrawn", "format": "csv"}))
    assert [r[0] for r in text[1:]] == ["钱退"] and text[1][text[0].index("学籍状态")] == "退学"
    with open_site(app) as site:
        entry = site.audit.newest(lambda e: e.action == "export", limit=1)[0]
        assert dict(entry.detail)["status"] == "withdrawn" and dict(entry.detail)["rows"] == "1"


EXPORT_HEADER = ["姓名", "性别", "出生日期", "民族", "学校", "班级", "年级", "学籍状态", "全国学籍号", "班内学号",
                 "入学年月", "就读方式", "监护人姓名", "监护人关系", "监护人电话"]


def test_listing_export_carries_the_registrars_columns_masked_as_the_role_may_see(app, roll):
    registrar = Browser(app)
    registrar.login("reg")
    rows = _csv(registrar.get(CLASS + "/export", {"type": "Student", "format": "csv"}))
    assert rows[0] == EXPORT_HEADER
    li = {r[0]: dict(zip(EXPORT_HEADER, r)) for r in rows[1:]}["李明"]
    assert li["全国学籍号"] == "G110105201703120038" and li["监护人电话"] == "13912345678"
    assert li["学校"] == "朝阳实验小学" and li["班级"] == "2024级3班" and li["学籍状态"] == "在籍"
    assert li["入学年月"] == "202409" and li["就读方式"] == "走读"
    assert li["监护人姓名"] == "李强" and li["监护人关系"] == "父亲"
    # a head teacher reads the records but not their sensitive fields: masked in the file too
    head = Browser(app)
    head.login("head")
    rows = _csv(head.get(CLASS + "/export", {"type": "Student", "format": "csv"}))
    assert rows[0] == EXPORT_HEADER
    li = {r[0]: dict(zip(EXPORT_HEADER, r)) for r in rows[1:]}["李明"]
    assert li["全国学籍号"] != "G110105201703120038" and li["全国学籍号"].startswith("G110") and "*" in li["全国学籍号"]
    assert li["监护人电话"] == "139****5678" and li["监护人姓名"] == "李强"
    text = "\n".join(",".join(r) for r in rows)
    assert "110105201703120038" not in text and "13912345678" not in text
    # the search's export: the same columns, masked the same way
    found = _csv(head.get(CLASS + "/search", {"q": "李明", "export": "csv"}))
    assert found[0] == EXPORT_HEADER and found[1][EXPORT_HEADER.index("监护人电话")] == "139****5678"
    found = _csv(registrar.get(SCHOOL + "/search", {"status": "suspended", "export": "csv"}))
    assert [r[0] for r in found[1:]] == ["赵休"] and found[1][EXPORT_HEADER.index("学籍状态")] == "休学"
    # a teacher sees the list only, not the records: the list's own columns
    teacher = Browser(app)
    teacher.login("teach")
    rows = _csv(teacher.get(CLASS + "/export", {"type": "Student", "format": "csv"}))
    assert rows[0] == ["姓名", "性别", "出生日期", "民族", "学籍状态"] and len(rows) == 7
    assert "李强" not in "\n".join(",".join(r) for r in rows)


def test_xlsx_numbers_are_numeric_cells(app, roll):
    browser = Browser(app)
    browser.login("reg")
    sheet = openpyxl.load_workbook(io.BytesIO(browser.get(SCHOOL + "/export", {"type": "SchoolClass",
                                                                                  "format": "xlsx"}).body)).active
    rows = list(sheet.iter_rows(values_only=False))
    assert [c.value for c in rows[0]][3:5] == ["在籍人数", "名册人数（含休学等）"]
    assert rows[1][3].value == 4 and rows[1][3].data_type == "n" and rows[1][4].value == 6
    assert rows[1][1].value == 2024 and rows[1][1].data_type == "n"  # the cohort year: a number too
    report = openpyxl.load_workbook(io.BytesIO(browser.get(SCHOOL + "/reports", {"name": "enrolment",
                                                                                  "export": "xlsx"}).body)).active
    cells = list(report.iter_rows(values_only=False))
    assert cells[-1][0].value == "合计" and [c.value for c in cells[-1][1:]] == [3, 1, 4]
    assert all(c.data_type == "n" for c in cells[-1][1:])
    assert _csv(browser.get(SCHOOL + "/reports", {"name": "enrolment", "export": "csv"}))[-1] == ["合计", "3", "1", "4"]


# -- class sizes ------------------------------------------------------------------------

def test_standard_sizes_default_to_the_national_ones_and_are_settings():
    assert class_size.standard_size({}, codes.LEVEL_PRIMARY) == 45
    assert class_size.standard_size({}, codes.LEVEL_JUNIOR) == 50
    assert class_size.standard_size({}, codes.LEVEL_SENIOR) == 50
    assert class_size.standard_size({}, codes.LEVEL_OTHER) is None
    settings = {"xueji.class_size.primary": "40", "xueji.class_size.secondary": "48",
                "xueji.class_size.senior": "55", "xueji.class_size.other": "12"}
    assert [class_size.standard_size(settings, level) for level in
            (codes.LEVEL_PRIMARY, codes.LEVEL_JUNIOR, codes.LEVEL_SENIOR, codes.LEVEL_OTHER)] == [40, 48, 55, 12]
    assert class_size.standard_size({"xueji.class_size.primary": "0"}, codes.LEVEL_PRIMARY) is None  # off
    with pytest.raises(ValueError):
        class_size.check({"xueji.class_size.primary": "forty-five"})
    with pytest.raises(ValueError):
        class_size.check({"xueji.class_size.secondary": "-1"})


def test_a_bad_class_size_setting_stops_the_start(settings):
    from xueji_site import main
    with pytest.raises(ValueError):
        main({}, **dict(settings, **{"xueji.class_size.primary": "lots"}))


@pytest.fixture
def small_classes(app, roll):
    app.registry.settings["xueji.class_size.primary"] = "4"
    return roll


def test_adding_a_pupil_to_a_full_class_warns_and_the_school_page_marks_it(app, small_classes):
    from .conftest import student_form, valid_id
    browser = Browser(app)
    browser.login("reg")
    form_page = browser.get(CLASS + "/add", {"type": "Student"})
    warning = form_page.html.find(id="class-size-warning").get_text()
    assert "2024级3班已有在籍学生 4 人" in warning and "标准班额 4 人" in warning
    token = re.search(r'name="csrf_token" value="([^"]+)"', form_page.text).group(1)
    values = student_form(name="孙新", id_number=valid_id("11010520170401001"), birth_date="2017-04-01", gender="1")
    values["csrf_token"] = token
    done = browser.post(CLASS + "/add?type=Student", values, status=303).follow()
    flashes = " ".join(div.get_text() for div in done.html.select(".flash"))
    assert "已添加：孙新" in flashes and "已有在籍学生 5 人" in flashes  # added, and warned
    school = browser.get(SCHOOL + "/")
    cells = [td.get_text(strip=True) for td in school.html.select("section.listing table.grid tbody tr")[0].find_all("td")]
    assert cells[3] == "5" and cells[5] == "超额 1 人（标准 4）"
    # the 班额 report says the same, largest class first, and draws the classes' spread by size
    report = browser.get(SCHOOL + "/reports", {"name": "class_sizes"})
    first = [c.get_text() for c in report.html.select("table.report-table tbody tr")[0].find_all(["th", "td"])]
    assert first == ["2024级3班", "5", "4", "1"]
    svg = browser.get(SCHOOL + "/report.svg", {"name": "class_sizes"})
    assert "班额（各班在籍人数与标准班额）" in svg.text and "班级数" in svg.text and "<style" not in svg.text
    # a class with room gets no warning
    app.registry.settings["xueji.class_size.primary"] = "45"
    assert browser.get(CLASS + "/add", {"type": "Student"}).html.find(id="class-size-warning") is None


def test_the_import_check_page_warns_of_classes_it_would_overfill(app, small_classes, tmp_path):
    app.registry.settings["xueji.upload_dir"] = str(tmp_path / "uploads")
    browser = Browser(app)
    browser.login("reg")
    form = browser.get(SCHOOL + "/import").forms["import-form"]
    form["file"] = ("pupils.xlsx", xlsx_bytes(pupils(3, start=40)))
    page = form.submit(status=200)
    warnings = page.html.find(id="class-size-warnings")
    assert warnings is not None
    text = warnings.get_text()
    assert "2024级3班：现有在籍 4 人，本次导入 3 人，合计 7 人，超过标准班额 4 人 3 人" in text
    assert page.html.find(id="confirm-form") is not None  # a warning: the import may still go ahead
    app.registry.settings["xueji.class_size.primary"] = "45"
    form = browser.get(SCHOOL + "/import").forms["import-form"]
    form["file"] = ("pupils.xlsx", xlsx_bytes(pupils(3, start=40)))
    assert form.submit(status=200).html.find(id="class-size-warnings") is None
