"""Logins, sessions, forced password change, lockout and role sharing."""
import re
import time

import pytest
from pyramid.threadlocal import get_current_registry

from .conftest import PASSWORD, Browser, add_user, base_settings, build_tree, open_site
from xueji_site.kernel.root import databases


def test_failed_logins_are_audited_and_lock_the_account(app, browser):
    with open_site(app) as site:
        add_user(site, "alice", "sysadmin")
    page = browser.login("nobody", status=200)
    assert "登录名或密码错误" in page.text
    for _ in range(5):
        page = browser.login("alice", password="wrong-Password-1", status=200)
        assert "登录名或密码错误" in page.text
    page = browser.login("alice", status=200)  # the right password, but locked now
    assert "锁定" in page.text
    with open_site(app) as site:
        logins = site.audit.newest(lambda e: e.action == "login")
        reasons = [dict(e.detail).get("reason") for e in logins]
        assert reasons.count("bad-password") == 4 and "locked-now" in reasons and "locked" in reasons
        assert "unknown-login" in reasons
        assert all(e.address == "127.0.0.1" for e in logins)
        site.principals.by_login_name("alice").locked_until = time.time() - 1  # 30 minutes pass
    browser.login("alice")
    assert "全国" in browser.get("/").text


def test_logout_revokes_the_session_on_the_server(app, browser):
    with open_site(app) as site:
        add_user(site, "bob", "sysadmin")
    browser.login("bob")
    stolen = browser.cookies["xueji"]
    browser.logout()
    thief = Browser(app, extra_environ={"REMOTE_ADDR": "10.9.9.9"})
    thief.set_cookie("xueji", stolen)
    response = thief.get("/", status=303)
    assert "/login" in response.location


def test_password_change_ends_other_sessions(app, browser):
    with open_site(app) as site:
        add_user(site, "carol", "sysadmin")
    other = Browser(app)
    other.login("carol")
    browser.login("carol")
    form = browser.get("/password").forms["password-form"]
    form["current"] = PASSWORD
    form["new_password"] = form["confirm"] = "Another-Good-Pass-9"
    form.submit("save", status=303)
    assert browser.get("/").status_int == 200  # this browser got a fresh session
    assert "/login" in other.get("/", status=303).location
    with open_site(app) as site:
        assert site.audit.newest(lambda e: e.action == "password-change" and e.result == "ok")


@pytest.mark.parametrize("new,message", [
    ("short1A!", "至少需要"),
    ("alllowercaseletters", "至少三类"),
    ("Dave-Is-Here-1234", "不能包含登录名"),
    (PASSWORD, "最近5次"),
])
def test_weak_or_reused_passwords_are_refused(app, browser, new, message):
    with open_site(app) as site:
        add_user(site, "dave", "sysadmin")
    browser.login("dave")
    form = browser.get("/password").forms["password-form"]
    form["current"] = PASSWORD
    form["new_password"] = form["confirm"] = new
    page = form.submit("save", status=200)
    assert message in page.text
    with open_site(app) as site:
        assert site.principals.by_login_name("dave").check_password(PASSWORD)


def test_initial_password_must_be_changed_first(app, browser):
    with open_site(app) as site:
        add_user(site, "erin", "sysadmin", must_change=True)
    page = browser.login("erin")
    assert page.location.endswith("/password")
    assert browser.get("/110000/", status=303).location.endswith("/password")
    form = browser.get("/password").forms["password-form"]
    assert "首次登录" in browser.get("/password").text
    form["current"] = PASSWORD
    form["new_password"] = form["confirm"] = "Fresh-Start-Pass-7"
    form.submit("save", status=303)
    assert browser.get("/").status_int == 200


def test_cookie_flags(key_file):
    from xueji_site import main
    settings = dict(base_settings(key_file), **{"xueji.secure_cookies": "true"})
    app = main({}, **settings)
    try:
        with open_site(app) as site:
            add_user(site, "frank", "sysadmin")
        client = Browser(app, extra_environ={"wsgi.url_scheme": "https", "HTTP_HOST": "xueji.example"})
        form = client.get("/login").forms["login-form"]
        form["login"], form["password"] = "frank", PASSWORD
        response = form.submit("submit", status=303)
        cookie = [v for k, v in response.headerlist if k == "Set-Cookie" and v.startswith("xueji=")][-1]
        assert "HttpOnly" in cookie and "secure" in cookie.lower() and "SameSite=Lax" in cookie
    finally:
        for db in databases(app.registry).values():
            db.close()


def test_login_never_redirects_off_site(app, browser):
    with open_site(app) as site:
        add_user(site, "gina", "sysadmin")
    form = browser.get("/login?came_from=//evil.example/x").forms["login-form"]
    form["login"], form["password"] = "gina", PASSWORD
    response = form.submit("submit", status=303)
    assert response.location.startswith("http://localhost/")


def test_registrar_grants_head_teacher_to_a_new_account(app, browser):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "reg", "school_registrar", at=nodes["school_a"])
    class_url = "/110000/110105/2111000001/2024-03/"
    browser.login("reg")
    page = browser.get(class_url + "sharing")
    form = page.forms["grant-form"]
    options = [value for value, _sel, _text in form["role"].options]
    assert options == ["head_teacher", "teacher"]  # nothing that outranks the registrar
    form["login"], form["title"], form["role"] = "wang.teacher", "王老师", "head_teacher"
    page = form.submit("grant", status=200)
    one_time = re.search(r'id="one-time-password">([^<]+)<', page.text).group(1)
    assert "王老师" in page.text and "班主任" in page.text

    teacher = Browser(app)
    assert teacher.login("wang.teacher", password=one_time).location.endswith("/password")
    form = teacher.get("/password").forms["password-form"]
    form["current"] = one_time
    form["new_password"] = form["confirm"] = "Head-Teacher-Pass-3"
    landing = form.submit("save", status=303)
    assert landing.location.endswith(class_url)
    record_links = teacher.get(class_url)
    assert "李明" in record_links.text
    teacher.get("/110000/110105/2111000001/", status=403)

    # the registrar revokes it again; the teacher loses access at once
    page = browser.get(class_url + "sharing")
    revoke = [f for f in page.forms.values() if "revoke" in f.fields][0]
    revoke.submit("revoke", status=303)
    teacher.get(class_url, status=403)
    with open_site(app) as site:
        entries = site.audit.newest(lambda e: e.action == "roles")
        assert [dict(e.detail)["after"] for e in entries][:2] == ["", "head_teacher"]


def test_registrar_cannot_forge_a_grant_above_their_rank(app, browser):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "reg", "school_registrar", at=nodes["school_a"])
    browser.login("reg")
    page = browser.get("/110000/110105/2111000001/sharing")
    assert "grant-form" not in page.forms  # nothing a registrar may grant on the school itself
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    page = browser.post("/110000/110105/2111000001/sharing",
                        {"csrf_token": token, "login": "mallory", "title": "", "role": "principal",
                         "grant": "grant"}, status=200)
    assert "不能在此授予该角色" in page.text
    with open_site(app) as site:
        assert site.principals.by_login_name("mallory") is None


def test_admin_unlocks_resets_and_deactivates_accounts(app, browser):
    with open_site(app) as site:
        add_user(site, "secadmin", "security_admin")
        add_user(site, "locked.user")
        site.principals.by_login_name("locked.user").locked_until = time.time() + 1800
    browser.login("secadmin")
    page = browser.get("/users?q=locked")
    assert "已锁定" in page.text and "secadmin" not in page.text
    form = [f for f in page.forms.values() if "userid" in f.fields][0]
    form.submit("action", value="unlock", status=303)
    Browser(app).login("locked.user")
    page = browser.get("/users?q=locked")
    form = [f for f in page.forms.values() if "userid" in f.fields][0]
    page = form.submit("action", value="reset", status=200)
    one_time = re.search(r'id="one-time-password">([^<]+)<', page.text).group(1)
    assert Browser(app).login("locked.user", password=one_time).location.endswith("/password")
    form = [f for f in page.forms.values() if "userid" in f.fields][0]
    form.submit("action", value="deactivate", status=303)
    Browser(app).login("locked.user", password=one_time, status=200)
    with open_site(app) as site:
        actions = [e.action for e in site.audit.newest(lambda e: e.action.startswith("account-"))]
        assert actions == ["account-deactivate", "account-reset", "account-unlock"]


def test_separation_of_duties(app, browser):
    """The sysadmin cannot read the audit log; the auditor can read nothing else."""
    with open_site(app) as site:
        add_user(site, "sys", "sysadmin")
        add_user(site, "aud", "auditor")
    browser.login("sys")
    browser.get("/audit", status=403)
    browser.logout()
    browser.login("aud")
    assert browser.get("/audit").status_int == 200
    browser.get("/users", status=403)
    assert "全国" in browser.get("/").text and "添加" not in browser.get("/").text


def test_group_roles_reach_members(app):
    from xueji_site.kernel import security
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        member = add_user(site, "member")
        group = site.principals.add_group("朝阳实验小学教师")
        site.principals.add_member(group, member)
        security.set_local_roles(nodes["class_a"], group.userid, ["teacher"], user=group)
        assert security.permits(member, nodes["pupil_a"], "view")
        assert not security.permits(member, nodes["pupil_b"], "view")
        from xueji_site.kernel import catalog
        total, rows = catalog.children(site, member, nodes["class_a"])
        assert total == 1
