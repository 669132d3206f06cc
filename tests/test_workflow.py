"""Status changes: the state machine, transfers end to end, refusals, concurrency."""
import datetime
import re
import threading

import pytest
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path

from xueji_site.kernel import content
from xueji_site.kernel.root import databases
from xueji_site.status import changes as workflow
from .conftest import Browser, add_user, build_tree, open_site, resolve, student_values, valid_id


@pytest.fixture
def world(app):
    """Two Beijing counties (schools A and B), a senior school, and a Tianjin school."""
    with open_site(app) as site:
        registry = get_current_registry()
        n = build_tree(site, registry)
        senior = content.create("School", n["county_a"], {"code": "3411000005", "name": "朝阳中学",
                                                          "address": "", "phone": ""}, registry)
        s_cls = content.create("SchoolClass", senior, {"cohort": 2025, "number": 1, "name": ""}, registry)
        s_next = content.create("SchoolClass", senior, {"cohort": 2026, "number": 1, "name": ""}, registry)
        teen = content.create("Student", s_cls, student_values(valid_id("11010520100310001"), "高中生", "1"), registry)
        tj = content.create("Bureau", site, {"code": "120000", "name": "天津市教育委员会"}, registry)
        hp = content.create("Bureau", tj, {"code": "120101", "name": "和平区教育局"}, registry)
        tj_school = content.create("School", hp, {"code": "2112000003", "name": "和平小学",
                                                  "address": "", "phone": ""}, registry)
        content.create("SchoolClass", tj_school, {"cohort": 2024, "number": 2, "name": ""}, registry)
        for login, role, node in (
                ("reg_a", "school_registrar", n["school_a"]), ("head_a", "principal", n["school_a"]),
                ("county_a", "bureau_admin", n["county_a"]), ("reg_b", "school_registrar", n["school_b"]),
                ("head_b", "principal", n["school_b"]), ("head_b2", "principal", n["school_b"]),
                ("county_b", "bureau_admin", n["county_b"]), ("prov_bj", "bureau_admin", n["province"]),
                ("reg_tj", "school_registrar", tj_school), ("head_tj", "principal", tj_school),
                ("county_tj", "bureau_admin", hp), ("prov_tj", "bureau_admin", tj),
                ("reg_s", "school_registrar", senior), ("head_s", "principal", senior),
                ("guard", "guardian", n["pupil_a"])):
            add_user(site, login, role, at=node)
        paths = {k: resource_path(v) for k, v in n.items()}
        paths.update(senior=resource_path(senior), s_cls=resource_path(s_cls), s_next=resource_path(s_next),
                     teen=resource_path(teen), tj=resource_path(tj), hp=resource_path(hp),
                     tj_school=resource_path(tj_school))
        return paths


_clients = {}


def client(app, login):
    """One logged-in browser per user and database (logging in again and again would
    rightly trip the per-address login throttle; the session's app gets a new
    database, with new users, for every test)."""
    db = databases(app.registry)[""]
    held = _clients.get((id(app), login))
    if held is None or held[0] is not db:
        browser = Browser(app)
        browser.login(login)
        held = _clients[(id(app), login)] = (db, browser)
    return held[1]


def token(browser):
    return re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/password").text).group(1)


def docid(app, path):
    with open_site(app) as site:
        return resolve(site, path).docid


def decide(browser, node_path, pupil_docid, action="approve", reason="", status=303):
    return browser.post(node_path + "/changes", {"csrf_token": token(browser), "docid": str(pupil_docid),
                                                 "action": action, "reason": reason}, status=status)


def transfer_in(browser, school_path, number, name, target, reason="随父母工作调动"):
    form = browser.get(school_path + "/transfer-in").forms["transfer-form"]
    form["number"], form["name"], form["target"], form["reason"] = number, name, target, reason
    return form.submit("start")


def test_transfer_between_counties_end_to_end(app, world):
    pupil = docid(app, world["pupil_a"])
    reg_b = client(app, "reg_b")
    wrong = transfer_in(reg_b, world["school_b"], "G110105201703120038", "李小明", "2024-01")
    assert "未找到号码与姓名相符的在籍学生" in wrong.text  # a wrong name learns nothing
    transfer_in(reg_b, world["school_b"], "110105201703120038", "李明", "2024-01").follow()
    with open_site(app) as site:
        change = workflow.open_change_of(resolve(site, world["pupil_a"]))
        assert change.chain == ("to_school", "to_county", "school", "county")

    order = [("head_b", world["school_b"]), ("county_b", world["county_b"]),
             ("head_a", world["school_a"]), ("county_a", world["county_a"])]
    for position, (login, node) in enumerate(order):
        for other_login, other_node in order:  # nobody else may take this step, even at their own node
            if other_login != login:
                response = decide(client(app, other_login), other_node, pupil, status="*")
                assert response.status_int in (303, 403)
                with open_site(app) as site:
                    assert workflow.open_change_of(resolve(site, world["pupil_a"])).position == position
        approver = client(app, login)
        queue = approver.get(node + "/changes")
        assert "李明" in queue.text and "转学" in queue.text
        decide(approver, node, pupil)
        if position == 2:
            with open_site(app) as site:
                assert resolve(site, world["pupil_a"]).status == "transfer_pending"

    with open_site(app) as site:
        moved = site.docmap[pupil]
        assert resource_path(moved.__parent__) == world["class_b"]
        assert moved.status == "enrolled" and workflow.open_change_of(moved) is None
        kinds = [entry[3] for entry in moved.history.values()]
        assert kinds[0] == "create" and "move" in kinds and kinds[-1] == "status-changed"
        url = resource_path(moved) + "/"
    client(app, "reg_a").get(url, status=403)  # the sending school has let go
    record = client(app, "reg_b").get(url)
    assert "李明" in record.text
    status = client(app, "guard").get(url + "status")  # the guardian follows the pupil
    assert "在籍" in status.text and "转学" in status.text


def test_cross_province_transfer_needs_both_provinces(app, world):
    pupil = docid(app, world["pupil_a"])
    transfer_in(client(app, "reg_tj"), world["tj_school"], "110105201703120038", "李明", "2024-02").follow()
    with open_site(app) as site:
        assert workflow.open_change_of(resolve(site, world["pupil_a"])).chain == (
            "to_school", "to_county", "to_province", "school", "county", "province")
    for login, node in (("head_tj", world["tj_school"]), ("county_tj", world["hp"]), ("prov_tj", world["tj"]),
                        ("head_a", world["school_a"]), ("county_a", world["county_a"])):
        decide(client(app, login), node, pupil)
    decide(client(app, "county_a"), world["province"], pupil, status=403)  # a county is not the province
    decide(client(app, "prov_bj"), world["province"], pupil)
    with open_site(app) as site:
        assert resource_path(site.docmap[pupil].__parent__).startswith(world["tj_school"])


def _start(browser, pupil_path, kind, reason="家长申请", target="", period=("2026-09-01", "2027-07-10")):
    form = browser.get(pupil_path + "/status").forms["status-form"]
    form["kind"], form["reason"] = kind, reason
    form["target"].force_value(target)  # the server decides what a valid target is
    if kind == "suspend" and period:  # 休学 names when it starts and ends
        form["starts_on"], form["ends_on"] = period
    return form.submit("start")


def test_suspension_needs_its_dates_within_a_year(app, world):
    reg_a = client(app, "reg_a")
    for period, message in ((None, "休学须填写起止日期"), (("2026-09-01", "2026-08-01"), "结束日期须晚于开始日期"),
                            (("2026-09-01", "2028-09-01"), "不超过一年"), (("2026-09-01", "九月"), "日期格式")):
        page = _start(reg_a, world["pupil_a"], "suspend", "因病休学", period=period)
        assert page.status_int == 200 and message in page.html.find(class_="error").text
    with open_site(app) as site:
        assert workflow.open_change_of(resolve(site, world["pupil_a"])) is None
    _start(reg_a, world["pupil_a"], "suspend", "因病休学").follow()
    pupil = docid(app, world["pupil_a"])
    decide(client(app, "head_a"), world["school_a"], pupil)
    decide(client(app, "county_a"), world["county_a"], pupil)
    with open_site(app) as site:
        record = resolve(site, world["pupil_a"])
        assert record.status == "suspended" and record.suspended_until.isoformat() == "2027-07-10"
    assert "休学至 2027-07-10" in reg_a.get(world["pupil_a"] + "/status").text


def test_suspension_freezes_the_record_and_blocks_transfer(app, world):
    reg_a = client(app, "reg_a")
    _start(reg_a, world["pupil_a"], "suspend", "因病休学一年").follow()
    pupil = docid(app, world["pupil_a"])
    decide(client(app, "head_a"), world["school_a"], pupil)
    decide(client(app, "county_a"), world["county_a"], pupil)
    with open_site(app) as site:
        assert resolve(site, world["pupil_a"]).status == "suspended"
    reg_a.get(world["pupil_a"] + "/edit", status=403)  # frozen: no edits but resumption
    refused = transfer_in(client(app, "reg_b"), world["school_b"], "110105201703120038", "李明", "2024-01")
    assert "休学" in refused.text and "不能办理转学" in refused.text
    page = _start(reg_a, world["pupil_a"], "resume", "康复返校")
    assert page.status_int == 303
    decide(client(app, "head_a"), world["school_a"], pupil)
    decide(client(app, "county_a"), world["county_a"], pupil)
    with open_site(app) as site:
        assert resolve(site, world["pupil_a"]).status == "enrolled"
    assert reg_a.get(world["pupil_a"] + "/edit").status_int == 200


@pytest.mark.parametrize("kind,message", [
    ("withdraw", "义务教育阶段不得办理退学"), ("expel", "义务教育阶段不得办理开除"),
    ("repeat", "义务教育阶段不得办理留级"), ("resume", "学籍状态为“在籍”时不能办理复学"),
    ("skip", "请选择要转入的班级"),
])
def test_rules_of_compulsory_education(app, world, kind, message):
    page = _start(client(app, "reg_a"), world["pupil_a"], kind)
    assert page.status_int == 200 and message in page.text
    with open_site(app) as site:
        assert workflow.open_change_of(resolve(site, world["pupil_a"])) is None


def test_drop_out_keeps_the_record_and_senior_rules(app, world):
    pupil = docid(app, world["pupil_a"])
    _start(client(app, "reg_a"), world["pupil_a"], "drop_out", "长期未到校").follow()
    decide(client(app, "head_a"), world["school_a"], pupil)
    decide(client(app, "county_a"), world["county_a"], pupil)
    with open_site(app) as site:
        dropped = resolve(site, world["pupil_a"])
        assert dropped.status == "dropped_out" and resource_path(dropped.__parent__) == world["class_a"]
    reg_s = client(app, "reg_s")
    wrong = _start(reg_s, world["teen"], "repeat", target="2025-01")
    assert "下一届" in wrong.text or "转入" in wrong.text
    _start(reg_s, world["teen"], "repeat", "成绩未达标", target="2026-01").follow()
    teen = docid(app, world["teen"])
    decide(client(app, "head_s"), world["senior"], teen)
    decide(client(app, "county_a"), world["county_a"], teen)
    with open_site(app) as site:
        assert resource_path(site.docmap[teen].__parent__) == world["s_next"]


def test_reject_withdraw_and_one_open_change(app, world):
    reg_a = client(app, "reg_a")
    _start(reg_a, world["pupil_a"], "abroad", "随父母出国").follow()
    assert "status-form" not in reg_a.get(world["pupil_a"] + "/status").forms  # one open change at a time
    with open_site(app) as site:
        with pytest.raises(workflow.WorkflowError):
            workflow.check_allowed("suspend", resolve(site, world["pupil_a"]))
    pupil = docid(app, world["pupil_a"])
    head = client(app, "head_a")
    page = decide(head, world["school_a"], pupil, "reject", "").follow()
    assert "驳回时必须填写理由" in page.text
    decide(head, world["school_a"], pupil, "reject", "材料不全")
    with open_site(app) as site:
        record = resolve(site, world["pupil_a"])
        assert workflow.open_change_of(record) is None and workflow.changes_of(record)[-1].state == "rejected"
        assert workflow.changes_of(record)[-1].decisions[-1][5] == "材料不全"
    _start(reg_a, world["pupil_a"], "abroad", "随父母出国").follow()
    status = reg_a.get(world["pupil_a"] + "/status")
    withdraw = status.forms[[k for k, f in status.forms.items() if "withdraw" in f.fields][0]]
    withdraw.submit("withdraw", status=303)
    with open_site(app) as site:
        assert workflow.changes_of(resolve(site, world["pupil_a"]))[-1].state == "withdrawn"


def test_deadlines_count_working_days():
    friday = datetime.date(2026, 11, 27)
    assert workflow.add_working_days(friday, 10) == datetime.date(2026, 12, 11)
    assert workflow.add_working_days(friday, 1) == datetime.date(2026, 11, 30)


def test_deadlines_skip_public_holidays_and_count_swapped_working_days():
    """National Day 2026: 1-7 October off; Saturday 10 October worked in exchange (调休)."""
    assert workflow.add_working_days(datetime.date(2026, 9, 30), 1) == datetime.date(2026, 10, 8)
    assert workflow.add_working_days(datetime.date(2026, 10, 9), 1) == datetime.date(2026, 10, 10)
    assert workflow.add_working_days(datetime.date(2026, 9, 30), 10) == datetime.date(2026, 10, 20)
    # Spring Festival 2026 (17 February): the ten days start after the holiday
    assert workflow.is_working_day(datetime.date(2026, 2, 17)) is False
    # a year the holiday tables do not cover yet: Monday to Friday
    assert workflow.add_working_days(datetime.date(2099, 1, 2), 1) == datetime.date(2099, 1, 5)


def test_overdue_items_are_marked_in_the_queue(app, world):
    transfer_in(client(app, "reg_b"), world["school_b"], "110105201703120038", "李明", "2024-01").follow()
    with open_site(app) as site:
        change = workflow.open_change_of(resolve(site, world["pupil_a"]))
        change.step_started -= 20 * 86400  # twenty days ago
    queue = client(app, "head_b").get(world["school_b"] + "/changes")
    assert "已超期" in queue.text


def test_two_approvers_at_once_exactly_one_wins(app, world, monkeypatch):
    transfer_in(client(app, "reg_b"), world["school_b"], "110105201703120038", "李明", "2024-01").follow()
    pupil = docid(app, world["pupil_a"])
    first, second = client(app, "head_b"), client(app, "head_b2")
    _clients.clear()
    tokens = {id(first): token(first), id(second): token(second)}
    barrier = threading.Barrier(2, timeout=10)
    seen = threading.local()
    real_decide = workflow.decide

    def racing_decide(*args, **kwargs):
        if not getattr(seen, "waited", False):  # both read the request before either commits
            seen.waited = True
            barrier.wait()
        return real_decide(*args, **kwargs)

    monkeypatch.setattr(workflow, "decide", racing_decide)
    results = {}

    def approve(browser):
        results[id(browser)] = browser.post(world["school_b"] + "/changes", {
            "csrf_token": tokens[id(browser)], "docid": str(pupil), "action": "approve"}, status="*")

    threads = [threading.Thread(target=approve, args=(b,)) for b in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r.status_int for r in results.values()) == [303, 303]  # no 500
    with open_site(app) as site:
        change = workflow.open_change_of(resolve(site, world["pupil_a"]))
        assert change.position == 1 and len(change.decisions) == 1  # exactly one approval counted
    messages = [b.get(world["school_b"] + "/changes").text for b in (first, second)]
    assert sum("已被处理" in text for text in messages) == 1


def test_status_changes_are_counted_by_type_and_period(app, world):
    from xueji_site.search import reports
    pupil = docid(app, world["pupil_a"])
    _start(client(app, "reg_a"), world["pupil_a"], "suspend", "因病休学").follow()
    decide(client(app, "head_a"), world["school_a"], pupil)
    decide(client(app, "county_a"), world["county_a"], pupil)
    this_year, this_month = str(datetime.date.today().year), datetime.date.today().strftime("%Y-%m")
    with open_site(app) as site:
        table = reports.run("status_changes", site, site.principals.by_login_name("county_a"),
                            resolve(site, world["county_a"]))
        column = table.columns.index(this_year)
        counts = {str(label): row[column] for label, row in table.rows}
        assert counts["休学"] == 1 and counts["转学"] == 0
        assert dict((str(l), r[table.columns.index(this_month)]) for l, r in table.rows)["休学"] == 1
        other = reports.run("status_changes", site, site.principals.by_login_name("county_b"),
                            resolve(site, world["county_b"]))
        assert all(sum(row) == 0 for _label, row in other.rows)  # county B sees none of county A's
    page = client(app, "county_a").get(world["county_a"] + "/reports?report=status_changes")
    assert "休学" in page.text


def test_scans_are_sniffed_sealed_and_served_to_those_deciding(app, world):
    reg_a = client(app, "reg_a")
    form = reg_a.get(world["pupil_a"] + "/status").forms["status-form"]
    form["kind"], form["reason"] = "abroad", "随父母出国"
    form["scan"] = ("../../etc/passwd.pdf", b"<html><script>alert(1)</script>")
    refused = form.submit("start", status=200)
    assert "只接受 PDF、JPEG 或 PNG" in refused.text
    with open_site(app) as site:
        assert workflow.open_change_of(resolve(site, world["pupil_a"])) is None  # no request without its scan
    form = reg_a.get(world["pupil_a"] + "/status").forms["status-form"]
    form["kind"], form["reason"] = "abroad", "随父母出国"
    form["scan"] = ("../../护照 签证.pdf", b"%PDF-1.4\n% a scan\n")
    form.submit("start", status=303)
    with open_site(app) as site:
        scan = workflow.open_change_of(resolve(site, world["pupil_a"])).attachments[0]
        assert scan.name == "护照_签证.pdf" and b"%PDF" not in scan._sealed
    status = reg_a.get(world["pupil_a"] + "/status")
    link = re.search(r'href="([^"]+attachment[^"]+)"', status.text).group(1).replace("&amp;", "&")
    download = reg_a.get(link)
    assert download.body.startswith(b"%PDF-1.4") and download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment")
    queue = client(app, "head_a").get(world["school_a"] + "/changes")
    link = re.search(r'href="([^"]+changes-attachment[^"]+)"', queue.text).group(1).replace("&amp;", "&")
    assert client(app, "head_a").get(link).body.startswith(b"%PDF")
    client(app, "head_b").get(link.replace(world["school_a"], world["school_b"]), status=404)


def test_guardian_asks_online_and_the_receiving_school_picks_the_class(app, world):
    guardian = client(app, "guard")
    page = guardian.get(world["pupil_a"] + "/status")
    form = page.forms["status-form"]
    assert [v for v, _s, _t in form["kind"].options] == ["transfer", "suspend", "resume"]
    form["kind"], form["reason"], form["school_code"] = "transfer", "搬家到海淀", "2111000002"
    form.submit("start", status=303)
    pupil = docid(app, world["pupil_a"])
    token_ = token(guardian)
    guardian.post(world["pupil_a"] + "/status", {"csrf_token": token_, "start": "1", "kind": "withdraw",
                                                 "reason": "x"}, status=403)  # not a guardian's to ask
    head_b = client(app, "head_b")
    queue = head_b.get(world["school_b"] + "/changes")
    assert "搬家到海淀" in queue.text and 'name="target"' in queue.text
    decide(head_b, world["school_b"], pupil).follow()  # the form posts no class: refused
    with open_site(app) as site:
        assert workflow.open_change_of(resolve(site, world["pupil_a"])).position == 0
    head_b.post(world["school_b"] + "/changes", {"csrf_token": token(head_b), "docid": str(pupil),
                                                 "action": "approve", "target": "2024-01"}, status=303)
    for login, node in (("county_b", world["county_b"]), ("head_a", world["school_a"]),
                        ("county_a", world["county_a"])):
        decide(client(app, login), node, pupil)
    with open_site(app) as site:
        assert resource_path(site.docmap[pupil].__parent__) == world["class_b"]
