"""xueji-import killed with SIGKILL mid-import, then run again: every row ends
up stored exactly once and the FileStorage checks clean (security.md R3/R5)."""
import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pyramid.threadlocal import get_current_registry

from .conftest import base_settings, build_tree, open_site
from .import_helpers import pupils, xlsx_bytes

SCHOOL = "/110000/110105/2111000001"


@pytest.fixture
def database(tmp_path, key_file):
    """A FileStorage holding the conftest tree, made through the real app; and its ini."""
    from xueji_site import main
    data_fs = tmp_path / "Data.fs"
    app = main({}, **base_settings(key_file, uri="file://%s" % data_fs))
    with open_site(app) as site:
        build_tree(site, get_current_registry())
    for db in app.registry._zodb_databases.values():
        db.close()
    ini = configparser.ConfigParser(interpolation=None)
    ini["app:main"] = dict(base_settings(key_file, uri="file://%s" % data_fs), use="egg:xueji")
    with open(tmp_path / "test.ini", "w", encoding="utf-8") as out:
        ini.write(out)
    return tmp_path


def _import(directory, *extra):
    exe = Path(sys.executable).parent / "xueji-import"
    return subprocess.run([str(exe), str(directory / "test.ini"), str(directory / "pupils.xlsx"),
                           "--school", SCHOOL] + list(extra),
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONWARNINGS="ignore"))


def _stored(directory, key_file):
    """ID numbers of the pupils in the school, from the tree and from the catalog."""
    import ZODB
    import ZODB.FileStorage
    from xueji_site.site import ROOT_KEY
    db = ZODB.DB(ZODB.FileStorage.FileStorage(str(directory / "Data.fs"), read_only=True))
    try:
        site = db.open().root()[ROOT_KEY]
        school = site["110000"]["110105"]["2111000001"]
        numbers = [s.id_number for k in school.values() for s in k.values()]
        indexed = len(list(site.catalog["content_type"].applyEq("Student")))
        imports = [e for e in site.audit.newest(limit=10**6) if e.action == "import"]
        return numbers, indexed, imports
    finally:
        db.close()


def _fstest(directory):
    return subprocess.run([sys.executable, "-m", "ZODB.scripts.fstest", str(directory / "Data.fs")],
                          capture_output=True, text=True, timeout=60)


def test_kill_mid_import_then_rerun(database, key_file):
    rows = pupils(300)
    (database / "pupils.xlsx").write_bytes(xlsx_bytes(rows))
    crashed = _import(database, "--batch", "50", "--fail-after", "120")
    assert crashed.returncode == -9, crashed.stderr
    assert "committed 100 rows" in crashed.stdout
    numbers, indexed, _imports = _stored(database, key_file)
    assert len(numbers) == 101 and indexed == 102  # two pupils from build_tree, one elsewhere
    assert _fstest(database).returncode == 0

    finished = _import(database, "--batch", "50")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "100 already here" in finished.stdout
    numbers, indexed, imports = _stored(database, key_file)
    assert sorted(numbers) == sorted([r["id_number"] for r in rows] + ["110105201703120038"])
    assert indexed == 302
    assert dict(imports[0].detail)["created"] == "200"
    assert _fstest(database).returncode == 0

    again = _import(database)
    assert again.returncode == 0 and "nothing new" in again.stdout
    assert len(_stored(database, key_file)[0]) == 301


def test_errors_import_nothing_unless_only_valid(database, key_file):
    rows = pupils(5)
    rows[2]["postcode"] = "12"
    (database / "pupils.xlsx").write_bytes(xlsx_bytes(rows))
    refused = _import(database)
    assert refused.returncode == 1 and "nothing imported" in refused.stdout
    assert (database / "pupils.report.xlsx").exists()
    assert len(_stored(database, key_file)[0]) == 1
    dry = _import(database, "--only-valid", "--dry-run")
    assert dry.returncode == 0 and len(_stored(database, key_file)[0]) == 1
    partial = _import(database, "--only-valid")
    assert partial.returncode == 0 and "imported 4 rows" in partial.stdout
    assert len(_stored(database, key_file)[0]) == 5
