"""C3 on PostgreSQL: the audit mirror table on a real (throwaway) server.

A table owner runs ``audit_mirror.setup_sql`` once; the application's role
may then only INSERT and SELECT: UPDATE, DELETE and TRUNCATE are refused to
it (no privilege) and to the owner too (the trigger). The site ships to the
table after sealing, never twice, and the comparison finds a database that
was changed and resealed with the key. Skips like the other PostgreSQL tests
when no server can be started (fails under XUEJI_REQUIRE_PG=1: see conftest).
"""
import contextlib
from dataclasses import dataclass

import pytest

import xueji_site
from xueji_site.kernel import audit, audit_mirror

from ..conftest import Browser, add_user, base_settings, open_site
from ..test_audit_mirror import _rebuild_chain
from .conftest import HOST
from xueji_site.kernel.root import database

try:
    import psycopg2
    import psycopg2.errors
except ImportError:  # pg_server then skips, or fails under XUEJI_REQUIRE_PG=1, and says why
    psycopg2 = None

pytestmark = pytest.mark.storage


@dataclass
class MirrorDB:
    pg: object
    dbname: str
    owner: str
    app_role: str

    def connect(self, role):
        conn = psycopg2.connect(host=HOST, port=self.pg.port, user=role, dbname=self.dbname, connect_timeout=5)
        conn.autocommit = True
        return conn

    @property
    def dsn(self):
        """What the application's setting holds: the app role, trusted on loopback."""
        return "postgresql://%s@%s:%d/%s" % (self.app_role, HOST, self.pg.port, self.dbname)

    def sink(self):
        return audit_mirror.open_sink(self.dsn)

    def execute(self, role, sql, params=None):
        conn = self.connect(role)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def seqs(self):
        return [seq for (seq,) in self.execute(self.owner, "SELECT seq FROM xueji_audit_mirror ORDER BY seq")]


@contextlib.contextmanager
def mirror_database(pg, set_up=True):
    """A database with an owner role and an application role; the table made by the owner."""
    dbname = pg.create_database()
    mirror = MirrorDB(pg, dbname, dbname + "_owner", dbname + "_app")
    try:
        mirror.execute("postgres", "CREATE ROLE %s LOGIN" % mirror.owner)
        mirror.execute("postgres", "CREATE ROLE %s LOGIN" % mirror.app_role)
        mirror.execute("postgres", "GRANT CREATE ON SCHEMA public TO %s" % mirror.owner)
        if set_up:
            mirror.execute(mirror.owner, audit_mirror.setup_sql(mirror.app_role))
        yield mirror
    finally:
        pg.drop_database(dbname)
        admin = pg.connect()
        try:
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute("DROP ROLE IF EXISTS %s" % mirror.owner)
                cur.execute("DROP ROLE IF EXISTS %s" % mirror.app_role)
        finally:
            admin.close()


@pytest.fixture
def mirror_db(pg_server):
    with mirror_database(pg_server) as mirror:
        yield mirror


def _seal_some(app, n):
    with open_site(app) as site:
        for i in range(n):
            site.audit.append("u-1", "someone", "10.0.0.%d" % i, "test", "/", audit.OK, {"n": str(i)})
        audit.seal(site.audit)


def test_the_site_ships_to_the_table_and_never_twice(mirror_db, key_file):
    app = xueji_site.main({}, **dict(base_settings(key_file), **{
        "xueji.audit_seal_seconds": "0", "xueji.audit_mirror": mirror_db.dsn}))
    try:
        with open_site(app) as site:
            add_user(site, "plain")
        browser = Browser(app)
        browser.login("plain")  # sealed and shipped after the request's commit
        browser.logout()
        sink = mirror_db.sink()
        with open_site(app) as site:
            log = site.audit
            head = log.head[0]
            assert head >= 2 and mirror_db.seqs() == list(range(1, head + 1)) and sink.highest() == head
            assert audit_mirror.compare(log, sink) == [] and audit_mirror.unshipped(log, sink) == 0
            assert audit_mirror.ship(log, sink) == 0
            assert sink.append(audit_mirror.rows_from(log, 1, head)) == 0  # a late shipper: ON CONFLICT
            stored = mirror_db.execute(mirror_db.owner, "SELECT entry_key, digest, link FROM xueji_audit_mirror "
                                                        "WHERE seq = %s", (head,))
            assert stored == [tuple(log.seals[head])]
        assert mirror_db.seqs() == list(range(1, head + 1))
    finally:
        database(app.registry).close()


@pytest.mark.parametrize("statement", ["UPDATE xueji_audit_mirror SET digest = 'x' WHERE seq = 1",
                                       "DELETE FROM xueji_audit_mirror WHERE seq = 1",
                                       "TRUNCATE xueji_audit_mirror",
                                       "ALTER TABLE xueji_audit_mirror DISABLE TRIGGER ALL"])
def test_rows_cannot_be_changed_or_removed(mirror_db, app, statement):
    _seal_some(app, 3)
    with open_site(app) as site:
        assert audit_mirror.ship(site.audit, mirror_db.sink()) == 3
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):  # the application's role
        mirror_db.execute(mirror_db.app_role, statement)
    if not statement.startswith("ALTER"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="append-only"):  # even the owner
            mirror_db.execute(mirror_db.owner, statement)
    assert mirror_db.seqs() == [1, 2, 3]
    with open_site(app) as site:
        assert audit_mirror.compare(site.audit, mirror_db.sink()) == []


def test_the_comparison_finds_a_database_resealed_with_the_key(mirror_db, app):
    _seal_some(app, 5)
    sink = mirror_db.sink()
    with open_site(app) as site:
        assert audit_mirror.ship(site.audit, sink, batch=2) == 5
    with open_site(app) as site:
        log = site.audit
        key = log.seals[3][0]
        when, userid, login, address, action, path, _result, detail = log.entries[key]
        log.entries[key] = (when, userid, login, address, action, path, audit.DENIED, detail)
        _rebuild_chain(log, 3, [log.seals[s][0] for s in range(3, 6)])
        assert audit.verify(log) == []
        problems = {(p.kind, p.where) for p in audit_mirror.compare(log, sink)}
    assert problems == {("mirror-entry-changed", key), ("mirror-seal-differs", 3), ("mirror-chain-rebuilt", 4)}


def test_the_application_cannot_make_the_table_itself(pg_server, app):
    with mirror_database(pg_server, set_up=False) as mirror:
        _seal_some(app, 1)
        with open_site(app) as site:
            with pytest.raises(audit_mirror.MirrorError, match="--mirror-setup-sql"):
                audit_mirror.ship(site.audit, mirror.sink())
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            mirror.execute(mirror.app_role, "CREATE TABLE xueji_audit_mirror (seq bigint)")
