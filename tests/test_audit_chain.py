"""The audit log's hash chain (C3), its retention (C2) and the separation of
duties around it (B5): sealing under concurrent commits, tamper detection by
``xueji-verify-audit``, and a purge that refuses anything younger than 190 days."""
import random
import re
import threading
import time

import pytest
import transaction
from ZODB.POSException import ConflictError

from xueji_site.kernel import audit, security, settings
from xueji_site.kernel.root import ROOT_KEY
from .test_backup import keep_keyring  # noqa: F401  (a fixture)
from .conftest import Browser, add_user, open_site
from xueji_site.kernel.root import database


def _log_some(site, n, action="test"):
    for i in range(n):
        site.audit.append("u-1", "someone", "10.0.0.%d" % i, action, "/", audit.OK, {"n": str(i)})


def test_sealed_log_verifies_and_each_tampering_is_reported(app):
    with open_site(app) as site:
        _log_some(site, 6)
    with open_site(app) as site:
        assert audit.seal(site.audit) == 6 and audit.verify(site.audit) == []
        keys = list(site.audit.entries.keys())
        log = site.audit
        # 1. a stored tuple changed in place (the result "failed" turned into "ok")
        when, *rest = log.entries[keys[1]]
        log.entries[keys[1]] = (when, *rest[:-2], "denied", rest[-1])
        # 2. an entry removed
        del log.entries[keys[3]]
        # 3. an entry slipped in around append()
        log.entries[keys[-1] + 5] = (time.time(), "", "ghost", "", "login", "", "ok", ())
        problems = {(p.kind, p.where) for p in audit.verify(log)}
        assert problems == {("entry-changed", keys[1]), ("entry-removed", keys[3]),
                            ("entry-unsealed", keys[-1] + 5)}


FIELDS = ("when", "userid", "login", "address", "action", "path", "result", "detail")


@pytest.mark.parametrize("field", FIELDS)
def test_the_seal_covers_every_field_of_an_entry(app, field):
    """Issue 20 (1): changing any one field of a sealed entry, its details included
    (an export's rows from 5 to 50000), is reported."""
    with open_site(app) as site:
        site.audit.append("u-1", "reg", "10.0.0.1", "export", "/110000/", audit.OK, {"rows": "5", "type": "Student"})
        audit.seal(site.audit)
        [key] = list(site.audit.entries.keys())
        stored = list(site.audit.entries[key])
        index = FIELDS.index(field)
        stored[index] = {"when": stored[0] + 1, "detail": (("rows", "50000"), ("type", "Student"))}.get(
            field, "tampered")
        site.audit.entries[key] = tuple(stored)
        assert [(p.kind, p.where) for p in audit.verify(site.audit)] == [("entry-changed", key)], field


def test_removing_an_entry_with_its_seal_breaks_the_chain(app):
    with open_site(app) as site:
        _log_some(site, 4)
        audit.seal(site.audit)
        log = site.audit
        key, _digest, _link = log.seals[2]
        del log.entries[key], log.seals[2], log.sealed_at[key]
        kinds = [p.kind for p in audit.verify(log)]
        assert "seal-removed" in kinds


def test_a_rebuilt_chain_without_the_key_is_detected(app):
    """Someone with write access to the database but not the key file recomputes the
    seals with a key of their own: every link is then wrong."""
    import hashlib
    import hmac
    with open_site(app) as site:
        _log_some(site, 3)
        audit.seal(site.audit)
        log = site.audit
        first_key = log.seals[1][0]
        when, *rest = log.entries[first_key]
        log.entries[first_key] = (when, "u-2", "mallory", *rest[2:])
        forged = hmac.new(b"guessed key", repr(log.entries[first_key]).encode(), hashlib.sha256).hexdigest()
        log.seals[1] = (first_key, forged, log.seals[1][2])
        kinds = {p.kind for p in audit.verify(log)}
        assert {"chain-broken", "entry-changed"} <= kinds


def test_chain_stays_whole_under_concurrent_commits(app):
    """Eight writers append through their own connections while a sealer runs
    repeatedly: every committed entry ends up sealed exactly once, in one
    unbroken sequence."""
    db = database(app.registry)
    stop = threading.Event()
    committed = []
    lock = threading.Lock()

    def writer(n):
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            for i in range(15):
                for attempt in range(200):  # conflicts on shared buckets: retry a moment later
                    try:
                        tm.begin()
                        entry = conn.root()[ROOT_KEY].audit.append("u-%d" % n, "w%d" % n, "", "write", "/", "ok",
                                                                   {"i": str(i)})
                        tm.commit()
                        with lock:
                            committed.append(entry.key)
                        break
                    except ConflictError:
                        tm.abort()
                        time.sleep(random.uniform(0, 0.005))
        finally:
            conn.close()

    def sealer():
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            while not stop.is_set():
                try:
                    tm.begin()
                    audit.seal(conn.root()[ROOT_KEY].audit)
                    tm.commit()
                except ConflictError:
                    tm.abort()
                time.sleep(0.002)
        finally:
            conn.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    seal_thread = threading.Thread(target=sealer)
    seal_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    seal_thread.join()
    with open_site(app) as site:
        audit.seal(site.audit)
        log = site.audit
        assert len(committed) == 8 * 15
        assert audit.verify(log) == []
        sealed = [log.seals[s][0] for s in range(1, log.head[0] + 1)]
        assert len(sealed) == len(set(sealed)) == len(log.entries)
        assert set(committed) <= set(sealed) and not len(log.unsealed)


def test_log_made_before_the_chain_is_upgraded(app):
    with open_site(app) as site:
        _log_some(site, 3)
        log = site.audit
        for name in ("unsealed", "seals", "sealed_at", "head", "base"):
            log.__dict__.pop(name, None)
        log._p_changed = True
    with open_site(app) as site:
        _log_some(site, 1)  # the first append after the upgrade
        assert audit.seal(site.audit) == len(site.audit.entries) and audit.verify(site.audit) == []


# -- C2: retention --------------------------------------------------------------------

DAY = 86400


def _aged_log(site, ages_days, now):
    for age in ages_days:
        entry = site.audit.append("", "old", "", "test", "/", "ok", {"age": str(age)})
        record = site.audit.entries[entry.key]
        site.audit.entries[entry.key] = (now - age * DAY,) + record[1:]
    audit.seal(site.audit)


def test_purge_refuses_anything_younger_than_190_days(app):
    now = time.time()
    with open_site(app) as site:
        _aged_log(site, [400, 300, 200, 100, 10], now)
        log = site.audit
        with pytest.raises(ValueError):
            audit.purge(log, before=now - 189 * DAY, now=now)
        with pytest.raises(ValueError):  # a shorter configured retention is not honoured
            audit.purge(log, before=now - 100 * DAY, now=now, retention_days=30)
        assert len(log) == 5
        assert audit.purge(log, before=now - 250 * DAY, now=now) == 2
        ages = sorted(int(dict(e.detail)["age"]) for e in log.newest())
        assert ages == [10, 100, 200] and len(log) == 3
        assert audit.verify(log) == []  # the rest of the chain still checks out
        assert audit.purge(log, before=now - 190 * DAY, now=now) == 1
        assert audit.verify(log) == [] and len(log) == 2


def test_retention_setting_defaults_to_190_days(app):
    assert settings.value(app.registry, "xueji.audit_retention_days") >= audit.MIN_RETENTION_DAYS == 190


# -- the script ------------------------------------------------------------------------

def test_verify_audit_script_finds_a_tampered_stored_entry(tmp_path, capsys, keep_keyring):
    from xueji_site.scripts import init, verify_audit
    from .test_scripts import opened, write_ini
    ini = write_ini(tmp_path)
    assert init.main([str(ini), "--admin", "root"]) == 0
    assert verify_audit.main([str(ini), "--seal"]) == 0
    out = capsys.readouterr().out
    assert "audit log intact" in out and re.search(r"sealed up to #[1-9]", out)
    with opened(tmp_path, read_only=False) as site:  # tamper with the stored tuple
        key = site.audit.entries.maxKey()
        record = site.audit.entries[key]
        site.audit.entries[key] = record[:2] + ("someone-else",) + record[3:]
        transaction.commit()
    assert verify_audit.main([str(ini)]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM entry-changed at %d" % key in out and "TAMPERED" in out


# -- B5: separation of duties -----------------------------------------------------------

def test_only_the_security_admin_grants_sysadmin_and_auditor(app):
    with open_site(app) as site:
        sys_ = add_user(site, "sys", "sysadmin")
        sec = add_user(site, "sec", "security_admin")
        assert not security.may_grant(sys_, site, "auditor")
        assert not security.may_grant(sys_, site, "security_admin")
        assert not security.may_grant(sys_, site, "sysadmin")
        assert security.may_grant(sec, site, "sysadmin") and security.may_grant(sec, site, "auditor")
        assert not security.may_grant(sec, site, "security_admin")
        with pytest.raises(security.SeparationOfDuties):
            security.set_local_roles(site, sec.userid, ("security_admin", "auditor"))


def test_security_admin_grants_an_auditor_through_the_sharing_page(app):
    with open_site(app) as site:
        add_user(site, "sec", "security_admin")
        add_user(site, "sys", "sysadmin")
    browser = Browser(app)
    browser.login("sec")
    form = browser.get("/sharing").forms["grant-form"]
    assert {v for v, _s, _t in form["role"].options} == {"sysadmin", "auditor"}
    form["login"], form["role"] = "new.auditor", "auditor"
    form.submit("grant", status=200)
    form = browser.get("/sharing").forms["grant-form"]
    form["login"], form["role"] = "sec", "sysadmin"  # herself: two duties
    page = form.submit("grant", status=303).follow()
    assert "不能兼任" in page.text
    sysadmin = Browser(app)
    sysadmin.login("sys")
    assert "grant-form" not in sysadmin.get("/sharing").forms
    with open_site(app) as site:
        sec = site.principals.by_login_name("sec")
        assert security.local_roles_of(site, sec.userid) == ("security_admin",)
        auditor = site.principals.by_login_name("new.auditor")
        assert security.local_roles_of(site, auditor.userid) == ("auditor",)


def test_sysadmin_cannot_reset_the_auditors_account(app):
    with open_site(app) as site:
        add_user(site, "sys", "sysadmin")
        add_user(site, "aud", "auditor")
    browser = Browser(app)
    browser.login("sys")
    form = [f for f in browser.get("/users?q=aud").forms.values() if "userid" in f.fields][0]
    page = form.submit("action", value="reset", status=303).follow()
    assert "只有安全管理员" in page.text
    Browser(app).login("aud")  # the auditor's password still works
    with open_site(app) as site:
        denied = site.audit.newest(lambda e: e.action == "account-reset")
        assert [e.result for e in denied] == ["denied"]


def test_auditor_reads_the_log_and_nothing_else(app):
    from pyramid.threadlocal import get_current_registry
    from .conftest import build_tree
    with open_site(app) as site:
        build_tree(site, get_current_registry())
        add_user(site, "aud", "auditor")
    browser = Browser(app)
    browser.login("aud")
    rows = re.findall(r"<tr>(.*?)</tr>", browser.get("/audit").text, re.S)
    assert any("aud" in row and "登录" in row for row in rows)  # the auditor's own login, listed
    assert any("新增" in row and "type=Student" in row for row in rows)  # the tree built above
    for url in ("/users", "/sharing", "/110000/", "/110000/110105/2111000001/2024-03/", "/add"):
        assert browser.get(url, expect_errors=True).status_int in (403, 404), url
    with open_site(app) as site:
        before = len(site.audit)
    browser.logout()
    with open_site(app) as site:
        add_user(site, "sys", "sysadmin")
    browser.login("sys")
    browser.get("/audit", status=403)
    page = browser.get("/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    for method in (browser.delete, browser.post):
        assert method("/audit?csrf_token=" + token, expect_errors=True).status_int == 403
    with open_site(app) as site:
        assert len(site.audit) >= before and audit.verify(site.audit) == []


def test_the_application_seals_after_writing_requests(key_file):
    from xueji_site import main
    from .conftest import base_settings
    app = main({}, **dict(base_settings(key_file), **{"xueji.audit_seal_seconds": "0"}))
    try:
        with open_site(app) as site:
            add_user(site, "plain")
        Browser(app).login("plain")  # a writing request: its entries are sealed right after commit
        with open_site(app) as site:
            log = site.audit
            assert not len(log.unsealed) and log.head[0] == len(log.entries) > 0
            assert audit.verify(log) == []
            head = log.head
        Browser(app).get("/login")  # a request that wrote nothing makes no sealing transaction
        with open_site(app) as site:
            assert site.audit.head == head
    finally:
        database(app.registry).close()


def test_in_app_sealing_can_be_switched_off(key_file):
    from xueji_site import main
    from .conftest import base_settings
    app = main({}, **dict(base_settings(key_file), **{"xueji.audit_seal_seconds": "off"}))
    try:
        with open_site(app) as site:
            add_user(site, "plain")
        Browser(app).login("plain")
        with open_site(app) as site:
            assert len(site.audit.unsealed) == len(site.audit.entries) > 0
    finally:
        database(app.registry).close()


AUDIT_URLS = ("/audit", "/audit?export=csv", "/audit?action=login", "/audit-verify", "/alerts", "/alerts?export=csv")


@pytest.mark.parametrize("login,role", [("aud", "auditor"), ("sec", "security_admin"), ("sys", "sysadmin")])
def test_no_unsafe_method_on_any_audit_url_changes_the_log(app, login, role):
    """Issue 20 (6): the pages of the audit log and the alerts answer only GET; POST, PUT,
    PATCH and DELETE, even with a valid CSRF token, leave every entry as it was."""
    with open_site(app) as site:
        add_user(site, login, role)
        _log_some(site, 3)
        audit.seal(site.audit)
    browser = Browser(app)
    browser.login(login)
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/password").text).group(1)
    with open_site(app) as site:
        before = dict(site.audit.entries.items())
    for url in AUDIT_URLS:
        for method in ("post", "put", "patch", "delete"):
            call = getattr(browser, method)
            response = call(url, {"csrf_token": token, "action": "purge", "key": str(min(before))},
                            headers={"X-CSRF-Token": token}, expect_errors=True)
            assert response.status_int == (405 if role == "auditor" else 403), (url, method, response.status)
    with open_site(app) as site:
        after = dict(site.audit.entries.items())
        assert all(after.get(key) == entry for key, entry in before.items())
        assert audit.verify(site.audit) == []
