"""Bytes that are not UTF-8 anywhere in a request get a 400 page with the usual
headers (JSON on JSON endpoints), never a 500 and never waitress's bare text page."""
import json
import re

import pytest
import webtest

from .conftest import Browser, add_user, open_site
from .test_attacks import _assert_security_headers

REFUSAL = "请求中含有无法识别的字符"

# The outside scan's findings, and a few more of the same kind.
BAD_PATHS = ["/%ff", "/search%ff", "/static/%c0%ae%c0%ae/x", "/110000/%ed%a0%80/", "/login/%e4%b8"]
BAD_QUERIES = ["/search?q=%ff%fe", "/login?came_from=%ff", "/verify?number=%ff&name=x&code=y", "/?sort=%c0%af"]
BAD_JSON = ["/verify.json?number=%ff&name=x", "/verify.json?name=%c0%ae", "/api/v1/%ff", "/api/v1/110000/?x=%fe"]


@pytest.fixture
def client(app):
    with open_site(app) as site:
        add_user(site, "plain")
    return Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "zh-CN"})


def _html_refusal(response):
    assert response.status_int == 400
    assert response.content_type == "text/html"
    _assert_security_headers(response, secure=False)
    assert REFUSAL in response.text and "请求无效" in response.text
    assert "Traceback" not in response.text


def _get_with_cookies(client, url):
    """A GET sent past webtest's cookie jar (which itself cannot build the URL of a bad path)."""
    request = webtest.TestRequest.blank(url, environ={"REMOTE_ADDR": "127.0.0.1"})
    request.environ["HTTP_COOKIE"] = "; ".join("%s=%s" % pair for pair in client.cookies.items())
    return request.get_response(client.app)


@pytest.mark.parametrize("url", BAD_PATHS + BAD_QUERIES)
def test_bad_bytes_in_path_or_query_are_a_400_page(client, url):
    _html_refusal(_get_with_cookies(client, url))


@pytest.mark.parametrize("url", BAD_PATHS + BAD_QUERIES)
def test_bad_bytes_are_refused_for_a_logged_in_user_too(client, url):
    client.login("plain")
    assert "xueji" in client.cookies
    _html_refusal(_get_with_cookies(client, url))
    client.get("/", status=200)  # the session survives: the refusal read none of it


@pytest.mark.parametrize("url", BAD_JSON)
def test_json_endpoints_answer_json(client, url):
    response = _get_with_cookies(client, url)
    assert response.status_int == 400
    assert response.content_type == "application/json"
    _assert_security_headers(response, secure=False)
    body = json.loads(response.body.decode("utf-8"))
    assert body["error"] == "bad-request" and REFUSAL in body["errors"][""]


def test_bad_bytes_in_an_api_request_with_a_token_are_json(client):
    response = client.get("/api/v1/?q=%ff", headers={"Authorization": "Bearer nothing"}, status="*")
    assert response.status_int == 400 and response.content_type == "application/json"


@pytest.mark.parametrize("name,value", [
    ("User-Agent", "Mozilla/5.0 \xff\xfe"), ("Accept-Language", "zh-CN,\xc0\xaf"),
    ("Referer", "http://localhost/\xff"), ("X-Forwarded-For", "10.0.0.\xff"),
    ("Cookie", "xueji=\xff\xfe"), ("Cookie", "_LOCALE_=en; other=\xed\xa0\x80"),
])
def test_bad_bytes_in_headers_and_cookies_are_a_400_page(client, name, value):
    _html_refusal(client.get("/login", headers={name: value}, status="*"))


def test_the_refusal_speaks_the_users_language(client):
    client.set_cookie("_LOCALE_", "en")
    page = _get_with_cookies(client, "/%ff")
    assert page.status_int == 400
    assert 'lang="en"' in page.text and REFUSAL not in page.text


def _login_token(client):
    return client.get("/login").forms["login-form"]["csrf_token"].value


@pytest.mark.parametrize("body", [b"login=plain%ff&password=x", b"login=plain\xff&password=x",
                                  b"login=plain&password=%c0%af"])
def test_bad_bytes_in_an_urlencoded_form_are_a_400_and_log_nobody_in(app, client, body):
    token = _login_token(client).encode()
    response = client.post("/login", body + b"&submit=1&csrf_token=" + token,
                           content_type="application/x-www-form-urlencoded", status="*")
    _html_refusal(response)
    with open_site(app) as site:
        assert not site.audit.newest(lambda e: e.action == "login")


def _multipart(parts, boundary="XUEJIBOUNDARY"):
    body = b""
    for name, value, filename in parts:
        disposition = 'form-data; name="%s"' % name + ('; filename="%s"' % filename if filename else "")
        body += b"--%s\r\nContent-Disposition: %s\r\n\r\n%s\r\n" % (boundary.encode(), disposition.encode(), value)
    return body + b"--%s--\r\n" % boundary.encode(), "multipart/form-data; boundary=" + boundary


def _post_raw(client, url, body, content_type):
    request = webtest.TestRequest.blank(url, method="POST", body=body, content_type=content_type,
                                        environ={"REMOTE_ADDR": "127.0.0.1"})
    return client.do_request(request, status="*", expect_errors=True)


def test_bad_bytes_in_a_multipart_text_field_are_a_400(client):
    token = _login_token(client).encode()
    body, kind = _multipart([("csrf_token", token, None), ("login", b"plain\xff\xfe", None),
                             ("password", b"x", None)])
    _html_refusal(_post_raw(client, "/login", body, kind))


def test_binary_files_in_a_multipart_form_are_not_judged(client):
    """A file is bytes, not text: an upload of any content passes (and the login fails as usual)."""
    token = _login_token(client).encode()
    body, kind = _multipart([("csrf_token", token, None), ("login", "李明".encode(), None),
                             ("password", b"x", None), ("submit", b"1", None),
                             ("file", b"\xff\xfe\x00\xd8\xc0\xaf" * 100, "photo.jpg")])
    response = _post_raw(client, "/login", body, kind)
    assert response.status_int == 200 and "登录名或密码" in response.text


def test_a_long_valid_multipart_field_is_not_mistaken_for_bad_bytes(client):
    """WebOb decodes multipart text 64 KiB at a time, cutting characters in two: the
    check reads the raw bytes, so 120 kB of valid UTF-8 pass."""
    form = client.get("/login").forms["login-form"]
    assert form.enctype == "multipart/form-data"
    form["login"], form["password"] = "Ｘ" * 40_000, "x"
    assert form.submit("submit", status=200).status_int == 200


def test_bad_bytes_in_a_json_body_are_a_json_400(client):
    response = client.post("/api/v1/110000/", b'{"name": "\xff"}', content_type="application/json",
                           headers={"Authorization": "Bearer nothing"}, status="*")
    assert response.status_int == 400 and response.content_type == "application/json"
    assert REFUSAL in json.loads(response.body.decode("utf-8"))["errors"][""]


def test_good_utf8_still_passes(client):
    client.login("plain")
    page = client.get("/search?q=%E6%9D%8E%E6%98%8E", status=200)  # 李明
    assert 'value="李明"' in page.text
    assert client.get("/%E6%9D%8E", status=404).status_int == 404  # not found, not refused
    assert client.get("/login?came_from=%2F", status=200)


def test_a_refusal_is_logged_without_the_value(client, caplog):
    import logging
    with caplog.at_level(logging.WARNING, logger="xueji_site.views.badbytes"):
        client.get("/login", headers={"User-Agent": "secret-\xff"}, status=400)
    assert "header User-Agent is not UTF-8" in caplog.text and "secret" not in caplog.text


def test_the_error_views_log_line_survives_a_bad_path():
    """Defence in depth: the error views log the path without decoding it."""
    from pyramid.testing import DummyRequest
    from xueji_site.views.errors import logged_path
    request = DummyRequest(environ={"PATH_INFO": "/a\xff\xfe\n"})
    shown = logged_path(request)
    assert "\n" not in shown and re.search(r"\\x?ff", shown) and shown.startswith("/a")
