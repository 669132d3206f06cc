"""The marks grid in Chromium (issue 13): a column pasted from a spreadsheet fills
the cells downwards, Enter moves to the next pupil, one save stores the column,
and a bad cell comes back marked in place — under the site's real CSP, with no
script error."""
from xueji_site.grades import books, codes, marks
from xueji_site.kernel import content
from ..conftest import add_user, student_values, valid_id
from .conftest import login

TERM = codes.term_of()
CLASS = "/110000/110105/2111000001/2024-03"


def _seed(site, registry):
    bj = content.create("Bureau", site, {"code": "110000", "name": "北京市教育委员会"}, registry)
    cy = content.create("Bureau", bj, {"code": "110105", "name": "朝阳区教育委员会"}, registry)
    school = content.create("School", cy, {"code": "2111000001", "name": "朝阳实验小学", "address": "",
                                           "phone": ""}, registry)
    klass = content.create("SchoolClass", school, {"cohort": 2024, "number": 3, "name": ""}, registry)
    for body, name, gender in (("11010520170312003", "李明", "1"), ("11010520170506002", "王芳", "2"),
                               ("11010520170401002", "张伟", "1")):
        content.create("Student", klass, student_values(valid_id(body), name, gender), registry)
    add_user(site, "office", "academic_admin", school)
    books.add_exam(site, school, "期中考试", codes.MIDTERM, TERM, (books.class_grade(klass, TERM),),
                   {"02": marks.setup_for(codes.SCORE, 100)})


PASTE = """(text) => {
  const first = document.querySelector('input[data-grid-cell="0"]');
  first.focus();
  const data = new DataTransfer();
  data.setData('text/plain', text);
  first.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
}"""


def _cells(page):
    return page.evaluate("Array.from(document.querySelectorAll('input[data-grid-cell]')).map(c => c.value)")


def test_a_pasted_column_fills_the_grid_and_saves_in_one_go(live_server, make_page, artifacts):
    base = live_server(seed=_seed)
    page = make_page()
    login(page, base, "office")
    page.goto(base + CLASS + "/grades-entry?exam=E000001&subject=02")
    page.evaluate(PASTE, "88\r\n缺考\r\n101\r\n")  # as Excel copies a column: CRLF, a final newline
    assert _cells(page) == ["88", "缺考", "101"]  # the pupils in pinyin order: 李明, 王芳, 张伟
    page.locator('input[data-grid-cell="0"]').focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.dataset.gridCell") == "1"
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.dataset.gridCell") == "0"
    with page.expect_navigation():
        page.locator("#grades-grid button[name=save]").click()
    assert page.locator("#grid-errors").is_visible()  # 101 is above full marks: nothing saved
    bad = page.locator('input[aria-invalid="true"]')
    assert bad.count() == 1 and bad.input_value() == "101"
    page.screenshot(path=str(artifacts / "grades-grid-errors.png"), full_page=True)
    bad.fill("95")
    with page.expect_navigation():
        page.locator("#grades-grid button[name=save]").click()
    assert "新录入 3 个" in page.locator("body").inner_text()
    assert _cells(page) == ["88", "缺考", "95"]
    assert page.offsite == [] and page.script_errors == []
