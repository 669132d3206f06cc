"""xueji-backup: back up the database (and blobs), restore a backup, check the result.

FileStorage (file://): ZODB's ``repozo`` writes incremental backups (a full
one the first time or with --full) into DEST, which is safe while the site
runs: repozo reads only committed transactions. Blob files (never changed once
written) are copied to DEST/blobs. Restore to a point in time with
--restore-to FILE [--date YYYY-MM-DD-hh-mm-ss] (UTC); the restored file is then
checked with fstest (transaction records) and fsrefs (dangling references).

RelStorage (postgres://): runs ``pg_dump -Fc`` into DEST (PostgreSQL's own
continuous archiving / PITR is the better production answer); with --print
the command is shown, not run. ZEO (zeo://): run this script with an ini whose
zodbconn.uri names the ZEO server's Data.fs as file:// on the server host.

The key file (xueji.key_file) is not in the database: back it up separately,
and keep it apart from the database backups.
"""
import datetime
import os
import shutil
import subprocess
import sys
from urllib.parse import parse_qs, unquote, urlsplit

from . import common

DESCRIPTION = __doc__.split("\n\n", 1)[1]


def parse_args(argv):
    parser = common.make_parser("xueji-backup", DESCRIPTION)
    parser.add_argument("--dest", metavar="DIR", help="backup directory (default: xueji.backup_dir, "
                        "else var/backup beside the ini file)")
    parser.add_argument("--full", action="store_true", help="a full backup, not an incremental one")
    parser.add_argument("--restore-to", metavar="FILE", help="restore the backups in DEST into FILE (new)")
    parser.add_argument("--date", metavar="WHEN", help="with --restore-to: the state at this UTC time, "
                        "YYYY-MM-DD[-hh[-mm[-ss]]] (default: the newest)")
    parser.add_argument("--print", dest="print_only", action="store_true",
                        help="RelStorage: print the pg_dump command instead of running it")
    return parser.parse_args(argv)


def _python_tool(module, *args, check=True):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, check=check)


# -- FileStorage -------------------------------------------------------------------

def repozo_backup(data_fs, dest, full=False):
    """An incremental (or full) repozo backup of ``data_fs`` into ``dest``."""
    os.makedirs(dest, exist_ok=True)
    args = ["-B", "-r", dest, "-f", data_fs] + (["-F"] if full else [])
    result = _python_tool("ZODB.scripts.repozo", *args, check=False)
    if result.returncode != 0:
        raise common.ScriptError("repozo failed: %s" % (result.stderr or result.stdout).strip(), 1)


def copy_blobs(blob_dir, dest):
    """Copy blob files not yet in ``dest``/blobs (blob files never change once written)."""
    copied = 0
    target_root = os.path.join(dest, "blobs")
    for folder, _dirs, files in os.walk(blob_dir):
        target = os.path.join(target_root, os.path.relpath(folder, blob_dir))
        os.makedirs(target, exist_ok=True)
        for name in files:
            if not os.path.exists(os.path.join(target, name)):
                shutil.copy2(os.path.join(folder, name), os.path.join(target, name))
                copied += 1
    return copied


def restore(dest, output, date=None):
    """Recover the state at ``date`` (UTC, repozo's format) from ``dest`` into ``output``."""
    if os.path.exists(output):
        raise common.ScriptError("%s exists: restore into a new file" % output)
    args = ["-R", "-r", dest, "-o", output] + (["-D", date] if date else [])
    result = _python_tool("ZODB.scripts.repozo", *args, check=False)
    if result.returncode != 0 or not os.path.exists(output):
        raise common.ScriptError("repozo could not restore: %s" % (result.stderr or result.stdout).strip(), 1)


def check_file(path):
    """fstest and fsrefs on a FileStorage file: a list of problems (empty: sound)."""
    problems = []
    result = _python_tool("ZODB.scripts.fstest", path, check=False)
    if result.returncode != 0:
        problems.append("fstest: " + (result.stderr or result.stdout).strip())
    result = _python_tool("ZODB.scripts.fsrefs", path, check=False)
    if result.returncode != 0 or "invalid object" in result.stdout:
        problems.append("fsrefs: " + (result.stdout or result.stderr).strip()[:2000])
    return problems


# -- RelStorage ----------------------------------------------------------------------

def pg_dump_command(uri, dest, now=None):
    """(argv, environment additions) for a custom-format pg_dump of the database in ``uri``."""
    parts = urlsplit(uri)
    stamp = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    query = parse_qs(parts.query)
    argv = ["pg_dump", "-Fc", "-h", parts.hostname or "localhost", "-p", str(parts.port or 5432),
            "-U", unquote(parts.username or "postgres"), "-d", parts.path.lstrip("/"),
            "-f", os.path.join(dest, "xueji-%s.dump" % stamp)]
    env = {"PGPASSWORD": unquote(parts.password)} if parts.password else {}
    if "sslmode" in query:
        env["PGSSLMODE"] = query["sslmode"][0]
    return argv, env


def _backup_postgres(settings, dest, print_only):
    argv, env = pg_dump_command(settings["zodbconn.uri"], dest)
    shown = " ".join(argv)
    if print_only or shutil.which("pg_dump") is None:
        print(("pg_dump is not installed here; run on a host that has it:\n  " if not print_only else "  ")
              + ("PGPASSWORD=… " if env.get("PGPASSWORD") else "") + shown)
        return 0 if print_only else common.EXIT_ENV
    os.makedirs(dest, exist_ok=True)
    result = subprocess.run(argv, env=dict(os.environ, **env), capture_output=True, text=True)
    if result.returncode != 0:
        raise common.ScriptError("pg_dump failed: %s" % result.stderr.strip(), 1)
    print("database dumped to %s" % argv[-1])
    return 0


# -- the command ------------------------------------------------------------------------

def _dest(args, settings, uri):
    return os.path.abspath(args.dest or settings.get("xueji.backup_dir")
                           or os.path.join(os.path.dirname(uri), "var", "backup"))


def _blob_dir(settings):
    query = parse_qs(urlsplit(settings["zodbconn.uri"]).query)
    found = query.get("blobstorage_dir") or query.get("blob_dir")
    return found[0] if found else None


def main_(argv):
    args = parse_args(argv)
    uri = common.config_uri(args.config)
    settings = common.app_settings(uri)
    dest = _dest(args, settings, uri)
    scheme = urlsplit(settings["zodbconn.uri"]).scheme
    if scheme in ("postgres", "postgresql"):
        return _backup_postgres(settings, dest, args.print_only)
    data_fs = common.file_storage_path(settings)
    if data_fs is None:
        raise common.ScriptError("%s storage: back up on the storage server (see --help)" % scheme)
    if args.restore_to:
        restore(dest, os.path.abspath(args.restore_to), args.date)
        problems = check_file(os.path.abspath(args.restore_to))
        for problem in problems:
            print("PROBLEM " + problem)
        print("restored to %s: %s" % (args.restore_to, "checked, sound" if not problems else "DAMAGED"))
        return 1 if problems else 0
    if not os.path.isfile(data_fs):
        raise common.ScriptError("no database at %s" % data_fs, common.EXIT_ENV)
    repozo_backup(data_fs, dest, args.full)
    blobs = _blob_dir(settings)
    copied = copy_blobs(blobs, dest) if blobs and os.path.isdir(blobs) else 0
    print("%s backup of %s in %s (%d new blob files)" % ("full" if args.full else "incremental",
                                                          data_fs, dest, copied))
    return 0


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    raise SystemExit(main())
