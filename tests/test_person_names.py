"""Every field holding a person's name follows the one rule of 姓名 (schemas/base.py
``person_name``): no formula, no markup, through the real forms."""
import pytest
from pyramid.threadlocal import get_current_registry

from xueji_site.record import review
from .conftest import Browser, add_user, build_tree, open_site, resolve
from .test_bad_input import _field_error

HOSTILE = ["=1+2", "=cmd|' /C calc'!A0", "<script>alert(1)</script>", "+李明", "@SUM(A1)", "-2+3", "李明<b>"]
MESSAGE = "姓名只能包含汉字、字母、间隔号·和空格"
CLASS = "/110000/110105/2111000001/2024-03/"


@pytest.fixture
def registrar(app):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "reg", "school_registrar", at=nodes["school_a"])
        pupil = CLASS + nodes["pupil_a"].__name__ + "/"
    client = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "zh-CN"})
    client.login("reg")
    return client, pupil


def _fill(client, url, form_id, button, values, status):
    form = client.get(url).forms[form_id]
    for key, value in values.items():
        form[key] = value
    return form.submit(button, status=status)


def _stored(app, path, field):
    with open_site(app) as site:
        return getattr(resolve(site, path), field)


@pytest.mark.parametrize("field", ["name", "former_name", "guardian_name"])
def test_the_pupils_name_fields_refuse_formulas_and_markup(app, registrar, field):
    client, pupil = registrar
    before = _stored(app, pupil, field)
    for value in HOSTILE:
        page = _fill(client, pupil + "edit", "xueji-form", "save", {field: value}, status=200)
        assert MESSAGE in (_field_error(page, field) or ""), (field, value)
    assert _stored(app, pupil, field) == before
    with open_site(app) as site:
        assert review.pending_of(resolve(site, pupil)) is None


def test_real_names_pass(app, registrar):
    client, pupil = registrar
    for field, value in [("former_name", "李小明"), ("guardian_name", "阿依古丽·吐尔逊"),
                         ("former_name", "Mary-Jane Smith")]:
        _fill(client, pupil + "edit", "xueji-form", "save", {field: value}, status=303)
        assert _stored(app, pupil, field) == value


def test_a_new_pupil_with_a_formula_as_former_name_is_refused(app, registrar):
    from .conftest import student_form
    client, _pupil = registrar
    values = student_form(name="赵六", id_number="110105201705060022", birth_date="2017-05-06", gender="2",
                          former_name="=1+2", guardian_name="<script>x</script>")
    form = client.get(CLASS + "add?type=Student").forms["xueji-form"]
    for key, value in values.items():
        if key in form.fields:
            form[key] = value
    page = form.submit("save", status=200)
    assert MESSAGE in _field_error(page, "former_name") and MESSAGE in _field_error(page, "guardian_name")
    with open_site(app) as site:
        assert len(resolve(site, CLASS)) == 1


def test_a_family_members_name_refuses_formulas_and_markup(app, registrar):
    client, pupil = registrar
    for value in HOSTILE:
        page = _fill(client, pupil + "add?type=FamilyMember", "xueji-form", "save",
                     {"name": value, "relation": "11"}, status=200)
        assert MESSAGE in (_field_error(page, "name") or ""), value
    with open_site(app) as site:
        assert len(resolve(site, pupil)) == 0


def test_a_family_members_real_name_passes(app, registrar):
    client, pupil = registrar
    _fill(client, pupil + "add?type=FamilyMember", "xueji-form", "save", {"name": "李建国", "relation": "11"},
          status=303)
    with open_site(app) as site:
        assert [m.name for m in resolve(site, pupil).values()] == ["李建国"]


def test_a_new_accounts_name_refuses_formulas_and_markup(app, registrar):
    client, _pupil = registrar
    for value in HOSTILE[:3]:
        page = _fill(client, CLASS + "sharing", "grant-form", "grant",
                     {"login": "new-teacher", "title": value, "role": "teacher"}, status=200)
        assert MESSAGE in (_field_error(page, "title") or ""), value
    with open_site(app) as site:
        assert site.principals.by_login_name("new-teacher") is None
