"""Alerts on abnormal volumes, computed from the sealed audit log (security.md G5)."""
import email.header

import pytest
from freezegun import freeze_time
from pyramid.threadlocal import get_current_registry

from xueji_site.kernel import alerts, audit

from .conftest import Browser, add_user, base_settings, build_tree, open_site
from .test_backup import keep_keyring  # noqa: F401  (a fixture)
from .test_mail import _body, _mail_settings, _wait_for, smtp  # noqa: F401  (smtp: a fixture)
from xueji_site.kernel.root import databases

SETTINGS = {"xueji.alert_detail_views_per_hour": "1000"}


def _views(log, userid, login, count, action="view-record", result=audit.OK, **detail):
    for _ in range(count):
        log.append(userid, login, "10.0.0.9", action, "/110000/110105/2111000001/2024-03/s1", result, detail)


def _seal_and_scan(site, settings=SETTINGS):
    audit.seal(site.audit)
    return alerts.scan(site, settings)


def test_a_thousand_detail_views_in_an_hour_raise_one_alert(app):
    with open_site(app) as site:
        with freeze_time("2026-11-28 08:00:00"):
            _views(site.audit, "u-1", "zhang", 999)
        assert _seal_and_scan(site) == []  # one short of the threshold: quiet
        with freeze_time("2026-11-28 08:50:00"):
            _views(site.audit, "u-1", "zhang", 1)
        raised = _seal_and_scan(site)
        assert [(a.rule, a.login, a.count, a.limit) for a in raised] == [("detail-views", "zhang", 1000, 1000)]
        with freeze_time("2026-11-28 08:55:00"):
            _views(site.audit, "u-1", "zhang", 50)
        assert _seal_and_scan(site) == []  # once per window, not once per entry
        kept = site.alert_book.newest()
        assert [a.login for a in kept] == ["zhang"]
        logged = site.audit.newest(lambda e: e.action == "security-alert")
        assert len(logged) == 1 and dict(logged[0].detail)["user"] == "zhang"


def test_the_window_slides_and_old_views_stop_counting(app):
    with open_site(app) as site:
        with freeze_time("2026-11-28 08:00:00"):
            _views(site.audit, "u-1", "zhang", 600)
        with freeze_time("2026-11-28 09:20:00"):  # 80 minutes later: the first 600 left the window
            _views(site.audit, "u-1", "zhang", 600)
        assert _seal_and_scan(site) == []
        with freeze_time("2026-11-28 09:40:00"):  # 1,000 within 09:00-10:00 but across the clock hour? no: sliding
            _views(site.audit, "u-1", "zhang", 400)
        raised = _seal_and_scan(site)
        assert [(a.rule, a.count) for a in raised] == [("detail-views", 1000)]


def test_each_user_is_counted_apart_and_scripts_are_not_counted(app):
    with open_site(app) as site:
        with freeze_time("2026-11-28 08:00:00"):
            _views(site.audit, "u-1", "zhang", 700)
            _views(site.audit, "u-2", "li", 700)
            _views(site.audit, "system", "xueji-import", 5000)
        assert _seal_and_scan(site) == []


def test_exported_rows_and_refusals_have_their_own_rules(app):
    settings = {"xueji.alert_export_rows_per_day": "500", "xueji.alert_denied_per_hour": "20"}
    with open_site(app) as site:
        with freeze_time("2026-11-28 08:00:00"):
            _views(site.audit, "u-1", "zhang", 2, action="export", rows="200")
            _views(site.audit, "u-2", "li", 19, action="view-record", result=audit.DENIED)
        assert _seal_and_scan(site, settings) == []
        with freeze_time("2026-11-28 08:30:00"):  # refusals count per hour
            _views(site.audit, "u-2", "li", 1, action="view-record", result=audit.DENIED)
        with freeze_time("2026-11-28 20:00:00"):  # exported rows per day
            _views(site.audit, "u-1", "zhang", 1, action="export", rows="100")
        raised = _seal_and_scan(site, settings)
        assert sorted((a.rule, a.login, a.count) for a in raised) == [("denied", "li", 20), ("exported-rows", "zhang", 500)]


def test_a_threshold_of_zero_turns_a_rule_off(app):
    with open_site(app) as site:
        with freeze_time("2026-11-28 08:00:00"):
            _views(site.audit, "u-1", "zhang", 5)
        assert _seal_and_scan(site, {"xueji.alert_detail_views_per_hour": "0"}) == []


def test_scanning_twice_counts_nothing_twice(app):
    with open_site(app) as site:
        with freeze_time("2026-11-28 08:00:00"):
            _views(site.audit, "u-1", "zhang", 600)
        _seal_and_scan(site)
        assert alerts.scan(site, SETTINGS) == []
        assert site.alert_book.scanned == site.audit.head[0]
        with freeze_time("2026-11-28 08:10:00"):
            _views(site.audit, "u-1", "zhang", 300)
        assert _seal_and_scan(site) == []  # 900: the first 600 were not counted twice


@pytest.fixture
def alert_app(key_file, smtp):
    """The site with a low alert threshold, mailing through a real SMTP server (aiosmtpd)."""
    from xueji_site import main
    settings = dict(base_settings(key_file), **{"xueji.alert_detail_views_per_hour": "5",
                                                "xueji.audit_seal_seconds": "0"}, **_mail_settings(smtp[1]))
    wsgi = main({}, **settings)
    yield wsgi
    for db in databases(wsgi.registry).values():
        db.close()


def _subject(message):
    return str(email.header.make_header(email.header.decode_header(message["Subject"])))


def test_reading_records_through_the_site_alerts_the_auditors(alert_app, smtp):
    """End to end: a registrar opens a record five times; the site's own sealer
    scans, keeps the alert, audits it and mails the security admin and auditor."""
    with open_site(alert_app) as site:
        tree = build_tree(site, get_current_registry())
        add_user(site, "registrar", "school_registrar", tree["school_a"])
        auditor = add_user(site, "auditor", "auditor")
        auditor.email = "auditor@example.org"
        guard = add_user(site, "guard", "security_admin")
        guard.email = "guard@example.org"
        record = "/110000/110105/2111000001/%s/%s/" % (tree["class_a"].__name__, tree["pupil_a"].__name__)
    browser = Browser(alert_app)
    browser.login("registrar")
    for _ in range(5):
        browser.get(record)
    inbox, _port = smtp
    sent = [(to, m) for to, m in _wait_for(inbox, 1) if "registrar" in _subject(m)]
    assert len(sent) == 1
    assert sorted(sent[0][0]) == ["auditor@example.org", "guard@example.org"]
    assert "5" in _body(sent[0][1])
    reader = Browser(alert_app)
    reader.login("auditor")
    page = reader.get("/alerts")
    assert "registrar" in page.text and "大量查看学籍" in page.text
    assert "no-store" in page.headers["Cache-Control"]
    browser.get("/alerts", status=403)


def test_the_cron_sealer_raises_alerts_too(tmp_path, capsys, keep_keyring):
    """``xueji-verify-audit --seal`` (the cron sealer on ZEO/RelStorage) counts as well."""
    import configparser

    import transaction

    from xueji_site.scripts import init, verify_audit
    from .test_scripts import opened, write_ini
    ini = write_ini(tmp_path)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ini, encoding="utf-8")
    parser["app:main"]["xueji.alert_detail_views_per_hour"] = "1000"
    with open(ini, "w", encoding="utf-8") as out:
        parser.write(out)
    assert init.main([str(ini), "--admin", "root"]) == 0
    with opened(tmp_path, read_only=False) as site:
        _views(site.audit, "u-7", "bulkreader", 1000)
        transaction.commit()
    assert verify_audit.main([str(ini), "--seal"]) == 0
    assert "volume alerts raised: 1" in capsys.readouterr().out
    with opened(tmp_path) as site:
        assert [(a.rule, a.login) for a in site.alert_book.newest()] == [("detail-views", "bulkreader")]
    assert verify_audit.main([str(ini), "--seal"]) == 0
    assert "volume alerts raised: 0" in capsys.readouterr().out
