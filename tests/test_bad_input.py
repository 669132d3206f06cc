"""Bad input gets a clear message (or 400), never a 500, and changes nothing."""
import re

import pytest
from pyramid.threadlocal import get_current_registry

from .conftest import PASSWORD, add_user, build_tree, open_site, resolve, student_form, valid_id

STUDENT = student_form(name="张三")


_older = valid_id("11010520090312003")  # 17 on 1 September 2026: too old for grade 3


@pytest.fixture
def admin(app, browser):
    with open_site(app) as site:
        add_user(site, "admin", "sysadmin")
        nodes = build_tree(site, get_current_registry())
        from pyramid.traversal import resource_path
        paths = {k: resource_path(v) for k, v in nodes.items()}
    browser.login("admin")
    return paths


def _counts(app):
    with open_site(app) as site:
        return len(site.audit), len(list(site.catalog["content_type"].applyEq("Student")))


def _submit(browser, url, values, status=200):
    form = browser.get(url).forms["xueji-form"]
    for key, value in values.items():
        try:
            form[key] = value
        except ValueError:  # not among a select's options: posted anyway, as a forged request would
            form[key].force_value(value)
    return form.submit("save", status=status)


def _field_error(page, field):
    """The error text deform shows for ``field`` (by the input's name)."""
    match = re.search(r'name="%s".*?class="help-block error[^"]*"[^>]*>\s*([^<]+)<' % field, page.text, re.S)
    if match is None:
        match = re.search(r'id="error-deformField\d+"[^>]*>\s*([^<]+)<', page.text)
    return match.group(1).strip() if match else None


@pytest.mark.parametrize("changes,message", [
    ({"id_number": "110105201703120039"}, "校验码不正确"),
    ({"id_number": "11010520170312003"}, "身份证号应为18位"),
    ({"id_number": "1101052017031200A8"}, "格式不正确"),
    ({"id_number": "110105203003120035", "birth_date": "2030-03-12"}, "不能晚于今天"),
    ({"birth_date": "2017-03-13"}, "不一致"),
    ({"gender": "2"}, "性别与身份证号第17位不一致"),
    ({"id_number": "", "id_type": "1"}, "必须填写身份证号"),
    ({"id_type": "A", "id_number": "E12345678", "registry_no": ""}, "J 或 L 开头"),
    ({"id_type": "A", "id_number": "E12345678", "registry_no": "J110105201703120039"}, "校验码不正确"),
    ({"name": "<script>alert(1)</script>"}, "姓名只能包含"),
    ({"birth_date": "not-a-date"}, "日期"),
    ({"id_type": "Z", "id_number": "", "registry_no": "L110105201703124821"}, "必须填写监护人身份证号"),
    ({"guardian_id_number": "110105198001010016", "guardian_name": ""}, "须填写监护人姓名"),
    ({"health": "50"}, "须选择残疾类型"),
    ({"disability": "4"}, "健康状况应为“残疾”"),
    ({"id_number": _older, "birth_date": "2009-03-12"}, "与所在年级不符"),
    ({"enrolled_on": "201601"}, "不能早于出生日期"),
    ({"enrolled_on": "2024-9"}, "入学年月应为6位"),
    ({"phone": "12345"}, "手机号"),
    ({"postcode": "10002"}, "6位数字"),
    ({"birthplace": "999999"}, "不是已知的"),
    ({"nationality": "china"}, "三位字母代码"),
    ({"distance_km": "-3"}, "距离不能为负"),
    ({"home_address": ""}, "必需"),
])
def test_invalid_student_is_refused_with_a_message(app, browser, admin, changes, message):
    before = _counts(app)
    page = _submit(browser, admin["class_a"] + "/add?type=Student", dict(STUDENT, **changes))
    assert message in page.text
    assert "<script>alert(1)</script>" not in page.text  # echoed back escaped, if at all
    assert _counts(app) == before


def test_j_form_registry_number_accepted_without_id(app, browser, admin):
    from xueji_site.standards.idnumbers import make_j_number
    import datetime
    number = make_j_number("110105", datetime.date(2017, 3, 12), 7)
    page = _submit(browser, admin["class_a"] + "/add?type=Student",
                   dict(STUDENT, id_type="A", id_number="E12345678", registry_no=number.lower()), status=303)
    record = page.follow()
    with open_site(app) as site:  # stored as given (upper case), with no ID number behind it
        pupil = resolve(site, record.request.path)
        assert pupil.registry_no == number and pupil.id_type == "A"
    assert number not in record.text and number[:4] + "*" in record.text  # masked to a sysadmin (三员分立)
    from .conftest import Browser
    with open_site(app) as site:
        add_user(site, "reg-j", "school_registrar", at=resolve(site, admin["school_a"]))
    registrar = Browser(app)
    registrar.login("reg-j")
    assert number in registrar.get(record.request.path).text  # in full to the school's registrar


def test_same_person_twice_is_refused_anywhere(app, browser, admin):
    """One person, one record: pupil_b's ID number, entered in another school's class."""
    before = _counts(app)
    page = _submit(browser, admin["class_a"] + "/add?type=Student",
                   dict(STUDENT, name="王芳", gender="2", birth_date="2017-05-06", id_number="110108201705060023"))
    assert "已在 海淀第一小学 2024级1班 注册学籍" in page.text  # a sysadmin may see where
    assert _counts(app) == before


def test_duplicate_message_hides_where_from_those_who_may_not_see(app, browser, admin):
    from .conftest import Browser
    with open_site(app) as site:
        add_user(site, "reg-a", "school_registrar", at=resolve(site, admin["school_a"]))
    registrar = Browser(app)
    registrar.login("reg-a")
    page = _submit(registrar, admin["class_a"] + "/add?type=Student",
                   dict(STUDENT, name="王芳", gender="2", birth_date="2017-05-06", id_number="110108201705060023"))
    assert "已有学籍记录" in page.text and "请办理转学" in page.text
    assert "海淀" not in page.text


@pytest.mark.parametrize("url,values,message", [
    ("/add?type=Bureau", {"code": "110000", "name": "重复"}, "该代码已存在"),
    ("/add?type=Bureau", {"code": "110105", "name": "县不能直接挂国家"}, "只能添加省级"),
    ("/add?type=Bureau", {"code": "999999", "name": "x"}, "不是已知的"),
    ("/110000/add?type=Bureau", {"code": "120101", "name": "外省"}, "不属于上级教育局"),
    ("/110000/110105/add?type=School", {"code": "2111000002", "name": "重复"}, "已被使用"),
    ("/110000/110105/add?type=School", {"code": "2112000009", "name": "外省学校"}, "本省代码"),
    ("/110000/110105/add?type=School", {"code": "2911000009", "name": "x"}, "类别代码"),
    ("/110000/110105/add?type=School", {"code": "21110", "name": "x"}, "10位数字"),
    ("/110000/110105/2111000001/add?type=SchoolClass", {"cohort": "2024", "number": "3"}, "已有此班号"),
    ("/110000/110105/2111000001/add?type=SchoolClass", {"cohort": "1800", "number": "3"}, "不能早于"),
    ("/110000/110105/2111000001/add?type=SchoolClass", {"cohort": "2024", "number": "abc"}, "不是数字"),
])
def test_bad_structure_input(app, browser, admin, url, values, message):
    before = _counts(app)
    with open_site(app) as site:
        nodes_before = len(site.docmap)
    page = _submit(browser, url, values)
    assert page.status_int == 200
    assert message in page.text
    assert "has-error" in page.text or "alert-danger" in page.text
    with open_site(app) as site:
        assert len(site.docmap) == nodes_before
    assert _counts(app) == before


def test_tokenless_post_is_400_and_changes_nothing(app, browser, admin):
    before = _counts(app)
    for url in (admin["class_a"] + "/add?type=Student", admin["pupil_a"] + "/edit", admin["pupil_a"] + "/delete",
                "/logout", admin["school_a"] + "/sharing"):
        response = browser.post(url, dict(STUDENT, save="save"), status=400)
        assert "安全令牌" in response.text
        wrong = browser.post(url, dict(STUDENT, save="save", csrf_token="forged"), status=400)
        assert wrong.status_int == 400
    assert _counts(app) == before
    with open_site(app) as site:
        assert resolve(site, admin["pupil_a"]).name == "李明"


def test_73_byte_password_is_a_form_error(app, browser, admin):
    long_password = "密" * 24 + "Aa1"  # 72 + 3 = 75 bytes
    form = browser.get("/password").forms["password-form"]
    form["current"] = PASSWORD
    form["new_password"] = long_password
    form["confirm"] = long_password
    page = form.submit("save", status=200)
    assert "密码过长" in page.text
    # and at the login form: simply a wrong password, not a 500
    browser.logout()
    browser.login("admin", password="密" * 25, status=200)


def test_unknown_type_and_garbage_paging_are_not_errors(app, browser, admin):
    browser.get("/add?type=Nope", status=404)
    browser.get(admin["school_a"] + "/add?type=Student", status=404)  # a student belongs in a class
    page = browser.get(admin["school_a"] + "/?page=-5&sort=../../etc&dir=sideways")
    assert "2024级3班" in page.text
    browser.get(admin["school_a"] + "/?export=pdf&type=SchoolClass")  # unknown format: the page, not an error
    browser.get(admin["school_a"] + "/export?format=csv&type=Nope", status=400)
    browser.get(admin["school_a"] + "/export?format=pdf&type=SchoolClass", status=400)  # a named export: bad format refused
