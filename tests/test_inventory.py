"""Only listed fields, each with a purpose, basis and retention (G1); optional
extras only with a recorded consent (G2)."""
import pytest
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path

from xueji_site.kernel import inventory
from xueji_site.kernel.registry import content_registry
from xueji_site.record import inventory as record_inventory
from xueji_site.schemas.family import family_schema
from xueji_site.schemas.student import student_schema

from .conftest import Browser, add_user, build_tree, open_site, resolve, student_form, valid_id


def _fields(schema):
    return {node.name for node in schema.children} - {"csrf_token", inventory.CONSENT_FIELD}


def test_every_form_field_is_in_the_inventory_and_nothing_else():
    assert _fields(student_schema(None, None, True)) == set(record_inventory.STUDENT)
    assert _fields(family_schema(None, None, True)) == set(record_inventory.FAMILY)
    for use in list(record_inventory.STUDENT.values()) + list(record_inventory.FAMILY.values()):
        assert use.basis in inventory.BASIS_LABELS and use.purpose in inventory.PURPOSES
        assert use.retention in inventory.RETENTION_LABELS
    assert set(record_inventory.CONSENT_FIELDS) == {"specialty", "email"}


def test_every_registered_type_of_personal_data_lists_each_form_field(app):
    """Whatever feature registers it: a type holding pupils' data has an inventory
    entry for each field of its form, and no entry for a field it does not have."""
    personal = content_registry(app.registry).personal_types()
    assert {"Student", "FamilyMember"} <= {ct.name for ct in personal}
    for ct in personal:
        assert ct.schema is not None and ct.inventory, ct.name
        assert _fields(ct.schema(None, None, True)) == set(ct.inventory), ct.name


@pytest.fixture
def registrar(app):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "reg", "school_registrar", nodes["school_a"])
        klass = resource_path(nodes["class_a"])
    browser = Browser(app)
    browser.login("reg")
    return browser, klass


def _add(browser, klass, **values):
    form = browser.get(klass + "/add?type=Student").forms["xueji-form"]
    for key, value in student_form(name="赵小同", id_number=valid_id("11010520170415002"), gender="2",
                                   birth_date="2017-04-15", **values).items():
        form[key] = value
    return form


def test_optional_extras_without_consent_are_refused_and_nothing_is_stored(app, registrar):
    browser, klass = registrar
    page = _add(browser, klass, specialty="钢琴").submit("save", status=200)
    assert "选填信息须先取得同意" in page.text
    with open_site(app) as site:
        assert "赵小同" not in [p.name for p in resolve(site, klass).values()]


def test_consent_is_recorded_with_who_and_when_and_cannot_be_dropped_under_the_data(app, registrar):
    browser, klass = registrar
    form = _add(browser, klass, specialty="钢琴", email="zhao@example.org")
    form["optional_consent"] = True
    record = form.submit("save", status=303).follow()
    with open_site(app) as site:
        [pupil] = [p for p in resolve(site, klass).values() if p.name == "赵小同"]
        assert pupil.optional_consent is True and pupil.specialty == "钢琴"
        path = resource_path(pupil)
        [created] = site.audit.newest(lambda e: e.action == "create" and e.path == path)
        assert created.login == "reg"
    edit = browser.get(path + "/edit").forms["xueji-form"]
    edit["optional_consent"] = False  # withdrawn, but the extras are still filled in
    assert "选填信息须先取得同意" in edit.submit("save", status=200).text
    edit = browser.get(path + "/edit").forms["xueji-form"]
    edit["optional_consent"], edit["specialty"], edit["email"] = False, "", ""
    edit.submit("save", status=303)
    with open_site(app) as site:
        pupil = resolve(site, path)
        assert (pupil.optional_consent, pupil.specialty, pupil.email) == (False, "", "")
        [withdrawn] = site.audit.newest(lambda e: e.action == "modify" and e.path == path, limit=1)
        assert withdrawn.login == "reg" and "optional_consent" in dict(withdrawn.detail)
    assert record.status_int == 200


def test_the_privacy_notice_lists_every_purpose_and_basis(app):
    page = Browser(app).get("/privacy")
    table = page.html.find("table", id="field-uses")
    text = table.get_text()
    for purpose in inventory.PURPOSES.values():
        assert purpose in text
    assert "特长" in text and "同意（未满14周岁由监护人同意）" in text
    assert "1.1" in page.html.find(id="privacy-version").get_text()
