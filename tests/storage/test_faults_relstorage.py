"""The fault tests on RelStorage (security.md R1–R3, R5 and section B "Fault
injection"), against the throwaway PostgreSQL 15 that conftest.py starts.

The scenarios and their assertions are the FileStorage ones
(tests/fault_helpers.py); instead of fstest/fsrefs, the database is checked by
scanning ``object_state``: every reference any current object holds names an
object that exists. On top, every object reachable from the root is loaded and
every BTree checked (``fault_helpers.check_objects``).

Interrupting a commit half-way: RelStorage on PostgreSQL takes its commit
lock, ``pg_advisory_xact_lock(-1)``, inside ``lock_and_choose_tid`` during
``tpc_finish``, after the objects were voted into temporary tables. A test
that holds that advisory lock in a session of its own stops the importer's
next commit right there; the importer's store backend then waits on an
``advisory`` lock in ``pg_stat_activity``, and the test can terminate that
backend (``pg_terminate_backend``) or kill the importer (SIGKILL) at exactly
that point.
"""
import contextlib
import functools
import os
import pwd
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time

import pytest
import webtest
from relstorage.adapters.interfaces import (
    UnableToLockRowsToModifyDeadlockError, UnableToLockRowsToModifyError,
    UnableToLockRowsToReadCurrentDeadlockError, UnableToLockRowsToReadCurrentError)
from ZODB.serialize import referencesf
from ZODB.utils import u64

import xueji_site
from xueji_site.kernel.root import ROOT_KEY

from . import conftest
from .. import fault_helpers
from ..conftest import Browser, add_user, base_settings, build_tree, open_site
from ..fault_helpers import assert_consistent, assert_each_row_once, run_import, stored
from xueji_site.kernel.root import database, databases

pytestmark = pytest.mark.storage

ROWS = 300
BATCH = 50
WAIT = 30.0  # seconds the test waits for the importer to reach a given point


@pytest.fixture
def pg_database(pg_server):
    """A fresh, empty PostgreSQL database; dropped afterwards (fails if a connection leaked)."""
    name = pg_server.create_database()
    try:
        yield name
    finally:
        pg_server.drop_database(name)


@pytest.fixture
def pg_app(pg_server, pg_database, key_file):
    """The real WSGI app on RelStorage in a database of its own."""
    app = xueji_site.main({}, **base_settings(key_file, pg_server.uri(pg_database)))
    try:
        yield app
    finally:
        for db in databases(app.registry).values():
            db.close()


@pytest.fixture
def import_dir(tmp_path, pg_server, pg_database, key_file):
    """The conftest tree in a fresh PG database and an ini pointing at it."""
    fault_helpers.make_import_database(tmp_path, key_file, pg_server.uri(pg_database))
    return tmp_path


def _opener(pg_server, dbname):
    return functools.partial(fault_helpers.uri_db, pg_server.uri(dbname))


def assert_no_dangling_reference(pg_server, dbname, minimum=100):
    """RelStorage's fsrefs: every reference in every current state in
    ``object_state`` names a row of ``object_state``, and the root is there."""
    rows = conftest.object_state_rows(pg_server, dbname)
    zoids = {zoid for zoid, _state in rows}
    dangling = sorted((zoid, u64(ref)) for zoid, state in rows
                      for ref in referencesf(bytes(state)) if u64(ref) not in zoids)
    assert 0 in zoids and len(zoids) > minimum, len(zoids)
    assert dangling == [], "(referrer, missing) zoids: %s" % dangling[:20]


# -- R3 / R5: the importer killed, then run again -------------------------------------

def test_kill_mid_import_then_rerun_on_relstorage(import_dir, pg_server, pg_database):
    """The FileStorage scenario of test_import_crash.py on RelStorage: SIGKILL
    between two commits (120 rows in, 100 committed), rerun, every row once."""
    fault_helpers.kill_mid_import_then_rerun(
        import_dir, _opener(pg_server, pg_database),
        lambda: assert_no_dangling_reference(pg_server, pg_database))


@contextlib.contextmanager
def commit_lock_held(pg_server, dbname):
    """Hold RelStorage's commit lock (advisory lock -1) until the block ends:
    any other client's next commit stops inside tpc_finish."""
    conn = pg_server.connect(dbname)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(-1)")
        yield conn
    finally:
        conn.close()  # ends the session: the lock goes with it


def _other_backends(conn, dbname, where=""):
    """Backends in ``dbname`` other than ``conn``'s own (``conn`` in autocommit)."""
    with conn.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
                    + where, (dbname,))
        return [pid for pid, in cur.fetchall()]


def _waiting_in_tpc_finish(conn, dbname, timeout=WAIT):
    """The pid of the backend that waits for the commit lock we hold."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = _other_backends(conn, dbname, " AND wait_event_type = 'Lock' AND wait_event = 'advisory'")
        if pids:
            assert len(pids) == 1, pids
            return pids[0]
        time.sleep(0.02)
    raise AssertionError("no commit reached the commit lock within %ss" % timeout)


def _wait_until_gone(pg_server, dbname, timeout=WAIT):
    """Wait until no backend of another client is left in ``dbname`` (a killed
    client's backend lives on until it next talks to the socket)."""
    conn = pg_server.connect(dbname)
    conn.autocommit = True  # pg_stat_activity is a snapshot taken once per transaction
    try:
        deadline = time.monotonic() + timeout
        while _other_backends(conn, dbname):
            if time.monotonic() > deadline:
                with conn.cursor() as cur:
                    cur.execute("SELECT pid, application_name, state, wait_event_type, wait_event, query"
                                " FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,))
                    raise AssertionError("backends still open: %s" % (cur.fetchall(),))
            time.sleep(0.05)
    finally:
        conn.close()


class _Lines:
    """The importer's stdout, read by a thread so that the test can wait for a line."""

    def __init__(self, stream):
        self.seen, self._queue = [], queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                raise AssertionError("the importer ended before %r:\n%s" % (pattern, "".join(self.seen)))
            self.seen.append(line)
            if re.search(pattern, line):
                return line

    def rest(self):
        self._thread.join(WAIT)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.seen.append(line)
        return "".join(self.seen)


def _committed(output):
    """The rows the importer reported committed: the last "committed N rows"."""
    found = re.findall(r"^committed (\d+) rows$", output, re.M)
    assert found, output
    return int(found[-1])


@pytest.mark.parametrize("interrupt", ["pg_terminate_backend", "sigkill"])
def test_commit_interrupted_in_tpc_finish_then_rerun(import_dir, pg_server, pg_database, interrupt):
    """The importer's commit stopped half-way, in tpc_finish (see the module
    docstring), after at least one batch was committed. Then either its
    PostgreSQL backend is terminated (security.md B, "pg_terminate_backend
    during commit"), or the importer itself is SIGKILLed. Either way the
    interrupted batch is stored whole or not at all, the database is
    consistent, and a rerun stores every row exactly once."""
    open_db = _opener(pg_server, pg_database)
    rows = fault_helpers.write_pupils(import_dir, ROWS)
    proc = fault_helpers.start_import(import_dir, "--batch", str(BATCH))
    try:
        lines = _Lines(proc.stdout)
        lines.wait_for(r"^committed %d rows$" % BATCH)
        with commit_lock_held(pg_server, pg_database) as locker:
            backend = _waiting_in_tpc_finish(locker, pg_database)
            if interrupt == "pg_terminate_backend":
                with locker.cursor() as cur:
                    cur.execute("SELECT pg_terminate_backend(%s)", (backend,))
                    assert cur.fetchone()[0] is True
                returncode = proc.wait(WAIT)
            else:
                proc.kill()
                returncode = proc.wait(WAIT)
        output, errors = lines.rest(), proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    _wait_until_gone(pg_server, pg_database)

    committed = _committed(output)
    assert BATCH <= committed < ROWS, output
    numbers, indexed, imports = stored(open_db)
    assert imports == []  # the import never finished
    if interrupt == "pg_terminate_backend":
        assert returncode == 1, (returncode, errors)
        assert "psycopg2.OperationalError: server closed the connection" in errors, errors
        assert len(numbers) == committed + 1  # the interrupted batch: nothing of it
    else:
        assert returncode == -9, (returncode, errors)
        # the backend had the commit in hand and may finish it without its client
        assert len(numbers) in (committed + 1, committed + BATCH + 1), (committed, len(numbers))
        print("SIGKILL in tpc_finish: %d rows reported committed, %d stored"
              % (committed, len(numbers) - 1))
    assert len(numbers) == len(set(numbers)) and indexed == len(numbers) + 1
    assert_no_dangling_reference(pg_server, pg_database)
    assert_consistent(open_db)

    finished = run_import(import_dir, "--batch", str(BATCH))
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "%d already here" % (len(numbers) - 1) in finished.stdout
    assert_each_row_once(open_db, rows)
    _numbers, _indexed, imports = stored(open_db)
    assert [dict(e.detail)["created"] for e in imports] == [str(ROWS + 1 - len(numbers))]
    assert_no_dangling_reference(pg_server, pg_database)
    assert_consistent(open_db)


# -- R1 / R2: concurrent writers ---------------------------------------------------------

def test_concurrent_conflicting_edits_through_the_app_on_relstorage(pg_app):
    """test_faults.py's 20 clients × 5 edits of one school, on RelStorage.
    RelStorage reports lock waits as ConflictError subclasses (among them
    UnableToLockRowsToReadCurrentError, relstorage#496): they must end as a
    retry or a 503, never a 500."""
    fault_helpers.concurrent_conflicting_edits(pg_app)


def test_counter_under_20_threads_of_direct_connections_on_relstorage(pg_app):
    """20 writers of one integer at once, as on FileStorage, but 10 increments
    each instead of 50: every conflicting commit costs PostgreSQL round trips
    (about a dozen conflicts per success here), and 1000 increments take ~35 s."""
    fault_helpers.counter_under_threads(pg_app, threads=20, increments=10)


LOCK_ERRORS = [UnableToLockRowsToReadCurrentError, UnableToLockRowsToReadCurrentDeadlockError,
               UnableToLockRowsToModifyError, UnableToLockRowsToModifyDeadlockError]


def _post_to_a_view_raising(key_file, error):
    """POST to a test-only view that raises ``error`` on every attempt; the
    response and the retry attempts seen (no database needed: the retry and
    the error page are the app's, whatever the storage)."""
    from pyramid.security import NO_PERMISSION_REQUIRED
    from xueji_site.kernel.root import ensure_site
    attempts = []

    def raising(request):
        attempts.append(request.environ.get("retry.attempt"))
        raise error("raised by the test")

    config = xueji_site.configure(base_settings(key_file))
    config.add_route("raising", "/raising")
    config.add_view(raising, route_name="raising", request_method="POST",
                    permission=NO_PERMISSION_REQUIRED, require_csrf=False)
    app = config.make_wsgi_app()
    try:
        ensure_site(database(app.registry), app.registry)
        return webtest.TestApp(app).post("/raising", status=503), attempts
    finally:
        for db in databases(app.registry).values():
            db.close()


@pytest.mark.parametrize("error", LOCK_ERRORS, ids=lambda e: e.__name__)
def test_relstorage_lock_errors_are_retried_then_answered_503(key_file, error):
    """What RelStorage raises when it cannot take its locks at commit
    (relstorage#496 under concurrent writers) is retried like any conflict
    and, past the last attempt, answered 503 with Retry-After, never 500.
    The concurrent test above meets these errors only now and then; here a
    view raises one on every attempt."""
    response, attempts = _post_to_a_view_raising(key_file, error)
    assert response.headers["Retry-After"] == "1" and "系统繁忙" in response.text
    assert attempts == [0, 1, 2]  # retry.attempts = 3


def test_relstorage_commit_lock_timeout_is_answered_503(key_file):
    """RelStorage gives up waiting for its commit lock (``commit-lock-timeout``)
    with an error that is not a conflict: not retried (the wait was already
    long), but answered 503 with Retry-After like a conflict, never 500."""
    from relstorage.adapters.interfaces import UnableToAcquireCommitLockError
    response, attempts = _post_to_a_view_raising(key_file, UnableToAcquireCommitLockError)
    assert response.headers["Retry-After"] == "5" and "系统繁忙" in response.text
    assert attempts == [0]


# -- R4: the disk under PostgreSQL full ----------------------------------------------------

TABLESPACE_MB = 16  # a new database (a copy of template1) takes about 8 MB of it


def _admin(pg_server, sql, dbname="postgres"):
    conn = pg_server.connect(dbname)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture
def small_tablespace(pg_server):
    """A PostgreSQL tablespace on a 16 MB tmpfs, or a visible skip where
    mounting is not permitted. Its name; dropped and unmounted afterwards."""
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("disk-full test needs root and mount(8) to make a tmpfs for a tablespace")
    owner = pwd.getpwnam("postgres") if conftest._running_as_root() else pwd.getpwuid(os.geteuid())
    mount = tempfile.mkdtemp(prefix="xueji-ts-")  # in /tmp: the postgres user can reach it
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700,uid=%d,gid=%d"
                             % (TABLESPACE_MB, owner.pw_uid, owner.pw_gid), "tmpfs", mount],
                            capture_output=True, text=True)
    if result.returncode != 0:
        os.rmdir(mount)
        pytest.skip("cannot mount a tmpfs here (%s): disk-full test not run" % result.stderr.strip())
    name = "xueji_small_%d" % os.getpid()
    try:
        _admin(pg_server, "CREATE TABLESPACE %s LOCATION '%s'" % (name, mount))
        try:
            yield name
        finally:
            _admin(pg_server, "DROP TABLESPACE IF EXISTS %s" % name)
    finally:
        subprocess.run(["umount", "-l", mount], capture_output=True)
        os.rmdir(mount)


def _fill(pg_server, dbname):
    """Fill the tablespace of ``dbname`` to its last block with a table of
    incompressible rows, large ones first. PostgreSQL answers a relation it
    cannot extend with an error (53100 disk_full) and goes on."""
    import psycopg2
    conn = pg_server.connect(dbname)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE filler (chunk bytea)")
            cur.execute("ALTER TABLE filler ALTER COLUMN chunk SET STORAGE EXTERNAL")  # no compression
            for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1 << 6):
                try:
                    while True:
                        cur.execute("INSERT INTO filler VALUES (%s)", (os.urandom(size),))
                except psycopg2.errors.DiskFull:
                    pass
    finally:
        conn.close()


def _edit_address(browser, address):
    form = browser.get(fault_helpers.SCHOOL + "/edit").forms["xueji-form"]
    form["address"] = address
    return form.submit("save", expect_errors=True)


def _last_commit(pg_server, dbname):
    """The newest transaction id and the number of objects in ``object_state``."""
    conn = pg_server.connect(dbname)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT max(tid), count(*) FROM object_state")
            return cur.fetchone()
    finally:
        conn.close()


def _address_and_modifications(app):
    with open_site(app) as site:
        school = site["110000"]["110105"]["2111000001"]
        modified = site.audit.newest(lambda e: e.action == "modify" and e.path == fault_helpers.SCHOOL,
                                     limit=1000)
        return school.address, [dict(e.detail).get("address", "") for e in modified]


def test_full_tablespace_fails_cleanly_and_the_site_recovers(small_tablespace, pg_server, key_file):
    """The database lives in a tablespace on a small tmpfs. Once it is full, a
    write through the app ends in a clean 503 page ("storage full", no
    traceback, as on FileStorage), nothing of it is committed, reading goes on; once space is
    freed, the same write goes through and a fresh process reads it back."""
    dbname = pg_server.create_database(tablespace=small_tablespace)
    try:
        app = xueji_site.main({}, **base_settings(key_file, pg_server.uri(dbname)))
        try:
            with open_site(app) as site:
                build_tree(site, app.registry)
                add_user(site, "reg", "school_registrar", at=site["110000"]["110105"]["2111000001"])
            browser = Browser(app)
            browser.login("reg")
            assert _edit_address(browser, "杭州市上城区1号").status_int == 303
            before = _address_and_modifications(app), _last_commit(pg_server, dbname)
            _fill(pg_server, dbname)
            response = _edit_address(browser, "杭州市滨江区2号" * 20)
            assert response.status_int == 503, response.status  # as FileStorage's guard answers
            assert "存储空间不足" in response.text and "Traceback" not in response.text
            assert response.headers["Retry-After"]
            # nothing of it committed: neither what the app sees nor a row in object_state
            assert (_address_and_modifications(app), _last_commit(pg_server, dbname)) == before
            assert browser.get(fault_helpers.SCHOOL + "/").status_int == 200  # reading still works
            _admin(pg_server, "DROP TABLE filler", dbname)
            assert _edit_address(browser, "杭州市西湖区1号").status_int == 303
        finally:
            for db in databases(app.registry).values():
                db.close()
        open_db = _opener(pg_server, dbname)
        with open_db() as db:
            conn = db.open()
            try:
                school = conn.root()[ROOT_KEY]["110000"]["110105"]["2111000001"]
                assert school.address == "杭州市西湖区1号"
            finally:
                conn.close()
        assert_no_dangling_reference(pg_server, dbname, minimum=10)
        assert_consistent(open_db)
    finally:
        pg_server.drop_database(dbname)

