"""Backup and restore (E1): repozo full + incremental backups through xueji-backup,
a point-in-time restore checked by fstest/fsrefs, and the application started on
the restored file serving the earlier state."""
import datetime
import os
import time

import pytest
import transaction

from xueji_site import crypto
from xueji_site.scripts import backup, init
from .conftest import PASSWORD, Browser, base_settings
from .test_scripts import opened, write_ini


@pytest.fixture
def keep_keyring():
    """Scripts run in-process install their ini's key; put the suite's back afterwards."""
    previous = crypto._current
    yield
    crypto.install(previous)


def _add_account(directory, login):
    with opened(directory, read_only=False) as site:
        site.principals.add_user(login, password=PASSWORD, must_change=False)
        transaction.commit()


def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def test_backup_change_restore_to_the_point_before(tmp_path, capsys, keep_keyring):
    ini = write_ini(tmp_path)
    dest = tmp_path / "backups"
    assert init.main([str(ini), "--admin", "root"]) == 0
    _add_account(tmp_path, "before.change")
    assert backup.main([str(ini), "--dest", str(dest), "--full"]) == 0
    time.sleep(1.1)  # repozo names backups by the second
    point = _utc_now().strftime("%Y-%m-%d-%H-%M-%S")
    time.sleep(1.1)
    _add_account(tmp_path, "after.change")
    assert backup.main([str(ini), "--dest", str(dest)]) == 0
    assert "incremental backup" in capsys.readouterr().out
    assert len([f for f in os.listdir(dest) if f.endswith(".fs")]) == 1
    assert len([f for f in os.listdir(dest) if f.endswith(".deltafs")]) == 1

    earlier = tmp_path / "restored-earlier.fs"
    assert backup.main([str(ini), "--dest", str(dest), "--restore-to", str(earlier), "--date", point]) == 0
    assert "checked, sound" in capsys.readouterr().out
    latest = tmp_path / "restored-latest.fs"
    assert backup.main([str(ini), "--dest", str(dest), "--restore-to", str(latest)]) == 0
    assert backup.check_file(str(earlier)) == [] and backup.check_file(str(latest)) == []

    # the application started on the restored file serves the earlier state
    from xueji_site import main
    key = str(tmp_path / "var" / "xueji.key")
    app = main({}, **base_settings(key, "file://" + str(earlier)))
    try:
        Browser(app).login("before.change")
        page = Browser(app).login("after.change", status=200)
        assert "登录名或密码错误" in page.text
    finally:
        app.registry._zodb_databases[""].close()
    crypto.install(crypto.load_key_file(key))
    import ZODB
    import ZODB.FileStorage
    from xueji_site.site import ROOT_KEY
    db = ZODB.DB(ZODB.FileStorage.FileStorage(str(latest), read_only=True))
    try:
        assert db.open().root()[ROOT_KEY].principals.by_login_name("after.change") is not None
    finally:
        db.close()


def test_a_damaged_restore_is_reported(tmp_path, keep_keyring):
    ini = write_ini(tmp_path)
    dest = tmp_path / "backups"
    assert init.main([str(ini), "--admin", "root"]) == 0
    assert backup.main([str(ini), "--dest", str(dest)]) == 0
    restored = tmp_path / "restored.fs"
    backup.restore(str(dest), str(restored))
    size = os.path.getsize(restored)
    with open(restored, "r+b") as damaged:
        damaged.truncate(size - 20)  # a torn last transaction
    problems = backup.check_file(str(restored))
    assert problems and problems[0].startswith("fstest")


def test_restore_never_overwrites(tmp_path, keep_keyring):
    ini = write_ini(tmp_path)
    assert init.main([str(ini), "--admin", "root"]) == 0
    existing = tmp_path / "var" / "Data.fs"
    assert backup.main([str(ini), "--dest", str(tmp_path / "b"), "--restore-to", str(existing)]) == 2


def test_relstorage_backup_is_pg_dump(tmp_path, capsys):
    argv, env = backup.pg_dump_command(
        "postgres://xueji:s%40cret@db.internal:5433/registry?keep_history=false&sslmode=verify-full",
        "/srv/backup", now=datetime.datetime(2026, 1, 2, 3, 4, 5))
    assert argv == ["pg_dump", "-Fc", "-h", "db.internal", "-p", "5433", "-U", "xueji", "-d", "registry",
                    "-f", "/srv/backup/xueji-20260102T030405Z.dump"]
    assert env == {"PGPASSWORD": "s@cret", "PGSSLMODE": "verify-full"}
    ini = tmp_path / "pg.ini"
    ini.write_text("[app:main]\nuse = egg:xueji\nzodbconn.uri = postgres://u:p@h:5432/d\n"
                   "xueji.key_file = %s\n" % (tmp_path / "k"))
    assert backup.main([str(ini), "--dest", str(tmp_path), "--print"]) == 0
    out = capsys.readouterr().out
    assert "pg_dump -Fc -h h -p 5432 -U u -d d" in out and "p@" not in out
