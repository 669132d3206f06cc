"""Charts (xueji_site/charts.py): every kind renders on pygal with CJK labels, a
text alternative (<title>, <desc>, role and aria-label), its data as a table,
and nothing the site's CSP would block (no <style>, style="", <script>, or
external reference); the reports' charts and print views on the site."""
import datetime
import re
import xml.etree.ElementTree as ET

import pytest

from xueji_site.kernel import charts
from xueji_site.views.headers import CSP

NS = "{http://www.w3.org/2000/svg}"


def _tree(svg):
    return ET.fromstring(svg)


def _texts(root):
    return [t.text or "" for t in root.iter(NS + "text")]


def _effective(root, element, name):
    """A presentation attribute as it applies to ``element``: its own, else inherited."""
    parents = {child: parent for parent in root.iter() for child in parent}
    while element is not None:
        if element.get(name) is not None:
            return element.get(name)
        element = parents.get(element)
    return None


def _csp_clean(svg):
    assert "<script" not in svg and "<style" not in svg and " style=" not in svg
    assert "<!--" not in svg                                          # pygal's comments name its site
    assert not re.search(r'href="(?!#)', svg)                          # nothing fetched from anywhere
    assert re.findall(r"https?://[^\"' ]+", svg) == ["http://www.w3.org/2000/svg"]  # the namespace only


def _alternative(root, title, *words):
    """The text alternative: <title> then <desc> first, role=img, aria-label and -labelledby."""
    first, second = list(root)[:2]
    assert first.tag == NS + "title" and first.text == title
    assert second.tag == NS + "desc" and all(w in second.text for w in words), second.text
    assert root.get("role") == "img" and root.get("aria-label") == title
    assert root.get("aria-labelledby") == first.get("id") and root.get("aria-describedby") == second.get("id")
    assert "WenQuanYi Micro Hei" in root.get("font-family") and "Noto Sans CJK SC" in root.get("font-family")


def test_bar_chart_has_cjk_labels_native_tooltips_and_its_table():
    chart = charts.bar("在籍学生", ["一年级", "二年级"], [("男", [3, 4]), ("女", [2, 5])])
    assert chart.kind == "bar" and chart.csp_safe
    _csp_clean(chart.svg)
    root = _tree(chart.svg)
    _alternative(root, "在籍学生", "一年级 — 男 3, 女 2", "二年级 — 男 4, 女 5")
    texts = _texts(root)
    assert {"一年级", "二年级", "男", "女", "在籍学生"} <= set(texts)
    tips = sorted(t.text for t in root.iter(NS + "title") if t.text and "·" in t.text)
    assert tips == ["女 · 一年级: 2", "女 · 二年级: 5", "男 · 一年级: 3", "男 · 二年级: 4"]
    assert chart.header == ["", "男", "女"] and chart.rows == [["一年级", 3, 2], ["二年级", 4, 5]]
    # pygal's CSS became presentation attributes: the series have our colours
    fills = {_effective(root, r, "fill") for r in root.iter(NS + "rect") if "rect" in (r.get("class") or "").split()}
    assert fills == {charts.COLORS[0], charts.COLORS[1]}
    # whole-number ticks on the count axis
    assert "0.5" not in texts and "4" in texts


def test_line_chart():
    months = ["2026-01", "2026-02", "2026-03"]
    chart = charts.line("学籍异动", months, [("休学", [1, 0, 2]), ("转学", [0, 3, 1])])
    _csp_clean(chart.svg)
    root = _tree(chart.svg)
    _alternative(root, "学籍异动", "2026-02 — 休学 0, 转学 3")
    assert set(months) | {"休学", "转学"} <= set(_texts(root))
    paths = [p for p in root.iter(NS + "path") if "line" in (p.get("class") or "").split()
             and "reactive" in (p.get("class") or "").split()]
    assert len(paths) == 2 and {_effective(root, p, "stroke") for p in paths} == {charts.COLORS[0], charts.COLORS[1]}
    assert chart.rows == [["2026-01", 1, 0], ["2026-02", 0, 3], ["2026-03", 2, 1]]


def test_histogram_counts_into_bins():
    sizes = [30, 35, 40, 41, 44, 46, 50, 52, 60, 88]
    chart = charts.histogram("班额分布", sizes, bins=6, name="班级数")
    _csp_clean(chart.svg)
    root = _tree(chart.svg)
    _alternative(root, "班额分布", "班级数")
    assert sum(r[1] for r in chart.rows) == len(sizes) and len(chart.rows) == 6
    assert chart.rows[0] == ["30–39.7", 2] and chart.rows[-1] == ["78.3–88", 1]
    assert charts.bins_of([5, 5, 5]) == [(3, 5, 5)] and charts.bins_of([]) == []
    bars = [r for r in root.iter(NS + "rect") if "rect" in (r.get("class") or "").split()]
    assert len(bars) == 6


def test_box_plot_gives_the_five_numbers():
    chart = charts.box("各学段班额", [("小学", [30, 35, 40, 45, 50]), ("初中", [40, 48, 52, 55])])
    _csp_clean(chart.svg)
    root = _tree(chart.svg)
    _alternative(root, "各学段班额", "小学", "中位数 40")
    assert chart.rows[0] == ["小学", 5, 30, 35, 40, 45, 50]
    assert chart.rows[1] == ["初中", 4, 40, 46, 50, 52.8, 55]
    assert {"小学", "初中"} <= set(_texts(root))
    assert chart.header[1:] == ["人数", "最小值", "下四分位", "中位数", "上四分位", "最大值"]


def test_calendar_heat_map_has_a_cell_per_day():
    start = datetime.date(2026, 9, 1)
    counts = {start + datetime.timedelta(days=i): i % 5 for i in range(61)}
    chart = charts.calendar("每日办理的异动", counts, start=start, end=datetime.date(2026, 10, 31))
    _csp_clean(chart.svg)
    root = _tree(chart.svg)
    _alternative(root, "每日办理的异动", "2026-09-01–2026-10-31")
    cells = [r for r in root.iter(NS + "rect") if r.get("data-date")]
    assert len(cells) == 61 and cells[0].get("data-date") == "2026-09-01"
    tips = {c.get("data-date"): c.find(NS + "title").text for c in cells}
    assert tips["2026-09-05"] == "2026-09-05: 4" and tips["2026-09-06"] == "2026-09-06: 0"
    fills = {c.get("data-date"): c.get("fill") for c in cells}
    assert fills["2026-09-06"] == charts.HEAT[0] and fills["2026-09-05"] != charts.HEAT[0]
    assert fills["2026-09-05"] != fills["2026-09-02"]  # 4 is darker than 1
    assert {"一", "日", "2026-09", "2026-10"} <= set(_texts(root))
    assert chart.rows[0] == ["2026-09-02", 1] and all(n for _d, n in chart.rows)  # days with changes
    # 2026-09-01 is a Tuesday: second row; Monday 2026-09-07 starts the next column, first row
    y = {c.get("data-date"): float(c.get("y")) for c in cells}
    x = {c.get("data-date"): float(c.get("x")) for c in cells}
    assert y["2026-09-07"] < y["2026-09-01"] and x["2026-09-07"] > x["2026-09-01"]
    assert y["2026-09-07"] == y["2026-09-14"]


def test_a_label_that_looks_like_markup_stays_text():
    chart = charts.bar("<b>&", ["<script>alert(1)</script>"], [("男", [1])])
    _csp_clean(chart.svg)
    assert "<script>alert" not in chart.svg and "&lt;script&gt;" in chart.svg
    assert _tree(chart.svg).find(NS + "title").text == "<b>&"


def test_the_css_cascade_follows_specificity_and_order():
    root = ET.fromstring('<svg xmlns="http://www.w3.org/2000/svg" id="c"><g class="a"><rect class="b"/>'
                         '<rect class="b x" style="fill: red"/><text class="t">x</text></g></svg>')
    parents = {child: parent for parent in root.iter() for child in parent}
    charts._apply_css(root, parents, "#c .b { fill: blue; stroke: black } .b { fill: green } "
                                     "#c .a > .b.x { stroke: white } .b:hover { fill: pink } "
                                     "#c text { font-size: 12px; cursor: pointer } .t { fill: #111 !important }")
    plain, styled, text = root[0][0], root[0][1], root[0][2]
    assert plain.get("fill") == "blue" and plain.get("stroke") == "black"   # id beats class; no :hover
    assert styled.get("fill") == "red" and styled.get("stroke") == "white"  # style="" beats rules
    assert text.get("font-size") == "12px" and text.get("cursor") is None   # not a presentation attribute
    assert text.get("fill") == "#111"


# -- on the site ---------------------------------------------------------------------------

def test_report_chart_is_pygal_svg_under_the_site_csp(app, browser):
    from pyramid.threadlocal import get_current_registry
    from .conftest import add_user, build_tree, open_site
    from .test_search import _pupil
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        _pupil(nodes["class_a"], "110105", 1, "张三", "1", get_current_registry())
        add_user(site, "admin", "sysadmin")
        add_user(site, "rega", "school_registrar", at=nodes["school_a"])
    browser.login("admin")
    for name in ("enrolment", "ethnicity", "special", "units", "status_changes"):
        response = browser.get("/report.svg", {"name": name})
        assert response.content_type == "image/svg+xml"
        assert response.headers["Content-Security-Policy"] == CSP  # the site's own policy, not loosened
        _csp_clean(response.text)
        root = _tree(response.text)
        assert root.get("role") == "img" and root.find(NS + "desc").text
        assert "pygal-chart" in root.get("class")
    enrolment = _tree(browser.get("/report.svg", {"name": "enrolment"}).text)
    assert "小学 " in " ".join(_texts(enrolment)) and "男" in _texts(enrolment)
    page = browser.get("/reports", {"name": "enrolment"})
    img = page.html.select_one("figure.chart img")
    assert img["alt"].startswith("在籍学生（学段 × 年级 × 性别）") and "数据见上表" in img["alt"]
    assert page.html.select_one("table.report-table") is not None  # the table beside the chart
    assert "全国" in page.html.find(id="report-scope").get_text()
    # a school's registrar at the root: the print view names the school, not 全国学籍管理
    browser.logout()
    browser.login("rega")
    printed = browser.get("/reports", {"name": "enrolment", "print": "1"})
    heading = printed.html.find("h1").get_text()
    assert heading == "北京市教育委员会 › 朝阳区教育委员会 › 朝阳实验小学 · 在籍学生（学段 × 年级 × 性别）"
    assert "全国学籍管理" not in heading
    meta = printed.html.find(id="print-meta").get_text()
    assert datetime.date.today().isoformat() in meta and "朝阳实验小学" in meta and "Rega" in meta
    assert "朝阳实验小学" in printed.html.find("title").get_text()
    # every printed page carries the scope and the date
    listing = browser.get("/110000/110105/2111000001/2024-03/")
    head = listing.html.find(id="print-head").get_text()
    assert "朝阳实验小学 › 2024级3班" in head and datetime.date.today().isoformat() in head
    assert "朝阳实验小学" in browser.get("/search", {"q": "张"}).html.find(id="print-head").get_text()
    # bad parameters: a 404, never a 500
    browser.get("/report.svg", {"name": "../../etc"}, status=404)
    browser.get("/110000/110105/2111000001/2024-03/report.svg", {"name": "units"}, status=404)  # no units in a class
