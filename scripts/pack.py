"""xueji-pack: clear what deleted records and released credentials leave behind, then pack.

Deleting a pupil or revoking a credential only writes a new revision: until
the database is packed, the old revisions (ID ciphertexts and their keyed
hashes, names, bcrypt hashes, TOTP secrets, token hashes) are still in the
storage. This script:

1. in one transaction, removes references that would keep released objects
   reachable, and so unpacked: places (the nodes where a user or group holds
   roles) that are no longer in the tree, e.g. the deleted pupil a guardian
   held a role on; the catalog's stale duplicate-person keys; and expired
   verification codes;
2. packs the database (db.pack): every revision older than --days and every
   object no longer reachable goes. A FileStorage is packed without keeping
   Data.fs.old (and blobs.old), which would still hold everything; one left
   by an earlier pack is removed. ZEO packs on the server: set
   "pack-keep-old false" in the server's <filestorage>. RelStorage
   (history-free) deletes the unreachable rows; PostgreSQL reuses their space
   after VACUUM (VACUUM FULL rewrites the table);
3. removes abandoned import uploads (older than an hour) from xueji.upload_dir.

Back up first (xueji-backup). Prints counts. Exit status: 0 done, 1 the
release step kept conflicting with the live site, 2/3 usage or setup errors.
"""
import os
import sys
import time

from ZODB.FileStorage import FileStorage
from ZODB.POSException import ConflictError

from xueji_site.record import duplicates
from xueji_site.graduates import verification

from . import common

DESCRIPTION = __doc__.split("\n\n", 1)[1]
UPLOAD_MAX_AGE = 3600  # views/importing.py keeps an upload this long between its two steps


def parse_args(argv):
    parser = common.make_parser("xueji-pack", DESCRIPTION)
    parser.add_argument("--days", type=float, default=0.0,
                        help="keep revisions younger than DAYS (default 0: keep only current states)")
    args = parser.parse_args(argv)
    if args.days < 0:
        raise common.ScriptError("--days must not be negative")
    return args


# -- 1. what keeps released objects reachable -------------------------------------

def attached(node, site):
    """Whether ``node`` is still in ``site``'s tree: every parent holds it by its name."""
    while node is not site:
        parent = getattr(node, "__parent__", None)
        if parent is None:
            return False
        holder = getattr(parent, "graduate_archive", None) if node.__name__ == "archive" else None
        if holder is not node and parent.get(node.__name__) is not node:
            return False
        node = parent
    return True


def drop_detached_places(site):
    """Remove from every principal's places the nodes no longer in the tree."""
    dropped = 0
    for holder in site.principals.by_id.values():
        places = getattr(holder, "places", None)
        if not places:
            continue
        kept = [node for node in places if attached(node, site)]
        if len(kept) != len(places):
            dropped += len(places) - len(kept)
            holder.places = type(places)(kept)  # as security._track_place replaces it
    return dropped


def release(env, attempts=5):
    """Step 1 in one transaction, retried when the live site (ZEO, RelStorage) conflicts."""
    for attempt in range(attempts):
        try:
            with common.site_transaction(env, "xueji-pack: release") as (_conn, site):
                return (drop_detached_places(site), duplicates.prune_released(site),
                        verification.purge_expired_codes(site, limit=10**9))
        except ConflictError:
            if attempt == attempts - 1:
                raise common.ScriptError("could not release: the database kept changing (conflicts)", 1)


# -- 2. the pack ---------------------------------------------------------------------

def _file_storage(db):
    """The FileStorage under ``db``, also when zodburi's ``blobstorage_dir``
    wrapped it in a BlobStorage (which keeps it as a private attribute), else None."""
    storage = getattr(db.storage, "_BlobStorage__storage", db.storage)
    return storage if isinstance(storage, FileStorage) else None


def _leftovers(data_fs, blob_dir):
    """Copies of the whole pre-pack database a FileStorage pack can leave."""
    paths = [data_fs + ".old"] + ([blob_dir.rstrip(os.sep) + ".old"] if blob_dir else [])
    return [p for p in paths if os.path.exists(p)]


def _remove(path):
    if os.path.isdir(path):
        import shutil
        shutil.rmtree(path)
    else:
        os.remove(path)


def pack(env, days):
    """Pack; returns (objects before, after, bytes before, after, leftovers removed)."""
    db = env.db
    before = db.objectCount(), db.getSize()
    storage = _file_storage(db)
    if storage is not None:
        storage.pack_keep_old = False  # Data.fs.old would keep every packed-away revision
    db.pack(days=days)
    removed = []
    data_fs = common.file_storage_path(env.settings)
    if data_fs:  # also one an earlier pack left, or one this pack kept despite the above
        for path in _leftovers(data_fs, getattr(storage, "blob_dir", None)):
            _remove(path)
            removed.append(path)
    return before + (db.objectCount(), db.getSize(), removed)


# -- 3. abandoned uploads ----------------------------------------------------------------

def upload_dir(settings):
    """Where the import view keeps uploads (views/importing.py: upload_dir)."""
    return settings.get("xueji.upload_dir") or os.path.join(settings.get("here", os.getcwd()), "var", "uploads")


def sweep_uploads(directory, now=None, max_age=UPLOAD_MAX_AGE):
    now = time.time() if now is None else now
    removed = 0
    if not os.path.isdir(directory):
        return removed
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        try:
            if os.path.isfile(path) and now - os.path.getmtime(path) > max_age:
                os.remove(path)
                removed += 1
        except OSError:
            pass
    return removed


def main_(argv):
    args = parse_args(argv)
    uri = common.config_uri(args.config)
    common.require_initialised(common.app_settings(uri))
    with common.open_app(uri) as env:
        print("storage: %s" % common.describe_storage(env.settings))
        places, keys, codes = release(env)
        print("released: %d detached places, %d stale duplicate-person keys, %d expired verification codes"
              % (places, keys, codes))
        objects, size, objects_after, size_after, removed = pack(env, args.days)
        uploads = sweep_uploads(upload_dir(env.settings))
    print("packed (revisions older than %g days): objects %d → %d, size %d → %d bytes"
          % (args.days, objects, objects_after, size, size_after))
    for path in removed:
        print("removed pre-pack copy %s" % path)
    print("removed %d abandoned uploads" % uploads)
    return 0


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    sys.exit(main())
