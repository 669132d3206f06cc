"""Audit entries for public look-ups, written in batches off the request path.

A verification look-up changes nothing, yet each must leave an audit entry.
Written inside the request, every look-up becomes a write transaction, and
concurrent look-ups collide on the audit log's newest bucket (its keys are
timestamps): measured with bench/verify.py at 16 connections, ~200 req/s
and hundreds of conflict retries, against ~2,800 for a plain read.
(Batches of 0.2 s measured 71 % of the plain read, 1 s batches 78 %: each
commit also briefly holds FileStorage's lock that every reader polls.)

So look-ups hand their entry to a per-process ``LookupAudit`` buffer, and
one writer thread appends the waiting entries every ``interval`` seconds
(``xueji.lookup_audit_interval``, default 1.0; 0 writes each entry at once,
still outside the request's transaction) in one transaction of its own,
through the audit log's ordinary ``append`` — same log, same hash-chain
sealing. The look-up request itself stays read-only. Each entry keeps the
moment of the look-up (``asked_at``). What is at stake: entries of the
last interval are lost if the process is killed outright (a normal exit
flushes them); a conflict retries the batch, and a batch that cannot be
written stays queued for the next round instead of being dropped.
"""
import atexit
import collections
import logging
import threading
import time

import transaction
from ZODB.POSException import ConflictError
from xueji_site.kernel.root import database
from xueji_site.kernel.root import get_site
from xueji_site.kernel import settings

log = logging.getLogger(__name__)
MAX_BATCH = 5000


class LookupAudit:
    def __init__(self, db, interval=1.0):
        self.db = db
        self.interval = interval
        self.pending = collections.deque()
        self.lock = threading.Lock()
        self.thread = None
        atexit.register(self.flush)

    def add(self, address, action, result, detail):
        """Queue one entry (cheap: the entry is shaped by the writer)."""
        self.pending.append((time.time(), address, action, result, detail))
        if self.interval <= 0:  # no writer thread: write now, in a transaction of its own
            self.flush()
            return
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._run, name="lookup-audit", daemon=True)
            self.thread.start()

    def flush(self):
        """Write what waits now (in batches); returns how many were written."""
        written = 0
        with self.lock:
            while self.pending:
                batch = [self.pending.popleft() for _ in range(min(MAX_BATCH, len(self.pending)))]
                if not self._write(batch):
                    self.pending.extendleft(reversed(batch))
                    break
                written += len(batch)
        return written

    def _write(self, batch, attempts=5):
        for _attempt in range(attempts):
            tm = transaction.TransactionManager(explicit=True)
            conn = self.db.open(transaction_manager=tm)
            try:
                tm.begin()
                tm.get().note("lookup audit")
                audit = get_site(conn).audit
                for when, address, action, result, detail in batch:
                    audit.append("", "", address, action, "", result, dict(detail, asked_at="%.6f" % when))
                tm.commit()
                return True
            except ConflictError:
                tm.abort()
            finally:
                conn.close()
        return False

    def _run(self):
        """Runs while entries wait; ends by itself when the queue is empty."""
        while self.pending:
            time.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # the database went away (shutdown): entries stay queued
                log.exception("look-up audit entries could not be written; %d wait", len(self.pending))
                return


def buffer_for(registry):
    """The application's buffer (made on first use)."""
    found = getattr(registry, "xueji_lookup_audit", None)
    if found is None:
        interval = settings.value(registry, "xueji.lookup_audit_interval")
        found = registry.xueji_lookup_audit = LookupAudit(database(registry), interval)
    return found
