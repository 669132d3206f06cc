"""Issue 12 (5): a registrar cannot delete a pupil. A wrong registration is cancelled
(注销) through the status-change process with a reason and review; only a sysadmin may
delete a record, soon after an entry made in error, its content sealed in the audit."""
import re
import time

from xueji_site.kernel import crypto, history
from xueji_site.record import removal
from .conftest import Browser, add_user, open_site, resolve, student_form
from .test_workflow import _start, client, decide, docid, token, world  # noqa: F401  (fixture)

ID = "110105201703120038"


def _hashed(app):
    with open_site(app) as site:
        return list(site.catalog["hashes"].applyEq(crypto.keyring().blind("id", ID)))


def test_a_registrar_may_not_delete_a_pupil(app, world):
    reg = client(app, "reg_a")
    page = reg.get(world["pupil_a"])
    assert "/delete" not in page.text
    reg.get(world["pupil_a"] + "/delete", status=403)
    reg.post(world["pupil_a"] + "/delete", {"csrf_token": token(reg), "reason": "误录"}, status=403)
    client(app, "county_a").get(world["pupil_a"] + "/delete", status=403)
    with open_site(app) as site:
        assert resolve(site, world["pupil_a"]).name == "李明"


def test_a_wrong_registration_is_cancelled_with_review_and_frees_the_number(app, world):
    pupil = docid(app, world["pupil_a"])
    reg = client(app, "reg_a")
    refused = _start(reg, world["pupil_a"], "void", reason="")
    assert "请填写申请理由" in refused.text
    _start(reg, world["pupil_a"], "void", reason="该生未到校报到，系重复录入").follow()
    with open_site(app) as site:
        assert resolve(site, world["pupil_a"]).status == "enrolled"  # nothing happens before the review
    decide(client(app, "head_a"), world["school_a"], pupil)
    assert _hashed(app) == [pupil]
    decide(client(app, "county_a"), world["county_a"], pupil)
    with open_site(app) as site:
        cancelled = site.docmap[pupil]
        assert cancelled.status == "cancelled" and cancelled.voided and cancelled.name == "李明"
        assert [e for e in history.entries(cancelled) if e[3] == "status-changed" and "注销" in str(e[5])]
    assert _hashed(app) == []  # the record no longer holds the number
    status = reg.get(world["pupil_a"] + "/status")
    assert "注销" in status.text and "该生未到校报到" in status.text
    # the right school registers the pupil; the cancelled one cannot come back
    reg_b = client(app, "reg_b")
    form = reg_b.get(world["class_b"] + "/add?type=Student").forms["xueji-form"]
    for field, value in student_form(id_number=ID).items():
        if field in form.fields:
            form[field] = value
    form.submit("save", status=303)
    assert len(_hashed(app)) == 1 and _hashed(app) != [pupil]
    again = _start(reg, world["pupil_a"], "reinstate", reason="恢复")
    assert "误录注销的学籍不能恢复" in again.text


def _sysadmin(app):
    with open_site(app) as site:
        add_user(site, "root", "sysadmin")
    browser = Browser(app)
    browser.login("root")
    return browser


def test_a_sysadmin_deletes_an_entry_in_error_with_a_reason_sealed_in_the_audit(app, world):
    with open_site(app) as site:
        from pyramid.threadlocal import get_current_registry
        from xueji_site.kernel import content
        content.create("FamilyMember", resolve(site, world["pupil_a"]), {"name": "李建国", "relation": "11"},
                       get_current_registry())
    root = _sysadmin(app)
    page = root.get(world["pupil_a"])
    assert world["pupil_a"] + "/delete" in page.text
    form = root.get(world["pupil_a"] + "/delete").forms["delete-form"]
    form["reason"] = "   "
    refused = form.submit("delete", status=400)
    assert "请填写删除原因" in refused.text
    form = refused.forms["delete-form"]
    form["reason"] = "测试数据误录入生产库"
    form.submit("delete", status=303)
    with open_site(app) as site:
        assert len(resolve(site, world["class_a"])) == 0
        [entry] = site.audit.newest(lambda e: e.action == "hard-delete")
        detail = dict(entry.detail)
        assert detail["reason"] == "测试数据误录入生产库" and entry.login == "root"
        assert "李明" not in detail["sealed"] and ID not in str(detail)
        kept = removal.unseal(detail["sealed"])
    assert kept["fields"]["name"] == "李明" and kept["fields"]["id_number"] == ID
    assert [p["fields"]["name"] for p in kept["parts"]] == ["李建国"]


def test_after_the_window_even_a_sysadmin_cancels_instead(app, world):
    with open_site(app) as site:
        resolve(site, world["pupil_a"]).created = time.time() - 25 * 3600
    root = _sysadmin(app)
    assert world["pupil_a"] + "/delete" not in root.get(world["pupil_a"]).text
    page = root.get(world["pupil_a"] + "/delete")
    assert "录入已超过时限" in page.text and "delete-form" not in page.forms
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', root.get("/password").text).group(1)
    refused = root.post(world["pupil_a"] + "/delete", {"csrf_token": csrf, "reason": "误录"}, status=400)
    assert "注销" in refused.text
    with open_site(app) as site:
        assert resolve(site, world["pupil_a"]).name == "李明"
        assert not site.audit.newest(lambda e: e.action == "hard-delete")
