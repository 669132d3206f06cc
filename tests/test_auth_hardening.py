"""Accounts to MLPS level 3: password rules, rotation, throttling, session
timeouts and renewal, the TOTP second factor, and disabling stale accounts
(checklist rows A2-A8, B6)."""
import datetime
import re

import pyotp
import pytest
from freezegun import freeze_time

from pyramid.threadlocal import get_current_registry

from xueji_site.exports import approvals
from xueji_site.kernel import content
from xueji_site.schemas.accounts import common_passwords, password_problems
from .test_backup import keep_keyring  # noqa: F401  (a fixture)
from .conftest import PASSWORD, TOTP_SECRET, Browser, add_user, base_settings, build_tree, open_site
from .conftest import setting, student_values, valid_id
from xueji_site.kernel.root import database

DAY = datetime.timedelta(days=1)
# A fixed moment, so that the tests do not depend on today's date.
T0 = datetime.datetime(2031, 3, 3, 8, 0, 0)


def _messages(password, **known):
    return [p.interpolate() if hasattr(p, "interpolate") else p for p in password_problems(password, **known)]


# -- A2: the rules ---------------------------------------------------------------

@pytest.mark.parametrize("password,known,expected", [
    ("Short-1a", {}, "至少需要"),
    ("onlylowercaseletters", {}, "至少三类"),
    ("Zhangwei-Pass-77", {"login": "zhangwei"}, "不能包含登录名"),
    ("Id-110105201703120038", {"id_number": "110105201703120038"}, "身份证件号码"),
    ("Tail-120038-Word", {"id_number": "110105201703120038"}, "身份证件号码"),
    ("Born-20170312-ok", {"birth_date": datetime.date(2017, 3, 12)}, "出生日期"),
    ("Born-2017-03-12-ok", {"birth_date": "2017-03-12"}, "出生日期"),
    ("Password@2024", {}, "常见"),            # a listed word padded with digits and symbols
    ("Qwertyuiop123!", {}, "常见"),
    ("Woaini1314!!", {}, "常见"),             # from the hand-made Chinese list
    ("密" * 25, {}, "72"),                     # 75 bytes: bcrypt's limit, a message, not a 500
])
def test_password_rules_refuse(password, known, expected):
    messages = _messages(password, **known)
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize("password", [PASSWORD, "Another-Good-Pass-9", "Xueji-Demo-2025!", "长城-Wall-2024-ok"])
def test_password_rules_accept(password):
    assert _messages(password, login="someone", id_number="110105201703120038",
                     birth_date=datetime.date(2017, 3, 12)) == []


def test_common_password_list_is_shipped_with_its_source():
    from xueji_site.schemas.accounts import COMMON_PASSWORDS
    with open(COMMON_PASSWORDS, encoding="utf-8") as src:
        header = "".join(line for line in src if line.startswith("#"))
    assert "zxcvbn" in header and "MIT" in header
    words = common_passwords()
    assert len(words) > 5000 and {"123456", "password", "5201314", "1qaz2wsx"} <= words


def test_change_password_form_refuses_a_common_password(app, browser):
    with open_site(app) as site:
        add_user(site, "hank", "school_registrar", at=site)
    browser.login("hank")
    form = browser.get("/password").forms["password-form"]
    form["current"] = PASSWORD
    form["new_password"] = form["confirm"] = "Password@2024"
    assert "常见" in form.submit("save", status=200).text


# -- A3: rotation -------------------------------------------------------------------

def test_password_older_than_90_days_forces_a_change(app):
    with freeze_time(T0) as clock:
        with open_site(app) as site:
            add_user(site, "ivy")
        browser = Browser(app)
        clock.tick(89 * DAY)
        browser.login("ivy")
        assert browser.get("/").status_int == 200
        browser.logout()
        clock.tick(2 * DAY)  # day 91
        assert browser.login("ivy").location.endswith("/password")
        assert browser.get("/", status=303).location.endswith("/password")
        page = browser.get("/password")
        assert "已过期" in page.text
        form = page.forms["password-form"]
        form["current"] = PASSWORD
        form["new_password"] = form["confirm"] = "Spring-Rain-Falls-8"
        form.submit("save", status=303)
        assert browser.get("/").status_int == 200


def test_password_max_age_is_a_setting(key_file):
    from xueji_site import main
    app = main({}, **dict(base_settings(key_file), **{"xueji.password_max_age_days": "30"}))
    try:
        with freeze_time(T0) as clock:
            with open_site(app) as site:
                add_user(site, "jack")
            clock.tick(31 * DAY)
            assert Browser(app).login("jack").location.endswith("/password")
    finally:
        database(app.registry).close()


# -- A4: per-address throttle ------------------------------------------------------

def test_login_is_throttled_per_address(app):
    with open_site(app) as site:
        add_user(site, "kate")
    attacker = Browser(app, extra_environ={"REMOTE_ADDR": "203.0.113.7"})
    # The clock stands still: the counter's window is a minute, and a slow machine
    # spreading 20 logins across a minute's turn would see part of them age out.
    with freeze_time(T0):
        for _ in range(20):
            attacker.login("nobody", password="Wrong-Password-1", status=200)
        page = attacker.login("kate", status=429)  # even the right password: the address is out of tries
    wait = int(page.headers["Retry-After"])
    assert 1 <= wait <= 60 and "频繁" in page.text
    Browser(app, extra_environ={"REMOTE_ADDR": "198.51.100.2"}).login("kate")  # others are not affected
    with open_site(app) as site:
        refused = site.audit.newest(lambda e: dict(e.detail).get("reason") == "throttled")
        assert len(refused) == 1 and refused[0].address == "203.0.113.7" and refused[0].result == "denied"
        assert site.principals.by_login_name("kate").failed_logins == 0  # refused before any check


def test_successful_logins_do_not_use_up_the_allowance(app):
    """A school's staff behind one NAT address all log in at 8 o'clock."""
    with open_site(app) as site:
        add_user(site, "zoe")
    for _ in range(25):
        Browser(app, extra_environ={"REMOTE_ADDR": "203.0.113.50"}).login("zoe")


def test_throttle_window_moves_on(app):
    with freeze_time(T0) as clock:
        with open_site(app) as site:
            add_user(site, "liam")
        client = Browser(app, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
        for _ in range(20):
            client.login("nobody", password="Wrong-Password-1", status=200)
        client.login("liam", status=429)
        clock.tick(61)
        client.login("liam")


# -- A5: idle and absolute timeouts ---------------------------------------------------

def test_idle_timeout_30_minutes(app):
    with freeze_time(T0) as clock:
        with open_site(app) as site:
            add_user(site, "mia")
        browser = Browser(app)
        browser.login("mia")
        clock.tick(datetime.timedelta(minutes=29))
        assert browser.get("/").status_int == 200  # activity: the idle clock restarts
        clock.tick(datetime.timedelta(minutes=31))
        assert "/login" in browser.get("/", status=303).location


def test_absolute_timeout_12_hours_despite_activity(app):
    with freeze_time(T0) as clock:
        with open_site(app) as site:
            add_user(site, "noah")
        browser = Browser(app)
        browser.login("noah")
        for _ in range(28):  # a request every 25 minutes for 11 h 40 min
            clock.tick(datetime.timedelta(minutes=25))
            assert browser.get("/").status_int == 200
        clock.tick(datetime.timedelta(minutes=25))  # 12 h 05 min after login
        assert "/login" in browser.get("/", status=303).location


def test_expired_server_tokens_are_pruned_at_the_next_login(app):
    with freeze_time(T0) as clock:
        with open_site(app) as site:
            add_user(site, "olga")
        Browser(app).login("olga")
        clock.tick(datetime.timedelta(hours=13))
        Browser(app).login("olga")
        with open_site(app) as site:
            assert len(site.principals.by_login_name("olga").sessions) == 1


# -- A8: session renewal ---------------------------------------------------------------

def test_login_issues_a_new_session_cookie(app):
    """A cookie planted before login (session fixation) is not the logged-in session."""
    with open_site(app) as site:
        add_user(site, "paul")
    browser = Browser(app)
    browser.get("/login")
    planted = browser.cookies["xueji"]
    browser.login("paul")
    assert browser.cookies["xueji"] != planted
    victim_copy = Browser(app)
    victim_copy.set_cookie("xueji", planted)
    assert "/login" in victim_copy.get("/", status=303).location


def test_admin_deactivation_revokes_open_sessions(app, browser):
    with open_site(app) as site:
        add_user(site, "sec", "security_admin")
        add_user(site, "quinn")
    quinn = Browser(app)
    quinn.login("quinn")
    browser.login("sec")
    form = [f for f in browser.get("/users?q=quinn").forms.values() if "userid" in f.fields][0]
    form.submit("action", value="deactivate", status=303)
    assert "/login" in quinn.get("/", status=303).location


# -- A6: the TOTP second factor ---------------------------------------------------------

@pytest.mark.parametrize("role", ["sysadmin", "security_admin", "bureau_admin"])
def test_unenrolled_holder_of_a_privileged_role_reaches_only_enrolment(app, role):
    from pyramid.threadlocal import get_current_registry
    from xueji_site.kernel import content, security
    with open_site(app) as site:
        where = site
        if role == "bureau_admin":
            where = content.create("Bureau", site, {"code": "110000", "name": "北京市教育委员会"},
                                   get_current_registry())
        user = add_user(site, "rita", role, at=where)
        user.clear_second_factor()  # add_user enrols test users: undo it
        path = "/" if role != "bureau_admin" else "/110000/"
        assert security.local_roles_of(where, user.userid) == (role,)
    browser = Browser(app)
    assert browser.login("rita").status_int == 303
    for url in (path, "/users", "/audit", "/110000/add"):
        assert browser.get(url, status=303).location.endswith("/totp-enrol"), url
    assert browser.get("/password").status_int == 200  # and logout, which the next lines use
    page = browser.get("/totp-enrol")
    secret = page.html.find(id="totp-secret").text
    uri = page.html.find(id="totp-uri").text
    assert re.fullmatch(r"[A-Z2-7]{32}", secret) and uri.startswith("otpauth://totp/xueji:rita?secret=" + secret)
    form = page.forms["totp-form"]
    form["code"] = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    assert "不正确" in form.submit("verify", status=200).text
    form = browser.get("/totp-enrol").forms["totp-form"]
    assert browser.get("/totp-enrol").html.find(id="totp-secret").text == secret  # stable until confirmed
    form["code"] = pyotp.TOTP(secret).now()
    form.submit("verify", status=303)
    assert browser.get(path).status_int == 200
    with open_site(app) as site:
        rita = site.principals.by_login_name("rita")
        assert rita.totp_secret == secret and not rita.totp_pending
        results = [e.result for e in site.audit.newest(lambda e: e.action == "totp-enrol")]
        assert results == ["ok", "failed"]


def test_plain_roles_need_no_second_factor(app):
    with open_site(app) as site:
        add_user(site, "sam", "auditor")
    browser = Browser(app)
    assert not browser.login("sam").location.endswith("/totp")
    assert browser.get("/audit").status_int == 200


def test_second_factor_step_after_the_password(app):
    with open_site(app) as site:
        add_user(site, "tina", "sysadmin")
    browser = Browser(app)
    form = browser.get("/login").forms["login-form"]
    form["login"], form["password"] = "tina", PASSWORD
    assert form.submit("submit", status=303).location.endswith("/totp")
    assert "/login" in browser.get("/users", status=303).location  # the password alone opens nothing
    form = browser.get("/totp").forms["totp-form"]
    form["code"] = "12345"  # not six digits: a form error, not a failure
    assert "6位数字" in form.submit("verify", status=200).text
    totp = pyotp.TOTP(TOTP_SECRET)
    wrong = "%06d" % ((int(totp.now()) + 500000) % 1000000)
    form = browser.get("/totp").forms["totp-form"]
    form["code"] = wrong
    assert "不正确" in form.submit("verify", status=200).text
    form["code"] = code = totp.now()
    form.submit("verify", status=303)
    assert browser.get("/users").status_int == 200

    replay = Browser(app)  # the same code again, e.g. seen over a shoulder
    form = replay.get("/login").forms["login-form"]
    form["login"], form["password"] = "tina", PASSWORD
    form.submit("submit", status=303)
    form = replay.get("/totp").forms["totp-form"]
    form["code"] = code
    assert "已使用过" in form.submit("verify", status=200).text
    with open_site(app) as site:
        reasons = [dict(e.detail).get("reason") for e in site.audit.newest(lambda e: e.action == "login")]
        assert reasons.count("bad-totp") == 2
        assert [e.action for e in site.audit.newest(lambda e: e.action == "login-password")]


def test_wrong_codes_lock_the_account(app):
    with open_site(app) as site:
        add_user(site, "uma", "sysadmin")
    browser = Browser(app)
    form = browser.get("/login").forms["login-form"]
    form["login"], form["password"] = "uma", PASSWORD
    form.submit("submit", status=303)
    right = pyotp.TOTP(TOTP_SECRET).now()
    for i in range(5):
        form = browser.get("/totp").forms["totp-form"]
        form["code"] = "%06d" % ((int(right) + 1 + i) % 1000000)
        form.submit("verify", status=200)
    form = browser.get("/totp").forms["totp-form"]
    form["code"] = right
    assert "锁定" in form.submit("verify", status=200).text
    assert "/login" in browser.get("/", status=303).location


def test_pending_second_factor_expires(app):
    with freeze_time(T0) as clock:
        with open_site(app) as site:
            add_user(site, "vera", "sysadmin")
        browser = Browser(app)
        form = browser.get("/login").forms["login-form"]
        form["login"], form["password"] = "vera", PASSWORD
        form.submit("submit", status=303)
        clock.tick(datetime.timedelta(minutes=6))
        assert browser.get("/totp", status=303).location.endswith("/login")


def test_security_admin_resets_a_lost_second_factor(app, browser):
    with open_site(app) as site:
        add_user(site, "sec", "security_admin")
        add_user(site, "walt", "sysadmin")
    walt = Browser(app)
    walt.login("walt")
    browser.login("sec")
    form = [f for f in browser.get("/users?q=walt").forms.values() if "userid" in f.fields][0]
    form.submit("action", value="totp-reset", status=303)
    assert "/login" in walt.get("/", status=303).location  # sessions ended
    assert not walt.login("walt").location.endswith("/totp")
    assert walt.get("/", status=303).location.endswith("/totp-enrol")
    with open_site(app) as site:
        assert site.audit.newest(lambda e: e.action == "account-totp-reset")


def test_totp_secret_is_sealed_at_rest(app):
    with open_site(app) as site:
        user = add_user(site, "xena", "sysadmin")
        assert TOTP_SECRET not in repr(vars(user))


# -- B6: stale accounts --------------------------------------------------------------------

def test_disable_stale_accounts_script(tmp_path, capsys, keep_keyring):
    import time
    from xueji_site.scripts import disable_stale, init
    from .test_scripts import opened, write_ini
    ini = write_ini(tmp_path)
    assert init.main([str(ini), "--admin", "root"]) == 0
    with opened(tmp_path, read_only=False) as site:
        now = time.time()
        old = site.principals.add_user("old.teacher", password=PASSWORD, must_change=False)
        old.last_login = now - 200 * 86400
        old.sessions["t"] = now
        never = site.principals.add_user("never.used", password=PASSWORD, must_change=False)
        never.created = now - 190 * 86400
        recent = site.principals.add_user("recent.user", password=PASSWORD, must_change=False)
        recent.last_login = now - 10 * 86400
        import transaction
        transaction.commit()
    capsys.readouterr()
    assert disable_stale.main([str(ini), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "old.teacher" in out and "never.used" in out and "recent.user" not in out and "would disable 2" in out
    with opened(tmp_path) as site:
        assert site.principals.by_login_name("old.teacher").active
    assert disable_stale.main([str(ini)]) == 0
    assert "disabled 2" in capsys.readouterr().out
    with opened(tmp_path) as site:
        users = site.principals
        assert not users.by_login_name("old.teacher").active and not users.by_login_name("never.used").active
        assert users.by_login_name("recent.user").active and users.by_login_name("root").active
        assert not users.by_login_name("old.teacher").sessions
        entries = site.audit.newest(lambda e: e.action == "account-disable-stale")
        assert sorted(dict(e.detail)["target"] for e in entries) == ["never.used", "old.teacher"]
        assert {e.userid for e in entries} == {"system"}
    assert disable_stale.main([str(ini), "--days", "5"]) == 2  # below the floor: refused


# -- A7 / C4: hashes, and no secret in the logs ------------------------------------------

def test_hashes_cost_at_least_10_in_production(monkeypatch):
    import configparser
    import pathlib
    from xueji_site.kernel import users
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(pathlib.Path(__file__).resolve().parents[1] / "production.ini", encoding="utf-8")
    rounds = int(ini["app:main"].get("xueji.bcrypt_rounds", "12"))  # configure's default is 12
    assert rounds >= 10
    monkeypatch.setattr(users, "_rounds", rounds)
    assert users.hash_password(PASSWORD).startswith("$2b$%02d$" % rounds)


def test_no_password_or_code_reaches_the_logs_or_the_audit(app, caplog):
    import logging
    with open_site(app) as site:
        add_user(site, "yuri", "sysadmin")
    secret_tries = ["Wrong-Secret-77x", "Other-Secret-88y"]
    with caplog.at_level(logging.DEBUG):
        browser = Browser(app)
        for attempt in secret_tries:
            browser.login("yuri", password=attempt, status=200)
        browser.login("yuri")
        code = pyotp.TOTP(TOTP_SECRET).now()
    with open_site(app) as site:
        stored = repr([tuple(e) for e in site.audit.newest(limit=100)])
    for secret in secret_tries + [PASSWORD, TOTP_SECRET]:
        assert secret not in caplog.text and secret not in stored
    assert "code=" + code not in stored


# -- A1: unique logins ---------------------------------------------------------------------

def test_concurrent_creation_of_one_login_lets_exactly_one_commit(app):
    import transaction
    from ZODB.POSException import ConflictError
    from xueji_site.kernel.root import ROOT_KEY
    db = database(app.registry)
    managers = [transaction.TransactionManager() for _ in range(2)]
    conns = [db.open(transaction_manager=tm) for tm in managers]
    try:
        for tm, conn in zip(managers, conns):
            tm.begin()
            conn.root()[ROOT_KEY].principals.add_user("same.login", password=PASSWORD)
        managers[0].commit()
        with pytest.raises(ConflictError):
            managers[1].commit()
        managers[1].abort()
    finally:
        for conn in conns:
            conn.close()
    with open_site(app) as site:
        matching = [u for u in site.principals.users() if u.login == "same.login"]
        assert len(matching) == 1 and site.principals.by_login_name("same.login") is matching[0]


# -- A9: re-authentication before exports and role grants ------------------------------------

def test_stale_session_must_reauthenticate_before_an_export(app):
    with freeze_time(T0) as clock:
        with open_site(app) as site:
            add_user(site, "aud", "auditor")
        browser = Browser(app)
        browser.login("aud")
        assert browser.get("/audit?export=csv").status_int == 200  # just logged in
        clock.tick(datetime.timedelta(minutes=16))
        response = browser.get("/audit?export=csv", status=303)
        assert "/reauth?came_from=" in response.location
        form = browser.get(response.location).forms["reauth-form"]
        form["password"] = "Wrong-Password-99"
        assert "不正确" in form.submit("confirm", status=200).text
        form = browser.get(response.location).forms["reauth-form"]
        form["password"] = PASSWORD
        back = form.submit("confirm", status=303)
        assert back.location.endswith("/audit?export=csv")
        assert "csv" in browser.get(back.location).content_type
    with open_site(app) as site:
        actions = [(e.action, e.result) for e in site.audit.newest(
            lambda e: e.action in ("reauth", "reauth-required", "login") and e.login == "aud")]
        assert ("reauth", "ok") in actions and ("reauth-required", "ok") in actions
        assert dict(site.audit.newest(lambda e: e.action == "login" and e.result == "failed")[0].detail)[
            "reason"] == "bad-reauth"


def test_role_grant_with_a_stale_session_asks_for_password_and_code(app):
    with freeze_time(T0) as clock:
        with open_site(app) as site:
            add_user(site, "sec", "security_admin")
        browser = Browser(app)
        browser.login("sec")
        clock.tick(datetime.timedelta(minutes=20))
        form = browser.get("/sharing").forms["grant-form"]
        form["login"], form["role"] = "late.auditor", "auditor"
        response = form.submit("grant", status=303)
        assert "/reauth" in response.location
        with open_site(app) as site:
            assert site.principals.by_login_name("late.auditor") is None  # nothing granted
            site.principals.by_login_name("sec").totp_last_step = 0
        form = browser.get(response.location).forms["reauth-form"]
        form["password"], form["code"] = PASSWORD, pyotp.TOTP(TOTP_SECRET).now()
        assert form.submit("confirm", status=303).location.endswith("/sharing")
        form = browser.get("/sharing").forms["grant-form"]
        form["login"], form["role"] = "late.auditor", "auditor"
        form.submit("grant", status=200)
        with open_site(app) as site:
            assert site.principals.by_login_name("late.auditor") is not None


def test_listing_export_and_import_also_need_a_recent_password(app):
    with freeze_time(T0) as clock:
        with open_site(app) as site:
            from pyramid.threadlocal import get_current_registry
            from .conftest import build_tree
            nodes = build_tree(site, get_current_registry())
            add_user(site, "reg", "school_registrar", at=nodes["school_a"])
        browser = Browser(app)
        browser.login("reg")
        school = "/110000/110105/2111000001/"
        assert browser.get(school + "export?type=SchoolClass&format=csv").content_type == "text/csv"
        assert browser.get(school + "import").status_int == 200
        clock.tick(datetime.timedelta(minutes=16))
        for url in (school + "export?type=SchoolClass&format=csv", school + "import"):
            assert "/reauth?came_from=" in browser.get(url, status=303).location


def test_every_bulk_export_declares_its_password_gate(app):
    """Exports are views of their own with their gates declared (views/derivers.py): the
    audit log, the alerts and a search need a recent password; a report of counts does not."""
    with freeze_time(T0) as clock:
        with open_site(app) as site:
            add_user(site, "aud", "auditor")
            add_user(site, "sec", "security_admin")
        auditor, security = Browser(app), Browser(app)
        auditor.login("aud")
        security.login("sec")
        assert "csv" in auditor.get("/alerts?export=csv").content_type
        auditor.get("/alerts?export=pdf", status=400)
        clock.tick(datetime.timedelta(minutes=16))
        for url in ("/alerts?export=csv", "/audit?export=xlsx"):
            assert "/reauth?came_from=" in auditor.get(url, status=303).location, url
        assert "/reauth?came_from=" in security.get("/search?q=x&export=csv", status=303).location
        assert "csv" in security.get("/reports?export=csv").content_type


def test_the_password_gate_comes_before_an_approval_is_used(app):
    """An export sent back for the password does not use up the approval it came with."""
    with freeze_time(T0) as clock:
        with open_site(app) as site:
            registry = get_current_registry()
            nodes = build_tree(site, registry)
            for n in range(60):  # past the default threshold of 60 rows
                content.create("Student", nodes["class_a"], student_values(
                    valid_id("11010520170401%03d" % (101 + 2 * n)), "学生", "1"), registry)
            reg = add_user(site, "reg", "school_registrar", at=nodes["school_a"])
            head = add_user(site, "head", "principal", at=nodes["school_a"])
            approval = approvals.request_export(site, reg, nodes["class_a"], "internal", "核对", "", "listing",
                                                "Student", "", 61)
            approvals.decide(site, head, approval, True, "同意")
            approval_id = approval.id
        browser = Browser(app)
        browser.login("reg")
        clock.tick(datetime.timedelta(minutes=16))
        url = "/110000/110105/2111000001/2024-03/export?type=Student&format=csv&approval=" + approval_id
        browser.get(url, status=303)
        with open_site(app) as site:
            assert approvals.get(site, approval_id).state() == approvals.APPROVED  # not used up


def test_pages_that_post_grants_contacts_or_break_glass_ask_for_the_password_only_to_post(app):
    """``require_reauth="unsafe"`` (views/derivers.py): the form shows with an old password;
    posting it sends the user to /reauth and changes nothing."""
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "sec", "security_admin")
        add_user(site, "root", "sysadmin")
        target = add_user(site, "target")
        pupil = "/110000/110105/2111000001/2024-03/%s/" % nodes["pupil_a"].__name__
    sec, root = Browser(app), Browser(app)
    sec.login("sec")
    root.login("root")
    pages = [(sec, "/sharing"), (sec, "/account"), (sec, "/user-contact?userid=" + target.userid),
             (root, pupil + "break-glass")]
    tokens = {id(b): re.search(r'name="csrf_token" value="([^"]+)"', b.get("/password").text).group(1)
              for b in (sec, root)}
    with setting(app, "xueji.reauth_seconds", "0"):
        for browser, url in pages:
            assert browser.get(url).status_int == 200, url
            response = browser.post(url, {"csrf_token": tokens[id(browser)], "email": "x@example.test",
                                          "reason": "核查", "login": "someone", "role": "auditor"}, status=303)
            assert "/reauth?came_from=" in response.location, url
    with open_site(app) as site:
        assert site.principals.by_login_name("target").email == ""
        assert site.principals.by_login_name("someone") is None
