"""The fault scenarios and their checks, shared by every storage they run on.

``tests/test_import_crash.py`` and ``tests/test_faults.py`` run them on a
FileStorage (and the app's in-memory database), and
``tests/storage/test_faults_relstorage.py`` on RelStorage (PostgreSQL): the
same scenario and the same assertions. What differs is passed in: how to open
the database read-only (``open_db``, a context manager yielding a ``ZODB.DB``)
and the storage's own consistency tool (``fstest`` for a FileStorage, a scan
of ``object_state`` for RelStorage).
"""
import collections
import configparser
import contextlib
import logging
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import transaction
from BTrees.check import TYPE_BTREE, check as check_btree, classify
from pyramid.threadlocal import get_current_registry
from ZODB.broken import Broken
from ZODB.POSException import ConflictError, POSKeyError
from ZODB.serialize import referencesf
from ZODB.utils import oid_repr, z64

from xueji_site.kernel.crypto import keyring
from xueji_site.kernel.root import ROOT_KEY

from .conftest import Browser, add_user, base_settings, build_tree, open_site
from .import_helpers import pupils, xlsx_bytes
from xueji_site.kernel.root import database, databases

SCHOOL = "/110000/110105/2111000001"   # where the importer puts the rows
PUPIL_A = "110105201703120038"         # the pupil build_tree puts in that school
THREADS = 20
EDITS = 5


# -- opening a database read-only ------------------------------------------------

@contextlib.contextmanager
def file_db(path):
    """A FileStorage opened read-only, as a fresh process would see it."""
    import ZODB
    from ZODB.FileStorage import FileStorage
    db = ZODB.DB(FileStorage(str(path), read_only=True))
    try:
        yield db
    finally:
        db.close()


@contextlib.contextmanager
def uri_db(uri):
    """The database behind a zodburi URI (e.g. RelStorage's postgres://)."""
    import ZODB
    import zodburi
    factory, dbkw = zodburi.resolve_uri(uri)
    db = ZODB.DB(factory(), **dbkw)
    try:
        yield db
    finally:
        db.close()


# -- the import scenario (R3, R5) ---------------------------------------------------

def make_import_database(directory, key_file, uri):
    """The conftest tree in the database at ``uri``, made through the real app,
    and ``directory/test.ini`` pointing at it (for the console script)."""
    from xueji_site import main
    app = main({}, **base_settings(key_file, uri=uri))
    try:
        with open_site(app) as site:
            build_tree(site, get_current_registry())
    finally:
        for db in databases(app.registry).values():
            db.close()
    ini = configparser.ConfigParser(interpolation=None)
    ini["app:main"] = dict(base_settings(key_file, uri=uri), use="egg:xueji")
    with open(Path(directory) / "test.ini", "w", encoding="utf-8") as out:
        ini.write(out)
    return directory


def import_argv(directory, *extra):
    exe = Path(sys.executable).parent / "xueji-import"
    return [str(exe), str(directory / "test.ini"), str(directory / "pupils.xlsx"),
            "--school", SCHOOL] + list(extra)


IMPORT_ENV = dict(os.environ, PYTHONWARNINGS="ignore")


def run_import(directory, *extra):
    """Run xueji-import to its end (or its death): the CompletedProcess."""
    return subprocess.run(import_argv(directory, *extra), capture_output=True, text=True,
                          timeout=120, env=IMPORT_ENV)


def start_import(directory, *extra):
    """Start xueji-import and return at once (stdout, stderr: text pipes)."""
    return subprocess.Popen(import_argv(directory, *extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=IMPORT_ENV)


def write_pupils(directory, count):
    rows = pupils(count)
    (directory / "pupils.xlsx").write_bytes(xlsx_bytes(rows))
    return rows


def stored(open_db):
    """ID numbers of the pupils in the school (from its class containers), how
    many students the catalog indexes, and the audit's import entries."""
    with open_db() as db:
        conn = db.open()
        try:
            site = conn.root()[ROOT_KEY]
            school = site["110000"]["110105"]["2111000001"]
            numbers = [s.id_number for k in school.values() for s in k.values()]
            indexed = len(list(site.catalog["content_type"].applyEq("Student")))
            imports = [e for e in site.audit.newest(limit=10**6) if e.action == "import"]
            return numbers, indexed, imports
        finally:
            conn.close()


def assert_each_row_once(open_db, rows):
    """Every row of the sheet (and build_tree's pupil) is in the school exactly
    once: counted in the class containers and found by the catalog's blind
    index of ID numbers, which knows each number under exactly one document."""
    expected = [r["id_number"] for r in rows] + [PUPIL_A]
    numbers, indexed, _imports = stored(open_db)
    assert len(numbers) == len(set(numbers)), "a row is stored twice"
    assert sorted(numbers) == sorted(expected)
    assert indexed == len(expected) + 1  # and the pupil build_tree puts in another school
    with open_db() as db:
        conn = db.open()
        try:
            hashes = conn.root()[ROOT_KEY].catalog["hashes"]
            found = {n: len(list(hashes.applyEq(keyring().blind("id", n)))) for n in expected}
        finally:
            conn.close()
    assert {n: k for n, k in found.items() if k != 1} == {}


def check_objects(db):
    """Walk everything reachable from the root, as checkbtrees and fsrefs do
    together: every reference must load (no POSKeyError), every state must
    unpickle into its class (no Broken object), and every BTree/TreeSet must
    pass ``BTrees.check.check`` (keys ordered and in range) and its own
    ``_check`` (bucket chain). Returns the oids of the trees checked."""
    storage = db.storage
    conn = db.open()
    try:
        todo, seen = [(z64, None)], {z64}
        dangling, broken, trees = [], [], set()
        while todo:
            oid, referrer = todo.pop()
            try:
                data, _serial = storage.load(oid)
            except POSKeyError:
                dangling.append("%s (referenced by %s)" % (oid_repr(oid), oid_repr(referrer)))
                continue
            for ref in referencesf(data):
                if ref not in seen:
                    seen.add(ref)
                    todo.append((ref, oid))
            obj = conn.get(oid)
            obj._p_activate()
            if isinstance(obj, Broken):
                broken.append(oid_repr(oid))
            elif _is_tree(obj):
                check_btree(obj)
                obj._check()
                trees.add(oid)
            if len(seen) % 2000 == 0:
                conn.cacheGC()
        assert dangling == [], "dangling references: %s" % dangling
        assert broken == [], "objects whose class is missing: %s" % broken
        return trees
    finally:
        conn.close()


def _is_tree(obj):
    try:
        kind, _is_mapping = classify(obj)
    except KeyError:  # not a BTrees type
        return False
    return kind == TYPE_BTREE


def assert_consistent(open_db):
    """check_objects, and the trees it checked include the school's and every
    class's child container and every BTree of every catalog index."""
    with open_db() as db:
        trees = check_objects(db)
        conn = db.open()
        try:
            site = conn.root()[ROOT_KEY]
            school = site["110000"]["110105"]["2111000001"]
            wanted = {school.data._p_oid} | {klass.data._p_oid for klass in school.values()}
            for index in site.catalog.values():
                index._p_activate()
                wanted |= {v._p_oid for v in vars(index).values() if _is_tree(v)}
        finally:
            conn.close()
    assert len(wanted) > 3 and wanted <= trees, "not checked: %s" % (wanted - trees)


def kill_mid_import_then_rerun(directory, open_db, storage_clean):
    """xueji-import dies by SIGKILL after 120 rows (100 committed in batches of
    50), then runs again: the rows of the first run are found "already here",
    the rest is imported, nothing twice; a third run finds nothing new.
    ``storage_clean()`` asserts the storage's own consistency check."""
    rows = write_pupils(directory, 300)
    crashed = run_import(directory, "--batch", "50", "--fail-after", "120")
    assert crashed.returncode == -9, crashed.stderr
    assert "committed 100 rows" in crashed.stdout
    numbers, indexed, _imports = stored(open_db)
    assert len(numbers) == 101 and indexed == 102  # two pupils from build_tree, one elsewhere
    storage_clean()
    assert_consistent(open_db)

    finished = run_import(directory, "--batch", "50")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "100 already here" in finished.stdout
    numbers, indexed, imports = stored(open_db)
    assert sorted(numbers) == sorted([r["id_number"] for r in rows] + [PUPIL_A])
    assert indexed == 302
    assert dict(imports[0].detail)["created"] == "200"
    assert_each_row_once(open_db, rows)
    storage_clean()
    assert_consistent(open_db)

    again = run_import(directory)
    assert again.returncode == 0 and "nothing new" in again.stdout
    assert len(stored(open_db)[0]) == 301


# -- concurrent edits (R1, R2) -------------------------------------------------------

def _edit_school(browser, phone):
    form = browser.get(SCHOOL + "/edit").forms["xueji-form"]
    form["phone"] = phone
    return form.submit("save", expect_errors=True)


def concurrent_conflicting_edits(app):
    """20 clients edit the same school at once, 5 edits each. No client sees a
    500: conflicts are retried (pyramid_retry, 3 attempts) and, past the
    retries, answered 503 with Retry-After, which the client resends. Every
    acknowledged edit (303) left exactly one audit entry, and the before → after
    pairs form one unbroken line: no edit overwrote another unseen.
    Returns the number of 503 answers."""
    with open_site(app) as site:
        build_tree(site, get_current_registry())
        for n in range(THREADS):
            add_user(site, "reg%d" % n, "school_registrar", at=site["110000"]["110105"]["2111000001"])
    browsers = []
    for n in range(THREADS):
        browser = Browser(app, extra_environ={"REMOTE_ADDR": "10.1.0.%d" % n})
        browser.login("reg%d" % n)
        browsers.append(browser)
    # No warm-up: 20 threads meet never-rendered templates at once, as after a
    # restart; xueji_site/compile_lock.py keeps their compilation one at a time.
    outcomes = collections.defaultdict(list)
    recording = threading.Lock()  # a defaultdict's first insert of a key races between threads
    busy_without_retry_after = []
    last_attempts = _LastAttemptConflicts()
    retried = _record_retries(app)
    barrier = threading.Barrier(THREADS)

    def work(n):
        barrier.wait()
        for i in range(EDITS):
            phone = "0571-8%02d%02d" % (n, i)
            for _attempt in range(100):  # a user told "busy, resend" (503) resends, a moment later
                response = _edit_school(browsers[n], phone)
                status = response.status_int
                with recording:
                    outcomes[status].append(phone)
                    if status == 503 and not response.headers.get("Retry-After"):
                        busy_without_retry_after.append(phone)
                if status != 503:
                    break
                time.sleep(random.uniform(0, 0.05))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    with last_attempts:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert 500 not in outcomes and set(outcomes) <= {303, 503}, dict(outcomes)
    # every 503 came from the busy page, which answers only the last attempt
    assert busy_without_retry_after == [] and last_attempts.count == len(outcomes[503])
    acknowledged = outcomes[303]
    assert len(acknowledged) == len(set(acknowledged)) == THREADS * EDITS  # every edit got through once
    print("503 answers (resent): %d of %d requests; retried on: %s"
          % (len(outcomes[503]), len(acknowledged) + len(outcomes[503]), dict(retried)))
    with open_site(app) as site:
        school = site["110000"]["110105"]["2111000001"]
        modified = site.audit.newest(lambda e: e.action == "modify" and e.path.rstrip("/") == SCHOOL,
                                     limit=1000)
        written = [dict(e.detail)["phone"].split(" → ")[1] for e in modified]
        assert sorted(written) == sorted(acknowledged)  # one entry per acknowledged edit, no more
        # each edit saw the value the previous committed edit left: the chain of
        # "before → after" pairs is one unbroken line, so nothing was overwritten unseen
        pairs = {dict(e.detail)["phone"].split(" → ")[0]: dict(e.detail)["phone"].split(" → ")[1] for e in modified}
        assert len(pairs) == len(modified)
        assert school.phone in written and school.phone not in pairs
    return len(outcomes[503])


def _record_retries(app):
    """Count, by exception class, the attempts pyramid_retry threw away and retried."""
    from pyramid_retry import IBeforeRetry
    seen = collections.Counter()
    lock = threading.Lock()

    def record(event):
        with lock:
            seen[type(event.exception).__name__] += 1

    app.registry.registerHandler(record, (IBeforeRetry,))
    return seen


class _LastAttemptConflicts(logging.Handler):
    """Counts views/errors.py's "conflict after the last retry" warnings while active."""

    LOGGER = "xueji_site.views.errors"

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record):
        if record.getMessage().startswith("conflict after the last retry"):
            self.count += 1

    def __enter__(self):
        logging.getLogger(self.LOGGER).addHandler(self)
        return self

    def __exit__(self, *exc):
        logging.getLogger(self.LOGGER).removeHandler(self)


def counter_under_threads(app, threads=THREADS, increments=50):
    """The ZODB contract underneath: ``threads`` × ``increments`` read-modify-write
    increments of one plain integer, each retried on ConflictError, end at
    exactly their product, which is also the number of successful commits."""
    db = database(app.registry)
    with open_site(app) as site:
        site.fault_counter = 0
    commits = []

    def work():
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            for _ in range(increments):
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

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    with open_site(app) as site:
        assert site.fault_counter == len(commits) == threads * increments
        del site.fault_counter
