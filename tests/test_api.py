"""The JSON API with personal bearer tokens: scope, validation, masking, audit."""
import re

import pytest
import webtest
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path

from .conftest import RECORD_FORM, add_user, build_tree, open_site, resolve


def _token(browser, name="ci"):
    page = browser.get("/tokens")
    form = page.forms["token-form"]
    form["name"] = name
    page = form.submit("action", value="create")
    return page.html.find(id="new-token").text.strip()


@pytest.fixture
def api(app, browser):
    """Paths, and a token per role (made through the tokens page)."""
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "registrar", "school_registrar", at=nodes["school_a"])
        add_user(site, "head", "head_teacher", at=nodes["class_a"])
        paths = {k: resource_path(v) for k, v in nodes.items()}
    tokens = {}
    for login in ("registrar", "head"):
        browser.login(login)
        tokens[login] = _token(browser)
        browser.logout()
    return paths, tokens


def _client(app, token, language="zh-CN"):
    headers = {"Authorization": "Bearer " + token, "Accept-Language": language}
    return webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"}), headers


def _new_pupil(**extra):
    body = dict(RECORD_FORM, name="赵小天", gender="1", birth_date="2017-05-06", ethnicity="01",
                id_type="1", id_number="110105201705060016")
    body.update(extra)
    return body


def test_token_shown_once_and_stored_hashed(app, browser, api):
    _paths, tokens = api
    with open_site(app) as site:
        user = site.principals.by_login_name("registrar")
        stored = list(user.api_tokens.values())
    assert len(stored) == 1 and tokens["registrar"] not in repr(stored)
    browser.login("registrar")
    assert tokens["registrar"] not in browser.get("/tokens").text


def test_get_record_masks_and_audits(app, api):
    paths, tokens = api
    client, headers = _client(app, tokens["head"])
    record = client.get("/api/v1" + paths["pupil_a"], headers=headers).json
    assert record["fields"]["name"] == "李明"
    assert record["fields"]["id_number"] != "110105201703120038" and "*" in record["fields"]["id_number"]
    client, headers = _client(app, tokens["registrar"])
    full = client.get("/api/v1" + paths["pupil_a"], headers=headers).json
    assert full["fields"]["id_number"] == "110105201703120038"
    with open_site(app) as site:
        reads = [e for e in site.audit.newest(limit=100) if e.action == "view-record"]
        assert len(reads) == 2 and dict(reads[0].detail)["via"] == "api"


def test_list_is_paged_and_scoped(app, api):
    paths, tokens = api
    client, headers = _client(app, tokens["registrar"])
    listing = client.get("/api/v1" + paths["class_a"] + "/students?limit=1", headers=headers).json
    assert listing["total"] == 1 and listing["items"][0]["name"] == "李明"
    client.get("/api/v1" + paths["class_b"] + "/students", headers=headers, status=403)
    client.get("/api/v1" + paths["pupil_b"], headers=headers, status=403)
    client.get("/api/v1" + paths["class_a"] + "/nope", headers=headers, status=404)
    client.get("/api/v1/999999", headers=headers, status=404)


def test_create_validates_like_the_form(app, api):
    paths, tokens = api
    client, headers = _client(app, tokens["registrar"])
    url = "/api/v1" + paths["class_a"] + "/students"
    bad = client.post_json(url, _new_pupil(postcode="12"), headers=headers, status=422).json
    assert "邮政编码" in bad["errors"]["postcode"]
    bad = client.post_json(url, _new_pupil(id_number="110105201705060015"), headers=headers, status=422).json
    assert "校验码" in bad["errors"]["id_number"]
    english = client.post_json(url, _new_pupil(name=""), headers=dict(headers, **{"Accept-Language": "en"}),
                               status=422).json
    assert english["errors"]["name"] == "Required"
    unknown = client.post_json(url, _new_pupil(is_admin=True), headers=headers, status=422).json
    assert "is_admin" in unknown["errors"]
    client.post(url, "not json", headers=dict(headers, **{"Content-Type": "application/json"}), status=400)
    client.post_json(url, ["a list"], headers=headers, status=400)
    created = client.post_json(url, _new_pupil(), headers=headers, status=201).json
    assert created["fields"]["registry_no"] == "G110105201705060016"
    dup = client.post_json(url, _new_pupil(), headers=headers, status=422).json
    assert "一人一籍" in dup["errors"]["id_number"]
    with open_site(app) as site:
        assert len(resolve(site, paths["class_a"])) == 2


def test_patch_direct_and_reviewed_fields(app, api):
    paths, tokens = api
    client, headers = _client(app, tokens["registrar"])
    url = "/api/v1" + paths["pupil_a"]
    result = client.patch_json(url, {"phone": "13912345678", "name": "李小明"}, headers=headers).json
    assert result["changed"] == ["phone"] and result["pending_review"] == ["name"]
    assert result["fields"]["phone"] == "13912345678" and result["fields"]["name"] == "李明"
    bad = client.patch_json(url, {"phone": "12"}, headers=headers, status=422).json
    assert "phone" in bad["errors"]
    head, head_headers = _client(app, tokens["head"])
    head.patch_json(url, {"id_number": "110105201703120038"}, headers=head_headers, status=422)


def test_tokens_authenticate_only_when_valid(app, browser, api):
    paths, tokens = api
    client = webtest.TestApp(app)
    url = "/api/v1" + paths["pupil_a"]
    assert client.get(url, status=401).json["errors"]
    client.get(url, headers={"Authorization": "Bearer " + tokens["head"] + "x"}, status=401)
    client.get(url, headers={"Authorization": "Basic YTpi"}, status=401)
    browser.login("head")
    page = browser.get("/tokens")
    revoke = [f for f in page.forms.values() if "id" in f.fields][0]
    revoke.submit("action", value="revoke", status=303)
    client.get(url, headers={"Authorization": "Bearer " + tokens["head"]}, status=401)


def test_cookie_session_still_needs_csrf_on_the_api(app, browser, api):
    paths, _tokens = api
    browser.login("registrar")
    response = browser.post_json("/api/v1" + paths["class_a"] + "/students", _new_pupil(), status=400)
    assert "Bearer" in response.json["errors"][""]
    with open_site(app) as site:
        assert len(resolve(site, paths["class_a"])) == 1


def test_html_site_unchanged_for_a_bearer_header(app, api):
    """An Authorization header never lets a request ride on a cookie session."""
    paths, tokens = api
    client, headers = _client(app, tokens["registrar"])
    page = client.get(paths["school_a"], headers=headers)
    assert re.search("朝阳实验小学", page.text)
