"""The generated forms (issue 12): required fields marked for eyes and screen readers, the record
form in the card's sections, places from the province → city → county picker, nationality and
code fields from searchable lists — markup and accepted values, through webtest."""
import json
import re

import pytest
from pyramid.threadlocal import get_current_registry

from xueji_site.standards import places
from xueji_site.record import layout as record_layout
from xueji_site.schemas.student import student_schema
from .conftest import Browser, add_user, build_tree, open_site, resolve, student_form

CLASS = "/110000/110105/2111000001/2024-03/"


@pytest.fixture
def reg(app):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "reg", "school_registrar", at=nodes["school_a"])
        pupil = CLASS + nodes["pupil_a"].__name__ + "/"
    client = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "zh-CN"})
    client.login("reg")
    client.pupil = pupil
    return client


def _item(page, name):
    """The HTML of the deform item holding the field called ``name``."""
    field_id = re.search(r'name="%s"[^>]*id="(deformField\d+)"|id="(deformField\d+)"[^>]*name="%s"'
                         % (name, name), page.text)
    assert field_id, name
    oid = field_id.group(1) or field_id.group(2)
    start = page.text.index('id="item-%s"' % oid)
    end = page.text.find('id="item-deformField', start + 10)
    return page.text[start:end if end > 0 else len(page.text)]


def _control(item, name):
    found = re.search(r'<(input|select|textarea)\b[^>]*\bname="%s"[^>]*>' % name, item, re.S)
    assert found, name
    return found.group(0)


def test_required_fields_are_marked_visibly_and_for_screen_readers(reg):
    page = reg.get(CLASS + "add?type=Student")
    schema = student_schema(None, None, True)
    required = [n.name for n in schema.children if n.required and n.name != "csrf_token"]
    optional = [n.name for n in schema.children if not n.required and n.name != "csrf_token"]
    assert "name" in required and "household_place" in required and "former_name" in optional
    for name in required:
        item = _item(page, name)
        assert 'aria-required="true"' in _control(item, name), name
        assert re.search(r'<label[^>]*>[^<]+<abbr class="required-mark" title="必填">\*</abbr></label>', item), name
    for name in optional:
        item = _item(page, name)
        assert "aria-required" not in _control(item, name) and "required-mark" not in item, name
    assert "标有" in page.text and "的为必填项" in page.text


def test_errors_point_screen_readers_at_their_message(reg):
    form = reg.get(CLASS + "add?type=Student").forms["xueji-form"]
    for key, value in student_form(postcode="10002").items():
        form[key] = value
    page = form.submit("save", status=200)
    control = _control(_item(page, "postcode"), "postcode")
    described = re.search(r'aria-describedby="([^"]+)"', control).group(1).split()
    assert 'aria-invalid="true"' in control
    error_id = next(i for i in described if i.startswith("error-"))
    assert re.search(r'id="%s"[^>]*>\s*邮政编码应为6位数字' % error_id, page.text)
    assert "提交的内容有误" in page.text


def test_the_record_form_is_grouped_as_the_record_page(reg):
    page = reg.get(reg.pupil + "edit")
    legends = re.findall(r'<fieldset class="form-section" id="xueji-form-([a-z]+)">\s*<legend>([^<]+)</legend>',
                         page.text)
    assert [key for key, _title in legends] == [key for key, _title, _names in record_layout.SECTIONS]
    assert [title for _key, title in legends] == ["基本信息", "户籍", "入学", "联系方式", "家庭与监护", "特殊情况"]
    family = page.text[page.text.index('id="xueji-form-family"'):page.text.index('id="xueji-form-circumstances"')]
    assert 'name="guardian_name"' in family and 'name="home_address"' not in family
    assert 'name="review_reason"' in page.text.split('id="xueji-form-circumstances"')[1]  # after the sections
    english = Browser(reg.app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "en"})
    english.login("reg")
    page = english.get(reg.pupil + "edit")
    assert "<legend>Family and guardianship</legend>" in page.text and "Fields marked" in page.text


def test_places_are_a_code_input_inside_the_picker_with_the_name_shown(reg):
    page = reg.get(reg.pupil + "edit")
    for name in ("birthplace", "native_place", "household_place"):
        item = _item(page, name)
        assert 'data-place-picker="county"' in item and 'data-places-url="http://localhost/places.json"' in item
        control = _control(item, name)
        assert 'type="text"' in control and 'value="110105"' in control  # works without script
        assert re.search(r'<output class="place-name"[^>]*>北京市朝阳区</output>', item), name
    member = reg.get(reg.pupil + "add?type=FamilyMember")
    assert "data-place-picker" in _item(member, "household_place")


@pytest.mark.parametrize("code, stored", [("330106", "330106"), (" 330106001002 ", "330106001002"),
                                          ("110000", "110000"), ("110103", "110103")])
def test_place_codes_the_picker_or_a_clerk_enters_are_accepted(app, reg, code, stored):
    form = reg.get(reg.pupil + "edit").forms["xueji-form"]
    form["birthplace"] = code
    form.submit("save", status=303)
    with open_site(app) as site:
        assert resolve(site, reg.pupil).birthplace == stored


@pytest.mark.parametrize("code, message", [("浙江省杭州市", "行政区划代码应为6位或12位数字"),
                                           ("999999", "不是已知的 GB/T 2260 行政区划代码"),
                                           ("33010", "行政区划代码应为6位或12位数字")])
def test_bad_place_codes_get_a_clear_message(app, reg, code, message):
    form = reg.get(reg.pupil + "edit").forms["xueji-form"]
    form["household_place"] = code
    page = form.submit("save", status=200)
    assert message in _item(page, "household_place")
    with open_site(app) as site:
        assert resolve(site, reg.pupil).household_place == "110105"


def test_nationality_is_chosen_from_a_searchable_list(app, reg):
    page = reg.get(CLASS + "add?type=Student")
    control = _control(_item(page, "nationality"), "nationality")
    assert control.startswith("<select") and 'data-searchable="1"' in control
    options = page.forms["xueji-form"]["nationality"].options
    assert options[0][0] == "" and [o[0] for o in options[1:5]] == ["CHN", "HKG", "MAC", "TWN"]
    assert len(options) == 1 + 249 and ("CHN", True, "CHN 中国") in options  # China chosen by default
    assert ("TWN", False, "TWN 中国台湾") in options and ("KOR", False, "KOR 韩国") in options
    form = reg.get(reg.pupil + "edit").forms["xueji-form"]
    form["nationality"] = "KOR"
    form.submit("save", status=303)
    with open_site(app) as site:
        assert resolve(site, reg.pupil).nationality == "KOR"
    form = reg.get(reg.pupil + "edit").forms["xueji-form"]
    form["nationality"].force_value("XYZ")
    assert "请从列表中选择国籍/地区" in form.submit("save", status=200).text
    english = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "en"})
    english.login("reg")
    options = english.get(CLASS + "add?type=Student").forms["xueji-form"]["nationality"].options
    assert ("KOR", False, "KOR South Korea") in options and ("TWN", False, "TWN Taiwan, China") in options


def test_every_code_field_is_a_searchable_list(reg):
    page = reg.get(CLASS + "add?type=Student")
    form_html = page.text[page.text.index('<form\n  id="xueji-form"'):]
    selects = re.findall(r"<select\b[^>]*>", form_html)
    names = sorted(re.search(r'name="([^"]+)"', s).group(1) for s in selects)
    assert set(names) >= {"gender", "ethnicity", "nationality", "id_type", "hmt_status", "political_status",
                          "health", "disability", "household_type", "enrolment_mode", "attendance_mode",
                          "source", "left_behind", "commute_mode", "guardian_relation"}
    assert all('data-searchable="1"' in s for s in selects)


def test_the_places_list_is_the_divisions_in_use_for_logged_in_users(app, reg):
    Browser(app).get("/places.json", status=303)  # login first
    response = reg.get("/places.json")
    assert response.content_type == "application/json" and "private" in response.headers["Cache-Control"]
    entries = json.loads(response.text)
    by_code = {entry[0]: entry for entry in entries}
    assert by_code["330106"][1] == "西湖区" and by_code["330000"][1] == "浙江省"
    assert by_code["110100"] == ["110100", "市辖区", 1]  # a grouping, left out of full names
    assert by_code["330100"] == ["330100", "杭州市"]
    assert "110103" not in by_code  # 崇文区, merged in 2010: valid when typed, not offered
    assert [entry[0] for entry in entries] == sorted(by_code)
    assert len(entries) == len(places.picker_entries()) > 3000
    again = reg.get("/places.json", headers={"If-None-Match": response.etag}, status=304)
    assert again.body == b""
    hant = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "zh-TW"})
    hant.login("reg")
    assert ["330106", "西湖區"] in json.loads(hant.get("/places.json").text)


def test_form_pages_run_no_inline_script_or_style_and_load_the_picker_from_the_site(reg):
    page = reg.get(reg.pupil + "edit")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script\b[^>]*>", page.text)
    assert scripts and all('src="http://localhost/static/' in s for s in scripts)
    assert any("forms.js" in s for s in scripts)
    assert not re.search(r"<script\b(?![^>]*\bsrc=)[^>]*>", page.text)
    assert not re.search(r'\sstyle="', page.text) and "<style" not in page.text
    static = reg.get(re.search(r'src="http://localhost(/static/[^"]*forms\.js)"', page.text).group(1))
    assert "data-place-picker" in static.text and "http" not in static.text.replace("HTTP ", "")
