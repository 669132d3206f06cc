"""xueji-archive and xueji-retention as real processes on a FileStorage:
dry run, kill -9 mid-run and rerun (nobody twice, nobody lost), report, retention."""
import configparser
import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
import ZODB
import ZODB.FileStorage
from pyramid.threadlocal import get_current_registry
from stdnum.cn import ric

from xueji_site.kernel import content
from xueji_site.graduates import graduation, verification
from xueji_site.kernel.root import ROOT_KEY
from .conftest import base_settings, build_tree, open_site, student_values
from xueji_site.kernel.root import database, databases

PUPILS = 24
YEAR = datetime.date.today().year


def _id(i):
    body = "11010520170312%03d" % i
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture
def database(tmp_path, key_file):
    """Two primary schools; 25 + 1 pupils graduated this year; an ini with retention 1 year."""
    from xueji_site import main
    uri = "file://%s" % (tmp_path / "Data.fs")
    app = main({}, **base_settings(key_file, uri=uri))
    with open_site(app) as site:
        registry = get_current_registry()
        n = build_tree(site, registry)
        for i in range(PUPILS):
            content.create("Student", n["class_a"], student_values(_id(i + 100), "学生%02d" % i, "1"), registry)
        numbers = [num for _p, num in graduation.graduate(n["school_a"], 2024)]
        numbers += [num for _p, num in graduation.graduate(n["school_b"], 2024)]
    for db in databases(app.registry).values():
        db.close()
    ini = configparser.ConfigParser(interpolation=None)
    ini["app:main"] = dict(base_settings(key_file, uri=uri), use="egg:xueji", **{"xueji.retention_years": "1"})
    with open(tmp_path / "test.ini", "w", encoding="utf-8") as out:
        ini.write(out)
    return tmp_path, numbers


def _run(directory, name, *extra):
    exe = Path(sys.executable).parent / name
    return subprocess.run([str(exe), str(directory / "test.ini")] + list(extra), capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONWARNINGS="ignore"))


def _state(directory, numbers):
    """(archived per school code, graduates still in classes, -, archive audits, site, db, -)."""
    db = ZODB.DB(ZODB.FileStorage.FileStorage(str(directory / "Data.fs"), read_only=True))
    try:
        site = db.open().root()[ROOT_KEY]
        per_school, left = {}, 0
        for code in ("2111000001", "2111000002"):
            school = site.catalog["code"].applyEq(code)
            school = site.docmap[list(school)[0]]
            arch = getattr(school, "graduate_archive", None)
            per_school[code] = sum(len(y) for y in arch.values()) if arch is not None else 0
            left += sum(1 for k in school.values() for p in k.values() if p.status == "graduated")
        audits = [e for e in site.audit.newest(limit=10 ** 5) if e.action == "archive"]
        return per_school, left, None, len(audits), site, db, None
    except BaseException:
        db.close()
        raise


def test_dry_run_then_kill_then_resume(database):
    directory, numbers = database
    dry = _run(directory, "xueji-archive", "--year", str(YEAR), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would archive / 将归档 %d" % (PUPILS + 2) in dry.stdout and "2111000001" in dry.stdout
    per_school, left, _v, audits, _s, db, _r = _state(directory, numbers)
    db.close()
    assert per_school == {"2111000001": 0, "2111000002": 0} and left == PUPILS + 2 and audits == 0

    crashed = _run(directory, "xueji-archive", "--year", str(YEAR), "--batch", "5", "--fail-after", "12")
    assert crashed.returncode == -9, crashed.stderr
    assert "committed 10 graduates" in crashed.stdout
    per_school, left, _v, audits, _s, db, _r = _state(directory, numbers)
    db.close()
    assert sum(per_school.values()) == 10 and left == PUPILS + 2 - 10 and audits == 10

    finished = _run(directory, "xueji-archive", "--year", str(YEAR), "--batch", "5")
    assert finished.returncode == 0, finished.stderr
    assert "archived / 已归档 %d" % (PUPILS + 2 - 10) in finished.stdout and "problems / 问题: 0" in finished.stdout
    per_school, left, _v, audits, site, db, _r = _state(directory, numbers)
    try:
        assert per_school == {"2111000001": PUPILS + 1, "2111000002": 1} and left == 0 and audits == PUPILS + 2
        school = site.docmap[list(site.catalog["code"].applyEq("2111000001"))[0]]
        names = sorted(r.name for y in school.graduate_archive.values() for r in y.values())
        assert len(names) == len(set(names)) == PUPILS + 1
        assert all(graduation.certificate_of(r) in numbers for y in school.graduate_archive.values() for r in y.values())
        li = [r for y in school.graduate_archive.values() for r in y.values() if r.name == "李明"][0]
        assert verification.look_up(site, graduation.certificate_of(li), name="李明")["valid"]
    finally:
        db.close()
    again = _run(directory, "xueji-archive", "--year", str(YEAR))
    assert again.returncode == 0 and "archived / 已归档 0" in again.stdout


def test_retention_strips_sensitive_fields_and_keeps_verification(database):
    directory, numbers = database
    assert _run(directory, "xueji-archive", "--year", str(YEAR)).returncode == 0
    early = _run(directory, "xueji-retention")
    assert early.returncode == 0 and "stripped / 已清除 0" in early.stdout
    dry = _run(directory, "xueji-retention", "--dry-run", "--this-year", str(YEAR + 1))
    assert "would strip / 将清除 %d" % (PUPILS + 2) in dry.stdout
    done = _run(directory, "xueji-retention", "--this-year", str(YEAR + 1), "--batch", "7")
    assert done.returncode == 0 and "stripped / 已清除 %d" % (PUPILS + 2) in done.stdout, done.stderr
    db = ZODB.DB(ZODB.FileStorage.FileStorage(str(directory / "Data.fs"), read_only=True))
    try:
        site = db.open().root()[ROOT_KEY]
        school = site.docmap[list(site.catalog["code"].applyEq("2111000001"))[0]]
        records = [r for y in school.graduate_archive.values() for r in y.values()]
        assert all(r.id_number == "" and r.birth_date is None and r.retained_until for r in records)
        assert all(graduation.certificate_of(r) for r in records)
        assert all(verification.look_up(site, graduation.certificate_of(r), name=r.name)["valid"] for r in records)
    finally:
        db.close()
    assert "stripped / 已清除 0" in _run(directory, "xueji-retention", "--this-year", str(YEAR + 1)).stdout
