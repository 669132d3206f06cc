"""Approvers hear of what waits for them: mail through a real local SMTP server,
sent only after the change commits; overdue reminders from xueji-remind."""
import configparser
import datetime
import email
import socket
import time

import pytest
from aiosmtpd.controller import Controller
from pyramid.threadlocal import get_current_registry

from xueji_site.kernel import crypto
from .conftest import Browser, add_user, base_settings, build_tree, open_site
from xueji_site.kernel.root import databases


class Inbox:
    """An aiosmtpd handler that keeps what arrives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def _mail_settings(port):
    return {"xueji.mailer": "smtp", "mail.host": "127.0.0.1", "mail.port": str(port),
            "mail.default_sender": "xueji@example.test"}


def _wait_for(inbox, count, seconds=5):
    deadline = time.time() + seconds
    while len(inbox.messages) < count and time.time() < deadline:
        time.sleep(0.05)
    return inbox.messages


def _body(message):
    return message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")


@pytest.fixture
def mail_app(key_file, smtp):
    from xueji_site import main
    inbox, port = smtp
    app = main({}, **dict(base_settings(key_file), **_mail_settings(port)))
    yield app, inbox
    for db in databases(app.registry).values():
        db.close()


def test_next_approvers_are_mailed_after_commit(mail_app):
    app, inbox = mail_app
    with open_site(app) as site:
        n = build_tree(site, get_current_registry())
        add_user(site, "reg_b", "school_registrar", at=n["school_b"])
        head = add_user(site, "head_b", "principal", at=n["school_b"])
        head.email = "head_b@example.test"
        county = add_user(site, "county_b", "bureau_admin", at=n["county_b"])
        county.email = "county_b@example.test"
    reg_b = Browser(app)
    reg_b.login("reg_b")
    form = reg_b.get("/110000/110108/2111000002/transfer-in").forms["transfer-form"]
    form["number"], form["name"], form["target"], form["reason"] = "110105201703120038", "李明", "2024-01", "搬家"
    form.submit("start", status=303)
    (recipients, message), = _wait_for(inbox, 1)
    assert recipients == ["head_b@example.test"]
    assert "转学" in str(email.header.make_header(email.header.decode_header(message["Subject"])))
    body = _body(message)
    assert "李*" in body and "李明" not in body and "110105201703120038" not in body  # no personal data by mail

    head_b = Browser(app)
    head_b.login("head_b")
    page = head_b.get("/110000/110108/2111000002/changes")
    form = [f for f in page.forms.values() if "docid" in f.fields][0]
    form.submit("action", value="approve", status=303)
    messages = _wait_for(inbox, 2)
    assert messages[1][0] == ["county_b@example.test"]

    # a request that fails (here: a rejection without a reason) commits nothing and mails nobody
    county_b = Browser(app)
    county_b.login("county_b")
    page = county_b.get("/110000/110108/changes")
    form = [f for f in page.forms.values() if "docid" in f.fields][0]
    form.submit("action", value="reject", status=303)
    time.sleep(0.5)
    assert len(inbox.messages) == 2


def test_remind_script_mails_overdue_approvers_once_a_day(tmp_path, smtp, key_file):
    from xueji_site import main
    from xueji_site.status import changes as workflow
    from xueji_site.scripts import remind
    inbox, port = smtp
    var = tmp_path / "var"
    var.mkdir()
    key = var / "xueji.key"
    key.write_bytes(open(key_file, "rb").read())
    settings = dict(base_settings(str(key), "file://%s/Data.fs" % var), **_mail_settings(port))
    app = main({}, **settings)
    try:
        with open_site(app) as site:
            n = build_tree(site, get_current_registry())
            head = add_user(site, "head_a", "principal", at=n["school_a"])
            head.email = "head_a@example.test"
            user = add_user(site, "reg_a", "school_registrar", at=n["school_a"])
            change = workflow.start("abroad", n["pupil_a"], user, "随父母出国")
            change.step_started -= 30 * 86400
            workflow.reindex(n["pupil_a"])
            # school B's pupil, still suspended months after her 休学 ended (status/resumption.py)
            add_user(site, "reg_b", "school_registrar", at=n["school_b"]).email = "reg_b@example.test"
            n["pupil_b"].status, n["pupil_b"].suspended_until = "suspended", datetime.date(2025, 7, 1)
            workflow.reindex(n["pupil_b"])
    finally:
        for db in databases(app.registry).values():
            db.close()
    # the request itself was announced when it was made, from the code, not a view (kernel/mail.py)
    (recipients, announced), = _wait_for(inbox, 1)
    assert recipients == ["head_a@example.test"] and "超过办理期限" not in _body(announced)
    inbox.messages.clear()
    ini = configparser.ConfigParser(interpolation=None)
    ini["app:main"] = dict(settings, use="egg:xueji")
    path = tmp_path / "remind.ini"
    with open(path, "w") as out:
        ini.write(out)
    assert remind.main([str(path), "--dry-run"]) == 0
    time.sleep(0.3)
    assert inbox.messages == []
    assert remind.main([str(path)]) == 0
    sent = {tuple(to): message for to, message in _wait_for(inbox, 2)}
    assert set(sent) == {("head_a@example.test",), ("reg_b@example.test",)}
    assert "超过办理期限" in _body(sent[("head_a@example.test",)])
    assert "2025-07-01" in _body(sent[("reg_b@example.test",)]) and "休学" in _body(sent[("reg_b@example.test",)])
    assert remind.main([str(path)]) == 0  # the same day again: no second mail
    time.sleep(0.3)
    assert len(inbox.messages) == 2
    crypto.install(crypto.load_key_file(key_file))


def test_the_none_mailer_drops_messages_and_keeps_no_outbox(key_file):
    """Issue 20 (7): ``xueji.mailer = none`` (the default) loads no test mailer."""
    from xueji_site import main
    from pyramid_mailer import get_mailer
    from pyramid_mailer.mailer import DummyMailer
    settings = {k: v for k, v in base_settings(key_file).items() if k != "xueji.mailer"}
    app = main({}, **settings)
    try:
        mailer = get_mailer(app.registry)
        assert not isinstance(mailer, DummyMailer) and not hasattr(mailer, "outbox")
        assert mailer.bind(transaction_manager=None) is mailer and mailer.send(object()) is None
    finally:
        for db in databases(app.registry).values():
            db.close()
