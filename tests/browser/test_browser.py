"""The real application in a real Chromium: log in, build a branch of the tree through
the generated forms, register a pupil, read the record; and a phone-width layout check.

Screenshots land in test-artifacts/ at the repository root (git-ignored)."""
import pytest

from xueji_site.kernel import content

from ..conftest import student_values, valid_id
from .conftest import login

pytestmark = pytest.mark.browser

VALID_ID = "110105201703120038"      # born 2017-03-12, male, 朝阳区
BAD_CHECK_DIGIT = "110105201703120039"
CLASS_PATH = "/110000/110105/2111000001/2024-03/"


def _open_add_form(page, base, path, type_name):
    page.goto("%s%sadd?type=%s" % (base, path, type_name))
    form = page.locator("#xueji-form")
    form.wait_for()
    return form


def _save(page, form):
    with page.expect_navigation():
        form.locator("button[name=save]").click()


def _add(page, base, path, type_name, values):
    """Fill text inputs of the add form, save, and return to the new node's page."""
    form = _open_add_form(page, base, path, type_name)
    for name, value in values.items():
        form.locator("[name=%s]" % name).fill(value)
    _save(page, form)
    assert "/add" not in page.url, "the %s form did not save: %s" % (type_name, _errors(page))
    return form


def _errors(page):
    return page.locator(".has-error, .alert-danger, p.error").all_inner_texts()


def _field_error(page, name):
    """The error message deform renders next to the field called ``name``."""
    field_id = page.locator("#xueji-form [name=%s]" % name).get_attribute("id")
    return page.locator("#item-%s .error, #error-%s" % (field_id, field_id)).first


def _fill_student(form, id_number):
    form.locator("[name=name]").fill("李明")
    form.locator("select[name=gender]").select_option("1")
    form.locator("input[name=birth_date]").fill("2017-03-12")
    form.locator("select[name=ethnicity]").select_option("01")
    assert form.locator("select[name=id_type]").input_value() == "1"  # 居民身份证 by default
    form.locator("[name=id_number]").fill(id_number)
    form.locator("select[name=nationality]").select_option("CHN")  # a searchable list, not free text
    for name, value in (("birthplace", "110105"), ("native_place", "110105"),
                        ("household_place", "110105"), ("enrolled_on", "202409"),
                        ("current_address", "北京市朝阳区光华路1号"), ("mailing_address", "北京市朝阳区光华路1号"),
                        ("home_address", "北京市朝阳区光华路1号"), ("phone", "13800138000"), ("postcode", "100020")):
        form.locator("[name=%s]" % name).fill(value)
    form.locator("select[name=household_type]").select_option("2")
    form.locator("select[name=enrolment_mode]").select_option("11")


def _main_text(page):
    return page.locator("main").inner_text()


def test_admin_builds_branch_and_registers_pupil(live_server, make_page, artifacts):
    base = live_server()
    page = make_page()
    login(page, base)

    # The page speaks Simplified Chinese (the browser asks for zh-CN).
    lang = page.locator("html").get_attribute("lang")
    assert lang in ("zh-Hans", "zh-CN"), lang

    _add(page, base, "/", "Bureau", {"code": "110000", "name": "北京市教育委员会"})
    assert page.url == base + "/110000/"
    assert "北京市教育委员会" in page.locator("h1").inner_text()
    assert "省级" in _main_text(page)

    _add(page, base, "/110000/", "Bureau", {"code": "110105", "name": "朝阳区教育委员会"})
    assert page.url == base + "/110000/110105/"
    assert "朝阳区教育委员会" in page.locator("h1").inner_text()
    assert "县级" in _main_text(page)

    _add(page, base, "/110000/110105/", "School", {"code": "2111000001", "name": "朝阳实验小学"})
    assert page.url == base + "/110000/110105/2111000001/"
    assert "朝阳实验小学" in page.locator("h1").inner_text()
    assert "小学" in _main_text(page)  # the category, read from the code's first two digits

    _add(page, base, "/110000/110105/2111000001/", "SchoolClass", {"cohort": "2024", "number": "3"})
    assert page.url == base + CLASS_PATH
    assert "2024级3班" in page.locator("h1").inner_text()

    # A wrong check digit: the form comes back with the message next to the field.
    form = _open_add_form(page, base, CLASS_PATH, "Student")
    _fill_student(form, BAD_CHECK_DIGIT)
    _save(page, form)
    assert "/add" in page.url
    error = _field_error(page, "id_number")
    assert error.is_visible()
    assert "校验码" in error.inner_text()
    assert page.locator("#xueji-form [name=id_number]").input_value() == BAD_CHECK_DIGIT
    page.screenshot(path=str(artifacts / "student-add-form-error.png"), full_page=True)
    # ... and nothing was created.
    page.goto(base + CLASS_PATH)
    assert "李明" not in _main_text(page)
    assert page.locator("section.listing .empty").count() == 1

    form = _open_add_form(page, base, CLASS_PATH, "Student")
    _fill_student(form, VALID_ID)
    page.screenshot(path=str(artifacts / "student-add-form.png"), full_page=True)
    _save(page, form)
    assert "/add" not in page.url, _errors(page)
    assert page.url.startswith(base + CLASS_PATH)

    # The record: a sysadmin sees it masked (三员分立) ...
    assert "李明" in page.locator("h1").inner_text()
    record = page.locator("#section-basic dl.record").inner_text()  # the record is grouped as the 学籍卡
    assert VALID_ID not in record and "1101**********0038" in record  # masked for the sysadmin (三员分立)
    assert "2017-03-12" in record
    assert "学籍信息" in page.locator("h1").inner_text()
    assert page.locator("html").get_attribute("lang") in ("zh-Hans", "zh-CN")
    page.screenshot(path=str(artifacts / "student-record.png"), full_page=True)
    record_url = page.url

    # ... and in full only by break-glass: a reason, then that record for a few minutes.
    with page.expect_navigation():
        page.locator("#break-glass-offer a").click()
    page.locator("#break-glass-form [name=reason]").fill("核对新登记学生的身份证号码")
    with page.expect_navigation():
        page.locator("#break-glass-form button[name=open]").click()
    assert page.url == record_url
    record = page.locator("#section-basic dl.record").inner_text()  # grouped as the 学籍卡
    assert VALID_ID in record and "G" + VALID_ID in record
    assert page.locator("#break-glass-open").is_visible()

    page.goto(base + CLASS_PATH)
    assert "李明" in page.locator("table.grid").inner_text()

    assert page.offsite == [], "the pages asked for off-site resources"
    assert page.script_errors == [], "uncaught script errors"


def _seed_school(site, registry):
    bj = content.create("Bureau", site, {"code": "110000", "name": "北京市教育委员会"}, registry)
    cy = content.create("Bureau", bj, {"code": "110105", "name": "朝阳区教育委员会"}, registry)
    school = content.create("School", cy, {"code": "2111000001", "name": "朝阳实验小学",
                                           "address": "北京市朝阳区望京西路一号院", "phone": "010-64700000"},
                            registry)
    for number in (1, 2, 3):
        content.create("SchoolClass", school, {"cohort": 2024, "number": number, "name": ""}, registry)
    klass = school["2024-03"]
    content.create("Student", klass, student_values(VALID_ID, "李明", "1"), registry)


def test_school_page_fits_a_phone(live_server, make_page, artifacts):
    base = live_server(seed=_seed_school)
    page = make_page(viewport={"width": 390, "height": 844})
    login(page, base)
    page.goto(base + "/110000/110105/2111000001/")
    assert "朝阳实验小学" in page.locator("h1").inner_text()
    assert "2024级3班" in page.locator("table.grid").inner_text()
    page.screenshot(path=str(artifacts / "school-contents-phone.png"), full_page=True)
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width + 1, "page overflows horizontally: %s > %s" % (scroll_width, inner_width)
    assert page.offsite == []


def _picker(form, name):
    """The place picker around the code input called ``name``."""
    return form.locator(".place-picker:has(input[name=%s])" % name)


def test_places_are_picked_by_search_and_by_level_and_the_record_saves(live_server, make_page, artifacts):
    """Issue 12: a place from the province → city → county picker (search, or the three lists),
    nationality from its searchable list; the saved record shows both by name."""
    base = live_server(seed=_seed_school)
    page = make_page()
    login(page, base)
    form = _open_add_form(page, base, CLASS_PATH, "Student")
    _fill_student(form, valid_id("11010520170312004"))
    form.locator("[name=name]").fill("王小红")
    form.locator("select[name=gender]").select_option("2")

    # 出生地: typed into the picker's search, chosen with the mouse
    birthplace = _picker(form, "birthplace")
    birthplace.locator("input[name=birthplace]").fill("")
    search = birthplace.locator("input.place-search")
    search.fill("西湖")
    option = birthplace.locator("[role=option]", has_text="浙江省杭州市西湖区")
    option.click()
    assert birthplace.locator("input[name=birthplace]").input_value() == "330106"
    assert birthplace.locator(".place-name").inner_text() == "浙江省杭州市西湖区"
    assert birthplace.locator("select.place-select").nth(2).input_value() == "330106"  # the lists follow

    # 籍贯: province, then city, then county from the three lists
    native = _picker(form, "native_place")
    levels = native.locator("select.place-select")
    levels.nth(0).select_option("330000")
    assert native.locator("input[name=native_place]").input_value() == "330000"
    levels.nth(1).select_option("330100")
    levels.nth(2).select_option("330102")
    assert native.locator("input[name=native_place]").input_value() == "330102"
    assert native.locator(".place-name").inner_text() == "浙江省杭州市上城区"

    # 户口所在地: from the keyboard only; Enter in the search box chooses, it never submits
    household = _picker(form, "household_place")
    household_search = household.locator("input.place-search")
    household_search.fill("朝阳区")
    household_search.press("ArrowDown")
    assert household_search.get_attribute("aria-expanded") == "true"
    household_search.press("Enter")
    assert "/add" in page.url
    assert household.locator("input[name=household_place]").input_value() == "110105"

    # 国籍: the searchable list
    nationality = form.locator("select[name=nationality]")
    form.locator("input.select-filter[aria-controls='%s']" % nationality.get_attribute("id")).fill("韩国")
    assert nationality.input_value() == "KOR"
    assert nationality.get_attribute("aria-required") == "true"
    page.screenshot(path=str(artifacts / "student-form-place-picker.png"), full_page=True)

    _save(page, form)
    assert "/add" not in page.url, _errors(page)
    basic = page.locator("#section-basic").inner_text()
    assert "浙江省杭州市西湖区" in basic and "浙江省杭州市上城区" in basic and "韩国" in basic
    assert "北京市朝阳区" in page.locator("#section-household").inner_text()
    assert page.offsite == [], "the pages asked for off-site resources"
    assert page.script_errors == [], "uncaught script errors"
