"""A registrar imports a sheet laid out like the national system's export, with some
bad rows, in a real Chromium: the check page names the recognised and ignored
columns and shows each bad row's errors on screen; only the good rows come in."""
import pytest

from xueji_site.kernel import content

from ..conftest import add_user, student_values
from ..import_helpers import national_row, national_xlsx
from .conftest import login

pytestmark = pytest.mark.browser

SCHOOL = "/110000/110105/2111000001/"


def _seed(site, registry):
    bj = content.create("Bureau", site, {"code": "110000", "name": "北京市教育委员会"}, registry)
    cy = content.create("Bureau", bj, {"code": "110105", "name": "朝阳区教育委员会"}, registry)
    school = content.create("School", cy, {"code": "2111000001", "name": "朝阳实验小学",
                                           "address": "", "phone": ""}, registry)
    klass = content.create("SchoolClass", school, {"cohort": 2024, "number": 3, "name": ""}, registry)
    content.create("Student", klass, student_values("110105201703120038", "李明", "1"), registry)
    add_user(site, "registrar", "school_registrar", at=school)


def test_national_layout_with_bad_rows_shows_the_row_errors(live_server, make_page, artifacts):
    base = live_server(seed=_seed)
    rows = [national_row(i)[0] for i in range(12)]
    rows[3]["户口性质"] = "2 女"
    rows[5]["出生地"] = "鼓楼区"
    rows[8]["入学年月"] = "2024-13"
    page = make_page()
    login(page, base, "registrar")
    page.goto(base + SCHOOL + "import")
    page.locator("#import-form input[name=file]").set_input_files(
        {"name": "学生信息.xlsx", "buffer": national_xlsx(rows, title="学生基础信息"),
         "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    with page.expect_navigation():
        page.locator("#import-form button[type=submit]").click()

    assert page.locator("#count-new").inner_text() == "9"
    assert page.locator("#count-errors").inner_text() == "3"
    assert "身份证件号 → 证件号码" in page.locator("#import-recognised").inner_text()
    assert "姓名拼音" in page.locator("#import-ignored").inner_text()
    problems = page.locator("#import-problems")
    assert problems.is_visible()
    # Sheet rows: a title row, the header on row 2, so data row i is on row i + 3.
    assert page.locator("#import-problems tbody tr").count() == 3
    row = page.locator("#problem-row-6")
    assert row.is_visible() and "户口性质" in row.inner_text() and "“2 女”不是可选值" in row.inner_text()
    assert "请写明省、市" in page.locator("#problem-row-8").inner_text()
    assert "月份应在 1–12 之间" in page.locator("#problem-row-11").inner_text()
    page.screenshot(path=str(artifacts / "import-national-check.png"), full_page=True)

    with page.expect_navigation():
        page.locator("#confirm-form button[value=valid]").click()
    assert "新增 9 名" in page.locator("main").inner_text()
    page.goto(base + SCHOOL + "2024-03/")
    listing = page.locator("table.grid").inner_text()
    assert "国甲一子" in listing and "国丁一子" not in listing  # row 3 (i = 3) was refused
    assert page.offsite == [], "the pages asked for off-site resources"
    assert page.script_errors == [], "uncaught script errors"
