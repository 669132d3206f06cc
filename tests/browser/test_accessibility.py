"""Accessibility of the main pages, checked by axe-core in Debian's Chromium (no serious
or critical violation, and distinct navigation landmarks); the public verification page on
a phone and a desktop; the verification report's print button and print stylesheet.

axe-core comes from the npm registry through bin/test (tests/browser/axe, pinned by its
lockfile) and is injected from that file: the browser talks to 127.0.0.1 alone."""
import os
import pathlib
import re

import pytest
from pyramid.traversal import resource_path

from ..conftest import add_user, build_tree
from .conftest import login

pytestmark = pytest.mark.browser

AXE_JS = pathlib.Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SCHOOL = "/110000/110105/2111000001/"
CLASS = SCHOOL + "2024-03/"
PATHS = {}


def _axe_file():
    if AXE_JS.exists():
        return str(AXE_JS)
    reason = "axe-core is not installed at %s (bin/test runs npm ci in tests/browser/axe)" % AXE_JS
    if os.environ.get("XUEJI_REQUIRE_BROWSER") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _seed(site, registry):
    from xueji_site.graduates import graduation
    nodes = build_tree(site, registry)
    add_user(site, "reg", "school_registrar", at=nodes["school_a"], must_change=False)
    [(graduate, number)] = graduation.graduate(nodes["school_b"], 2024)
    add_user(site, "guard", "guardian", at=graduate, must_change=False)
    PATHS.update(pupil=resource_path(nodes["pupil_a"]) + "/", graduate=resource_path(graduate) + "/", number=number)


def violations(page, axe_js):
    """axe's serious and critical violations on the page, and every landmark-unique one."""
    page.add_script_tag(path=axe_js)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:5])
            for v in result["violations"] if v["impact"] in ("serious", "critical") or v["id"] == "landmark-unique"]


@pytest.fixture
def site(live_server):
    PATHS.clear()
    return live_server(seed=_seed)


def test_main_pages_have_no_serious_accessibility_violation(site, make_page, artifacts):
    axe_js = _axe_file()
    base = site
    found = {}
    anonymous = make_page(bypass_csp=True)  # axe is injected as a script tag: the page's CSP would refuse it
    for path in ("/login", "/verify"):
        anonymous.goto(base + path)
        found[path] = violations(anonymous, axe_js)
    page = make_page(bypass_csp=True)
    login(page, base, "reg")
    pages = {"/": "朝阳实验小学", SCHOOL: "2024级3班", CLASS: "李明", PATHS["pupil"]: "1101",
             SCHOOL + "search?q=%E6%9D%8E": "李明", SCHOOL + "reports": "",
             PATHS["pupil"] + "card": "学籍卡", PATHS["pupil"] + "edit": ""}
    for path, expected in pages.items():
        page.goto(base + path)
        assert expected in page.locator("main").inner_text(), path
        found[path] = violations(page, axe_js)
    page.screenshot(path=str(artifacts / "a11y-last-page.png"), full_page=True)
    assert {path: v for path, v in found.items() if v} == {}
    # the check can fail: an unlabelled field and a second unnamed navigation are reported
    page.evaluate("""() => document.querySelector('main').insertAdjacentHTML('beforeend',
        '<input type="text" id="a11y-probe"><nav><a href="/">x</a></nav><nav><a href="/">y</a></nav>')""")
    assert {"label", "landmark-unique"} <= {v[0] for v in violations(page, axe_js)}
    assert anonymous.offsite == [] and page.offsite == []
    assert page.script_errors == []


def _issue_report(make_page, base):
    page = make_page(bypass_csp=True)
    login(page, base, "guard")
    page.goto(base + PATHS["graduate"] + "graduate")
    form = page.locator("#code-form")
    form.locator("[name=days]").fill("90")
    with page.expect_navigation():
        form.locator("button[type=submit]").first.click()
    page.locator("#verification-report").wait_for()
    return page


def test_verification_report_prints_clean(site, make_page, artifacts):
    axe_js = _axe_file()
    page = _issue_report(make_page, site)
    button = page.locator("#print-report")
    assert button.is_visible() and "打印" in button.inner_text()
    assert violations(page, axe_js) == []
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    button.click()
    assert page.evaluate("() => window.__printed") == 1  # the button prints (xueji.js, no inline script)
    page.emulate_media(media="print")
    page.screenshot(path=str(artifacts / "verification-report-print.png"), full_page=True)
    assert not button.is_visible()
    assert page.locator("#verification-report").is_visible() and page.locator("#code").is_visible()
    for chrome in ("header.top", "aside.side", "nav.crumbs", "footer.foot"):
        assert not page.locator(chrome).is_visible(), chrome
    assert page.offsite == [] and page.script_errors == []


# How many lines each matching element's own text takes (a label's text, a heading cell's).
LINES = """(selector) => Array.from(document.querySelectorAll(selector)).map(element => {
    const text = Array.from(element.childNodes).find(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    const range = document.createRange();
    range.selectNodeContents(text);
    return new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size;
})"""


@pytest.mark.parametrize("width", [360, 390, 768, 1280, 1920])
def test_verification_page_fits_phones_and_desktops(site, make_page, artifacts, width):
    page = make_page(viewport={"width": width, "height": 900})
    page.goto(site + "/verify")
    form = page.locator("#verify-form")
    number = PATHS["number"]
    form.locator("[name=number]").fill(number)
    form.locator("[name=name]").fill("王芳")
    with page.expect_navigation():
        form.locator("button[name=ask]").click()
    assert "查验结果：有效" in page.locator("#verify-answer").inner_text()
    page.screenshot(path=str(artifacts / ("verify-%d.png" % width)), full_page=True)
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width + 1, "page overflows: %s > %s" % (scroll_width, inner_width)
    assert page.evaluate(LINES, "#verify-form label") == [1, 1, 1], "a label breaks across lines"
    assert set(page.evaluate(LINES, "#verify-answer th")) == {1}, "a heading cell breaks across lines"
    inputs = page.evaluate("() => Array.from(document.querySelectorAll('#verify-form input:not([type=hidden])'))"
                           ".map(i => i.getBoundingClientRect().width)")
    assert min(inputs) >= min(280, width - 80), "inputs squeezed: %r" % inputs
    form_box = page.locator("#verify-form").bounding_box()
    answer_box = page.locator("#verify-answer").bounding_box()
    if width >= 1280:  # side by side on a desktop
        assert answer_box["x"] >= form_box["x"] + form_box["width"] and abs(answer_box["y"] - form_box["y"]) < 5
    elif width <= 390:  # one column on a phone
        assert form_box["width"] >= width - 80
    assert page.offsite == []

