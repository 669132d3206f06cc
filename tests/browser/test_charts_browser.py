"""The report charts in Chromium, under the site's real Content-Security-Policy:
the pygal SVG loads as an image and as a document with no CSP violation, its
bars have our colours (pygal's CSS arrived as attributes), and the print view
names the scope."""
from xueji_site.kernel import content
from ..conftest import student_values
from .conftest import login

VALID_ID = "110105201703120038"


def _seed(site, registry):
    bj = content.create("Bureau", site, {"code": "110000", "name": "北京市教育委员会"}, registry)
    cy = content.create("Bureau", bj, {"code": "110105", "name": "朝阳区教育委员会"}, registry)
    school = content.create("School", cy, {"code": "2111000001", "name": "朝阳实验小学", "address": "",
                                           "phone": ""}, registry)
    klass = content.create("SchoolClass", school, {"cohort": 2024, "number": 3, "name": ""}, registry)
    content.create("Student", klass, student_values(VALID_ID, "李明", "1"), registry)
    content.create("Student", klass, student_values("110105201705060027", "王芳", "2"), registry)


def test_report_chart_loads_under_the_csp_with_its_colours(live_server, make_page, artifacts):
    base = live_server(seed=_seed)
    page = make_page()
    violations = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text or "Refused to" in m.text else None)
    login(page, base)
    page.goto(base + "/110000/110105/2111000001/reports?name=enrolment")
    image = page.locator("figure.chart img")
    image.wait_for()
    page.wait_for_function("document.querySelector('figure.chart img').complete")
    assert page.evaluate("document.querySelector('figure.chart img').naturalWidth") > 0
    assert "数据见上表" in image.get_attribute("alt")
    page.screenshot(path=str(artifacts / "report-chart.png"), full_page=True)
    # the SVG as a document of its own, under the same CSP
    page.goto(base + "/110000/110105/2111000001/report.svg?name=enrolment")
    fills = page.evaluate("""Array.from(document.querySelectorAll('rect.rect'))
                             .map(r => getComputedStyle(r).fill)""")
    assert fills and set(fills) <= {"rgb(59, 110, 165)", "rgb(200, 85, 61)"}, fills
    font = page.evaluate("getComputedStyle(document.querySelector('text')).fontFamily")
    assert "WenQuanYi Micro Hei" in font
    assert page.evaluate("document.documentElement.getAttribute('role')") == "img"
    page.goto(base + "/110000/110105/2111000001/reports?name=units&print=1")
    assert page.locator("h1").inner_text().startswith("北京市教育委员会 › 朝阳区教育委员会 › 朝阳实验小学")
    assert violations == [], violations
    assert page.offsite == [] and page.script_errors == []
