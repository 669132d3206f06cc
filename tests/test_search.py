"""Search: keyword (names, pinyin, initials, traditional characters, ID numbers
by keyed hash), conditions, paging, export, the evolve step, and scope."""
import csv
import datetime
import io

import openpyxl
import pytest
from pyramid.threadlocal import get_current_registry
from stdnum.cn import ric

from xueji_site.kernel import catalog, content, evolve
from xueji_site.search import indexes as search_indexes
from xueji_site.search import query as search
from xueji_site.tree.nodes import school_year
from .conftest import add_user, build_tree, open_site, resolve, student_values

SCHOOL_A = "/110000/110105/2111000001/"
SCHOOL_B = "/110000/110108/2111000002/"


def _id(county, n, male):
    body = "%s20160%d%02d%03d" % (county, n % 9 + 1, n % 27 + 1, 100 + n * 2 + (1 if male else 0))
    return body + ric.calc_check_digit(body + "0")


def _pupil(klass, county, n, name, gender, registry, **extra):
    values = student_values(_id(county, n, gender == "1"), name, gender)
    values.update(extra)
    return content.create("Student", klass, values, registry)


@pytest.fixture
def tree(app):
    with open_site(app) as site:
        registry = get_current_registry()
        nodes = build_tree(site, registry)
        a, b = nodes["class_a"], nodes["class_b"]
        _pupil(a, "110105", 1, "张三", "1", registry, migrant_child=True, left_behind="2")
        _pupil(a, "110105", 2, "張小紅", "2", registry, orphan=True)
        _pupil(a, "110105", 3, "欧阳晓明", "1", registry, ethnicity="03", enrolled_on="202309")
        _pupil(b, "110108", 4, "张伟", "1", registry, migrant_child=True)
        _pupil(b, "110108", 5, "曾小贤", "1", registry)
        add_user(site, "rega", "school_registrar", at=nodes["school_a"])
        add_user(site, "admin", "sysadmin")
        add_user(site, "county", "bureau_admin", at=nodes["county_a"])
    return nodes


def _names(page):
    import re
    return re.findall(r"<tr>\s*<td>(?:<a href=\"[^\"]+\">)?([^<]+)", page.text)


def test_name_tokens_cover_partial_pinyin_initials_and_traditional():
    tokens = search.name_tokens("張三")
    assert {"张三", "张", "三", "zhangsan", "zhangs", "zs"} <= set(tokens)
    assert "cengxiaoxian" in search.name_tokens("曾小贤") and "zengxx" in search.name_tokens("曾小贤")
    assert search.simplified("歐陽曉明") == "欧阳晓明"


@pytest.mark.parametrize("keyword, expected", [
    ("张", {"张三", "張小紅", "张伟"}),         # partial name, traditional folded
    ("zhangs", {"张三"}),                      # pinyin then initial
    ("zs", {"张三"}),                          # initials
    ("xiaohong", {"張小紅"}),                  # given name in pinyin
    ("曉明", {"欧阳晓明"}),                    # traditional query, partial name
    ("zengxiaoxian", {"曾小贤"}),              # the surname's reading, not ceng
    ("王", {"王芳"}),
    ("赵", set()),
])
def test_keyword_matches(app, tree, keyword, expected):
    with open_site(app) as site:
        total, found = search.search(site, _user(site, "admin"), "/", keyword, limit=50)
    assert {s.name for s in found} == expected and total == len(expected)


def _user(site, login):
    return site.principals.by_login_name(login)


def test_number_lookup_by_keyed_hash(app, browser, tree):
    browser.login("admin")
    number = "110105201703120038"  # 李明 in build_tree
    token = _token(browser)
    page = browser.post("/search", {"q": number, "csrf_token": token})
    assert _names(page) == ["李明"]
    page = browser.post("/search", {"q": "G" + number, "csrf_token": token})
    assert _names(page) == ["李明"]
    browser.post("/search", {"q": number}, status=400)  # no CSRF token
    assert number not in page.text.split("查询结果")[1]  # results never show the number


def _token(browser):
    import re
    page = browser.get("/search")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_conditions_combine(app, browser, tree):
    browser.login("admin")
    grade = school_year() - 2024 + 1
    assert sorted(_names(browser.get("/search", {"gender": "1", "grade": str(grade)}))) == \
        sorted(["李明", "张三", "欧阳晓明", "张伟", "曾小贤"])
    assert _names(browser.get("/search", {"q": "zhang", "migrant": "1"})) in (["张三", "张伟"], ["张伟", "张三"])
    assert _names(browser.get("/search", {"migrant": "1", "left_behind": "1"})) == ["张三"]
    assert _names(browser.get("/search", {"ethnicity": "03"})) == ["欧阳晓明"]
    assert _names(browser.get("/search", {"enrolled": "2023"})) == ["欧阳晓明"]
    assert "张伟" not in _names(browser.get("/search", {"q": "zhang", "migrant": "0"}))
    assert _names(browser.get("/search", {"level": "junior"})) == []
    assert _names(browser.get("/search", {"grade": "12"})) == []


def test_paging_sorting_and_export(app, browser, tree):
    browser.login("admin")
    asc = _names(browser.get("/search", {"gender": "1", "sort": "title", "dir": "asc"}))
    desc = _names(browser.get("/search", {"gender": "1", "sort": "title", "dir": "desc"}))
    assert asc == sorted(asc) and desc == list(reversed(asc)) and len(asc) == 5
    response = browser.get("/search", {"q": "张", "export": "xlsx"})
    rows = list(openpyxl.load_workbook(io.BytesIO(response.body)).active.iter_rows(values_only=True))
    assert rows[0][0] == "姓名" and len(rows) == 4
    response = browser.get("/search", {"q": "张", "export": "csv"})
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert len(rows) == 4 and {r[4] for r in rows[1:]} == {"朝阳实验小学", "海淀第一小学"}
    with open_site(app) as site:
        exports = site.audit.newest(lambda e: e.action == "export")
        assert [dict(e.detail)["rows"] for e in exports] == ["3", "3"]
        assert all(dict(e.detail)["keyword"] == "yes" for e in exports)


def test_paging_splits_results(app, browser, tree, monkeypatch):
    from xueji_site.views import search as view
    monkeypatch.setattr(view, "PAGE_SIZE", 2)
    browser.login("admin")
    pages = [_names(browser.get("/search", {"gender": "1", "page": str(n)})) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sum(pages, []) == sorted(sum(pages, []))


def test_move_reindexes_place(app, tree):
    with open_site(app) as site:
        admin = _user(site, "admin")
        klass = resolve(site, SCHOOL_A + "2024-03")
        key = [k for k in klass.keys() if klass[k].name == "张三"][0]
        klass.move(key, resolve(site, SCHOOL_B + "2024-01"), registry=get_current_registry())
        assert search.search(site, admin, SCHOOL_A.rstrip("/"), "zhangsan") == (0, [])
        total, found = search.search(site, admin, SCHOOL_B.rstrip("/"), "zhangsan")
        assert [s.name for s in found] == ["张三"]


def test_registrar_of_school_a_finds_nothing_of_school_b(app, browser, tree):
    browser.login("rega")
    assert sorted(_names(browser.get("/search", {"q": "zhang"}))) == ["张三", "張小紅"]
    assert "张伟" not in browser.get("/search", {"q": "张伟"}).text.split("查询结果")[1]
    assert _names(browser.post("/search", {"q": "110108201705060023", "csrf_token": _token(browser)})) == []
    assert _names(browser.get("/search", {"gender": "1"})) == ["张三", "李明", "欧阳晓明"] or \
        sorted(_names(browser.get("/search", {"gender": "1"}))) == sorted(["张三", "李明", "欧阳晓明"])
    browser.get(SCHOOL_B + "search", {"q": "zhang"}, status=403)
    response = browser.get("/search", {"gender": "1", "export": "csv"})
    names = [r[0] for r in csv.reader(io.StringIO(response.body.decode("utf-8-sig")))][1:]
    assert sorted(names) == sorted(["张三", "李明", "欧阳晓明"])


def test_evolve_step_indexes_existing_documents(app, tree):
    """A database from before names were recorded (generation 1) runs the steps
    after the first, by name, and gets the declared search indexes it lacks."""
    with open_site(app) as site:
        for name in search_indexes.INDEXES:
            del site.catalog[name]
        del site.evolved
        site.generation = 1
        pending = [n for n, _s in evolve.pending(site, app.registry)]
        assert pending[0] == "0002-search-indexes"
        assert pending == sorted(set(evolve.steps_of(app.registry)) - {"0001-initial"})
        assert sorted(catalog.missing_indexes(site, app.registry)) == sorted(search_indexes.INDEXES)
        evolve.run(site, app.registry, commit=False)
        assert evolve.pending(site, app.registry) == [] and catalog.missing_indexes(site, app.registry) == []
        assert set(site.evolved) == set(evolve.steps_of(app.registry))
        assert len(site.catalog["text"].applyEq("zhangsan")) == 1
        assert len(site.catalog["gender"].applyEq("1")) == 5
        assert len(site.catalog["flags"].applyEq("migrant")) == 2


def test_evolve_reindex_commits_in_batches(app, tree):
    with open_site(app) as site:
        site.catalog["flags"].reset()
        assert len(site.catalog["flags"].applyEq("orphan")) == 0
        evolve.checkpoint(site)
        done = evolve.reindex(site, [site.catalog["flags"]], batch=2, commit=True)
        assert done == len(site.docmap) and len(site.catalog["flags"].applyEq("orphan")) == 1



def test_today_grade_to_cohort():
    autumn = datetime.date(2025, 10, 1)
    assert search.grade_stages(1, autumn) == ["primary:2025", "other:2025"]
    assert search.grade_stages(8, autumn, ["junior"]) == ["junior:2024"]
    assert search.grade_stages(8, datetime.date(2026, 3, 1), ["junior"]) == ["junior:2024"]


def test_a_former_name_finds_the_pupil(app, browser, tree):
    """Issue 12: search finds a pupil by a former name (曾用名), by characters, pinyin and initials."""
    with open_site(app) as site:
        pupil = _pupil(resolve(site, SCHOOL_A + "2024-03"), "110105", 6, "林晓雨", "2", get_current_registry(),
                       former_name="林招娣")
        admin = _user(site, "admin")
        for keyword in ("林招娣", "招娣", "linzhaodi", "lzd"):
            total, found = search.search(site, admin, "/", keyword)
            assert [s.name for s in found] == ["林晓雨"], keyword
        assert search.search(site, admin, "/", "晓雨")[0] == 1  # the current name still finds her
        # a changed former name leaves its old tokens behind
        content.modify(pupil, {"former_name": "林盼弟"}, get_current_registry())
        assert search.search(site, admin, "/", "招娣")[0] == 0 and search.search(site, admin, "/", "盼弟")[0] == 1
    browser.login("admin")
    assert _names(browser.get("/search", {"q": "盼弟"})) == ["林晓雨"]


def test_evolve_step_puts_former_names_into_existing_name_tokens(app, tree):
    with open_site(app) as site:
        pupil = _pupil(resolve(site, SCHOOL_A + "2024-03"), "110105", 7, "周小川", "1", get_current_registry())
        pupil.former_name = "周大川"  # as an older database holds it: indexed without the former name
        site.catalog["text"].reindex_doc(pupil.docid, type("Old", (), {"content_type": "Student",
                                                                       "name": "周小川"})())
        assert search.search(site, _user(site, "admin"), "/", "大川")[0] == 0
        search_indexes.step_0011_former_names_in_search(site, commit=False)
        assert search.search(site, _user(site, "admin"), "/", "大川")[0] == 1


def test_status_filter_offers_every_status_and_finds_those_who_left(app, browser, tree):
    """Issue 12, wrong result 4: the search's 学籍状态 offered only 在籍."""
    from xueji_site.status import changes as workflow
    with open_site(app) as site:
        klass = resolve(site, SCHOOL_A + "2024-03")
        zhang = [s for s in klass.values() if s.name == "张三"][0]
        content.modify(zhang, {"status": workflow.SUSPENDED}, get_current_registry())
    browser.login("admin")
    page = browser.get("/search")
    offered = {o["value"]: o.get_text() for o in page.html.select("select[name=status] option") if o["value"]}
    assert offered == {k: str(v) for k, v in workflow.STATUS_LABELS.items()}
    assert offered["suspended"] == "休学" and offered["withdrawn"] == "退学" and len(offered) == 13
    assert _names(browser.get("/search", {"status": "suspended"})) == ["张三"]
    assert "张三" not in _names(browser.get("/search", {"status": "enrolled"}))
    assert len(_names(browser.get("/search", {"status": "enrolled"}))) == 6
    # an unknown status is dropped, not a 500 nor an empty result
    assert len(_names(browser.get("/search", {"status": "nonsense", "gender": "1"}))) == 5
