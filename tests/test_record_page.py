"""The record page as its readers meet it (issue 12): the 学籍卡's sections, 是/否, empty
choices empty, places and nationality by name; the card grouped the same way; a primary
guardian entered once."""
import re

import pytest
from pyramid.threadlocal import get_current_registry

from xueji_site.kernel import content
from xueji_site.record import layout as record_layout
from xueji_site.schemas.student import student_schema
from .conftest import Browser, add_user, build_tree, open_site, resolve

CLASS = "/110000/110105/2111000001/2024-03/"
HEADINGS = ["基本信息", "户籍", "入学", "联系方式", "家庭与监护", "特殊情况"]


@pytest.fixture
def pupil(app):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "reg", "school_registrar", at=nodes["school_a"])
        add_user(site, "ht", "head_teacher", at=nodes["class_a"])
        return CLASS + nodes["pupil_a"].__name__ + "/"


def _client(app, login, language="zh-CN"):
    client = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": language})
    client.login(login)
    return client


def _main(page):
    text = page.text
    return text[text.index("<main"):text.index("</main>")]


def _section(page, key):
    found = re.search(r'<section[^>]*id="section-%s".*?</section>' % key, page.text, re.S)
    assert found, key
    return found.group(0)


def _value(section_html, field):
    found = re.search(r'<dd data-field="%s">(.*?)</dd>' % field, section_html, re.S)
    assert found, field
    return found.group(1).strip()


def _set(app, url, **values):
    with open_site(app) as site:
        pupil = resolve(site, url)
        for name, value in values.items():
            setattr(pupil, name, value)


def test_sections_of_the_card_in_order_each_field_in_its_own(app, pupil):
    page = _client(app, "reg").get(pupil)
    headings = re.findall(r'<h2 id="heading-[a-z]+">([^<]+)</h2>', page.text)
    assert headings == HEADINGS
    assert _value(_section(page, "household"), "household_type") == "非农业户口"
    assert 'data-field="household_type"' not in _section(page, "basic")
    assert "学校" in _section(page, "enrolment") and "朝阳实验小学" in _section(page, "enrolment")
    assert _value(_section(page, "enrolment"), "enrolled_on") == "2024-09"
    assert 'data-field="phone"' in _section(page, "contact")
    assert 'data-field="guardian_name"' in _section(page, "family")
    assert 'data-field="left_behind"' in _section(page, "circumstances")


def test_every_field_of_the_record_has_exactly_one_section():
    schema = student_schema(None, None, True)
    fields = [node.name for node in schema.children if node.name != "csrf_token"]
    placed = [name for _key, _title, names in record_layout.SECTIONS for name in names]
    assert sorted(placed) == sorted(set(placed)), "a field in two sections"
    assert set(fields) == set(placed), set(fields) ^ set(placed)


def test_a_field_no_section_names_still_shows_under_other(app, pupil, monkeypatch):
    monkeypatch.setattr(record_layout, "SECTIONS", tuple(
        (key, title, tuple(n for n in names if n != "specialty")) for key, title, names in record_layout.SECTIONS))
    from xueji_site.views import record_sections
    monkeypatch.setattr(record_sections, "SECTIONS", record_layout.SECTIONS)
    _set(app, pupil, specialty="书法", optional_consent=True)
    page = _client(app, "reg").get(pupil)
    assert _value(_section(page, "other"), "specialty") == "书法"


def test_flags_read_yes_or_no_and_empty_choices_stay_empty(app, pupil):
    _set(app, pupil, only_child=True, orphan=False, commute_mode="", disability="", political_status="")
    page = _client(app, "reg").get(pupil)
    circumstances = _section(page, "circumstances")
    assert _value(circumstances, "only_child") == "是" and _value(circumstances, "orphan") == "否"
    assert _value(circumstances, "commute_mode") == "" and _value(circumstances, "disability") == ""
    assert _value(_section(page, "basic"), "political_status") == ""
    main = _main(page)
    assert "True" not in main and "False" not in main and "请选择" not in main
    english = _client(app, "reg", "en").get(pupil)
    assert _value(_section(english, "circumstances"), "only_child") == "Yes"
    assert "请选择" not in _main(english) and "Select" not in _main(english)


def test_places_and_nationality_by_name_in_each_language(app, pupil):
    _set(app, pupil, birthplace="330106", native_place="110103", household_place="330106001002",
         nationality="TWN")
    page = _client(app, "reg").get(pupil)
    basic = _section(page, "basic")
    assert _value(basic, "birthplace") == "浙江省杭州市西湖区"
    assert _value(basic, "native_place") == "北京市崇文区"  # a retired code keeps its name
    assert _value(basic, "nationality") == "中国台湾"
    assert _value(_section(page, "household"), "household_place") == "浙江省杭州市西湖区（330106001002）"
    hant = _client(app, "reg", "zh-TW").get(pupil)
    assert _value(_section(hant, "basic"), "birthplace") == "浙江省杭州市西湖區"
    assert _value(_section(hant, "basic"), "nationality") == "中國台灣"
    _set(app, pupil, nationality="KOR", birthplace="990101")  # 990101: no such division
    english = _client(app, "reg", "en").get(pupil)
    assert _value(_section(english, "basic"), "nationality") == "South Korea"
    assert _value(_section(english, "basic"), "birthplace") == "990101"


def test_masked_fields_stay_masked_in_their_sections(app, pupil):
    _set(app, pupil, guardian_name="李建国", guardian_id_number="110105198001010016", guardian_phone="13700001111")
    page = _client(app, "ht").get(pupil)
    family = _section(page, "family")
    assert _value(family, "guardian_name") == "李建国"
    assert _value(family, "guardian_id_number") == "1101**********0016"
    assert _value(family, "guardian_phone") == "137****1111"
    assert _value(_section(page, "contact"), "phone") == "138****8000"


def test_the_card_has_the_same_sections_and_values(app, pupil):
    _set(app, pupil, only_child=True, birthplace="330106")
    client = _client(app, "reg")
    card = client.get(pupil + "card")
    headings = re.findall(r'<section id="card-[a-z]+">\s*<h2>([^<]+)</h2>', card.text)
    assert headings == HEADINGS
    assert "浙江省杭州市西湖区" in card.text and "<th>独生子女</th><td>是</td>" in card.text
    assert "True" not in card.text and "请选择" not in card.text


def test_a_primary_guardian_and_family_members_both_show(app, pupil):
    """Records holding the guardian on the record and again as a family member (entered
    before the family form refused that) keep and show both."""
    with open_site(app) as site:
        student = resolve(site, pupil)
        student.guardian_name, student.guardian_relation = "李建国", "11"
        content.create("FamilyMember", student, {"name": "李建国", "relation": "11", "is_guardian": True},
                       get_current_registry())
        content.create("FamilyMember", student, {"name": "王丽", "relation": "12"}, get_current_registry())
    page = _client(app, "reg").get(pupil)
    family = _section(page, "family")
    assert _value(family, "guardian_name") == "李建国" and _value(family, "guardian_relation") == "父亲"
    table = re.search(r'<table[^>]*id="part-FamilyMember".*?</table>', family, re.S).group(0)
    assert table.count("李建国") == 1 and "王丽" in table and "母亲" in table


def test_the_family_form_refuses_the_primary_guardian_a_second_time(app, pupil):
    _set(app, pupil, guardian_name="李建国", guardian_relation="11", guardian_id_number="110105198001010016",
         guardian_phone="13700001111")
    reg = _client(app, "reg")
    form = reg.get(pupil + "add?type=FamilyMember").forms["xueji-form"]
    assert "主要监护人在学籍信息的“家庭与监护”中填写" in form.text
    form["name"], form["relation"] = "李建国", "11"
    page = form.submit("save", status=200)
    assert "此人已是学籍信息中的主要监护人" in page.text
    form = page.forms["xueji-form"]
    form["name"], form["relation"], form["is_guardian"] = "李国", "41", True
    form["id_number"], form["phone"] = "110105198001010016", "13700001111"  # the same ID number
    assert "此人已是学籍信息中的主要监护人" in form.submit("save", status=200).text
    form = reg.get(pupil + "add?type=FamilyMember").forms["xueji-form"]
    form["name"], form["relation"] = "王丽", "12"
    member = form.submit("save", status=303).follow()
    assert "王丽" in member.text
    with open_site(app) as site:
        names = [m.name for m in resolve(site, pupil).values()]
        assert names == ["王丽"]


def test_a_member_stored_before_the_rule_can_still_be_edited(app, pupil):
    with open_site(app) as site:
        student = resolve(site, pupil)
        student.guardian_name, student.guardian_relation = "李建国", "11"
        member = content.create("FamilyMember", student, {"name": "李建国", "relation": "11"}, get_current_registry())
        url = pupil + member.__name__ + "/"
    reg = _client(app, "reg")
    form = reg.get(url + "edit").forms["xueji-form"]
    form["employer"] = "朝阳区医院"
    form.submit("save", status=303)
    with open_site(app) as site:
        assert resolve(site, url).employer == "朝阳区医院"
