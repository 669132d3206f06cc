"""Faults survived (R1, R2, R4): conflicting concurrent edits lose nothing and never
end in a 500; a commit that hits a full disk fails cleanly and the site works
again once space is freed."""
import collections
import os
import random
import shutil
import subprocess
import threading
import time

import pytest
import transaction
from pyramid.threadlocal import get_current_registry
from ZODB.POSException import ConflictError

from xueji_site.site import ROOT_KEY
from .conftest import Browser, add_user, base_settings, build_tree, open_site

SCHOOL = "/110000/110105/2111000001/"
THREADS = 20
EDITS = 5


def _edit_school(browser, phone):
    form = browser.get(SCHOOL + "edit").forms["xueji-form"]
    form["phone"] = phone
    return form.submit("save", expect_errors=True)


def test_concurrent_conflicting_edits_through_the_app(app):
    """20 clients edit the same school at once, 5 edits each. No client sees a
    500: conflicts are retried (pyramid_retry, 3 attempts) and, past the
    retries, answered 503 with Retry-After, which the client resends. Every
    acknowledged edit (303) left exactly one audit entry, and the before → after
    pairs form one unbroken line: no edit overwrote another unseen."""
    with open_site(app) as site:
        build_tree(site, get_current_registry())
        for n in range(THREADS):
            add_user(site, "reg%d" % n, "school_registrar", at=site["110000"]["110105"]["2111000001"])
    browsers = []
    for n in range(THREADS):
        browser = Browser(app, extra_environ={"REMOTE_ADDR": "10.1.0.%d" % n})
        browser.login("reg%d" % n)
        browsers.append(browser)
    outcomes = collections.defaultdict(list)
    recording = threading.Lock()  # a defaultdict's first insert of a key races between threads
    barrier = threading.Barrier(THREADS)

    def work(n):
        barrier.wait()
        for i in range(EDITS):
            phone = "0571-8%02d%02d" % (n, i)
            for _attempt in range(100):  # a user told "busy, resend" (503) resends, a moment later
                status = _edit_school(browsers[n], phone).status_int
                with recording:
                    outcomes[status].append(phone)
                if status != 503:
                    break
                time.sleep(random.uniform(0, 0.05))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 500 not in outcomes and set(outcomes) <= {303, 503}, dict(outcomes)
    acknowledged = outcomes[303]
    assert len(acknowledged) == len(set(acknowledged)) == THREADS * EDITS  # every edit got through once
    print("503 answers (resent): %d of %d requests" % (len(outcomes[503]), len(acknowledged) + len(outcomes[503])))
    with open_site(app) as site:
        school = site["110000"]["110105"]["2111000001"]
        modified = site.audit.newest(lambda e: e.action == "modify" and e.path.rstrip("/") == SCHOOL.rstrip("/"),
                                     limit=1000)
        written = [dict(e.detail)["phone"].split(" → ")[1] for e in modified]
        assert sorted(written) == sorted(acknowledged)  # one entry per acknowledged edit, no more
        # each edit saw the value the previous committed edit left: the chain of
        # "before → after" pairs is one unbroken line, so nothing was overwritten unseen
        pairs = {dict(e.detail)["phone"].split(" → ")[0]: dict(e.detail)["phone"].split(" → ")[1] for e in modified}
        assert len(pairs) == len(modified)
        assert school.phone in written and school.phone not in pairs


def test_counter_under_20_threads_of_direct_connections(app):
    """The ZODB contract underneath: 20 threads × 50 read-modify-write increments of
    one plain integer, each retried on ConflictError, end at exactly 1000."""
    db = app.registry._zodb_databases[""]
    with open_site(app) as site:
        site.fault_counter = 0
    commits = []

    def work():
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            for _ in range(50):
                while True:
                    try:
                        tm.begin()
                        site = conn.root()[ROOT_KEY]
                        site.fault_counter += 1
                        tm.commit()
                        commits.append(1)
                        break
                    except ConflictError:
                        tm.abort()
        finally:
            conn.close()

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open_site(app) as site:
        assert site.fault_counter == len(commits) == 1000
        del site.fault_counter


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
        app.registry._zodb_databases[""].close()
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
        app.registry._zodb_databases[""].close()
    try:
        reopened = _reopened_address(small_disk / "Data.fs")
    except UnicodeDecodeError:
        pytest.xfail(ZODB_ENOSPC_BUG)
    if reopened[1] != 0:
        pytest.xfail(ZODB_ENOSPC_BUG + " (fstest)")
    assert reopened == ("杭州市西湖区1号", 0)  # fixed upstream: then it must be right
