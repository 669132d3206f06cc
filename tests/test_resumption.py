"""Issue 12 (rule gaps): a 休学 carries its end, and a pupil still suspended after it
is found by an index and reminded to the school, once a day, and listed in 待办."""
import datetime

from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path
from pyramid_mailer import get_mailer

from xueji_site.status import changes as workflow, resumption
from .conftest import Browser, add_user, build_tree, open_site, resolve

ENDS = datetime.date(2026, 6, 30)


def _suspended(app):
    """School A's pupil on an approved 休学 ending ENDS; a registrar with an e-mail at each school."""
    with open_site(app) as site:
        registry = get_current_registry()
        n = build_tree(site, registry)
        reg = add_user(site, "reg_a", "school_registrar", at=n["school_a"])
        reg.email = "reg_a@example.test"
        add_user(site, "reg_b", "school_registrar", at=n["school_b"]).email = "reg_b@example.test"
        head = add_user(site, "head_a", "principal", at=n["school_a"])
        county = add_user(site, "county_a", "bureau_admin", at=n["county_a"])
        change = workflow.start("suspend", n["pupil_a"], reg, "因病休学", starts_on=datetime.date(2026, 1, 5),
                                ends_on=ENDS, registry=registry)
        workflow.decide(change, n["pupil_a"], head, True, registry=registry)
        workflow.decide(change, n["pupil_a"], county, True, registry=registry)
        return {"pupil_a": n["pupil_a"].docid, "path": resource_path(n["pupil_a"])}


def test_the_index_finds_suspensions_that_ended(app):
    pupil = _suspended(app)
    with open_site(app) as site:
        assert resolve(site, pupil["path"]).status == "suspended"
        assert resumption.overdue(site, ENDS - datetime.timedelta(days=1)) == []
        assert [s.docid for s in resumption.overdue(site, ENDS)] == [pupil["pupil_a"]]


def test_the_school_is_reminded_once_a_day_and_audited(app):
    pupil = _suspended(app)
    outbox = get_mailer(app.registry).outbox
    del outbox[:]
    day = ENDS + datetime.timedelta(days=3)
    with open_site(app) as site:
        assert resumption.remind(site, get_mailer(app.registry), str, "x@localhost", day, dry_run=True) == (1, 0)
        assert outbox == []
        assert resumption.remind(site, get_mailer(app.registry), lambda s: s.interpolate()
                                 if hasattr(s, "interpolate") else s, "x@localhost", day) == (1, 1)
        assert resumption.remind(site, get_mailer(app.registry), str, "x@localhost", day) == (0, 0)
        [entry] = site.audit.newest(lambda e: e.action == "resumption-due")
        assert dict(entry.detail)["due"] == ENDS.isoformat() and entry.path == pupil["path"]
    [message] = outbox
    assert message.recipients == ["reg_a@example.test"]  # not school B's registrar
    assert "2026-06-30" in message.body and "李*" in message.body and "李明" not in message.body


def test_to_do_lists_the_pupil_for_the_school_only(app):
    pupil = _suspended(app)
    reg = Browser(app)
    reg.login("reg_a")
    page = reg.get("/todo")
    assert "休学期满待复学" in page.text and pupil["path"] + "/status" in page.text and "2026-06-30" in page.text
    other = Browser(app)
    other.login("reg_b")
    assert "休学期满待复学" not in other.get("/todo").text


def test_resuming_takes_the_pupil_off_the_list(app):
    pupil = _suspended(app)
    with open_site(app) as site:
        registry = get_current_registry()
        student = site.docmap[pupil["pupil_a"]]
        users = site.principals
        change = workflow.start("resume", student, users.by_login_name("reg_a"), "病愈复学", registry=registry)
        workflow.decide(change, student, users.by_login_name("head_a"), True, registry=registry)
        workflow.decide(change, student, users.by_login_name("county_a"), True, registry=registry)
    with open_site(app) as site:
        assert site.docmap[pupil["pupil_a"]].status == "enrolled"
        assert resumption.overdue(site, ENDS + datetime.timedelta(days=30)) == []
