"""Accounts' e-mail and phone (issue 12, 7): set on /users, on the user's own account page
(a new e-mail only after the link mailed to it is followed) and by xueji-adduser; sealed at
rest, audited; and mail reaching approvers in development under var/mail."""
import email
import email.header
import pickle
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from pyramid.threadlocal import get_current_registry
from pyramid_mailer.interfaces import IMailer

from xueji_site.kernel import contacts
from .conftest import Browser, add_user, base_settings, build_tree, open_site, setting
from .test_scripts import demo_site, opened, script, write_ini  # noqa: F401  (demo_site: a fixture)


def _outbox(app):
    return app.registry.getUtility(IMailer).outbox


def _token(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _client(app, login):
    client = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "zh-CN"})
    client.login(login)
    return client


def _contact_form(client, login):
    page = client.get("/users?q=" + login)
    link = re.search(r'href="([^"]*user-contact\?userid=[^"]+)"', page.text).group(1)
    return client.get(link.replace("&amp;", "&")).forms["user-contact-form"]


@pytest.mark.parametrize("value, expected", [
    ("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"), ("0086 19912345678", "19912345678"),
    (" 138 0013 8000 ", "13800138000")])
def test_phone_numbers_are_normalised_to_eleven_digits(value, expected):
    assert contacts.normalise_phone(value) == expected and contacts.phone_problem(expected) is None


@pytest.mark.parametrize("value", ["12800138000", "1380013800", "138001380001", "010-62751234", "abc",
                                   "1380013800x"])
def test_other_numbers_are_not_mainland_mobiles(value):
    assert contacts.phone_problem(contacts.normalise_phone(value)) is not None


@pytest.mark.parametrize("value", ["a@b", "no-at.example.com", "a b@example.com", "x@example.com\r\nBcc: y@z.cn",
                                   "<a@example.com>", "a@" + "x" * 250 + ".cn"])
def test_bad_addresses_are_refused(value):
    assert contacts.email_problem(contacts.normalise_email(value)) is not None
    assert contacts.email_problem("Li.Ming+xj@Example.EDU.cn") is None
    assert contacts.normalise_email(" Li@Example.CN ") == "Li@example.cn"


def test_contact_details_are_sealed_at_rest_and_old_clear_values_still_read(app):
    with open_site(app) as site:
        user = add_user(site, "sealed")
        user.email, user.phone = "sealed.user@example.test", "13912345678"
        state = pickle.dumps(user.__getstate__())
        assert b"sealed.user" not in state and b"13912345678" not in state
        assert user.email == "sealed.user@example.test" and user.phone == "13912345678"
        legacy = add_user(site, "legacy")
        del legacy._sealed_user_email  # as a user pickled before e-mails were sealed
        legacy.__dict__["email"] = "old.clear@example.test"
        assert legacy.email == "old.clear@example.test"
        legacy.email = "new.sealed@example.test"
        assert "email" not in legacy.__dict__ and legacy.email == "new.sealed@example.test"
        assert b"new.sealed" not in pickle.dumps(legacy.__getstate__())


def test_admin_sets_email_and_phone_on_users_and_it_is_audited(app):
    with open_site(app) as site:
        add_user(site, "secadmin", "security_admin")
        add_user(site, "clerk")
    admin = _client(app, "secadmin")
    form = _contact_form(admin, "clerk")
    form["email"], form["phone"] = "clerk@example.test", "138 0013 8000"
    form.submit("save", status=303)
    listing = admin.get("/users?q=clerk")
    assert "c***@example.test" in listing.text and "clerk@example.test" not in listing.text
    with open_site(app) as site:
        clerk = site.principals.by_login_name("clerk")
        assert clerk.email == "clerk@example.test" and clerk.phone == "13800138000"
        entry, = site.audit.newest(lambda e: e.action == "account-contact")
        detail = dict(entry.detail)
        assert entry.login == "secadmin" and detail["target"] == "clerk"
        assert detail["fields"] == "email, phone" and "clerk@" not in detail["email"]
        assert detail["phone"] == "138****8000"


def test_admin_form_refuses_bad_values_in_the_users_language_and_changes_nothing(app):
    with open_site(app) as site:
        add_user(site, "secadmin", "security_admin")
        add_user(site, "clerk")
    admin = _client(app, "secadmin")
    form = _contact_form(admin, "clerk")
    form["email"], form["phone"] = "not-an-address", "12345"
    page = form.submit("save", status=200)
    assert "电子信箱格式不正确" in page.text and "请填写11位中国大陆手机号码" in page.text
    english = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "en"})
    english.login("secadmin")
    form = _contact_form(english, "clerk")
    form["phone"] = "12345"
    page = form.submit("save", status=200)
    assert "mobile" in page.text.lower() and "手机号码" not in page.text.split("<main", 1)[1]
    with open_site(app) as site:
        clerk = site.principals.by_login_name("clerk")
        assert clerk.email == "" and clerk.phone == ""
        assert not site.audit.newest(lambda e: e.action == "account-contact")


def test_admin_form_needs_csrf_and_the_right_to_manage_that_account(app):
    with open_site(app) as site:
        add_user(site, "sys", "sysadmin")
        add_user(site, "aud", "auditor")
        aud = site.principals.by_login_name("aud")
        userid = aud.userid
    sysadmin = _client(app, "sys")
    sysadmin.post("/user-contact?userid=" + userid, {"email": "evil@example.test", "phone": ""}, status=400)
    page = sysadmin.get("/user-contact?userid=" + userid, status=303).follow()
    assert "只有安全管理员可以管理" in page.text  # the sysadmin may not redirect the auditor's alerts
    _client(app, "aud").get("/user-contact?userid=" + userid, status=403)
    with open_site(app) as site:
        own = site.principals.by_login_name("sys").userid
    page = sysadmin.get("/user-contact?userid=" + own, status=303)
    assert page.location.endswith("/account")  # one's own address goes through the confirmation
    with open_site(app) as site:
        assert site.principals.by_login_name("aud").email == ""
        assert site.audit.newest(lambda e: e.action == "account-contact" and e.result == "denied")


def _own_form(client):
    return client.get("/account").forms["account-form"]


def _link(message):
    found = re.search(r"(http://localhost/email-confirm\?token=[A-Za-z0-9_\-%]+)", message.body)
    return found.group(1)


def test_user_changes_own_phone_at_once_and_email_only_after_confirming(app):
    with open_site(app) as site:
        user = add_user(site, "mei")
        user.email = "mei.old@example.test"
    mei = _client(app, "mei")
    form = _own_form(mei)
    form["phone"], form["email"] = "13912345678", "mei.new@example.test"
    page = form.submit("save", status=303).follow()
    assert "手机号码已保存" in page.text and "确认邮件已发送至 mei.new@example.test" in page.text
    assert "等待确认" in page.text
    with open_site(app) as site:
        user = site.principals.by_login_name("mei")
        assert user.phone == "13912345678"
        assert user.email == "mei.old@example.test"  # not before the link is followed
        token_hash = user.email_token_hash
    message, = _outbox(app)
    assert message.recipients == ["mei.new@example.test"] and "确认" in message.subject
    link = _link(message)
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert token not in token_hash and len(token) >= 40  # stored only as a keyed hash

    confirm = mei.get(link)  # a GET changes nothing (mail scanners follow links)
    assert "mei.new@example.test" in confirm.text
    with open_site(app) as site:
        assert site.principals.by_login_name("mei").email == "mei.old@example.test"
    done = confirm.forms["email-confirm-form"].submit("confirm", status=303).follow()
    assert "电子信箱已确认并生效" in done.text
    with open_site(app) as site:
        user = site.principals.by_login_name("mei")
        assert user.email == "mei.new@example.test" and user.email_token_hash is None
        actions = [e.action for e in site.audit.newest(lambda e: e.action.startswith("account-"))]
        assert actions == ["account-email-confirmed", "account-email-requested", "account-contact"]
    notice = _outbox(app)[-1]
    assert notice.recipients == ["mei.old@example.test"] and "已更改" in notice.subject

    # the link is single-use
    again = mei.get(link, status=400)
    assert "无效或已使用" in again.text
    page = mei.get("/account")
    replay = mei.post("/email-confirm", {"csrf_token": _token(page), "token": token}, status=400)
    assert "无效或已使用" in replay.text
    with open_site(app) as site:
        assert site.principals.by_login_name("mei").email == "mei.new@example.test"


def test_an_expired_link_changes_nothing(app):
    with open_site(app) as site:
        add_user(site, "kai").email = "kai@example.test"
    kai = _client(app, "kai")
    form = _own_form(kai)
    form["email"] = "kai.new@example.test"
    form.submit("save", status=303)
    link = _link(_outbox(app)[-1])
    with open_site(app) as site:
        site.principals.by_login_name("kai").email_token_expires = time.time() - 1  # a day passes
    page = kai.get(link)
    refused = page.forms["email-confirm-form"].submit("confirm", status=400)
    assert "已过期" in refused.text
    with open_site(app) as site:
        user = site.principals.by_login_name("kai")
        assert user.email == "kai@example.test" and user.email_token_hash is None
        failed, = site.audit.newest(lambda e: e.action == "account-email-confirmed")
        assert failed.result == "failed" and dict(failed.detail)["reason"] == "expired"


def test_another_users_session_or_a_forged_token_confirms_nothing(app):
    with open_site(app) as site:
        add_user(site, "lan")
        add_user(site, "mallory")
    lan = _client(app, "lan")
    form = _own_form(lan)
    form["email"] = "lan@example.test"
    form.submit("save", status=303)
    link = _link(_outbox(app)[-1])
    mallory = _client(app, "mallory")
    mallory.get(link, status=400)  # mallory has nothing pending
    page = mallory.get("/account")
    token = parse_qs(urlsplit(link).query)["token"][0]
    mallory.post("/email-confirm", {"csrf_token": _token(page), "token": token}, status=400)
    page = lan.get("/account")
    lan.post("/email-confirm", {"csrf_token": _token(page), "token": token[:-2] + "xx"}, status=400)
    lan.post("/email-confirm", {"token": token}, status=400)  # no CSRF token: refused
    with open_site(app) as site:
        assert site.principals.by_login_name("lan").email == ""
        assert site.principals.by_login_name("mallory").email == ""
    # a new request replaces the old link
    form = _own_form(lan)
    form["email"] = "lan.second@example.test"
    form.submit("save", status=303)
    page = lan.get("/account")
    lan.post("/email-confirm", {"csrf_token": _token(page), "token": token}, status=400)
    newest = _link(_outbox(app)[-1])
    lan.get(newest).forms["email-confirm-form"].submit("confirm", status=303)
    with open_site(app) as site:
        assert site.principals.by_login_name("lan").email == "lan.second@example.test"


def test_own_change_needs_a_recent_password(app):
    with open_site(app) as site:
        add_user(site, "ning")
    ning = _client(app, "ning")
    form = _own_form(ning)
    time.sleep(0.01)
    with setting(app, "xueji.reauth_seconds", "0"):
        form["phone"] = "13700001111"
        response = form.submit("save", status=303)
        assert "/reauth" in response.location
    with open_site(app) as site:
        assert site.principals.by_login_name("ning").phone == ""


def test_own_form_refuses_bad_values_and_removing_the_address_needs_no_link(app):
    with open_site(app) as site:
        add_user(site, "ou").email = "ou@example.test"
    ou = _client(app, "ou")
    form = _own_form(ou)
    form["phone"], form["email"] = "0571-8888888", "ou@@example"
    page = form.submit("save", status=200)
    assert "请填写11位中国大陆手机号码" in page.text and "电子信箱格式不正确" in page.text
    form = _own_form(ou)
    form["email"] = ""
    page = form.submit("save", status=303).follow()
    assert "电子信箱已删除" in page.text
    with open_site(app) as site:
        assert site.principals.by_login_name("ou").email == ""


def test_account_page_is_linked_and_needs_a_login(app, browser):
    browser.get("/account", status=303)
    with open_site(app) as site:
        add_user(site, "pei")
    pei = _client(app, "pei")
    assert 'id="account-link"' in pei.get("/password").text


# -- xueji-adduser --email --phone ------------------------------------------------------

def test_adduser_sets_email_and_phone_and_refuses_bad_ones(tmp_path):
    ini = write_ini(tmp_path)
    assert script("xueji-init", ini).returncode == 0
    done = script("xueji-adduser", ini, "wu.head", "--role", "principal", "--at", "/",
                  "--email", "Wu.Head@Example.TEST", "--phone", "+86 139 1234 5678")
    assert done.returncode == 2 and "cannot be granted" in done.stderr  # a principal is for schools
    done = script("xueji-adduser", ini, "wu.sec", "--role", "security_admin", "--at", "/",
                  "--email", "Wu.Sec@Example.TEST", "--phone", "+86 139 1234 5678")
    assert done.returncode == 0, done.stderr
    assert "email: set" in done.stdout and "phone: set" in done.stdout
    for args, message in ((("--email", "wu@"), "invalid e-mail address"),
                          (("--phone", "1234567"), "invalid mobile number")):
        refused = script("xueji-adduser", ini, "wu.sec", "--role", "security_admin", "--at", "/", *args)
        assert refused.returncode == 2 and message in refused.stderr and "Traceback" not in refused.stderr
    again = script("xueji-adduser", ini, "wu.sec", "--role", "security_admin", "--at", "/",
                   "--phone", "13700001111")
    assert again.returncode == 0 and "phone: set" in again.stdout and "email" not in again.stdout
    with opened(tmp_path) as site:
        user = site.principals.by_login_name("wu.sec")
        assert user.email == "Wu.Sec@example.test" and user.phone == "13700001111"
        entries = site.audit.newest(lambda e: e.action == "account-contact")
        assert [dict(e.detail)["fields"] for e in entries] == ["phone", "email, phone"]
        assert all(e.userid == "system" for e in entries)


def test_demo_staff_accounts_have_addresses_that_never_leave(demo_site):  # noqa: F811
    directory, _ini, _done = demo_site
    with opened(directory) as site:
        assert site.principals.by_login_name("demo.principal").email == "demo.principal@demo.invalid"
        assert site.principals.by_login_name("demo.county").email == "demo.county@demo.invalid"
        assert site.principals.by_login_name("guardian00001") is None or \
            site.principals.by_login_name("guardian00001").email == ""


# -- mail in development -----------------------------------------------------------------

@pytest.fixture
def dev_mail_app(tmp_path, key_file):
    from xueji_site import main
    settings = dict(base_settings(key_file), **{"xueji.mailer": "debug", "mail.default_sender": "xueji@localhost"})
    app = main({"here": str(tmp_path)}, **settings)  # no mail.debug: var/mail beside the ini file
    yield app, tmp_path / "var" / "mail"
    for db in app.registry._zodb_databases.values():
        db.close()


def test_approvers_get_mail_under_var_mail_in_development(dev_mail_app):
    app, maildir = dev_mail_app
    with open_site(app) as site:
        n = build_tree(site, get_current_registry())
        add_user(site, "reg_b", "school_registrar", at=n["school_b"])
        add_user(site, "head_b", "principal", at=n["school_b"])
        add_user(site, "secadmin", "security_admin")
    admin = _client(app, "secadmin")
    form = _contact_form(admin, "head_b")
    form["email"] = "head_b@example.test"
    form.submit("save", status=303)
    assert not maildir.exists() or not list(maildir.glob("*.eml"))

    reg_b = _client(app, "reg_b")
    form = reg_b.get("/110000/110108/2111000002/transfer-in").forms["transfer-form"]
    form["number"], form["name"], form["target"], form["reason"] = "110105201703120038", "李明", "2024-01", "搬家"
    form.submit("start", status=303)
    files = sorted(maildir.glob("*.eml"))
    assert len(files) == 1 and files[0].stat().st_mode & 0o777 == 0o600
    message = email.message_from_bytes(files[0].read_bytes())
    assert message["To"] == "head_b@example.test"
    subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
    assert "转学" in subject


def test_development_mail_is_written_only_when_the_transaction_commits(tmp_path):
    import transaction
    from xueji_site.kernel.devmail import FileMailer
    from xueji_site.kernel.mail import Message
    tm = transaction.TransactionManager(explicit=True)
    mailer = FileMailer(str(tmp_path / "mail")).bind(transaction_manager=tm)
    tm.begin()
    mailer.send(Message(subject="a", recipients=["x@example.test"], body="rolled back"))
    tm.abort()
    assert not (tmp_path / "mail").exists()
    tm.begin()
    mailer.send(Message(subject="b", recipients=["x@example.test"], body="kept"))
    assert not (tmp_path / "mail").exists()  # not before the commit
    tm.commit()
    written, = (tmp_path / "mail").glob("*.eml")
    assert b"kept" in written.read_bytes() and not list((tmp_path / "mail").glob(".*part"))
