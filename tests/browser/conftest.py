"""Browser-test fixtures: the real application served by waitress in a subprocess on a
FileStorage, and Debian's Chromium driven by Playwright — talking to 127.0.0.1 alone.

Never run ``playwright install``: these tests use the system browser at /usr/bin/chromium.
Without it they skip, unless XUEJI_REQUIRE_BROWSER=1 (CI), where they fail instead.
"""
import json
import os
import pathlib
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from ..conftest import add_user, base_settings, open_site
from xueji_site.kernel.root import databases

CHROMIUM = "/usr/bin/chromium"
# Debian's chromium reaches for Google's hosts at start; these keep it on loopback.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,Translate",
]
ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "test-artifacts"
ADMIN = "admin"
START_TIMEOUT = 20.0

# The child process: bind port 0 (no race for a "free" port), report the port, serve.
_SERVE = """
import json, pathlib, sys
import waitress
from xueji_site import main
settings = json.loads(sys.argv[1])
server = waitress.create_server(main({}, **settings), host="127.0.0.1", port=0, threads=4)
pathlib.Path(sys.argv[2]).write_text(str(server.effective_port))
server.run()
"""


def _require_browser():
    if os.path.exists(CHROMIUM):
        return
    reason = "browser tests need Debian's chromium at %s (apt-get install chromium)" % CHROMIUM
    if os.environ.get("XUEJI_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; XUEJI_REQUIRE_BROWSER=1 makes its absence an error", pytrace=False)
    pytest.skip(reason)


def _create_database(settings, seed):
    """Start the app once in-process to build the tree, add the sysadmin and seed;
    then close every database so the server process can take the FileStorage lock."""
    from pyramid.threadlocal import manager
    from xueji_site import main

    app = main({}, **settings)
    manager.push({"registry": app.registry, "request": None})
    try:
        with open_site(app) as site:
            add_user(site, ADMIN, "sysadmin", must_change=False)
            if seed is not None:
                seed(site, app.registry)
    finally:
        manager.pop()
        for db in databases(app.registry).values():
            db.close()


def _wait_until_up(proc, port_file, log_path):
    deadline = time.monotonic() + START_TIMEOUT
    base = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited with %s:\n%s" % (proc.returncode, log_path.read_text()))
        if base is None and port_file.exists() and port_file.read_text().strip():
            base = "http://127.0.0.1:%s" % port_file.read_text().strip()
        if base is not None:
            try:
                with urllib.request.urlopen(base + "/login", timeout=2) as response:
                    if response.status == 200:
                        return base
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
        time.sleep(0.1)
    raise RuntimeError("the server did not answer within %ss:\n%s" % (START_TIMEOUT, log_path.read_text()))


@pytest.fixture
def live_server(tmp_path, key_file):
    """A factory: ``live_server(seed=None)`` → the base URL of the real app under waitress.

    ``seed(site, registry)`` may add nodes before the server starts. The server is
    stopped (terminate, then kill) when the test ends, whatever the outcome."""
    procs = []

    def start(seed=None):
        settings = base_settings(key_file, "file://" + str(tmp_path / "Data.fs"))
        _create_database(settings, seed)
        port_file = tmp_path / "port"
        log_path = tmp_path / "server.log"
        log = open(log_path, "wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, json.dumps(settings), str(port_file)],
            stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path), env=env)
        log.close()
        procs.append(proc)
        return _wait_until_up(proc, port_file, log_path)

    try:
        yield start
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def chromium():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def make_page(chromium):
    """A factory for pages in fresh contexts (Simplified-Chinese browser, loopback only).

    Any request not aimed at 127.0.0.1 is aborted and recorded in ``page.offsite``;
    uncaught script errors are recorded in ``page.script_errors``."""
    contexts = []

    def make(viewport=None, bypass_csp=False):
        # bypass_csp: only for injecting axe-core as a script tag (the site's CSP refuses inline script)
        context = chromium.new_context(locale="zh-CN", viewport=viewport or {"width": 1280, "height": 900},
                                       bypass_csp=bypass_csp)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.offsite = []
        page.script_errors = []

        def guard(route):
            url = route.request.url
            if url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:")):
                route.continue_()
            else:
                page.offsite.append(url)
                route.abort()

        context.route("**/*", guard)
        page.on("pageerror", lambda exc: page.script_errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def login(page, base, login_name=ADMIN):
    from ..conftest import PASSWORD
    page.goto(base + "/login")
    form = page.locator("#login-form")
    form.locator("input[name=login]").fill(login_name)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[name=submit]").click()
    if page.url.endswith("/totp"):  # the second factor (add_user enrolled TOTP_SECRET)
        import pyotp
        from ..conftest import TOTP_SECRET
        page.locator("#totp-form input[name=code]").fill(pyotp.TOTP(TOTP_SECRET).now())
        with page.expect_navigation():
            page.locator("#totp-form button[name=verify]").click()
    assert "/login" not in page.url and "/totp" not in page.url, "login failed: still on " + page.url
