"""Refuse a commit before the disk under a FileStorage is full.

Why: when FileStorage runs out of space while writing a transaction
(ZODB 6.x, ``FileStorage.tpc_vote``), the flush fails with ENOSPC, and so does
the ``truncate`` meant to remove the partial record, because a buffered file
flushes before truncating. The partial transaction stays in the write buffer;
once space is freed, the next commit's ``seek`` writes it out and the new
transaction lands over its start, leaving damaged records behind it. The site
seems fine until the next restart, when FileStorage cannot read its own file
(tests/test_faults.py shows it). Until that is fixed upstream, the only safe
full-disk failure is one that happens before FileStorage writes a byte: each
request's transaction checks the free space first (a before-commit hook) and
fails with ``StorageFull`` (503, nothing written) below ``xueji.min_free_bytes``
(default 256 MiB; 0 turns the check off). ZEO and RelStorage keep their data
elsewhere: watch the server's disk there. PostgreSQL fails a full disk
cleanly (the transaction aborts, SQLSTATE 53100); that ``DiskFull`` gets the
same 503 page here.
"""
import os
from urllib.parse import unquote, urlsplit

from pyramid.events import NewRequest, subscriber
from pyramid.view import exception_view_config

from xueji_site.kernel.i18n import _
from xueji_site.kernel import settings as xueji_settings

DEFAULT_MIN_FREE = 256 * 1024 * 1024


try:  # PostgreSQL's "disk full" (RelStorage); absent without psycopg2
    from psycopg2.errors import DiskFull
except ImportError:  # pragma: no cover
    class DiskFull(Exception):
        """Stands in when psycopg2 is not installed: never raised."""


class StorageFull(Exception):
    """Less free space than ``xueji.min_free_bytes`` where the database lives."""


def guarded_directory(settings):
    """The directory of the FileStorage in ``zodbconn.uri``, or None."""
    parts = urlsplit(settings.get("zodbconn.uri", ""))
    if parts.scheme != "file":
        return None
    return os.path.dirname(unquote(parts.path)) or "."


def free_bytes(directory):
    stat = os.statvfs(directory)
    return stat.f_bavail * stat.f_frsize


def _check_space(txn, directory, minimum):
    def hook():
        # A connection joins the transaction only when it has something to
        # write: reads stay possible on a full disk.
        if getattr(txn, "_resources", None) and free_bytes(directory) < minimum:
            raise StorageFull(directory)
    return hook


@subscriber(NewRequest)
def install_guard(event):
    request = event.request
    settings = request.registry.settings
    directory = guarded_directory(settings)
    minimum = xueji_settings.value(request.registry, "xueji.min_free_bytes")
    if directory is None or minimum <= 0 or getattr(request, "tm", None) is None:
        return
    txn = request.tm.get()
    txn.addBeforeCommitHook(_check_space(txn, directory, minimum))


@exception_view_config(StorageFull, renderer="templates/error.pt")
@exception_view_config(DiskFull, renderer="templates/error.pt")
def storage_full(exc, request):
    """FileStorage: refused before the commit (below the minimum free space).
    RelStorage: PostgreSQL ran out of space during the vote (SQLSTATE 53100,
    ``DiskFull``) and aborted the transaction: nothing was written either."""
    import logging
    logging.getLogger(__name__).critical("refused a commit: free space under %s is below the minimum", exc)
    request.response.status = 503
    request.response.cache_control = "no-store"
    request.response.headers["Retry-After"] = "600"
    t = request.localizer.translate
    return {"status": 503, "title": t(_("存储空间不足")),
            "message": t(_("服务器存储空间不足，本次修改未保存。请通知系统管理员。"))}
