"""Issue 20 (4): one person, one record, whatever way a second registration comes: the API,
an import, a school in another province, and two registrations at the same moment."""
import datetime
import re
import threading

import pytest
import webtest
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path

from xueji_site.kernel import content, crypto
from .conftest import Browser, RECORD_FORM, add_user, build_tree, open_site, resolve, student_form
from .conftest import valid_id
from .import_helpers import pupils, xlsx_bytes

ID_A = "110105201703120038"  # build_tree's pupil at school A (Beijing)


@pytest.fixture
def places(app, tmp_path):
    app.registry.settings["xueji.upload_dir"] = str(tmp_path / "uploads")
    with open_site(app) as site:
        registry = get_current_registry()
        n = build_tree(site, registry)
        tj = content.create("Bureau", site, {"code": "120000", "name": "天津市教育委员会"}, registry)
        hp = content.create("Bureau", tj, {"code": "120101", "name": "和平区教育局"}, registry)
        tj_school = content.create("School", hp, {"code": "2112000003", "name": "和平小学",
                                                  "address": "", "phone": ""}, registry)
        tj_class = content.create("SchoolClass", tj_school, {"cohort": 2024, "number": 2, "name": ""}, registry)
        add_user(site, "reg_a", "school_registrar", at=n["school_a"])
        add_user(site, "reg_b", "school_registrar", at=n["school_b"])
        add_user(site, "reg_tj", "school_registrar", at=tj_school)
        found = {k: resource_path(v) for k, v in n.items()}
        found.update(tj_school=resource_path(tj_school), tj_class=resource_path(tj_class))
        return found


def _holders(app, number=ID_A):
    with open_site(app) as site:
        return [resource_path(site.docmap[d]) for d in
                site.catalog["hashes"].applyEq(crypto.keyring().blind("id", number))]


def _login(app, login):
    browser = Browser(app, extra_environ={"HTTP_ACCEPT_LANGUAGE": "zh-CN"})
    browser.login(login)
    return browser


def _add_form(browser, class_path, number, born="2017-03-12"):
    form = browser.get(class_path + "/add?type=Student").forms["xueji-form"]
    for field, value in student_form(id_number=number, name="李明", birth_date=born).items():
        if field in form.fields:
            form[field] = value
    return form


def test_a_school_in_another_province_cannot_register_the_pupil_again(app, places):
    before = _holders(app)
    page = _add_form(_login(app, "reg_tj"), places["tj_class"], ID_A).submit("save", status=200)
    assert "一人一籍" in page.text
    assert "朝阳实验小学" not in page.text  # nor learns where the pupil is
    assert _holders(app) == before and len(before) == 1


def test_the_api_refuses_a_second_record_from_another_school(app, places):
    reg_b = _login(app, "reg_b")
    page = reg_b.get("/tokens")
    form = page.forms["token-form"]
    form["name"] = "roster"
    token = form.submit("action", value="create").html.find(id="new-token").text.strip()
    client = webtest.TestApp(app)
    body = dict(RECORD_FORM, name="李明", gender="1", birth_date="2017-03-12", ethnicity="01", id_type="1",
                id_number=ID_A)
    refused = client.post_json("/api/v1" + places["class_b"] + "/students", body,
                               headers={"Authorization": "Bearer " + token}, status=422).json
    assert "一人一籍" in refused["errors"]["id_number"]
    assert _holders(app) == [places["pupil_a"]]


def test_an_import_refuses_a_pupil_registered_at_another_school(app, places):
    rows = pupils(2, county="110108", klass="2024-01")
    rows[0].update(id_number=ID_A, name="李明", birth_date=datetime.date(2017, 3, 12), gender="1")
    reg_b = _login(app, "reg_b")
    form = reg_b.get(places["school_b"] + "/import").forms["import-form"]
    form["file"] = ("roster.xlsx", xlsx_bytes(rows))
    page = form.submit(status=200)
    assert int(re.search(r'id="count-new">(\d+)<', page.text).group(1)) == 1
    assert "一人一籍" in page.text
    page.forms["confirm-form"].submit("action", value="valid", status=303)
    assert _holders(app) == [places["pupil_a"]]
    with open_site(app) as site:
        assert len(resolve(site, places["class_b"])) == 2  # 王芳 and the other, valid row


def test_two_registrations_of_one_number_at_once_exactly_one_wins(app, places, monkeypatch):
    """Both forms are checked before either commits; the loser's retry sees the winner."""
    number = valid_id("11010520170909001")
    browsers = {"reg_a": _login(app, "reg_a"), "reg_b": _login(app, "reg_b")}
    forms = {"reg_a": _add_form(browsers["reg_a"], places["class_a"], number, "2017-09-09"),
             "reg_b": _add_form(browsers["reg_b"], places["class_b"], number, "2017-09-09")}
    barrier = threading.Barrier(2, timeout=10)
    seen = threading.local()
    real_create = content.create

    def racing_create(type_name, *args, **kwargs):
        if type_name == "Student" and not getattr(seen, "waited", False):
            seen.waited = True
            barrier.wait()  # both have passed validation
        return real_create(type_name, *args, **kwargs)

    monkeypatch.setattr(content, "create", racing_create)
    results = {}

    def submit(login):
        results[login] = forms[login].submit("save", status="*")

    threads = [threading.Thread(target=submit, args=(login,)) for login in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r.status_int for r in results.values()) == [200, 303]  # no 500
    [loser] = [r for r in results.values() if r.status_int == 200]
    assert "一人一籍" in loser.text
    assert len(_holders(app, number)) == 1
