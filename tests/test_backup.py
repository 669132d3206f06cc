"""Backup and restore (E1): repozo full + incremental backups through xueji-backup,
a point-in-time restore checked by fstest/fsrefs, and the application started on
the restored file serving the earlier state. With xueji.backup_recipients every
file the backups put in DEST is age-encrypted: no pupil's name and no login of
the audit log can be read from them, and only the right private key restores."""
import configparser
import datetime
import gzip
import os
import re
import shutil
import stat
import subprocess
import time

import pyrage
import pytest
import transaction

from xueji_site.kernel import content, crypto
from xueji_site.scripts import backup, init
from .conftest import PASSWORD, Browser, add_user, base_settings, build_tree, open_site, student_values, valid_id
from .test_scripts import REPO, opened, write_ini
from xueji_site.kernel.root import database

PUPIL = "欧阳晓雯"          # a pupil's name: kept in clear in the database (only IDs and the like are sealed)
CLERK = "clerk.zhou"       # a login the audit log records
AGE_HEADER = b"age-encryption.org/v1\n"
# a line of repozo's .dat: the backup file, its start and end in Data.fs, the MD5 of those bytes
DAT_LINE = re.compile(r"^/\S+/\d{4}(-\d\d){5}\.(fs|deltafs)z? \d+ \d+ [0-9a-f]{32}$")


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



def _assert_has_login(data_fs, key, login):
    """The restored file ``data_fs``, opened read-only with the site key, has ``login``."""
    import ZODB
    import ZODB.FileStorage
    from xueji_site.kernel.root import ROOT_KEY
    crypto.install(crypto.load_key_file(key))
    db = ZODB.DB(ZODB.FileStorage.FileStorage(str(data_fs), read_only=True))
    try:
        assert db.open().root()[ROOT_KEY].principals.by_login_name(login) is not None
    finally:
        db.close()

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
        database(app.registry).close()
    _assert_has_login(latest, key, "after.change")


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
    uri = "postgres://xueji:s%40cret@db.internal:5433/registry?keep_history=false&sslmode=verify-full"
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    argv, env, target = backup.pg_dump_command(uri, "/srv/backup", now=when)
    assert argv == ["pg_dump", "-Fc", "-h", "db.internal", "-p", "5433", "-U", "xueji", "-d", "registry",
                    "-f", "/srv/backup/xueji-20260102T030405Z.dump"]
    assert target == argv[-1]
    assert env == {"PGPASSWORD": "s@cret", "PGSSLMODE": "verify-full"}
    argv, _env, target = backup.pg_dump_command(uri, "/srv/backup", now=when, sealed=True)
    assert "-f" not in argv and target == "/srv/backup/xueji-20260102T030405Z.dump.age"  # to stdout, then age

    ini = tmp_path / "pg.ini"
    ini.write_text("[app:main]\nuse = egg:xueji\nzodbconn.uri = postgres://u:p@h:5432/d\n"
                   "xueji.key_file = %s\n" % (tmp_path / "k"))
    # no xueji.secure_cookies: production's default, so clear dumps are refused
    assert backup.main([str(ini), "--dest", str(tmp_path), "--print"]) == 3
    assert "--allow-clear" in capsys.readouterr().err
    assert backup.main([str(ini), "--dest", str(tmp_path), "--print", "--allow-clear"]) == 0
    out = capsys.readouterr().out
    assert "pg_dump -Fc -h h -p 5432 -U u -d d -f " in out and "p@" not in out
    public = str(pyrage.x25519.Identity.generate().to_public())
    _set(ini, xueji__backup_recipients=public)
    assert backup.main([str(ini), "--dest", str(tmp_path), "--print"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"pg_dump -Fc -h h -p 5432 -U u -d d \| age -r %s -o \S+\.dump\.age$" % public, out, re.M)
    assert "p@" not in out
    # a dump is restored with pg_restore, not by this script
    assert backup.main([str(ini), "--dest", str(tmp_path), "--restore-to", str(tmp_path / "x.fs")]) == 2
    assert "pg_restore" in capsys.readouterr().err


# -- encrypted backups ------------------------------------------------------------------

def _set(ini, **values):
    """Change [app:main] settings of ``ini`` (``__`` in a name stands for ``.``)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ini, encoding="utf-8")
    for name, value in values.items():
        parser["app:main"][name.replace("__", ".")] = value
    with open(ini, "w", encoding="utf-8") as out:
        parser.write(out)


def _new_identity(ini, path, capsys):
    """An age key pair made by the script: the public key it prints."""
    assert backup.main([str(ini), "--new-identity", str(path)]) == 0
    return re.search(r"^xueji.backup_recipients = (age1\w+)$", capsys.readouterr().out, re.M).group(1)


def _populate(tmp_path):
    """A pupil and a login recorded by the audit log, through the application on the FileStorage."""
    from xueji_site import main
    var = tmp_path / "var"
    app = main({}, **base_settings(str(var / "xueji.key"), "file://%s?blobstorage_dir=%s" % (
        var / "Data.fs", var / "blobs")))
    try:
        with open_site(app) as site:
            tree = build_tree(site, app.registry)
            content.create("Student", tree["class_a"], student_values(valid_id("11010520170401002"), PUPIL, "2"),
                           app.registry)
            add_user(site, CLERK)
        Browser(app).login(CLERK)
        with open_site(app) as site:
            assert any(entry.login == CLERK for entry in site.audit.newest())
    finally:
        database(app.registry).close()


def _sealed_site(tmp_path, capsys):
    """An initialised, populated site whose ini encrypts backups: (ini, identity file)."""
    ini = write_ini(tmp_path)
    identity = tmp_path / "offline" / "backup-key.txt"
    identity.parent.mkdir()
    _set(ini, xueji__backup_recipients=_new_identity(ini, identity, capsys))
    assert init.main([str(ini), "--admin", "root"]) == 0
    _populate(tmp_path)
    capsys.readouterr()
    return ini, identity


def _all_bytes(directory):
    """{relative path: content} of every file under ``directory``."""
    found = {}
    for folder, _dirs, files in os.walk(directory):
        for name in files:
            with open(os.path.join(folder, name), "rb") as src:
                found[os.path.relpath(os.path.join(folder, name), directory)] = src.read()
    return found


def _readable(data):
    """What anyone holding the file reads: its bytes, and their gunzipped form (repozo -z)."""
    return data + (gzip.decompress(data) if data.startswith(b"\x1f\x8b") else b"")


def _assert_nothing_clear(dest, identity):
    """No name and no login in any file of DEST; every one is age-encrypted to ``identity``'s key
    (it decrypts, which a look-alike would not), but repozo's .dat lists (positions and MD5s)."""
    files = _all_bytes(dest)
    assert files
    key = backup.load_identities(str(identity))
    for path, data in files.items():
        assert PUPIL.encode() not in _readable(data) and CLERK.encode() not in _readable(data), path
        if path.endswith(".dat"):
            lines = data.decode().splitlines()
            assert lines and all(DAT_LINE.match(line) for line in lines), data
        elif path != backup.LOCK_NAME:
            assert path.endswith(".age") and data.startswith(AGE_HEADER), path
            pyrage.decrypt(data, key)


def _no_private_dirs(*directories):
    for directory in directories:
        assert not [n for n in os.listdir(directory) if n.startswith(".xueji-")], directory


def test_clear_backups_hold_names_and_logins(tmp_path, capsys, keep_keyring):
    """The control: without recipients the backup does hold what the encrypted one must hide.
    Then encryption is switched on: a new, encrypted chain starts, and the old clear files are
    counted in a warning; switched off again, a new clear chain starts."""
    ini = write_ini(tmp_path)
    assert init.main([str(ini), "--admin", "root"]) == 0
    _populate(tmp_path)
    dest = tmp_path / "backups"
    assert backup.main([str(ini), "--dest", str(dest)]) == 0
    everything = b"".join(_readable(data) for data in _all_bytes(dest).values())
    assert PUPIL.encode() in everything and CLERK.encode() in everything

    identity = tmp_path / "key.txt"
    _set(ini, xueji__backup_recipients=_new_identity(ini, identity, capsys))
    time.sleep(1.1)  # repozo names backups by the second
    assert backup.main([str(ini), "--dest", str(dest)]) == 0
    out, err = capsys.readouterr()
    assert "full backup" in out and "clear files from backups made before encryption" in err
    assert len([n for n in os.listdir(dest) if n.endswith(".fsz.age")]) == 1
    _set(ini, xueji__backup_recipients="")
    time.sleep(1.1)
    _add_account(tmp_path, "after.change")
    assert backup.main([str(ini), "--dest", str(dest)]) == 0
    assert "full backup" in capsys.readouterr().out
    assert len([n for n in os.listdir(dest) if n.endswith(".fs")]) == 2


def test_encrypted_backups_hold_nothing_clear_and_restore_with_the_identity(tmp_path, capsys, keep_keyring):
    ini, identity = _sealed_site(tmp_path, capsys)
    assert stat.S_IMODE(os.stat(identity).st_mode) == 0o600
    assert "BEGIN" not in identity.read_text() and "AGE-SECRET-KEY-1" in identity.read_text()
    dest = tmp_path / "backups"
    assert backup.main([str(ini), "--dest", str(dest)]) == 0
    assert "full backup" in capsys.readouterr().out
    time.sleep(1.1)  # repozo names backups by the second
    point = _utc_now().strftime("%Y-%m-%d-%H-%M-%S")
    time.sleep(1.1)
    _add_account(tmp_path, "after.change")
    assert backup.main([str(ini), "--dest", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "incremental backup" in out and "encrypted" in out
    names = os.listdir(dest)
    assert len([n for n in names if n.endswith(".fsz.age")]) == 1
    assert len([n for n in names if n.endswith(".deltafsz.age")]) == 1
    assert len([n for n in names if n.endswith(".index.age")]) == 2
    assert len([n for n in names if n.endswith(".dat")]) == 1
    assert (dest / "blobs" / ".layout.age").exists()
    _assert_nothing_clear(dest, identity)
    _no_private_dirs(tmp_path / "var")

    restored = tmp_path / "restored"
    restored.mkdir()
    earlier, latest = restored / "earlier.fs", restored / "latest.fs"
    assert backup.main([str(ini), "--dest", str(dest), "--restore-to", str(earlier), "--date", point,
                        "--identity", str(identity)]) == 0
    assert "checked, sound" in capsys.readouterr().out
    assert backup.main([str(ini), "--dest", str(dest), "--restore-to", str(latest),
                        "--identity", str(identity)]) == 0
    assert backup.check_file(str(earlier)) == [] and backup.check_file(str(latest)) == []
    assert sorted(os.listdir(restored)) == ["earlier.fs", "earlier.fs.blobs", "earlier.fs.index",
                                            "latest.fs", "latest.fs.blobs", "latest.fs.index"]
    assert (restored / "earlier.fs.blobs" / ".layout").read_text().strip() == "bushy"

    # the application started on the restored file serves the earlier state, the pupil included
    from xueji_site import main
    key = str(tmp_path / "var" / "xueji.key")
    app = main({}, **base_settings(key, "file://" + str(earlier)))
    try:
        Browser(app).login(CLERK)
        assert "登录名或密码错误" in Browser(app).login("after.change", status=200).text
        with open_site(app) as site:
            pupils = site["110000"]["110105"]["2111000001"]["2024-03"].values()
            assert PUPIL in [pupil.name for pupil in pupils]
    finally:
        database(app.registry).close()
    with opened(tmp_path) as site:  # and the newest one has the change
        assert site.principals.by_login_name("after.change") is not None
    _assert_has_login(latest, key, "after.change")


def test_restore_needs_the_right_identity_and_leaves_nothing_otherwise(tmp_path, capsys, keep_keyring):
    ini, identity = _sealed_site(tmp_path, capsys)
    dest = tmp_path / "backups"
    assert backup.main([str(ini), "--dest", str(dest)]) == 0
    other = tmp_path / "other-key.txt"
    _new_identity(ini, other, capsys)
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("# public key: age1qqqq\nAGE-SECRET-KEY-1NOTAKEY\n")
    restored = tmp_path / "restored"
    restored.mkdir()
    target = restored / "restored.fs"
    for extra, code, said in [(["--identity", str(other)], 3, "cannot decrypt"),
                              ([], 2, "--identity FILE"),
                              (["--identity", str(tmp_path / "missing.txt")], 3, "cannot read identity file"),
                              (["--identity", str(garbage)], 3, "no age private key")]:
        assert backup.main([str(ini), "--dest", str(dest), "--restore-to", str(target), *extra]) == code
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err
        assert os.listdir(restored) == []  # no partial restored file, no private dir left

    damaged = tmp_path / "damaged"
    shutil.copytree(dest, damaged)
    [full] = [n for n in os.listdir(damaged) if n.endswith(".fsz.age")]
    with open(damaged / full, "r+b") as sealed:
        sealed.truncate(os.path.getsize(damaged / full) - 100)
    assert backup.main([str(ini), "--dest", str(damaged), "--restore-to", str(target),
                        "--identity", str(identity)]) == 1
    assert "damaged or truncated" in capsys.readouterr().err
    assert os.listdir(restored) == []

    # the key is written once, readable by its owner only, and never overwritten
    before = other.read_bytes()
    assert backup.main([str(ini), "--new-identity", str(other)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err and other.read_bytes() == before
    assert backup.main([str(ini), "--dest", str(dest), "--restore-to", str(target),
                        "--identity", str(identity)]) == 0


def _dead_pid():
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_backup_failing_half_way_leaves_nothing_clear_and_the_next_one_continues(
        tmp_path, capsys, keep_keyring, monkeypatch):
    ini, identity = _sealed_site(tmp_path, capsys)
    dest = tmp_path / "backups"
    assert backup.main([str(ini), "--dest", str(dest)]) == 0
    before = _all_bytes(dest)
    time.sleep(1.1)
    _add_account(tmp_path, "after.change")

    from xueji_site.scripts import sealed_files
    real, sealed = sealed_files.seal_stream, []

    def disk_full_at_the_second_file(reader, out, recipients):
        sealed.append(out.name)
        if len(sealed) == 2:
            raise OSError(28, "No space left on device")
        real(reader, out, recipients)

    monkeypatch.setattr(sealed_files, "seal_stream", disk_full_at_the_second_file)
    assert backup.main([str(ini), "--dest", str(dest)]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert len(sealed) == 2 and sealed[0].endswith(".deltafsz.age.part")  # one was complete
    assert _all_bytes(dest) == before  # DEST as it was: the .dat does not list the lost increment
    _no_private_dirs(tmp_path / "var")

    # a backup killed with -9 leaves its work dir: the next run removes it
    stale = tmp_path / "var" / (".xueji-backup-%d-x" % _dead_pid())
    stale.mkdir()
    (stale / "2020-01-01-00-00-00.fsz").write_bytes(PUPIL.encode())
    monkeypatch.setattr(sealed_files, "seal_stream", real)
    assert backup.main([str(ini), "--dest", str(dest)]) == 0
    assert "incremental backup" in capsys.readouterr().out
    _no_private_dirs(tmp_path / "var")
    _assert_nothing_clear(dest, identity)
    latest = tmp_path / "latest.fs"
    assert backup.main([str(ini), "--dest", str(dest), "--restore-to", str(latest),
                        "--identity", str(identity)]) == 0
    crypto.install(crypto.load_key_file(str(tmp_path / "var" / "xueji.key")))
    import ZODB
    import ZODB.FileStorage
    from xueji_site.kernel.root import ROOT_KEY
    db = ZODB.DB(ZODB.FileStorage.FileStorage(str(latest), read_only=True))
    try:
        assert db.open().root()[ROOT_KEY].principals.by_login_name("after.change") is not None
    finally:
        db.close()


def test_production_ini_refuses_clear_backups_unless_allowed(tmp_path, capsys, keep_keyring):
    shipped = configparser.ConfigParser(interpolation=None)
    shipped.read(REPO / "production.ini", encoding="utf-8")
    assert shipped["app:main"]["xueji.backup_recipients"] == "FILL_AGE_PUBLIC_KEY"
    assert shipped["app:main"]["xueji.secure_cookies"] == "true"
    ini = write_ini(tmp_path)
    assert init.main([str(ini), "--admin", "root"]) == 0
    dest = tmp_path / "backups"
    _set(ini, xueji__secure_cookies="true")
    for recipients, said in [(None, "--allow-clear"), ("FILL_AGE_PUBLIC_KEY", "placeholder"),
                             ("age1notakey", "not an age public key")]:
        if recipients:
            _set(ini, xueji__backup_recipients=recipients)
        assert backup.main([str(ini), "--dest", str(dest)]) == 3
        assert said in capsys.readouterr().err
        assert not dest.exists()
    _set(ini, xueji__backup_recipients="")
    assert backup.main([str(ini), "--dest", str(dest), "--allow-clear"]) == 0
    assert "backing up in clear" in capsys.readouterr().err
    assert [n for n in os.listdir(dest) if n.endswith(".fs")]
    # development.ini stays clear: no recipients, cookies not secure
    development = configparser.ConfigParser(interpolation=None)
    development.read(REPO / "development.ini", encoding="utf-8")
    assert "xueji.backup_recipients" not in development["app:main"]
    assert development["app:main"]["xueji.secure_cookies"] == "false"
