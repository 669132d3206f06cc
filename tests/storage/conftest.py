"""Real storage servers for the scale-out tests, and one URI per backend.

* ``zeo_server`` (session): ``runzeo`` from this virtualenv on a free
  loopback port, serving a pool of FileStorages (``-f`` repeated gives
  storages named "1", "2", …) so that every test gets a database of its own.
* ``pg_server`` (session): a throwaway PostgreSQL 15 cluster in a temporary
  directory, listening on 127.0.0.1 only. The binaries refuse to run as
  root, so as root they run as the ``postgres`` user through ``runuser``.
  Missing binaries skip the RelStorage tests, unless ``XUEJI_REQUIRE_PG=1``,
  which turns the skip into a failure.
* ``storage_uri`` (parametrized: file, zeo, relstorage): a fresh, empty
  database for one test. The value is the URI (a ``str``) and also carries
  ``kind`` and ``raw_bytes()``, which reads what the storage keeps at rest
  without ZODB and without the key.

Servers are stopped and their directories removed in ``finally`` blocks, so
a failing test leaves nothing running behind it.
"""
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

PG_BIN = os.environ.get("XUEJI_PG_BIN", "/usr/lib/postgresql/15/bin")
HOST = "127.0.0.1"
ZEO_SLOTS = 16          # databases the ZEO server offers; one per test
START_TIMEOUT = 20.0    # seconds a server may take to come up


# -- small helpers -----------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _tail(path, limit=2000):
    try:
        with open(path, "rb") as src:
            return src.read()[-limit:].decode("utf-8", "replace")
    except OSError:
        return "(no log)"


def wait_for_port(port, proc, log_path, timeout=START_TIMEOUT):
    """Return once something accepts TCP connections on HOST:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s:\n%s" % (proc.returncode, _tail(log_path)))
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen on %s:%s within %ss:\n%s"
                       % (HOST, port, timeout, _tail(log_path)))


def stop_process(proc, timeout=10):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


# -- ZEO ---------------------------------------------------------------------

class ZEOServer:
    def __init__(self, port, paths):
        self.port = port
        self.paths = paths            # storage name ("1", "2", …) → Data.fs path
        self._names = iter(sorted(paths, key=int))

    def allocate(self):
        """A storage no other test has used: (name, path of its Data.fs)."""
        name = next(self._names, None)
        if name is None:
            raise RuntimeError("all %d ZEO storages are in use: raise ZEO_SLOTS" % len(self.paths))
        return name, self.paths[name]


def _start_zeo(workdir, paths, log):
    """Start runzeo serving ``paths`` on a free port: (process, port)."""
    for attempt in range(3):  # a free port can be taken before the server binds it
        port = free_port()
        argv = [sys.executable, "-m", "ZEO.runzeo", "-a", "%s:%d" % (HOST, port)]
        for name in sorted(paths, key=int):
            argv += ["-f", paths[name]]
        proc = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, proc, log.name)
            return proc, port
        except BaseException:
            stop_process(proc)
            if attempt == 2:
                raise


@pytest.fixture(scope="session")
def zeo_server():
    workdir = tempfile.mkdtemp(prefix="xueji-zeo-")
    try:
        paths = {str(i): os.path.join(workdir, "Data%d.fs" % i) for i in range(1, ZEO_SLOTS + 1)}
        with open(os.path.join(workdir, "zeo.log"), "wb") as log:
            proc, port = _start_zeo(workdir, paths, log)
            try:
                yield ZEOServer(port, paths)
            finally:
                stop_process(proc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# -- PostgreSQL ----------------------------------------------------------------

def _running_as_root():
    return os.geteuid() == 0


def pg_unavailable_reason():
    """Why a PostgreSQL cluster cannot be started here, or None."""
    for tool in ("initdb", "pg_ctl"):
        if not os.access(os.path.join(PG_BIN, tool), os.X_OK):
            return "PostgreSQL binaries not found: no executable %s in %s" % (tool, PG_BIN)
    if _running_as_root():
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and runuser(1) is not installed"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 is not installed"
    return None


def _pg_argv(tool, *args):
    argv = [os.path.join(PG_BIN, tool), *args]
    if _running_as_root():
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _pg_run(workdir, tool, *args, timeout=60):
    result = subprocess.run(_pg_argv(tool, *args), cwd=workdir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError("%s failed (%s):\n%s" % (tool, result.returncode,
                                                    result.stdout.decode("utf-8", "replace")[-3000:]))
    return result


class PGServer:
    def __init__(self, port):
        self.port = port
        self._numbers = itertools.count(1)

    def connect(self, dbname="postgres"):
        import psycopg2
        return psycopg2.connect(host=HOST, port=self.port, user="postgres", dbname=dbname,
                                connect_timeout=5)

    def _admin(self, sql):
        conn = self.connect()
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def create_database(self, tablespace=None):
        """A new empty database; in ``tablespace`` (its name) when given."""
        name = "xueji_%d" % next(self._numbers)
        self._admin("CREATE DATABASE %s" % name + (" TABLESPACE %s" % tablespace if tablespace else ""))
        return name

    def drop_database(self, name):
        # No FORCE: if a test leaked a connection, dropping fails and says so.
        self._admin("DROP DATABASE IF EXISTS %s" % name)

    def uri(self, dbname):
        # Trust authentication: the password is a placeholder the server ignores.
        return ("postgres://postgres:unused@%s:%d/%s?keep_history=false&connect_timeout=5"
                % (HOST, self.port, dbname))


@pytest.fixture(scope="session")
def pg_server():
    reason = pg_unavailable_reason()
    if reason:
        if os.environ.get("XUEJI_REQUIRE_PG") == "1":
            pytest.fail("XUEJI_REQUIRE_PG=1 but " + reason, pytrace=False)
        pytest.skip(reason)
    workdir = tempfile.mkdtemp(prefix="xueji-pg-")
    data = os.path.join(workdir, "data")
    try:
        sockdir = os.path.join(workdir, "sock")
        os.mkdir(sockdir)
        if _running_as_root():
            postgres = pwd.getpwnam("postgres")
            for path in (workdir, sockdir):
                os.chown(path, postgres.pw_uid, postgres.pw_gid)
        _pg_run(workdir, "initdb", "-D", data, "-A", "trust", "-U", "postgres",
                "-E", "UTF8", "--locale=C", "--no-sync")
        for attempt in range(3):  # a free port can be taken before the server binds it
            port = free_port()
            options = " ".join([
                "-p %d" % port, "-k %s" % sockdir, "-c listen_addresses=%s" % HOST,
                # a throwaway cluster: durability buys nothing here
                "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
            ])
            try:
                _pg_run(workdir, "pg_ctl", "-D", data, "-o", options,
                        "-l", os.path.join(workdir, "pg.log"),
                        "-w", "-t", str(int(START_TIMEOUT)), "start")
                break
            except RuntimeError as failed:
                if attempt == 2 or os.path.exists(os.path.join(data, "postmaster.pid")):
                    raise RuntimeError("%s\nserver log:\n%s"
                                       % (failed, _tail(os.path.join(workdir, "pg.log")))) from failed
        yield PGServer(port)
    finally:
        try:
            if os.path.exists(os.path.join(data, "postmaster.pid")):  # it started
                _pg_run(workdir, "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


# -- one fresh database per test, on each backend --------------------------------

class StorageURI(str):
    """A zodburi URI that also knows its backend and how to read it raw."""

    def __new__(cls, uri, kind, raw_reader):
        self = super().__new__(cls, uri)
        self.kind = kind
        self._raw_reader = raw_reader
        return self

    def raw_bytes(self):
        """Everything the storage holds at rest, read without ZODB or the key."""
        return self._raw_reader()


def _read_file(path):
    def read():
        with open(path, "rb") as src:
            return src.read()
    return read


def object_state_rows(pg, dbname):
    """(zoid, state) of every current object: history-free RelStorage keeps them in object_state."""
    conn = pg.connect(dbname)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT zoid, state FROM object_state WHERE state IS NOT NULL ORDER BY zoid")
            return cur.fetchall()
    finally:
        conn.close()


def _read_object_state(pg, dbname):
    def read():
        rows = object_state_rows(pg, dbname)
        assert rows, "object_state is empty: nothing was read"
        return b"\n".join(bytes(state) for _zoid, state in rows)
    return read


@pytest.fixture(params=["file", "zeo", "relstorage"])
def storage_uri(request, tmp_path):
    kind = request.param
    if kind == "file":
        path = str(tmp_path / "Data.fs")
        yield StorageURI("file://" + path, kind, _read_file(path))
    elif kind == "zeo":
        server = request.getfixturevalue("zeo_server")
        name, path = server.allocate()
        uri = "zeo://%s:%d?storage=%s&wait_timeout=10" % (HOST, server.port, name)
        yield StorageURI(uri, kind, _read_file(path))
    else:
        pg = request.getfixturevalue("pg_server")
        dbname = pg.create_database()
        try:
            yield StorageURI(pg.uri(dbname), kind, _read_object_state(pg, dbname))
        finally:
            pg.drop_database(dbname)
