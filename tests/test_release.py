"""Released data is really gone from storage (security.md F1): delete a pupil,
remove an account and revoke credentials through the application's own
functions, run ``xueji-pack``, then read the storage's raw bytes — none of the
pupil's name, sealed numbers and their keyed hashes, the bcrypt hash, the TOTP
secrets or the token hashes is left, and no pre-pack copy (Data.fs.old) holds
them. As a control each value is found in the raw bytes before the pack.
Imports leave no temporary file behind.

The scenario helpers are shared with tests/storage/test_release_storage.py
(RelStorage)."""
import configparser
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from BTrees.OOBTree import OOBTree
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path

from xueji_site.kernel import apitokens, catalog, content, crypto, security
from xueji_site.record import duplicates
from xueji_site.graduates import verification

from .conftest import Browser, add_user, base_settings, build_tree, open_site, resolve, student_values, valid_id
from .import_helpers import csv_bytes, pupils
from xueji_site.kernel.root import databases

NAME = "慕容雪莲"
ID_NUMBER = valid_id("11010520170503004")      # 2017-05-03, female
PHONE = "13987654321"
LEAVER_PASSWORD = "Leaving-Soon-2024x"
LEAVER_TOTP = "KRUGS4ZANFZSAYLTMVRXEZLUEBQWE3DD"
KEEPER_TOTP = "ONSWG4TFORZWK3DJMFWGY2LTORSWY3DB"
CERTIFICATE = "211100000120241000018"  # a code for it was issued 31 days ago, for 30 days


# -- the scenario ---------------------------------------------------------------------

def populate(app):
    """A pupil with a guardian, an account that will leave and one that stays;
    returns the pupil's path and every released value as it is stored (bytes)."""
    with open_site(app) as site:
        registry = get_current_registry()
        nodes = build_tree(site, registry)
        pupil = content.create("Student", nodes["class_a"], dict(student_values(ID_NUMBER, NAME, "2"), phone=PHONE),
                               registry)
        add_user(site, "admin", "sysadmin")
        add_user(site, "guardian1", "guardian", at=pupil)  # keeps the pupil in its places list
        for login, secret in (("leaver", LEAVER_TOTP), ("keeper", KEEPER_TOTP)):
            user = add_user(site, login, "school_registrar", at=nodes["school_a"], password=LEAVER_PASSWORD)
            user.set_second_factor(secret, 0)
            apitokens.create(user, "sync")
        code, _until = verification.issue_code(site, CERTIFICATE, 30, now=time.time() - 31 * 86400)
        path = resource_path(pupil)
    with open_site(app) as site:
        pupil = resolve(site, path)
        leaver, keeper = (site.principals.by_login_name(login) for login in ("leaver", "keeper"))
        released = {
            "name": NAME.encode(),
            "ID ciphertext": pupil._sealed_id_number,
            "学籍号 ciphertext": pupil._sealed_registry_no,
            "phone ciphertext": pupil._sealed_phone,
            "ID keyed hash": pupil.id_hash.encode(),
            "学籍号 keyed hash": pupil.registry_hash.encode(),
            "person key": duplicates.person_key(pupil.name, pupil.birth_date, pupil.guardian_name).encode(),
            "bcrypt hash": leaver.password_hash.encode(),
            "TOTP ciphertext (account removed)": leaver._sealed_totp_secret,
            "token hash (account removed)": _token_hash(leaver),
            "TOTP ciphertext (reset)": keeper._sealed_totp_secret,
            "token hash (revoked)": _token_hash(keeper),
            "expired verification code": crypto.keyring().blind("verification-code", code).encode(),
        }
    assert all(isinstance(v, bytes) and len(v) >= 8 for v in released.values()), released
    return path, released


def _token_hash(user):
    [entry] = apitokens.tokens_of(user).values()
    return entry["hash"].encode()


# What a history-free storage still holds until xueji-pack: the values in objects
# that became unreachable, and the expired code nothing removed before it. (The
# others were overwritten in place there when they were released.)
HELD_UNTIL_PACK = ("name", "ID ciphertext", "学籍号 ciphertext", "phone ciphertext", "ID keyed hash",
                   "学籍号 keyed hash", "bcrypt hash", "TOTP ciphertext (account removed)",
                   "token hash (account removed)", "expired verification code")


def release(app, pupil_path):
    """Delete the pupil through the delete page; remove one account and reset and
    revoke the other's credentials with the functions the account pages use."""
    browser = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "zh-CN"})
    browser.login("admin")
    page = browser.get(pupil_path + "/delete")
    form = page.forms["delete-form"]
    form["reason"] = "误录"
    form.submit("delete", status=303)
    with open_site(app) as site:
        assert NAME not in [p.name for p in resolve(site, "/110000/110105/2111000001/2024-03").values()]
        keeper = site.principals.by_login_name("keeper")
        [token_id] = apitokens.tokens_of(keeper)
        assert apitokens.revoke(keeper, token_id)       # views/tokens.py
        keeper.clear_second_factor()                     # views/accounts.py: 重置两步验证
        # The application has no account deletion (accounts are deactivated and keep
        # their hash); this removes one the way such a function would have to.
        leaver = site.principals.by_login_name("leaver")
        school = resolve(site, "/110000/110105/2111000001")
        security.set_local_roles(school, leaver.userid, (), registry=get_current_registry(), user=leaver)
        del site.principals.by_login["leaver"]
        del site.principals.by_id[leaver.userid]


def write_ini(directory, key_file, uri, **extra):
    ini = configparser.ConfigParser(interpolation=None)
    ini["app:main"] = dict(base_settings(key_file, uri=uri), use="egg:xueji", **extra)
    path = Path(directory) / "test.ini"
    with open(path, "w", encoding="utf-8") as out:
        ini.write(out)
    return path


def run_pack(ini, *extra):
    exe = Path(sys.executable).parent / "xueji-pack"
    return subprocess.run([str(exe), str(ini), *extra], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONWARNINGS="ignore"))


def found_in(raw, released, names=None):
    """The names of the released values that occur in ``raw``."""
    return sorted(name for name, value in released.items() if (names is None or name in names) and value in raw)


# -- FileStorage ------------------------------------------------------------------------

def _raw_files(directory):
    """Every byte of every file beside the database (Data.fs, .index, .old, …)."""
    return b"".join(p.read_bytes() for p in sorted(Path(directory).rglob("*")) if p.is_file())


def _plain_pack(data_fs):
    """What a pack without xueji-pack does: ZODB's own, keeping Data.fs.old."""
    import ZODB
    from ZODB.FileStorage import FileStorage
    db = ZODB.DB(FileStorage(str(data_fs)))
    try:
        db.pack(days=0)
    finally:
        db.close()


def test_deleted_pupil_and_released_credentials_are_gone_after_xueji_pack(tmp_path, key_file):
    from xueji_site import main
    directory = tmp_path / "db"
    uploads = directory / "uploads"
    uploads.mkdir(parents=True)
    uri = "file://%s?blobstorage_dir=%s" % (directory / "Data.fs", directory / "blobs")  # as development.ini
    app = main({}, **base_settings(key_file, uri=uri))
    try:
        pupil_path, released = populate(app)
        release(app, pupil_path)
    finally:
        for db in databases(app.registry).values():
            db.close()
    ini = write_ini(tmp_path, key_file, uri, **{"xueji.upload_dir": str(uploads)})
    abandoned, fresh = uploads / "abandoned.data", uploads / "fresh.data"
    abandoned.write_bytes(b"pupils"), fresh.write_bytes(b"pupils")
    os.utime(abandoned, (time.time() - 7200,) * 2)

    # control: everything is still there, in the revisions before the release
    assert found_in(_raw_files(directory), released) == sorted(released)
    # ZODB's own pack leaves a Data.fs.old holding everything, and expired
    # verification codes stay in the live state until xueji-pack drops them
    _plain_pack(directory / "Data.fs")
    assert (directory / "Data.fs.old").exists()
    assert found_in((directory / "Data.fs.old").read_bytes(), released) == sorted(released)
    assert found_in((directory / "Data.fs").read_bytes(), released) == ["expired verification code"]

    packed = run_pack(ini)
    assert packed.returncode == 0, packed.stdout + packed.stderr
    # the delete itself took the pupil out of the guardian's places (security.forget_removed_places)
    assert "released: 0 detached places, 0 stale duplicate-person keys, 1 expired verification codes" \
        in packed.stdout
    assert "removed 1 abandoned uploads" in packed.stdout
    assert not (directory / "Data.fs.old").exists()
    assert found_in(_raw_files(directory), released) == []
    assert not abandoned.exists() and fresh.exists()

    app = main({}, **base_settings(key_file, uri=uri))  # the site is whole after the pack
    try:
        with open_site(app) as site:
            assert [p.name for p in resolve(site, "/110000/110105/2111000001/2024-03").values()] == ["李明"]
            blind = crypto.keyring().blind("id", "110105201703120038")
            assert len(site.catalog["hashes"].applyEq(blind)) == 1
            assert site.principals.by_login_name("keeper").check_password(LEAVER_PASSWORD)
            assert site.principals.by_login_name("leaver") is None
            assert site.principals.by_login_name("guardian1").places == []
    finally:
        for db in databases(app.registry).values():
            db.close()


# -- what the pack relies on ----------------------------------------------------------------

def test_btree_interior_keys_follow_deletions():
    """The indexes keep a deleted value nowhere in their live state: BTrees
    updates an interior node's separator key when the key it copies is
    deleted (so a deleted name token or ID hash is not left there)."""
    tree = OOBTree()
    for i in range(20000):
        tree["k%05d" % i] = i
    separators = _separators(tree)
    assert len(separators) > 100
    for key in separators[::2]:
        del tree[key]
    assert set(_separators(tree)) <= set(tree.keys())


def _separators(tree):
    state = tree.__getstate__()
    if state is None or len(state) == 1:  # empty, or one bucket kept inline
        return []
    found = []
    for position, item in enumerate(state[0]):
        if position % 2:
            found.append(item)
        elif isinstance(item, OOBTree):
            found += _separators(item)
    return found


def test_a_deleted_node_leaves_the_places_of_its_role_holders(app):
    """Deleting a pupil takes it out of its guardian's places at once; places left
    by data from before that (removed without events here) xueji-pack drops."""
    from xueji_site.scripts import pack
    with open_site(app) as site:
        registry = get_current_registry()
        nodes = build_tree(site, registry)
        guardian_a = add_user(site, "guardian_a", "guardian", nodes["pupil_a"])
        guardian_b = add_user(site, "guardian_b", "guardian", nodes["pupil_b"])
        teacher = add_user(site, "teacher_b", "head_teacher", nodes["class_b"])
        nodes["class_a"].remove(nodes["pupil_a"].__name__, registry=registry)
        assert list(guardian_a.places) == []
        nodes["school_b"].remove(nodes["class_b"].__name__, registry=registry)  # a class and its pupil
        assert list(guardian_b.places) == [] and list(teacher.places) == []
        legacy = add_user(site, "guardian_c", "guardian", nodes["pupil_b"])  # pupil_b: already detached
        assert pack.drop_detached_places(site) == 1 and list(legacy.places) == []


def test_stale_duplicate_person_keys_are_pruned(app):
    with open_site(app) as site:
        registry = get_current_registry()
        nodes = build_tree(site, registry)
        # another record with pupil_b's name and birth date: the same person key
        content.create("Student", nodes["class_a"], student_values(valid_id("11010520170506002"), "王芳", "2"),
                       registry)
        key = duplicates.disc_person(nodes["pupil_b"], None)
        assert list(site.duplicate_keys) == [key]
        assert duplicates.prune_released(site) == 0     # still two records share it
        nodes["class_b"].remove(nodes["pupil_b"].__name__, registry=registry)
        assert duplicates.prune_released(site) == 1
        assert list(site.duplicate_keys) == []


# -- temporary files ------------------------------------------------------------------------

@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """A temp dir of our own, so that anything left in it is ours."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def _left_behind(directory, rows):
    """Files in the temp dir other than Chameleon's compiled templates (code, made
    at a template's first rendering), and any file holding a row's ID number."""
    files = [p for p in Path(directory).rglob("*") if p.is_file()]
    numbers = [r["id_number"].encode() for r in rows]
    return ([p.name for p in files if p.suffix not in (".py", ".pyc")]
            + [p.name for p in files if any(n in p.read_bytes() for n in numbers)])


def test_imports_leave_no_temporary_file(app, browser, tmp_path, private_tmp):
    uploads = tmp_path / "uploads"
    app.registry.settings["xueji.upload_dir"] = str(uploads)
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "registrar", "school_registrar", at=nodes["school_a"])
        school = resource_path(nodes["school_a"])
    browser.login("registrar")

    rows = pupils(3)
    form = browser.get(school + "/import").forms["import-form"]
    form["file"] = ("pupils.csv", csv_bytes(rows))
    page = form.submit(status=200)
    assert len(list(uploads.iterdir())) == 3 and _left_behind(private_tmp, rows) == []
    page.forms["confirm-form"].submit("action", value="valid", status=303)
    assert list(uploads.iterdir()) == [] and _left_behind(private_tmp, rows) == []

    # refused half-way (a row with too many columns): the report under way is dropped
    rows = pupils(5, start=10)
    wide = csv_bytes(rows).decode("utf-8-sig").splitlines()
    wide[3] += "," * 250
    form = browser.get(school + "/import").forms["import-form"]
    form["file"] = ("wide.csv", "\n".join(wide).encode("utf-8"))
    refused = form.submit(status=200)
    assert "列数过多" in refused.text
    assert _left_behind(private_tmp, rows) == [] and list(uploads.iterdir()) == []


def test_an_export_that_fails_half_way_leaves_no_temporary_file(private_tmp, monkeypatch):
    """views/tables.download streams xlsx through a temp file of clear rows:
    a failure while saving must not leave it behind."""
    from openpyxl.workbook.workbook import Workbook

    from xueji_site.views.tables import download

    def broken_save(self, target):
        raise OSError("disk trouble while saving (raised by the test)")

    rows = [["李明", "110105201703120038"]] * 50
    assert download(rows, ["姓名", "身份证件号"], "x", "xlsx").body[:2] == b"PK"
    assert list(private_tmp.iterdir()) == []
    monkeypatch.setattr(Workbook, "save", broken_save)
    with pytest.raises(OSError):
        download(rows, ["姓名", "身份证件号"], "x", "xlsx")
    assert list(private_tmp.iterdir()) == []
