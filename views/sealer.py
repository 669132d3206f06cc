"""Seal new audit entries from inside the application, at most every
``xueji.audit_seal_seconds`` (default 60; ``off`` disables it) per process.

``xueji-verify-audit --seal`` from cron is the primary sealer, but it cannot
run beside a site on a FileStorage (one process only), and between cron runs
entries wait unsealed. So after a request that wrote something commits, the
same thread seals in a transaction of its own (a fresh connection, after the
response is complete, so nothing of the request is at stake). Two processes
sealing at once conflict on the chain's head: the loser gives up quietly and
its entries are sealed by the next run. See xueji_site/audit.py for the chain.

When ``xueji.audit_mirror`` names an off-database copy of the log, each run
then ships what the copy lacks (xueji_site/audit_mirror.py), after the seal
has committed. A mirror that fails is logged and never fails the request:
the next run catches up from the copy's highest sequence. Last, the newly
sealed entries are counted for the volume alerts (xueji_site/alerts.py).
"""
import logging
import threading
import time

import transaction
from pyramid.events import NewRequest, subscriber
from ZODB.POSException import ConflictError

from xueji_site.kernel import alerts, audit, audit_mirror, settings
from xueji_site.kernel.root import get_site
from xueji_site.kernel.root import databases

log = logging.getLogger(__name__)
BATCH = 5000  # entries per run: a large import is sealed over a few runs
SHIP_LIMIT = 2 * BATCH  # rows shipped per run: a backlog shrinks run by run (cron ships all)
_lock = threading.Lock()
_last_run = [0.0]


def seal_now(db, mirror=None):
    """One sealing run in its own connection and transaction; the number sealed (0 on a
    conflict). ``mirror`` (the ``xueji.audit_mirror`` setting) is then brought up to date."""
    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    try:
        tm.begin()
        try:
            sealed = audit.seal(get_site(conn).audit, limit=BATCH)
            tm.commit()
        except ConflictError:
            tm.abort()
            return 0
        if mirror:
            _ship(conn, tm, mirror)
        return sealed
    finally:
        conn.close()


def _ship(conn, tm, mirror):
    """Ship the committed seals the mirror lacks; a failure is logged, never raised."""
    try:
        sink = audit_mirror.open_sink(mirror)
        tm.begin()
        try:
            audit_mirror.ship(get_site(conn).audit, sink, limit=SHIP_LIMIT)
        finally:
            tm.abort()
    except Exception:
        log.exception("audit mirror %s: shipping failed; the next run catches up",
                      audit_mirror.describe(mirror))


def _after_commit(db, interval, mirror, registry):
    def hook(committed):
        if not committed:
            return
        with _lock:
            now = time.monotonic()
            if 0 <= now - _last_run[0] < interval:  # (a clock that went back counts as elapsed)
                return
            _last_run[0] = now
        try:
            seal_now(db, mirror)
        except Exception:  # sealing must never turn a committed request into an error
            log.exception("audit sealing failed; the next run will retry")
        try:
            alerts.scan_database(db, registry)
        except Exception:
            log.exception("volume alerts: scan failed; the next run will retry")
    return hook


@subscriber(NewRequest)
def install_sealer(event):
    request = event.request
    interval = settings.value(request.registry, "xueji.audit_seal_seconds")
    found = databases(request.registry)
    if interval is None or not found or getattr(request, "tm", None) is None:
        return
    txn = request.tm.get()
    mirror = settings.value(request.registry, "xueji.audit_mirror")
    txn.addAfterCommitHook(_after_commit(found[""], interval, mirror, request.registry))
