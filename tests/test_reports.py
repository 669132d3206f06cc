"""Reports: counts from index postings, chart, exports, print view, and scope."""
import csv
import io

import openpyxl
import pytest
from pyramid.threadlocal import get_current_registry

from xueji_site.kernel import content
from xueji_site.search import reports
from xueji_site.tree.nodes import school_year
from .conftest import add_user, build_tree, open_site, resolve
from .test_search import _pupil

SCHOOL_A = "/110000/110105/2111000001/"
SCHOOL_B = "/110000/110108/2111000002/"


@pytest.fixture
def tree(app):
    with open_site(app) as site:
        registry = get_current_registry()
        nodes = build_tree(site, registry)           # 李明 (m, A), 王芳 (f, B)
        a, b = nodes["class_a"], nodes["class_b"]
        _pupil(a, "110105", 1, "张三", "1", registry, migrant_child=True, left_behind="2")
        _pupil(a, "110105", 2, "张红", "2", registry, orphan=True, ethnicity="03")
        _pupil(b, "110108", 4, "张伟", "1", registry, migrant_child=True, disability="1")
        gone = _pupil(b, "110108", 5, "曾小贤", "1", registry)
        content.modify(gone, {"status": "transferred"}, registry)  # no longer counted
        add_user(site, "rega", "school_registrar", at=nodes["school_a"])
        add_user(site, "admin", "sysadmin")
        add_user(site, "city", "bureau_admin", at=nodes["province"])
    return nodes


def _grid(app, login, path, name):
    with open_site(app) as site:
        user = site.principals.by_login_name(login)
        table = reports.run(name, site, user, resolve(site, path))
        return table.grid(lambda s: s.interpolate() if hasattr(s, "interpolate") else s)


def test_enrolment_level_grade_gender(app, tree):
    header, rows = _grid(app, "admin", "/", "enrolment")
    grade = {1: "一年级", 2: "二年级", 3: "三年级", 4: "四年级"}[school_year() - 2024 + 1]
    assert header == ["学段 年级", "男", "女", "合计"]
    assert rows == [["小学 " + grade, 3, 2, 5], ["合计", 3, 2, 5]]


def test_ethnicity_and_special_groups(app, tree):
    _header, rows = _grid(app, "admin", "/", "ethnicity")
    assert rows == [["汉族", 3, 1, 4], ["回族", 0, 1, 1], ["合计", 3, 2, 5]]
    _header, rows = _grid(app, "admin", "/", "special")
    found = {r[0]: r[1:] for r in rows}
    assert found["留守儿童"] == [1, 0, 1] and found["其中：父母均外出"] == [1, 0, 1]
    assert found["随迁子女"] == [2, 0, 2] and found["残疾学生"] == [1, 0, 1] and found["孤儿"] == [0, 1, 1]
    assert "合计" not in found  # groups overlap: no total row


def test_bureau_sees_its_schools_side_by_side(app, browser, tree):
    browser.login("city")
    page = browser.get("/110000/", {"name": "units"})
    assert "朝阳区教育委员会" in page.text and "海淀区教育委员会" in page.text
    _header, rows = _grid(app, "city", "/110000", "units")
    assert {r[0]: r[-1] for r in rows} == {"朝阳区教育委员会": 3, "海淀区教育委员会": 2, "合计": 5}


def test_report_page_chart_exports_and_print(app, browser, tree):
    browser.login("admin")
    page = browser.get("/reports", {"name": "enrolment"})
    assert "<table" in page.text and 'src="http://localhost/report.svg?name=enrolment"' in page.text
    assert "毕业生与去向" in page.text and "暂未提供" not in page.text  # issue 5 plugged in the last one
    svg = browser.get("/report.svg", {"name": "enrolment"})
    assert svg.content_type == "image/svg+xml" and "<style" not in svg.text and "<script" not in svg.text
    assert "男" in svg.text and "小学" in svg.text
    sheet = openpyxl.load_workbook(io.BytesIO(browser.get("/reports", {"name": "special", "export": "xlsx"}).body)).active
    assert [r[0] for r in sheet.iter_rows(values_only=True)][:2] == ["群体", "留守儿童"]
    text = browser.get("/reports", {"name": "ethnicity", "export": "csv"}).body.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[-1] == ["合计", "3", "2", "5"]
    printed = browser.get("/reports", {"name": "enrolment", "print": "1"})
    assert 'class="print-view"' in printed.text and "data-print" in printed.text
    graduates = browser.get("/reports", {"name": "graduates", "export": "csv"}).body.decode("utf-8-sig")
    assert graduates.splitlines()[0].startswith("年份,毕业,结业,肄业,升学")  # issue 5: no graduates yet, header only
    browser.get("/reports", {"name": "nonsense"}, status=404)
    with open_site(app) as site:
        exports = site.audit.newest(lambda e: e.action == "export")
        assert [dict(e.detail)["report"] for e in exports] == ["graduates", "ethnicity", "special"]  # issue 5: graduates


def test_registrar_of_school_a_counts_nothing_of_school_b(app, browser, tree):
    """Scope through search, statistics and exports (see also test_search)."""
    _header, rows = _grid(app, "rega", "/", "enrolment")
    assert rows[-1] == ["合计", 2, 1, 3]                     # 李明, 张三, 张红: all of school A
    _header, rows = _grid(app, "rega", "/110000", "special")
    assert {r[0]: r[-1] for r in rows}["随迁子女"] == 1 and {r[0]: r[-1] for r in rows}["残疾学生"] == 0
    browser.login("rega")
    text = browser.get("/reports", {"name": "enrolment", "export": "csv"}).body.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[-1] == ["合计", "2", "1", "3"]
    units = browser.get("/reports", {"name": "units"}).text
    assert "海淀" not in units and "王芳" not in units
    browser.get(SCHOOL_B + "reports", {"name": "enrolment"}, status=403)
    browser.get(SCHOOL_B + "report.svg", {"name": "enrolment"}, status=403)
    browser.get(SCHOOL_B + "search", status=403)
    assert "张伟" not in browser.get("/search", {"q": "zhang", "export": "csv"}).body.decode("utf-8-sig")


def test_counts_use_postings_not_objects(app, tree):
    """A report never resolves a document: docmap look-ups would fail here."""
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback):
        with open_site(app) as site:
            user = site.principals.by_login_name("admin")
            site.docmap = None  # any document look-up would fail; rolled back below
            counter = reports.Counter(site, user, site)
            assert len(counter) == 5 and counter.universal
            assert reports.enrolment(counter).totals() == [3, 2, 5]
            assert not reports.Counter(site, site.principals.by_login_name("rega"), site).universal
            raise Rollback()
