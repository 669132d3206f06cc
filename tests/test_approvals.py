"""Export approvals (security.md G3, G4): bulk exports of pupils' data need an
approval id, external ones always do and come out de-identified; who approves
answers for it, and everything is in the audit log."""
import csv
import io
import re

import pytest
import webtest
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path

from xueji_site.exports import approvals
from xueji_site.kernel import content
from .conftest import add_user, base_settings, build_tree, open_site, resolve, student_values, valid_id

LIMIT = 3  # xueji.export_approval_rows for these tests: class_a's five pupils are "bulk"
CLASS_A = "/110000/110105/2111000001/2024-03/"
SCHOOL_A = "/110000/110105/2111000001/"
EXTRA = ("张伟", "王小红", "赵天", "刘洋")  # with build_tree's 李明: five pupils in class_a


@pytest.fixture
def settings(key_file):
    return dict(base_settings(key_file), **{"xueji.export_approval_rows": str(LIMIT)})


@pytest.fixture
def tree(app):
    with open_site(app) as site:
        registry = get_current_registry()
        nodes = build_tree(site, registry)
        for n, name in enumerate(EXTRA):
            number = valid_id("11010520170401%03d" % (11 + 2 * n))
            content.create("Student", nodes["class_a"], student_values(number, name, "1"), registry)
        add_user(site, "reg", "school_registrar", at=nodes["school_a"])
        add_user(site, "reg2", "school_registrar", at=nodes["school_a"])
        add_user(site, "head", "principal", at=nodes["school_a"])
        add_user(site, "county", "bureau_admin", at=nodes["county_a"])
        add_user(site, "countyb", "bureau_admin", at=nodes["county_b"])
        return {name: resource_path(node) for name, node in nodes.items()}


def _csv(response):
    return list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))


def _login(app, login):
    from .conftest import Browser
    browser = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "zh-CN"})
    browser.login(login)
    return browser


def _approval(app, requester, path, approver="head", kind="internal", export="listing", rows=5, conditions=""):
    """An approval made and decided through the module, as the pages do."""
    with open_site(app) as site:
        node = resolve(site, path)
        user = site.principals.by_login_name(requester)
        approval = approvals.request_export(site, user, node, kind, "期末核对", "市卫健委" if kind == "external" else "",
                                            export, "Student" if export == "listing" else "", conditions, rows)
        if approver:
            approvals.decide(site, site.principals.by_login_name(approver), approval, True, "同意")
        return approval.id


def _audit(app, action):
    with open_site(app) as site:
        return [(e.result, dict(e.detail), e.login) for e in site.audit.newest(lambda e: e.action == action)]


def test_export_up_to_the_limit_needs_no_approval(app, tree):
    browser = _login(app, "reg")
    rows = _csv(browser.get(SCHOOL_A + "search", {"q": "李明", "export": "csv"}))
    assert [r[0] for r in rows[1:]] == ["李明"]
    result, detail, _login_name = _audit(app, "export")[0]
    assert result == "ok" and detail["audience"] == "internal" and "approval" not in detail


def test_bulk_export_without_approval_is_refused_and_audited(app, tree):
    browser = _login(app, "reg")
    page = browser.get(CLASS_A + "export?type=Student&format=csv", status=403)
    assert page.content_type == "text/html" and "批准" in page.html.find(id="refusal").text
    assert not any(name in page.text for name in EXTRA)  # nothing exported
    link = page.html.find(id="request-approval")["href"]
    assert "rows=5" in link and "export=listing" in link and "request-export" in link
    page = browser.get(SCHOOL_A + "search", {"gender": "1", "export": "xlsx"}, status=403)
    assert "spreadsheet" not in page.content_type
    denied = _audit(app, "export")
    assert [(r, d["reason"], d["rows"]) for r, d, _l in denied] == [("denied", "needs-approval", "5")] * 2


def test_request_approve_and_use_once(app, tree):
    browser = _login(app, "reg")
    link = browser.get(CLASS_A + "export?type=Student&format=csv", status=403).html.find(id="request-approval")["href"]
    form = browser.get(link).forms["export-request-form"]
    assert form["rows"].value == "5" and form["export"].value == "listing" and form["kind"].value == "internal"
    form["purpose"] = "期末成绩册核对"
    page = form.submit("submit", status=303).follow()
    approval_id = re.search(r"EA\d{8}-\d{4}", page.html.find("h1").text).group(0)
    assert "待审批" in page.html.find(id="status").text and "decision" not in page.text
    browser.get(CLASS_A + "export?type=Student&format=csv&approval=" + approval_id, status=403)  # not yet approved

    head = _login(app, "head")
    queue = head.get("/export-approvals")
    assert approval_id in queue.html.find(id="waiting").text and "export-approvals-link" in queue.text
    form = head.get("/export-approval", {"id": approval_id}).forms["export-decision-form"]
    form["note"] = "同意，用于期末核对"
    head_page = form.submit("approve", status=303).follow()
    assert "已批准" in head_page.html.find(id="status").text
    assert approval_id not in head.get("/export-approvals").html.find(id="waiting").text

    page = browser.get("/export-approval", {"id": approval_id})
    use = [a["href"] for a in page.html.find(id="use-links").find_all("a")]
    assert len(use) == 2 and all("approval=" + approval_id in u and "kind=internal" in u for u in use)
    csv_link = [u for u in use if "format=csv" in u][0]
    rows = _csv(browser.get(csv_link))
    assert len(rows) == 6 and {r[0] for r in rows[1:]} == {"李明", *EXTRA}
    again = browser.get(csv_link, status=403)
    assert "已经使用过" in again.html.find(id="refusal").text
    assert "已使用" in browser.get("/export-approval", {"id": approval_id}).html.find(id="status").text

    exports = _audit(app, "export")
    assert exports[0][0] == "denied" and exports[0][1]["reason"] == "used"
    assert exports[1][0] == "ok" and exports[1][1]["approval"] == approval_id
    assert exports[1][1]["audience"] == "internal" and exports[1][1]["rows"] == "5"
    decisions = [(r, d.get("decision"), d["id"], who) for r, d, who in _audit(app, "export-approval")]
    assert decisions == [("ok", "approved", approval_id, "head"), ("ok", "requested", approval_id, "reg")]
    with open_site(app) as site:
        approval = approvals.get(site, approval_id)
        assert approval.state() == approvals.USED and approval.approver[1] == "head" and approval.used_rows == 5


def test_expired_approval_is_refused(app, tree):
    approval_id = _approval(app, "reg", CLASS_A)
    with open_site(app) as site:
        approval = approvals.get(site, approval_id)
        approval.expires_at = approval.decided_at - 1  # as if the 7 days had passed
    browser = _login(app, "reg")
    page = browser.get(CLASS_A + "export?type=Student&format=csv&approval=" + approval_id, status=403)
    assert "过有效期" in page.html.find(id="refusal").text
    assert _audit(app, "export")[0][1]["reason"] == "expired"


def test_another_users_approval_is_refused(app, tree):
    approval_id = _approval(app, "reg2", CLASS_A)
    browser = _login(app, "reg")
    page = browser.get(CLASS_A + "export?type=Student&format=csv&approval=" + approval_id, status=403)
    assert "不是您申请的" in page.html.find(id="refusal").text
    browser.get("/export-approval", {"id": approval_id}, status=404)  # nor may they look at it
    with open_site(app) as site:
        assert approvals.get(site, approval_id).state() == approvals.APPROVED  # still reg2's to use


def test_approval_for_another_node_or_export_is_refused(app, tree):
    school_search = _approval(app, "reg", SCHOOL_A, export="search")
    browser = _login(app, "reg")
    page = browser.get(CLASS_A + "search", {"export": "csv", "approval": school_search}, status=403)
    assert "不适用于此位置" in page.html.find(id="refusal").text
    other_conditions = browser.get(SCHOOL_A + "search", {"gender": "1", "export": "csv",
                                                          "approval": school_search}, status=403)
    assert "查询条件不同" in other_conditions.html.find(id="refusal").text
    rows = _csv(browser.get(SCHOOL_A + "search", {"export": "csv", "approval": school_search}))
    assert len(rows) == 6  # the export it was given for


def test_external_export_needs_approval_even_for_one_row(app, tree):
    browser = _login(app, "reg")
    page = browser.get(SCHOOL_A + "search", {"q": "李明", "export": "csv", "kind": "external"}, status=403)
    assert "县级以上" in page.html.find(id="refusal").text and "kind=external" in \
        page.html.find(id="request-approval")["href"]
    result, detail, _l = _audit(app, "export")[0]
    assert (result, detail["reason"], detail["audience"]) == ("denied", "needs-external", "external")
    browser.get(CLASS_A + "export?type=Student&format=csv&kind=public", status=400)


def test_external_is_approved_only_by_a_bureau_admin_above_and_is_deidentified(app, tree):
    browser = _login(app, "reg")
    form = browser.get(CLASS_A + "request-export").forms["export-request-form"]
    form["export"], form["kind"], form["rows"] = "listing", "external", "5"
    form["purpose"] = "疫苗接种核查"
    assert "接收单位" in form.submit("submit", status=200).text  # external: the recipient is required
    form = browser.get(CLASS_A + "request-export").forms["export-request-form"]
    form["export"], form["kind"], form["rows"] = "listing", "external", "5"
    form["purpose"], form["recipient"] = "疫苗接种核查", "朝阳区疾控中心"
    approval_id = re.search(r"EA\d{8}-\d{4}", form.submit("submit", status=303).location).group(0)

    head = _login(app, "head")  # the principal approves internal exports only
    assert approval_id not in head.get("/export-approvals").text
    page = head.get("/export-approval", {"id": approval_id})
    assert "export-decision-form" not in page.text
    token = page.html.find("input", {"name": "csrf_token"})["value"]
    refused = head.post("/export-approval?id=" + approval_id, {"csrf_token": token, "note": "同意",
                                                               "approve": "approve"}, status=403)
    assert "县级以上教育局" in refused.text
    other_county = _login(app, "countyb")  # a bureau admin, but not above this school
    other_county.get("/export-approval", {"id": approval_id}, status=404)
    with open_site(app) as site:
        approval = approvals.get(site, approval_id)
        assert approval.state() == approvals.PENDING
        assert approvals.decision_problem(site, site.principals.by_login_name("countyb"), approval) == "not-approver"

    county = _login(app, "county")
    assert approval_id in county.get("/export-approvals").html.find(id="waiting").text
    form = county.get("/export-approval", {"id": approval_id}).forms["export-decision-form"]
    form["note"] = "依据区政府批复同意"
    form.submit("approve", status=303)
    browser.get(CLASS_A + "export?type=Student&format=csv&approval=" + approval_id, status=403)  # kind must match
    rows = _csv(browser.get(CLASS_A + "export?type=Student&format=csv&kind=external&approval=" + approval_id))
    assert rows[0] == ["姓名", "性别", "出生年月", "民族"]
    assert sorted(r[0] for r in rows[1:]) == sorted(n[0] + "*" for n in ("李明", *EXTRA))
    assert "2017-03" in [r[2] for r in rows[1:]]  # 李明, born 2017-03-12: the month only
    text = "\n".join(",".join(r) for r in rows)
    assert not re.search(r"\d{17}[\dX]", text) and "13800138000" not in text and "光华路" not in text
    assert not any(name in text for name in ("李明", *EXTRA))
    result, detail, _l = _audit(app, "export")[0]
    assert (result, detail["audience"], detail["approval"]) == ("ok", "external", approval_id)
    assert [d["decision"] for _r, d, _l in _audit(app, "export-approval") if "decision" in d] == \
        ["approved", "requested"]
    assert [(r, d["reason"]) for r, d, _l in _audit(app, "export-approval") if "reason" in d] == \
        [("denied", "external")]


def test_requester_cannot_approve_own_request(app, tree):
    approval_id = _approval(app, "head", CLASS_A, approver=None)
    head = _login(app, "head")
    assert approval_id not in head.get("/export-approvals").html.find(id="waiting").text
    page = head.get("/export-approval", {"id": approval_id})
    assert "export-decision-form" not in page.text
    token = page.html.find("input", {"name": "csrf_token"})["value"]
    refused = head.post("/export-approval?id=" + approval_id, {"csrf_token": token, "note": "自己批",
                                                               "approve": "approve"}, status=403)
    assert "不能审批自己" in refused.text
    with open_site(app) as site:
        assert approvals.get(site, approval_id).state() == approvals.PENDING
    county = _login(app, "county")  # someone above may
    form = county.get("/export-approval", {"id": approval_id}).forms["export-decision-form"]
    form["note"] = "不同意：用途不明"
    assert "未批准" in form.submit("refuse", status=303).follow().html.find(id="status").text
    head.get(CLASS_A + "export?type=Student&format=csv&approval=" + approval_id, status=403)


def test_ids_are_dated_serials_and_the_store_is_made_on_first_use(app, tree):
    with open_site(app) as site:
        assert approvals.store(site) is None
    first = _approval(app, "reg", CLASS_A)
    second = _approval(app, "reg", SCHOOL_A, export="search")
    assert re.fullmatch(r"EA\d{8}-0001", first) and second == first[:-1] + "2"
    with open_site(app) as site:
        reg = site.principals.by_login_name("reg")
        assert [a.id for a in approvals.requested_by(site, reg)] == [second, first]


def test_api_does_not_hand_out_a_class_beyond_the_limit(app, tree, browser):
    browser.login("reg")
    page = browser.get("/tokens")
    form = page.forms["token-form"]
    form["name"] = "ci"
    token = form.submit("action", value="create").html.find(id="new-token").text.strip()
    client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    headers = {"Authorization": "Bearer " + token}
    refused = client.get("/api/v1" + tree["class_a"] + "/students?limit=2", headers=headers, status=403).json
    assert str(LIMIT) in refused["errors"][""]
    with open_site(app) as site:
        registry = get_current_registry()
        small = content.create("SchoolClass", resolve(site, SCHOOL_A), {"cohort": 2023, "number": 1, "name": ""},
                               registry)
        content.create("Student", small, student_values(valid_id("11010520160501013"), "陈静", "1"), registry)
        small = resource_path(small)
    listing = client.get("/api/v1" + small + "/students", headers=headers).json
    assert [item["name"] for item in listing["items"]] == ["陈静"]
    with open_site(app) as site:
        reads = site.audit.newest(lambda e: e.action == "export")
        assert [(e.result, dict(e.detail)["via"], dict(e.detail)["rows"]) for e in reads] == \
            [("ok", "api", "1"), ("denied", "api", "5")]


def test_the_refusal_points_to_an_approval_already_asked_for_or_granted(app, tree):
    """Issue 12: the 403 of a large export links to the user's own approval of exactly it."""
    approval_id = _approval(app, "reg", CLASS_A, approver=None)
    browser = _login(app, "reg")
    page = browser.get(CLASS_A + "export?type=Student&format=csv", status=403)
    assert page.html.find(id="waiting-approval") is not None and page.html.find(id="request-approval") is None
    assert approval_id in page.html.find(id="waiting-approval").a["href"]
    with open_site(app) as site:
        approvals.decide(site, site.principals.by_login_name("head"), approvals.get(site, approval_id), True, "同意")
    page = browser.get(CLASS_A + "export?type=Student&format=csv", status=403)
    granted = page.html.find(id="granted-approval")
    assert granted is not None and approval_id in granted.text
    use = page.html.find(id="use-approval")["href"]
    assert "approval=" + approval_id in use and "format=csv" in use and "type=Student" in use
    # another export (a search, not this listing) is not cleared by it
    other = browser.get(SCHOOL_A + "search", {"gender": "1", "export": "csv"}, status=403)
    assert other.html.find(id="granted-approval") is None and other.html.find(id="request-approval") is not None
    # someone else's refusal does not show it
    assert _login(app, "reg2").get(CLASS_A + "export?type=Student&format=csv",
                                   status=403).html.find(id="granted-approval") is None
    assert len(_csv(browser.get(use))) == 6
    page = browser.get(CLASS_A + "export?type=Student&format=csv", status=403)  # used: ask again
    assert page.html.find(id="granted-approval") is None and page.html.find(id="request-approval") is not None
