"""An append-only copy of the sealed audit log outside the database (C3).

The hash chain in ``audit`` is keyed with the external key, so someone who
can write the database but lacks the key cannot rebuild it unnoticed. Someone
who holds both (a root on the application server) can: edit an entry, then
recompute every seal after it. The mirror closes that gap. Every *sealed*
entry is shipped, in seal order, to a sink the application may only append
to; ``compare`` then finds any later difference between the database and
the copy, and the copy's own chain shows when the copy itself was edited.

Setting (ini ``[app:main]``): ``xueji.audit_mirror``

* empty or absent: no mirror;
* ``file:///abs/path/audit.jsonl``: a JSON-lines file, opened with O_APPEND,
  written under an exclusive ``flock`` and fsynced. Put it where the
  application's user can append but not rewrite: another host's mount, or a
  local file with the append-only attribute (``chattr +a``, set by root);
* ``postgresql://role@host:port/db`` (any libpq URI; ``postgres://`` too):
  the table ``xueji_audit_mirror``, preferably in another PostgreSQL server
  than the ZODB's, on which the application's role holds INSERT and SELECT
  only. Credentials as libpq takes them (``~/.pgpass``, ``PGPASSWORD``, or
  in the URI).

PostgreSQL set-up, once, by the table's owner (a role other than the
application's, with CREATE on the schema): run ``setup_sql("APP_ROLE")``,
printed by ``xueji-verify-audit CONFIG --mirror-setup-sql APP_ROLE``. It
creates the table, revokes everything from PUBLIC, grants INSERT and SELECT
to the application's role, and adds triggers that refuse UPDATE, DELETE
(per row) and TRUNCATE, so that not even the owner changes a row by
accident (the owner could still drop the triggers on purpose: keep that
role's password off the application servers). The application never
creates the table: it has no right to.

What is shipped: one row per seal, ``seq``, the entry's key, the entry's
whole content as JSON (``null`` if the entry was gone when shipped), its
digest and the chain link (see ``audit.seal``). Shipping happens only after
the sealing transaction committed, since an aborted seal's numbers are given
again by the next one. It is a catch-up: ask the sink for the highest
sequence it holds, send the seals after it up to the database's head, so a
crash between commit and shipping is repaired by the next run and nothing is
written twice (PostgreSQL: ``seq`` primary key plus ``ON CONFLICT DO
NOTHING``; file: the last line is read under the lock). Rows stay in the
mirror when ``audit.purge`` removes old entries from the database.

When shipping runs: in the site after each sealing run (views/sealer.py; a
failure is logged and caught up next time), and with ``xueji-verify-audit
CONFIG --seal``. ``xueji-verify-audit CONFIG --mirror`` runs ``compare``.

After a deliberate restore of the database from a backup, the mirror holds
seals the restored database does not: ``compare`` keeps reporting that, as
it should. Keep the old mirror as evidence and start a new one (another
file; as the owner, ``ALTER TABLE xueji_audit_mirror RENAME TO ...`` and run
the set-up again).
"""
import fcntl
import json
import logging
import os
import re
import time
from collections import namedtuple
from urllib.parse import unquote, urlsplit

from xueji_site.kernel import audit
from xueji_site.kernel.transport import describe  # noqa: F401  (part of this module's interface: messages)
from xueji_site.kernel import settings as xueji_settings

logger = logging.getLogger(__name__)

TABLE = "xueji_audit_mirror"
BATCH = 1000  # rows per write (one fsync, one PostgreSQL transaction)
FIELDS = ("when", "userid", "login", "address", "action", "path", "result", "detail")

# entry: the record tuple as audit stores it (detail a tuple of pairs), or None
Row = namedtuple("Row", "seq key entry digest link")
# a line of the file (or a row of the table) that cannot be read as a row: edited
Unreadable = namedtuple("Unreadable", "where text")


class MirrorError(Exception):
    """The mirror cannot be reached or used; the message says which and why."""


# -- the setting ----------------------------------------------------------------

def sink_for(settings):
    """The sink named by ``xueji.audit_mirror``, or None when the setting is empty."""
    value = xueji_settings.raw(settings, "xueji.audit_mirror")
    return open_sink(value) if value else None


def open_sink(url):
    """A FileSink or PgSink for ``url``; ValueError when it names neither."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not os.path.isabs(path) or path.endswith("/"):
            raise ValueError("xueji.audit_mirror: a file mirror needs an absolute file path "
                             "(file:///abs/path/audit.jsonl), not %r" % url)
        return FileSink(path)
    if parts.scheme in ("postgresql", "postgres"):
        return PgSink(url)
    raise ValueError("xueji.audit_mirror must start with file:// or postgresql://, not %r"
                     % describe(url))


# -- rows ------------------------------------------------------------------------------

def _dumps(value):
    """Compact JSON; non-ASCII kept readable unless it cannot be encoded (lone surrogates).
    Control characters, NUL included, are always escaped, so PostgreSQL text takes it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, separators=(",", ":"))
    return text


def _entry_json(record):
    if record is None:
        return None
    values = dict(zip(FIELDS, record))
    values["detail"] = [list(pair) for pair in record[7]]
    return values


def _entry_from_json(values):
    if values is None:
        return None
    return tuple(values[name] for name in FIELDS[:7]) + (tuple(tuple(p) for p in values["detail"]),)


def canonical(key, record):
    """The text an entry's digest covers: equal texts, equal entries (tuples and lists alike)."""
    return json.dumps([key, repr(record[0]), *record[1:]], ensure_ascii=False, separators=(",", ":"))


def rows_from(log, start, end):
    """Rows for the seals ``start``..``end`` of ``log``; seals missing from the database are skipped."""
    rows = []
    for seq in range(start, end + 1):
        stored = log.seals.get(seq)
        if stored is None:
            log_missing_seal(seq)
            continue
        key, entry_digest, seal_link = stored
        rows.append(Row(seq, key, log.entries.get(key), entry_digest, seal_link))
    return rows


def log_missing_seal(seq):
    logger.warning("audit mirror: seal %d is missing from the database and cannot be shipped", seq)


# -- the file sink ----------------------------------------------------------------------

class FileSink:
    """JSON lines, one per seal, appended under an exclusive flock and fsynced."""

    def __init__(self, path):
        self.path = path

    def __str__(self):
        return self.path

    def highest(self):
        """The highest sequence the file holds (0 when it is empty or absent)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise MirrorError("cannot open the audit mirror %s: %s" % (self.path, exc.strerror))
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            return _last_seq(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)

    def append(self, rows):
        """Append the rows above the file's highest sequence; returns how many were written."""
        existed = os.path.exists(self.path)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise MirrorError("cannot open the audit mirror %s: %s" % (self.path, exc.strerror))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = _drop_torn_tail(fd)
            highest = _last_seq(fd, size)
            fresh = [row for row in rows if row.seq > highest]
            if fresh:
                _write_all(fd, "".join(_line(row) for row in fresh).encode("utf-8"))
                os.fsync(fd)
            return len(fresh)
        except OSError as exc:
            raise MirrorError("cannot write the audit mirror %s: %s" % (self.path, exc.strerror))
        finally:
            os.close(fd)
            if not existed:
                _fsync_directory(os.path.dirname(self.path))

    def rows(self):
        """Every line in file order: a Row, or Unreadable. A last line still being
        written (no newline yet) is left out."""
        try:
            source = open(self.path, "rb")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise MirrorError("cannot read the audit mirror %s: %s" % (self.path, exc.strerror))
        with source:
            size = os.fstat(source.fileno()).st_size
            read = 0
            for number, raw in enumerate(source, 1):
                read += len(raw)
                if read > size or not raw.endswith(b"\n"):
                    return
                yield _parse_line(number, raw)


def _line(row):
    return _dumps({"seq": row.seq, "key": row.key, "entry": _entry_json(row.entry),
                   "digest": row.digest, "link": row.link}) + "\n"


def _parse_line(number, raw):
    try:
        values = json.loads(raw)
        return Row(int(values["seq"]), int(values["key"]), _entry_from_json(values["entry"]),
                   str(values["digest"]), str(values["link"]))
    except (ValueError, KeyError, TypeError, IndexError):
        return Unreadable("line %d" % number, raw[:80].decode("utf-8", "replace"))


def _last_seq(fd, size):
    """The sequence of the last readable complete line before ``size``, else 0."""
    chunk = 1 << 16
    while True:
        start = max(0, size - chunk)
        lines = os.pread(fd, size - start, start).split(b"\n")
        lines.pop()  # what follows the last newline: empty, or a torn write
        if start > 0:
            lines = lines[1:]  # may begin mid-line
        for raw in reversed(lines):
            row = _parse_line(0, raw)
            if isinstance(row, Row):
                return row.seq
        if start == 0:
            return 0
        chunk *= 4


def _drop_torn_tail(fd):
    """Cut a partial last line (a write torn by a crash) so new rows start on a line
    of their own; its rows are shipped again. Returns the file's size afterwards."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    cut = _after_last_newline(fd, size)
    try:
        os.ftruncate(fd, cut)
        return cut
    except OSError:  # an append-only file (chattr +a): end the fragment's line instead
        _write_all(fd, b"\n")
        return size + 1


def _after_last_newline(fd, size):
    end = size
    while end > 0:
        start = max(0, end - (1 << 16))
        found = os.pread(fd, end - start, start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_directory(path):
    try:
        fd = os.open(path or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- the PostgreSQL sink --------------------------------------------------------------

_ROLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


def setup_sql(app_role):
    """The SQL the table's owner runs once; ``app_role`` gets INSERT and SELECT only."""
    if not _ROLE_RE.match(app_role or ""):
        raise ValueError("not a plain role name: %r" % app_role)
    return SETUP_SQL.format(table=TABLE, role='"%s"' % app_role)


SETUP_SQL = """\
CREATE TABLE {table} (
    seq        bigint PRIMARY KEY CHECK (seq > 0),
    entry_key  bigint NOT NULL,
    content    text,            -- the entry as JSON; NULL if it was gone when shipped
    digest     text NOT NULL,
    link       text NOT NULL,
    shipped_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON {table} FROM PUBLIC;
GRANT INSERT, SELECT ON {table} TO {role};

CREATE FUNCTION {table}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{table} is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_refuse();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse();
"""


class PgSink:
    """The table ``xueji_audit_mirror``, written with INSERT ... ON CONFLICT DO NOTHING."""

    def __init__(self, dsn):
        self.dsn = dsn

    def __str__(self):
        return describe(self.dsn)

    def _connect(self):
        import psycopg2
        options = {} if "connect_timeout" in self.dsn else {"connect_timeout": 10}
        try:
            return psycopg2.connect(self.dsn, application_name="xueji-audit-mirror", **options)
        except psycopg2.Error as exc:
            raise MirrorError("cannot connect to the audit mirror %s: %s" % (self, _first_line(exc)))

    def _run(self, work):
        import psycopg2
        import psycopg2.errors
        conn = self._connect()
        try:
            with conn:
                with conn.cursor() as cur:
                    return work(cur)
        except psycopg2.errors.UndefinedTable:
            raise MirrorError("the audit mirror %s has no table %s: its owner must create it first "
                              "(xueji-verify-audit CONFIG --mirror-setup-sql APP_ROLE)" % (self, TABLE))
        except psycopg2.Error as exc:
            raise MirrorError("audit mirror %s: %s" % (self, _first_line(exc)))
        finally:
            conn.close()

    def highest(self):
        def work(cur):
            cur.execute("SELECT coalesce(max(seq), 0) FROM " + TABLE)
            return cur.fetchone()[0]
        return self._run(work)

    def append(self, rows):
        from psycopg2.extras import execute_values

        def work(cur):
            inserted = execute_values(
                cur, "INSERT INTO %s (seq, entry_key, content, digest, link) VALUES %%s "
                     "ON CONFLICT (seq) DO NOTHING RETURNING seq" % TABLE,
                [(row.seq, row.key, _content(row.entry), row.digest, row.link) for row in rows],
                page_size=len(rows) or 1, fetch=True)
            return len(inserted)
        return self._run(work) if rows else 0

    def rows(self):
        """Every row in sequence order, streamed through a server-side cursor."""
        import psycopg2
        import psycopg2.errors
        conn = self._connect()
        try:
            with conn:
                with conn.cursor(name="xueji_mirror_rows") as cur:
                    cur.itersize = 2000
                    cur.execute("SELECT seq, entry_key, content, digest, link FROM %s ORDER BY seq" % TABLE)
                    for seq, key, content, entry_digest, seal_link in cur:
                        yield _pg_row(seq, key, content, entry_digest, seal_link)
        except psycopg2.errors.UndefinedTable:
            raise MirrorError("the audit mirror %s has no table %s" % (self, TABLE))
        except psycopg2.Error as exc:
            raise MirrorError("audit mirror %s: %s" % (self, _first_line(exc)))
        finally:
            conn.close()


def _pg_row(seq, key, content, entry_digest, seal_link):
    try:
        entry = _entry_from_json(json.loads(content)) if content is not None else None
    except (ValueError, KeyError, TypeError, IndexError):
        return Unreadable("row %d" % seq, content[:80])
    return Row(seq, key, entry, entry_digest, seal_link)


def _content(record):
    values = _entry_json(record)
    return None if values is None else _dumps(values)


def _first_line(exc):
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# -- shipping ---------------------------------------------------------------------------

def ship(log, sink, limit=None, batch=BATCH):
    """Send the seals the sink lacks, in order, up to the log's head; returns the number
    written. Call it in a transaction that sees the committed seals (after sealing)."""
    log._chain()
    base_seq, head_seq = log.base[0], log.head[0]
    start = sink.highest() + 1
    if start > head_seq + 1:
        logger.warning("audit mirror %s holds seals up to %d, beyond the database's head %d: "
                       "the database was rolled back or seals were removed", sink, start - 1, head_seq)
    if start <= base_seq:
        log_purged_before_shipping(start, base_seq)
        start = base_seq + 1
    shipped = 0
    while start <= head_seq and (limit is None or shipped < limit):
        end = min(head_seq, start + batch - 1)
        if limit is not None:
            end = min(end, start + limit - shipped - 1)
        shipped += sink.append(rows_from(log, start, end))
        start = end + 1
    return shipped


def log_purged_before_shipping(start, base_seq):
    logger.warning("audit mirror: seals %d..%d were purged from the database before they were "
                "shipped; the mirror has a gap there", start, base_seq)


def unshipped(log, sink):
    """How many seals of the database the mirror does not hold yet (not a problem: the
    next shipping run sends them)."""
    log._chain()
    return max(0, log.head[0] - max(sink.highest(), log.base[0]))


# -- comparing the database with the mirror -----------------------------------------------

Problem = audit.Problem


def compare(log, sink, now=None):
    """Every difference between the database's sealed log and the mirror, and every
    break in the mirror's own chain, as a list of audit.Problem (empty: they agree)."""
    log._chain()
    now = time.time() if now is None else now
    check = _Comparison(log, now)
    for row in sink.rows():
        check.add(row)
    return check.finish()


class _Comparison:
    """The state of one pass over the mirror's rows, in the order the sink holds them."""

    def __init__(self, log, now):
        self.log = log
        self.base_seq = log.base[0]
        self.head_seq = log.head[0]
        self.young = now - audit.MIN_RETENTION_DAYS * 86400
        self.problems = []
        self.previous = None      # the previous mirror row (None after an unreadable line)
        self.first = None         # the mirror's first sequence
        self.relinked = None      # [first, last] seals whose link alone differs
        self.beyond = None        # [first, last, count] mirror rows past the database's head

    def problem(self, kind, where, message):
        self.problems.append(Problem(kind, where, message))

    def add(self, row):
        if isinstance(row, Unreadable):
            self.problem("mirror-unreadable", row.where,
                         "mirror %s cannot be read as a row: %r" % (row.where, row.text))
            self.previous = None
            return
        self.check_own_chain(row)
        self.previous = row
        if self.first is None:
            self.first = row.seq
        if row.seq > self.head_seq:
            self.note_beyond(row.seq)
        elif row.seq <= self.base_seq:
            self.check_purged(row)
        else:
            self.check_against_database(row)

    # the mirror by itself
    def check_own_chain(self, row):
        previous = self.previous
        if previous is not None and row.seq <= previous.seq:
            self.problem("mirror-out-of-order", row.seq,
                         "mirror row %d follows row %d" % (row.seq, previous.seq))
        elif previous is not None and row.seq > previous.seq + 1:
            self.problem("mirror-gap", row.seq, "mirror rows %d..%d are missing"
                         % (previous.seq + 1, row.seq - 1))
        if row.entry is None:
            if row.digest:
                self.problem("mirror-entry-absent", row.seq, "mirror row %d has no entry: it was gone "
                             "from the database when shipped" % row.seq)
        elif audit.digest(row.key, row.entry) != row.digest:
            self.problem("mirror-row-changed", row.seq, "mirror row %d does not match its digest" % row.seq)
        before = audit.GENESIS if row.seq == 1 else (
            previous.link if previous is not None and previous.seq == row.seq - 1 else None)
        if before is not None and audit.link(row.seq, before, row.digest) != row.link:
            self.problem("mirror-chain-broken", row.seq,
                         "mirror row %d does not follow from row %d" % (row.seq, row.seq - 1))

    # the mirror against the database
    def check_against_database(self, row):
        stored = self.log.seals.get(row.seq)
        if stored is None:
            self.problem("mirror-seal-removed", row.seq,
                         "seal %d is in the mirror but missing from the database" % row.seq)
        elif (stored[0], stored[1]) != (row.key, row.digest):
            self.problem("mirror-seal-differs", row.seq,
                         "seal %d in the database differs from the mirror" % row.seq)
        elif stored[2] != row.link:
            self.note_relinked(row.seq)
        if row.entry is None:
            return
        record = self.log.entries.get(row.key)
        if record is None:
            self.problem("mirror-entry-removed", row.key, "entry %d (seal %d) is in the mirror but "
                         "missing from the database" % (row.key, row.seq))
        elif canonical(row.key, record) != canonical(row.key, row.entry):
            self.problem("mirror-entry-changed", row.key, "entry %d (seal %d) differs from its copy "
                         "in the mirror" % (row.key, row.seq))

    def check_purged(self, row):
        """Below the database's chain base the entry was purged: only after the retention."""
        if row.entry is not None and row.entry[0] > self.young:
            self.problem("mirror-purged-early", row.key, "entry %d (seal %d) was removed from the "
                         "database before %d days" % (row.key, row.seq, audit.MIN_RETENTION_DAYS))

    def note_relinked(self, seq):
        if self.relinked and self.relinked[1] == seq - 1:
            self.relinked[1] = seq
        else:
            self.flush_relinked()
            self.relinked = [seq, seq]

    def flush_relinked(self):
        if self.relinked:
            first, last = self.relinked
            self.problem("mirror-chain-rebuilt", first, "seals %d..%d have other links in the database "
                         "than in the mirror: the chain was rebuilt" % (first, last))
            self.relinked = None

    def note_beyond(self, seq):
        if self.beyond is None:
            self.beyond = [seq, seq, 0]
        self.beyond[1:] = [seq, self.beyond[2] + 1]

    def finish(self):
        self.flush_relinked()
        if self.beyond:
            first, last, count = self.beyond
            self.problem("mirror-beyond-head", first, "the mirror holds %d seal(s) %d..%d beyond the "
                         "database's head #%d: the database was rolled back or seals were removed"
                         % (count, first, last, self.head_seq))
        if self.first is not None and self.base_seq + 1 < self.first <= self.head_seq:
            self.problem("mirror-start-missing", self.first, "the mirror starts at seal %d but the "
                         "database holds seals from %d" % (self.first, self.base_seq + 1))
        return self.problems
