"""xueji-import killed with SIGKILL mid-import, then run again: every row ends
up stored exactly once and the FileStorage checks clean (security.md R3/R5).
The scenario is shared with RelStorage (tests/storage/test_faults_relstorage.py)
through tests/fault_helpers.py."""
import functools
import subprocess
import sys

import pytest

from . import fault_helpers
from .fault_helpers import run_import, stored
from .import_helpers import pupils, xlsx_bytes


@pytest.fixture
def database(tmp_path, key_file):
    """A FileStorage holding the conftest tree, made through the real app; and its ini."""
    return fault_helpers.make_import_database(tmp_path, key_file, "file://%s" % (tmp_path / "Data.fs"))


def _open(directory):
    return functools.partial(fault_helpers.file_db, directory / "Data.fs")


def _fstest(directory):
    return subprocess.run([sys.executable, "-m", "ZODB.scripts.fstest", str(directory / "Data.fs")],
                          capture_output=True, text=True, timeout=60)


def test_kill_mid_import_then_rerun(database):
    def fstest_clean():
        result = _fstest(database)
        assert result.returncode == 0, result.stdout + result.stderr

    fault_helpers.kill_mid_import_then_rerun(database, _open(database), fstest_clean)


def test_errors_import_nothing_unless_only_valid(database):
    rows = pupils(5)
    rows[2]["postcode"] = "12"
    (database / "pupils.xlsx").write_bytes(xlsx_bytes(rows))

    def count():
        return len(stored(_open(database))[0])

    refused = run_import(database)
    assert refused.returncode == 1 and "nothing imported" in refused.stdout
    assert (database / "pupils.report.xlsx").exists()
    assert count() == 1
    dry = run_import(database, "--only-valid", "--dry-run")
    assert dry.returncode == 0 and count() == 1
    partial = run_import(database, "--only-valid")
    assert partial.returncode == 0 and "imported 4 rows" in partial.stdout
    assert count() == 5


def test_only_valid_is_not_suggested_to_a_run_that_used_it(database):
    """Issue 12: with --only-valid and no valid row the script said "use --only-valid"."""
    rows = pupils(3)
    for row in rows:
        row["postcode"] = "12"
    (database / "pupils.xlsx").write_bytes(xlsx_bytes(rows))
    without = run_import(database)
    assert without.returncode == 1 and "use --only-valid" in without.stdout
    assert "row 2: 邮政编码" in without.stdout  # each bad row's errors, not only in the report
    used = run_import(database, "--only-valid")
    assert used.returncode == 1, used.stdout + used.stderr
    assert "nothing imported" in used.stdout and "--only-valid" not in used.stdout
    assert "every row has errors" in used.stdout
    assert len(stored(_open(database))[0]) == 1
