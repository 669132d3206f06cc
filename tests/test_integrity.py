"""Record MACs (security.md D3): every pupil's record and archived graduate
carries an HMAC of its core fields under the external key; a stored byte
changed without the key is flagged by ``xueji-verify-records``."""
import configparser
import datetime
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path

from xueji_site.graduates import archive, graduation
from xueji_site.graduates import steps as graduate_steps
from xueji_site.kernel import content, integrity
from xueji_site.scripts import common, verify_records

from .conftest import add_user, base_settings, build_tree, open_site, resolve, student_form, student_values, valid_id
from xueji_site.kernel.root import database, databases

NAME, FORGED = "欧阳娜娜", "司马相如"            # equal length in UTF-8: the pickle stays well-formed
GRADUATE, GRADUATE_FORGED = "王芳", "赵敏"
assert len(NAME.encode()) == len(FORGED.encode()) and len(GRADUATE.encode()) == len(GRADUATE_FORGED.encode())


# -- the MAC itself --------------------------------------------------------------------

def _changed(value):
    """A different value of the same kind."""
    if isinstance(value, bytes):
        return bytes([value[0] ^ 1]) + value[1:]
    if isinstance(value, datetime.date):
        return value + datetime.timedelta(days=1)
    if isinstance(value, bool) or value is None:
        return "x"
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, tuple):
        return value[:-1]
    return value + "x"


def _stored_state(obj):
    return integrity._split(obj.__getstate__())


def test_a_record_made_and_edited_through_the_app_is_ok(app, browser):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "registrar", "school_registrar", at=nodes["school_a"])
        class_path = resource_path(nodes["class_a"])
    browser.login("registrar")
    form = browser.get(class_path + "/add?type=Student").forms["xueji-form"]
    for key, value in student_form(name=NAME, id_number=valid_id("11010520170401002"), gender="2",
                                   birth_date="2017-04-01").items():
        form[key] = value
    path = form.submit("save", status=303).follow().request.path
    with open_site(app) as site:
        pupil = resolve(site, path)
        assert integrity.check(pupil) == integrity.OK
        assert pupil._integrity == integrity.mac("Student", _stored_state(pupil))
        before = pupil._integrity

    form = browser.get(path + "edit").forms["xueji-form"]
    form["seat_no"], form["phone"] = "12", "13912345678"  # not core fields
    form.submit("save", status=303)
    with open_site(app) as site:
        pupil = resolve(site, path)
        assert pupil.seat_no == "12" and integrity.check(pupil) == integrity.OK
        assert pupil._integrity == before
        pupil.status = "suspended"  # a core field: a new MAC is written with it
    with open_site(app) as site:
        pupil = resolve(site, path)
        assert integrity.check(pupil) == integrity.OK and pupil._integrity != before


# The core fields, stated here as the policy, not read from the code (issue 20 (7)).
CORE_FIELDS = {
    "Student": ("__name__", "name", "former_name", "gender", "birth_date", "ethnicity", "nationality",
                "id_type", "status", "enrolled_on", "enrolment_mode", "graduation_year", "left_on",
                "id_hash", "registry_hash", "_sealed_id_number", "_sealed_registry_no", "_sealed_certificate"),
    "ArchivedGraduate": ("__name__", "name", "former_name", "gender", "birth_date", "ethnicity", "nationality",
                         "id_type", "outcome", "year", "left_on", "cohort", "class_key", "school_code",
                         "school_name", "status_history", "archived_at", "retained_until", "id_blind",
                         "_sealed_id_number", "_sealed_registry_no", "_sealed_certificate"),
}


def test_the_mac_covers_the_stated_core_fields(current_registrations):
    for kind, fields in CORE_FIELDS.items():
        assert set(integrity.fields_of(kind)) == set(fields), kind


def _every_core_field_counts(kind, state):
    base = integrity.mac(kind, state)
    present = [f for f in CORE_FIELDS[kind] if f in state]
    assert len(present) >= 10, present
    for field in present:
        edited = dict(state, **{field: _changed(state[field])})
        assert integrity.mac(kind, edited) != base, field
        removed = {k: v for k, v in state.items() if k != field}
        assert integrity.mac(kind, removed) != base, field
    return base


def test_mac_covers_every_core_field_and_nothing_else(app):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        [(graduate, _number)] = graduation.graduate(nodes["school_b"], 2024)
        pupil = nodes["pupil_a"]
        state = _stored_state(pupil)
        base = _every_core_field_counts("Student", state)
        for field, value in (("specialty", "围棋"), ("docid", 7), ("modified", 1.5), ("_integrity", "0" * 64),
                             ("_sealed_phone", b"\x01other"), ("history", None)):
            assert integrity.mac("Student", dict(state, **{field: value})) == base, field
        assert integrity.mac("ArchivedGraduate", state) != base  # the type is bound in too
        record = archive.archive_pupil(graduate, get_current_registry())
        _every_core_field_counts("ArchivedGraduate", _stored_state(record))


def test_canonical_input_refuses_values_it_cannot_encode():
    with pytest.raises(TypeError):
        integrity.canonical("Student", {"name": object()}, ("name",))


def test_swapped_records_are_misplaced(app, key_file):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        klass = nodes["class_a"]
        second = content.create("Student", klass, student_values(valid_id("11010520170402003"), "张伟", "1"),
                                get_current_registry())
        first = nodes["pupil_a"]
        klass.data[first.__name__], klass.data[second.__name__] = second, first  # written around the app
    env = common.Env(app, app.registry, database(app.registry), dict(app.registry.settings))
    out = io.StringIO()
    counts = verify_records.verify(env, "/", out)
    assert counts == {"ok": 1, "misplaced": 2}
    assert out.getvalue().count("PROBLEM misplaced ") == 2


# -- a FileStorage edited behind the application's back -----------------------------------

def _write_ini(directory, key_file):
    ini = configparser.ConfigParser(interpolation=None)
    ini["app:main"] = dict(base_settings(key_file, uri="file://%s" % (directory / "Data.fs")), use="egg:xueji")
    with open(directory / "test.ini", "w", encoding="utf-8") as out:
        ini.write(out)


@pytest.fixture
def stored(tmp_path, key_file):
    """A FileStorage made through the real app: the conftest tree, a pupil named
    NAME, and school B's pupil graduated and archived. Returns paths and oids."""
    from xueji_site import main
    directory = tmp_path / "db"
    directory.mkdir()
    app = main({}, **base_settings(key_file, uri="file://%s" % (directory / "Data.fs")))
    try:
        with open_site(app) as site:
            registry = get_current_registry()
            nodes = build_tree(site, registry)
            pupil = content.create("Student", nodes["class_a"],
                                   student_values(valid_id("11010520170401002"), NAME, "2"), registry)
            [(graduate, _number)] = graduation.graduate(nodes["school_b"], 2024)
            record = archive.archive_pupil(graduate, registry)
        with open_site(app) as site:
            pupil, record = resolve(site, resource_path(pupil)), resolve_record(site, resource_path(record))
            found = {"pupil": (resource_path(pupil), pupil._p_oid), "record": (resource_path(record), record._p_oid)}
    finally:
        for db in databases(app.registry).values():
            db.close()
    _write_ini(directory, key_file)
    return directory, found


def resolve_record(site, path):
    """An archived graduate by path: the archive hangs off the school, not in it."""
    school_path, rest = path.split("/archive/")
    year, key = rest.split("/")
    return resolve(site, school_path).graduate_archive[year][key]


def _verify(directory, *extra):
    exe = Path(sys.executable).parent / "xueji-verify-records"
    return subprocess.run([str(exe), str(directory / "test.ini"), *extra], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONWARNINGS="ignore"))


def _load(directory, oid):
    from ZODB.FileStorage import FileStorage
    storage = FileStorage(str(directory / "Data.fs"), read_only=True)
    try:
        return storage.load(oid)[0]
    finally:
        storage.close()


def _flip(directory, oid, old, new):
    """Replace ``old`` by ``new`` (same length) inside the current data record of
    ``oid``, byte for byte in Data.fs: what an editor of the file could do."""
    pickle = _load(directory, oid)
    path = directory / "Data.fs"
    raw = path.read_bytes()
    at = raw.rfind(pickle)   # the newest copy is the current record
    assert at > 0 and old.encode() in pickle
    edited = pickle.replace(old.encode(), new.encode(), 1)
    path.write_bytes(raw[:at] + edited + raw[at + len(pickle):])


def test_flipped_bytes_in_data_fs_are_flagged(stored, key_file, tmp_path):
    directory, found = stored
    untouched = tmp_path / "copy"
    untouched.mkdir()
    shutil.copy(directory / "Data.fs", untouched / "Data.fs")
    _write_ini(untouched, key_file)

    pupil_path, pupil_oid = found["pupil"]
    record_path, record_oid = found["record"]
    _flip(directory, pupil_oid, NAME, FORGED)
    _flip(directory, record_oid, GRADUATE, GRADUATE_FORGED)

    tampered = _verify(directory)
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert sorted(line for line in tampered.stdout.splitlines() if line.startswith("PROBLEM")) == sorted(
        ["PROBLEM changed %s" % pupil_path, "PROBLEM changed %s" % record_path])
    assert "records: 3; ok: 1; changed: 2; unstamped: 0" in tampered.stdout  # 2 pupils + 1 graduate
    scoped = _verify(directory, "--path", "/110000/110108")  # school B only: the graduate
    assert scoped.returncode == 1 and "records: 1;" in scoped.stdout and record_path in scoped.stdout

    intact = _verify(untouched)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "records: 3; ok: 3; changed: 0" in intact.stdout and "PROBLEM" not in intact.stdout
    assert _verify(untouched, "--path", "/nowhere").returncode == 2


# -- records stored before the MAC existed --------------------------------------------------

class _Ref:
    """A persistent reference carried through a rewrite unchanged."""

    def __init__(self, ref):
        self.ref = ref


def rewrite_state(directory, oid, edit):
    """Commit a new revision of ``oid`` whose state is ``edit(state)`` straight
    through the storage API: no application, no key, no ``__getstate__``."""
    from ZODB.FileStorage import FileStorage
    storage = FileStorage(str(directory / "Data.fs"))
    try:
        rewrite_stored(storage, oid, edit)
    finally:
        storage.close()


def rewrite_stored(storage, oid, edit):
    """``rewrite_state`` on an open storage (the caller invalidates any caches)."""
    from ZODB._compat import PersistentPickler, PersistentUnpickler
    from ZODB.Connection import TransactionMetaData
    data, serial = storage.load(oid)
    reader = PersistentUnpickler(None, _Ref, io.BytesIO(data))
    klass, state = reader.load(), reader.load()
    edit(state)
    out = io.BytesIO()
    writer = PersistentPickler(lambda obj: obj.ref if isinstance(obj, _Ref) else None, out, 3)
    writer.dump(klass)
    writer.dump(state)
    txn = TransactionMetaData()
    storage.tpc_begin(txn)
    storage.store(oid, serial, out.getvalue(), "", txn)
    storage.tpc_vote(txn)
    storage.tpc_finish(txn)


def _forget_step(directory, name):
    """The database as it was before the step ``name`` ran on it."""
    import ZODB
    import transaction
    from ZODB.FileStorage import FileStorage
    from xueji_site.kernel.root import ROOT_KEY
    db = ZODB.DB(FileStorage(str(directory / "Data.fs")))
    try:
        with transaction.manager:
            db.open().root()[ROOT_KEY].evolved.remove(name)
    finally:
        db.close()


def test_old_records_are_unstamped_until_the_evolve_step(stored, key_file):
    directory, found = stored
    pupil_path, pupil_oid = found["pupil"]
    record_path, record_oid = found["record"]
    rewrite_state(directory, pupil_oid, lambda state: state.pop("_integrity"))  # as written before MACs
    # a stamped record changed without the key: the evolve step must not launder it
    rewrite_state(directory, record_oid, lambda state: state.update(name=GRADUATE_FORGED))
    old = _verify(directory)
    assert old.returncode == 1
    assert sorted(line for line in old.stdout.splitlines() if line.startswith("PROBLEM")) == sorted(
        ["PROBLEM unstamped %s" % pupil_path, "PROBLEM changed %s" % record_path])

    _forget_step(directory, "0005-record-integrity")
    evolved = _verify(directory)  # starting the app runs the pending step
    assert evolved.returncode == 1, evolved.stdout + evolved.stderr
    problems = [line for line in evolved.stdout.splitlines() if line.startswith("PROBLEM")]
    assert problems == ["PROBLEM changed %s" % record_path]
    assert "records: 3; ok: 2; changed: 1; unstamped: 0" in evolved.stdout


def test_evolve_step_stamps_in_batches(app):
    with open_site(app) as site:
        build_tree(site, get_current_registry())
    with open_site(app) as site:
        records = list(archive.records(site))
        assert len(records) == 2
        for record in records:
            del record.__dict__["_integrity"]  # as loaded from a record written before MACs
            assert integrity.check(record) == integrity.UNSTAMPED
        assert graduate_steps.step_0005_record_integrity(site, batch=1) == 2
    with open_site(app) as site:
        assert [integrity.check(r) for r in archive.records(site)] == [integrity.OK] * 2
        assert graduate_steps.step_0005_record_integrity(site) == 0


def test_a_forged_mac_of_any_shape_is_changed_or_unstamped(app):
    with open_site(app) as site:
        build_tree(site, get_current_registry())
    with open_site(app) as site:
        pupil = next(archive.records(site))
        genuine = pupil._integrity
        for forged, verdict in (("伪造", integrity.CHANGED), ("0" * 64, integrity.CHANGED),
                                (b"0" * 64, integrity.UNSTAMPED), (None, integrity.UNSTAMPED)):
            pupil.__dict__["_integrity"] = forged  # as loaded from an edited record
            assert integrity.check(pupil) == verdict, forged
        pupil.__dict__["_integrity"] = genuine
        assert integrity.check(pupil) == integrity.OK


def test_a_tampered_graduate_is_flagged_on_its_page_and_gets_no_code(app):
    """The graduate's page warns (and audits) when the stored record departs from
    its MAC, and no verification code is issued for it."""
    from .conftest import Browser
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        [(pupil, _number)] = graduation.graduate(nodes["school_a"], 2024)
        add_user(site, "registrar", "school_registrar", at=nodes["school_a"])
        path = resource_path(pupil)
    with open_site(app) as site:
        oid = resolve(site, path)._p_oid
    browser = Browser(app)
    browser.login("registrar")
    page = browser.get(path + "/graduate")
    assert page.html.find(id="integrity-warning") is None
    db = database(app.registry)
    rewrite_stored(db.storage, oid, lambda state: state.update(name="李亮"))  # written around the app
    db._mvcc_storage.invalidate(db.storage.lastTransaction(), [oid])  # as a storage server would tell it
    page = browser.get(path + "/graduate")
    assert page.html.find(id="integrity-warning") is not None
    assert browser.get(path + "/").html.find(id="integrity-warning") is not None  # the record page too
    token = page.html.find("input", attrs={"name": "csrf_token"})["value"]
    refused = browser.post(path + "/codes", {"csrf_token": token, "days": "30"}, status=303).follow()
    assert "完整性校验" in refused.text
    with open_site(app) as site:
        assert len(site.verification_codes) == 0
        failed = site.audit.newest(lambda e: e.action == "integrity-failed")
        assert len(failed) == 4 and {e.path for e in failed} == {path}  # pages, refused code, page again
