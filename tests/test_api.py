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


@pytest.mark.parametrize("header", ["Basic cmVnaXN0cmFyOng=", "", "Bearer not-a-token", "Bearer "])
def test_a_cookie_session_never_rides_on_another_authorization_header(app, browser, api, header):
    """Issue 20 (2): a logged-in browser's cookie plus an Authorization header that is not a
    valid bearer token, and no CSRF token, changes nothing."""
    paths, _tokens = api
    browser.login("registrar")
    response = browser.post(paths["school_a"] + "/edit", {"name": "改名学校", "save": "save"},
                            headers={"Authorization": header}, expect_errors=True)
    refused = response.status_int in (400, 401, 403) or (
        response.status_int == 303 and response.location.split("?")[0].endswith("/login"))  # anonymous
    assert refused, (header, response.status)
    with open_site(app) as site:
        assert resolve(site, paths["school_a"]).title == "朝阳实验小学"
    # nor does the cookie make it the registrar's for reading: it is anonymous
    page = browser.get(paths["school_a"] + "/", headers={"Authorization": header}, expect_errors=True)
    assert page.status_int in (303, 401) and "朝阳实验小学" not in page.text
    assert "朝阳实验小学" in browser.get(paths["school_a"] + "/").text  # the cookie alone still works


def test_a_valid_bearer_token_acts_as_its_own_user_not_the_cookies(app, browser, api):
    """With a valid token the request is the token's user's (no CSRF: no cookie is read):
    the head teacher's token beside the registrar's cookie may not rename the school."""
    paths, tokens = api
    browser.login("registrar")
    response = browser.post(paths["school_a"] + "/edit", {"name": "改名学校", "save": "save"},
                            headers={"Authorization": "Bearer " + tokens["head"]}, expect_errors=True)
    assert response.status_int == 403
    with open_site(app) as site:
        assert resolve(site, paths["school_a"]).title == "朝阳实验小学"
    # and without any header the cookie session still needs its CSRF token
    assert browser.post(paths["school_a"] + "/edit", {"name": "改名学校", "save": "save"},
                        expect_errors=True).status_int == 400
