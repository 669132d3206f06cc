"""Faults survived (R1, R2, R4): conflicting concurrent edits lose nothing and never
end in a 500; a commit that hits a full disk fails cleanly and the site works
again once space is freed. The concurrency scenarios live in tests/fault_helpers.py
and run on RelStorage as well (tests/storage/test_faults_relstorage.py)."""
import os
import shutil
import subprocess

import pytest
from pyramid.threadlocal import get_current_registry

from xueji_site.kernel.root import ROOT_KEY
from . import fault_helpers
from .conftest import Browser, add_user, base_settings, build_tree, open_site
from xueji_site.kernel.root import database

SCHOOL = "/110000/110105/2111000001/"


def test_concurrent_conflicting_edits_through_the_app(app):
    """20 clients edit the same school at once, 5 edits each: no 500, every
    acknowledged edit there once, no edit overwrote another unseen, 503 with
    Retry-After only past the retries (fault_helpers.concurrent_conflicting_edits)."""
    fault_helpers.concurrent_conflicting_edits(app)


def test_counter_under_20_threads_of_direct_connections(app):
    """The ZODB contract underneath: 20 threads × 50 read-modify-write increments of
    one plain integer, each retried on ConflictError, end at exactly 1000."""
    fault_helpers.counter_under_threads(app, threads=20, increments=50)


# -- R4: disk full -------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs, or a visible skip where mounting is not permitted."""
    mount = tmp_path / "small"
    mount.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("disk-full test needs root and mount(8) to make a 2 MB tmpfs")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (%s): disk-full test not run" % result.stderr.strip())
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(directory):
    """Fill the file system holding ``directory`` to the last byte."""
    path = os.path.join(directory, "filler")
    with open(path, "wb", buffering=0) as out:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError:
                pass
    return path


def _disk_app(key_file, small_disk, min_free):
    from xueji_site import main
    settings = dict(base_settings(key_file, "file://%s/Data.fs" % small_disk), **{"xueji.min_free_bytes": min_free})
    app = main({}, **settings)
    with open_site(app) as site:
        build_tree(site, get_current_registry())
        add_user(site, "reg", "school_registrar", at=site["110000"]["110105"]["2111000001"])
    browser = Browser(app)
    browser.login("reg")
    return app, browser


def _edit_address(browser, address, **kw):
    form = browser.get(SCHOOL + "edit").forms["xueji-form"]
    form["address"] = address
    return form.submit("save", **kw)


def _reopened_address(path):
    """The school's address as a fresh process would read it, and fstest's verdict."""
    import ZODB
    from ZODB.FileStorage import FileStorage
    check = subprocess.run([os.sys.executable, "-m", "ZODB.scripts.fstest", str(path)],
                           capture_output=True, text=True)
    db = ZODB.DB(FileStorage(str(path), read_only=True))
    try:
        return db.open().root()[ROOT_KEY]["110000"]["110105"]["2111000001"].address, check.returncode
    finally:
        db.close()


def test_disk_full_is_refused_before_writing_and_the_site_recovers(small_disk, key_file):
    app, browser = _disk_app(key_file, small_disk, str(256 * 1024))
    try:
        filler = _fill(str(small_disk))
        response = _edit_address(browser, "杭州市滨江区" * 20, expect_errors=True)
        assert response.status_int == 503 and "存储空间不足" in response.text
        assert response.headers["Retry-After"]
        assert browser.get(SCHOOL).status_int == 200  # reading still works
        os.remove(filler)
        with open_site(app) as site:  # nothing of the refused commit is there
            assert site["110000"]["110105"]["2111000001"].address == ""
        assert _edit_address(browser, "杭州市西湖区1号").status_int == 303
    finally:
        database(app.registry).close()
    assert _reopened_address(small_disk / "Data.fs") == ("杭州市西湖区1号", 0)


ZODB_ENOSPC_BUG = (
    "ZODB FileStorage bug: after ENOSPC in tpc_vote the partial transaction stays in the write buffer "
    "and reaches Data.fs with the next commit, which a restart then cannot read "
    "(hence views/diskguard.py refuses commits before the disk is full)")


def test_unguarded_enospc_damages_filestorage(small_disk, key_file):
    """The same without the guard: the request fails cleanly (an error page, nothing
    visible), the site even seems to work again, but the file is damaged."""
    app, browser = _disk_app(key_file, small_disk, "0")
    try:
        filler = _fill(str(small_disk))
        for attempt in range(50):  # small commits may still fit in the last page's slack
            failed = "杭州市滨江区%d号" % attempt * 10
            response = _edit_address(browser, failed, expect_errors=True)
            if response.status_int != 303:
                break
        assert response.status_int == 500 and "事件编号" in response.text and "Traceback" not in response.text
        os.remove(filler)
        with open_site(app) as site:  # the failed commit left nothing the application can see
            assert site["110000"]["110105"]["2111000001"].address != failed
        assert _edit_address(browser, "杭州市西湖区1号").status_int == 303
    finally:
        database(app.registry).close()
    try:
        reopened = _reopened_address(small_disk / "Data.fs")
    except UnicodeDecodeError:
        pytest.xfail(ZODB_ENOSPC_BUG)
    if reopened[1] != 0:
        pytest.xfail(ZODB_ENOSPC_BUG + " (fstest)")
    assert reopened == ("杭州市西湖区1号", 0)  # fixed upstream: then it must be right
