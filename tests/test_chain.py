"""The approval chain (kernel/chain.py): one primitive under status changes,
key-field review, export approvals and graduation — its rules, its queue, its
events, and the audit and history a request leaves whoever drives it."""
import configparser
import datetime

import pytest
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path

from xueji_site.kernel import chain, events, history
from xueji_site.kernel.root import close_databases
from xueji_site.record import review
from xueji_site.scripts import common
from xueji_site.status import changes as workflow

from .conftest import add_user, base_settings, build_tree, open_site, resolve


@pytest.fixture
def people(app):
    with open_site(app) as site:
        n = build_tree(site, get_current_registry())
        add_user(site, "reg", "school_registrar", at=n["school_a"])
        add_user(site, "head", "principal", at=n["school_a"])
        add_user(site, "county", "bureau_admin", at=n["county_a"])
        add_user(site, "province", "bureau_admin", at=n["province"])
        add_user(site, "other", "bureau_admin", at=n["county_b"])
        return {name: resource_path(node) for name, node in n.items()}


def _users(site, *logins):
    return [site.principals.by_login_name(login) for login in logins]


def test_every_process_is_registered_once_with_its_steps(app):
    found = chain.processes(app.registry)
    assert set(found) >= {"status-change", "key-change", "export", "graduation"}
    assert len({process.prefix for process in found.values()}) == len(found)  # ids never collide
    for process in found.values():
        assert process.steps and all(step.permission for step in process.steps)


def test_nobody_decides_their_own_request_and_rejection_needs_a_reason(app, people):
    with open_site(app) as site:
        reg, head = _users(site, "reg", "head")
        pupil = resolve(site, people["pupil_a"])
        request = workflow.start("abroad", pupil, head, "随父母出国")  # the principal asks
        assert chain.problem(site, head, request) == "own"
        with pytest.raises(chain.ChainError) as refused:
            chain.decide(site, request, head, True)
        assert refused.value.code == "own"
        assert chain.problem(site, reg, request) == "not-approver"  # a registrar holds no approve-school
        county = site.principals.by_login_name("county")
        assert chain.problem(site, county, request) == "not-approver"  # the school's step comes first
        with pytest.raises(chain.ChainError):
            chain.withdraw(site, request, reg)  # only the requester withdraws
        chain.withdraw(site, request, head)
        assert request.state == chain.WITHDRAWN and chain.problem(site, county, request) == "decided"
        again = workflow.start("abroad", pupil, reg, "随父母出国")
        with pytest.raises(chain.ChainError) as no_reason:
            chain.decide(site, again, head, False, "  ")
        assert no_reason.value.code == "no-reason" and again.state == chain.OPEN and not again.decisions


def test_one_queue_index_places_each_request_where_it_is_decided(app, people):
    with open_site(app) as site:
        reg, head, county, province, other = _users(site, "reg", "head", "county", "province", "other")
        pupil = resolve(site, people["pupil_a"])
        status = workflow.start("abroad", pupil, reg, "随父母出国")
        key = review.propose(resolve(site, people["pupil_a"]), {"name": "李明亮"}, reg, "改名")
        school, county_node = resolve(site, people["school_a"]), resolve(site, people["county_a"])
        assert chain.waiting_at(site, school) == [status, key]
        assert [r.id for r in chain.queue_for(site, head)] == [status.id, key.id]
        assert chain.queue_for(site, county) == [] and chain.queue_for(site, province) == []
        chain.decide(site, status, head, True)
        chain.decide(site, key, head, True)
        assert chain.waiting_at(site, school) == [] and chain.waiting_at(site, county_node) == [status, key]
        # the county decides; its province too (a role granted above applies below); another county not
        assert {r.id for r in chain.queue_for(site, county)} == {status.id, key.id}
        assert {r.id for r in chain.queue_for(site, province)} == {status.id, key.id}
        assert chain.queue_for(site, other) == []
        assert status.id.startswith("SC") and key.id.startswith("KC")


def test_deadlines_are_working_days_and_overdue_fires_an_event(app, people):
    with open_site(app) as site:
        reg = site.principals.by_login_name("reg")
        request = workflow.start("abroad", resolve(site, people["pupil_a"]), reg, "随父母出国")
        request.step_started = datetime.datetime(2026, 9, 30, 9).timestamp()  # before 国庆
        # ten working days: 1–7 Oct off (国庆), Saturday 10 Oct worked (调休), weekends off
        assert request.due() == datetime.date(2026, 10, 20)
        assert not request.overdue(datetime.date(2026, 10, 20)) and request.overdue(datetime.date(2026, 10, 21))
        seen = []
        app.registry.registerHandler(seen.append, (events.ApprovalOverdue,))
        try:
            assert chain.overdue(site, datetime.date(2026, 10, 21)) == [request]
        finally:
            app.registry.unregisterHandler(seen.append, (events.ApprovalOverdue,))
        assert [event.request for event in seen] == [request]
        [entry] = site.audit.newest(lambda e: e.action == "status-change" and dict(e.detail)["decision"] == "overdue")
        assert dict(entry.detail)["id"] == request.id


def test_a_status_change_driven_from_a_script_is_audited_and_in_the_history(tmp_path, key_file):
    """No view in sight: the scripts' own bootstrap (scripts/common.open_app), three
    users acting in their own transactions; the core writes the audit and history."""
    from xueji_site import main
    var = tmp_path / "var"
    var.mkdir()
    settings = base_settings(key_file, "file://%s/Data.fs" % var)
    app = main({}, **settings)
    try:
        with open_site(app) as site:
            n = build_tree(site, get_current_registry())
            for login, role, at in (("reg", "school_registrar", n["school_a"]), ("head", "principal", n["school_a"]),
                                    ("county", "bureau_admin", n["county_a"])):
                add_user(site, login, role, at=at)
            path = resource_path(n["pupil_a"])
    finally:
        close_databases(app.registry)
    ini = configparser.ConfigParser(interpolation=None)
    ini["app:main"] = dict(settings, use="egg:xueji")
    config = tmp_path / "x.ini"
    with open(config, "w") as out:
        ini.write(out)
    with common.open_app(str(config)) as env:
        with common.site_transaction(env, "test: ask") as (_conn, site):
            workflow.start("abroad", resolve(site, path), site.principals.by_login_name("reg"), "随父母出国",
                           registry=env.registry)
        for login in ("head", "county"):
            with common.site_transaction(env, "test: decide") as (_conn, site):
                pupil = resolve(site, path)
                workflow.decide(workflow.open_change_of(pupil), pupil, site.principals.by_login_name(login), True,
                                registry=env.registry)
        with common.site_transaction(env, "test: read") as (_conn, site):
            pupil = resolve(site, path)
            assert pupil.status == workflow.ABROAD and workflow.open_change_of(pupil) is None
            entries = site.audit.newest(lambda e: e.action == "status-change" and e.path == path)
            assert [(e.login, dict(e.detail)["decision"]) for e in entries] == [
                ("county", "approved"), ("head", "approved"), ("reg", "requested")]
            assert all(e.address == "local" for e in entries)  # from a script, not a web client
            kinds = [entry[3] for entry in history.entries(pupil)]
            assert kinds[:3] == ["status-changed", "status-approved-school", "status-requested"]
            [asked] = [e for e in history.entries(pupil) if e[3] == "status-requested"]
            assert asked[2] == "reg" and "随父母出国" in asked[5]


def test_every_waiting_decision_is_in_the_todo_of_those_who_may_take_it(app, people):
    """Issue 12: a name change waiting for the principal, then the county, reached neither's 待办."""
    from .conftest import Browser
    with open_site(app) as site:
        reg = site.principals.by_login_name("reg")
        review.propose(resolve(site, people["pupil_a"]), {"name": "李明亮"}, reg, "改名")
    clients = {}
    for login in ("head", "county", "province", "other", "reg"):
        clients[login] = Browser(app)
        clients[login].login(login)

    def listed(login):
        page = clients[login].get("/todo")
        table = page.html.find(id="todo")
        count = page.html.find(id="todo-link").find(class_="count")
        return (table.get_text() if table is not None else ""), (count.get_text() if count is not None else "")

    text, count = listed("head")
    assert "关键信息变更" in text and "李明" in text and count == "1"
    link = clients["head"].get("/todo").html.find(id="todo").find("a")["href"]
    assert link.endswith(people["pupil_a"] + "/")  # decided on the record page
    for login in ("county", "province", "other", "reg"):
        assert listed(login) == ("", ""), login
    with open_site(app) as site:
        review.approve(resolve(site, people["pupil_a"]), site.principals.by_login_name("head"), review.SCHOOL)
    for login in ("county", "province"):  # the county's step: the county, and the province above it
        text, count = listed(login)
        assert "关键信息变更" in text and count == "1", login
    assert listed("head") == ("", "") and listed("other") == ("", "")
