"""xueji-backup: back up the database (and blobs), restore a backup, check the result.

FileStorage (file://): ZODB's ``repozo`` writes incremental backups (a full
one the first time or with --full) into DEST, which is safe while the site
runs: repozo reads only committed transactions. Blob files (never changed once
written) are copied to DEST/blobs. Restore to a point in time with
--restore-to FILE [--date YYYY-MM-DD-hh-mm-ss] (UTC); the restored file is then
checked with fstest (transaction records) and fsrefs (dangling references).

Encryption: with xueji.backup_recipients (age public keys, age1…) every file
written to DEST is encrypted with age (NAME.age); only repozo's .dat files,
which hold positions and checksums, stay clear so that the next backup can be
incremental. The private key (make one with --new-identity FILE) is kept
offline and given to --restore-to with --identity FILE. A production ini
(xueji.secure_cookies on) refuses clear backups unless --allow-clear is given.

RelStorage (postgres://): runs ``pg_dump -Fc`` into DEST, through age when
recipients are set (PostgreSQL's own continuous archiving / PITR is the better
production answer); with --print the command is shown, not run. --decrypt FILE
writes a decrypted dump to standard output, for pg_restore. ZEO (zeo://): run
this script with an ini whose zodbconn.uri names the ZEO server's Data.fs as
file:// on the server host.

The key file (xueji.key_file) is not in the database: back it up separately,
and keep it apart from the database backups.
"""
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
from urllib.parse import parse_qs, unquote, urlsplit

from . import common
from .sealed_files import (
    AGE, PART, Outbox, backup_recipients, load_identities, new_identity, open_sealed, private_dir,
)

DESCRIPTION = __doc__.split("\n\n", 1)[1]

WORK_PREFIX = ".xueji-backup-"      # + pid: repozo's private work dir beside Data.fs
RESTORE_PREFIX = ".xueji-restore-"  # + pid: decrypted backups beside the restored file
LOCK_NAME = ".xueji-backup.lock"
# repozo's files: full (.fs), incremental (.deltafs), gzipped (…z), FileStorage index, its .dat list
REPOZO_FILE = re.compile(r"^(\d{4}(?:-\d\d){5})\.(fs|fsz|deltafs|deltafsz|index|dat)$")


def parse_args(argv):
    parser = common.make_parser("xueji-backup", DESCRIPTION)
    parser.add_argument("--dest", metavar="DIR", help="backup directory (default: xueji.backup_dir, "
                        "else var/backup beside the ini file)")
    parser.add_argument("--full", action="store_true", help="a full backup, not an incremental one")
    parser.add_argument("--restore-to", metavar="FILE", help="restore the backups in DEST into FILE (new)")
    parser.add_argument("--date", metavar="WHEN", help="with --restore-to: the state at this UTC time, "
                        "YYYY-MM-DD[-hh[-mm[-ss]]] (default: the newest)")
    parser.add_argument("--identity", metavar="FILE", help="with --restore-to or --decrypt: the age "
                        "private key (identity file) that opens encrypted backups")
    parser.add_argument("--decrypt", metavar="FILE", help="write encrypted backup FILE (e.g. a pg_dump) "
                        "decrypted to standard output, e.g. into pg_restore; needs --identity")
    parser.add_argument("--new-identity", metavar="FILE", help="write a new age private key to FILE "
                        "(mode 0600, never overwritten) and print its public key for "
                        "xueji.backup_recipients; keep FILE offline")
    parser.add_argument("--allow-clear", action="store_true", help="back up without encryption even "
                        "though the ini is a production one (xueji.secure_cookies on)")
    parser.add_argument("--print", dest="print_only", action="store_true",
                        help="RelStorage: print the pg_dump command instead of running it")
    return parser.parse_args(argv)


def _python_tool(module, *args, check=True):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, check=check)


# -- FileStorage -------------------------------------------------------------------

def _repozo(*args, what="repozo failed"):
    result = _python_tool("ZODB.scripts.repozo", *args, check=False)
    if result.returncode != 0:
        raise common.ScriptError("%s: %s" % (what, (result.stderr or result.stdout).strip()), 1)


def repozo_backup(data_fs, dest, full=False):
    """An incremental (or full) repozo backup of ``data_fs`` into ``dest``, in clear."""
    os.makedirs(dest, exist_ok=True)
    _repozo("-B", "-r", dest, "-f", data_fs, *(["-F"] if full else []))


def _stage(dest, work):
    """Give repozo in ``work`` what it needs to continue the encrypted chain in ``dest``: the
    .dat files (copied) and an empty file named like each encrypted backup (repozo -Q looks
    only at their names). Returns {name: text of the .dat, or None for a stand-in}."""
    staged = {}
    for name in os.listdir(dest):
        found = REPOZO_FILE.match(name[:-len(AGE)]) if name.endswith(AGE) else None
        if found and found.group(2) in ("fs", "fsz", "deltafs", "deltafsz"):
            open(os.path.join(work, name[:-len(AGE)]), "wb").close()
            staged[name[:-len(AGE)]] = None
    for name in list(staged):
        dat = REPOZO_FILE.match(name).group(1) + ".dat"
        if os.path.exists(os.path.join(dest, dat)) and dat not in staged:
            with open(os.path.join(dest, dat), encoding="utf-8") as src:
                staged[dat] = src.read()
            with open(os.path.join(work, dat), "w", encoding="utf-8") as out:
                out.write(staged[dat])
    return staged


def _dat_in(dest, text):
    """repozo's .dat lines name the file it wrote: name the one in DEST, not the gone work dir."""
    lines = []
    for line in text.splitlines():
        path, *rest = line.split()
        lines.append(" ".join([os.path.join(dest, os.path.basename(path)), *rest]))
    return "".join(line + "\n" for line in lines)


def sealed_repozo_backup(data_fs, dest, recipients, full=False):
    """A repozo backup encrypted to ``recipients``: repozo writes into a private work dir beside
    Data.fs (the same disk and permissions as the clear database, never DEST, which is copied
    off-site), its output is encrypted into DEST and the work dir removed, also on failure.
    Returns the names of the data files written (empty when nothing changed)."""
    os.makedirs(dest, exist_ok=True)
    work = private_dir(os.path.dirname(data_fs), WORK_PREFIX)
    outbox = Outbox()
    try:
        staged = _stage(dest, work)
        # -Q: continue from the .dat (the encrypted files cannot be read here); -z: gzip before
        # encrypting, as encrypted data no longer compresses
        _repozo("-B", "-Q", "-z", "-r", work, "-f", data_fs, *(["-F"] if full else []))
        written, dats = [], []
        for name in sorted(os.listdir(work)):
            found = REPOZO_FILE.match(name)
            if not found or (name in staged and staged[name] is None):
                continue
            if name not in staged and any(os.path.exists(os.path.join(dest, name + end)) for end in ("", AGE)):
                # a clear chain's file of the same second: never replace it
                raise common.ScriptError("%s is already in %s: try again in a second" % (name, dest))
            if found.group(2) != "dat":
                with open(os.path.join(work, name), "rb") as src:
                    outbox.seal(src, os.path.join(dest, name + AGE), recipients)
                written += [name] if found.group(2) != "index" else []
            else:
                with open(os.path.join(work, name), encoding="utf-8") as src:
                    text = src.read()
                if text != staged.get(name):
                    dats.append((name, text))
        for name, text in dats:  # last: the .dat makes the new backup part of the chain
            outbox.write_text(os.path.join(dest, name), _dat_in(dest, text))
        outbox.publish()
        return written
    finally:
        outbox.discard()
        shutil.rmtree(work, ignore_errors=True)


def copy_blobs(blob_dir, dest, recipients=()):
    """Copy blob files not yet in ``dest``/blobs (blob files never change once written),
    encrypted (NAME.age) when there are ``recipients``."""
    copied = 0
    target_root = os.path.join(dest, "blobs")
    for folder, _dirs, files in os.walk(blob_dir):
        target = os.path.join(target_root, os.path.relpath(folder, blob_dir))
        os.makedirs(target, exist_ok=True)
        for name in files:
            there = os.path.join(target, name)
            if os.path.exists(there) or os.path.exists(there + AGE):
                continue
            if recipients:
                outbox = Outbox()
                try:
                    with open(os.path.join(folder, name), "rb") as src:
                        outbox.seal(src, there + AGE, recipients)
                    outbox.publish()
                finally:
                    outbox.discard()
            else:
                shutil.copy2(os.path.join(folder, name), there)
            copied += 1
    return copied


def _chain(names, date):
    """The repozo files a restore at ``date`` reads (as repozo picks them: back from the newest
    up to ``date`` to a full one), with that full's .dat and the last one's .index."""
    data = sorted((n for n in names if REPOZO_FILE.match(n).group(2) not in ("dat", "index")), reverse=True)
    needed = []
    for name in data:
        stem, kind = REPOZO_FILE.match(name).groups()
        if date is None or stem <= date:
            needed.append(name)
            if kind in ("fs", "fsz"):
                break
    if not needed:
        return []
    extra = [REPOZO_FILE.match(needed[-1]).group(1) + ".dat", REPOZO_FILE.match(needed[0]).group(1) + ".index"]
    return needed + [n for n in extra if n in names]


def _gather_chain(dest, repository, date, identity_file):
    """Put the files of the chain for ``date`` from ``dest`` into ``repository``: decrypted, or
    linked when clear, so that repozo sees exactly this chain. The identity is asked for only
    when one of them is encrypted; returns whether one was."""
    found = {}
    for name in os.listdir(dest):
        clear = name[:-len(AGE)] if name.endswith(AGE) else name
        if REPOZO_FILE.match(clear) and (clear not in found or name.endswith(AGE)):
            found[clear] = name
    needed = _chain(list(found), date)
    sealed = any(found[n].endswith(AGE) for n in needed)
    identities = load_identities(identity_file) if sealed else None
    for name in needed:
        source, target = os.path.join(dest, found[name]), os.path.join(repository, name)
        if found[name].endswith(AGE):
            with open(target, "wb") as out:
                open_sealed(source, out, identities)
        else:
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
    return sealed


def _unseal_blobs(dest, target, identity_file):
    """Decrypt DEST/blobs into ``target`` (a new directory); None when there are none."""
    source_root = os.path.join(dest, "blobs")
    if not os.path.isdir(source_root):
        return None
    identities = None
    for folder, _dirs, files in os.walk(source_root):
        here = os.path.join(target, os.path.relpath(folder, source_root))
        os.makedirs(here, exist_ok=True)
        for name in files:
            if name.endswith(AGE):
                identities = identities or load_identities(identity_file)
                with open(os.path.join(here, name[:-len(AGE)]), "wb") as out:
                    open_sealed(os.path.join(folder, name), out, identities)
            elif not name.endswith(PART):
                shutil.copy2(os.path.join(folder, name), os.path.join(here, name))
    return target


def restore(dest, output, date=None, identity_file=None):
    """Recover the state at ``date`` (UTC, repozo's format) from ``dest`` into ``output``.

    Everything happens in a private 0700 directory beside ``output`` (removed afterwards, also on
    failure): encrypted backups are decrypted there, repozo recovers there, checking each part
    against the .dat, and only a complete file is moved to ``output``. Encrypted blobs are
    decrypted into ``output``.blobs. Returns that blob directory or None."""
    if os.path.exists(output):
        raise common.ScriptError("%s exists: restore into a new file" % output)
    if not os.path.isdir(dest):
        raise common.ScriptError("no backups at %s" % dest, common.EXIT_ENV)
    os.makedirs(os.path.dirname(output), exist_ok=True)
    work = private_dir(os.path.dirname(output), RESTORE_PREFIX)
    try:
        repository = os.path.join(work, "repository")
        os.mkdir(repository)
        sealed = _gather_chain(dest, repository, date, identity_file)
        restored = os.path.join(work, "restored.fs")
        _repozo("-R", "-w", "-r", repository, "-o", restored,
                *(["-D", date] if date else []), what="repozo could not restore")
        blobs = None
        if sealed and os.path.isdir(os.path.join(dest, "blobs")):
            if os.path.exists(output + ".blobs"):
                raise common.ScriptError("%s.blobs exists: restore into a new file" % output)
            blobs = _unseal_blobs(dest, os.path.join(work, "blobs"), identity_file)
        if os.path.exists(restored + ".index"):
            os.replace(restored + ".index", output + ".index")
        os.replace(restored, output)
        if blobs:
            os.replace(blobs, output + ".blobs")
            return output + ".blobs"
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)


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

def pg_dump_command(uri, dest, now=None, sealed=False):
    """(argv, environment additions, output file) for a custom-format pg_dump of the database in
    ``uri``; when ``sealed`` the dump goes to standard output, to be encrypted on its way."""
    parts = urlsplit(uri)
    stamp = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    query = parse_qs(parts.query)
    target = os.path.join(dest, "xueji-%s.dump" % stamp) + (AGE if sealed else "")
    argv = ["pg_dump", "-Fc", "-h", parts.hostname or "localhost", "-p", str(parts.port or 5432),
            "-U", unquote(parts.username or "postgres"), "-d", parts.path.lstrip("/")]
    argv += [] if sealed else ["-f", target]
    env = {"PGPASSWORD": unquote(parts.password)} if parts.password else {}
    if "sslmode" in query:
        env["PGSSLMODE"] = query["sslmode"][0]
    return argv, env, target


def _dump_sealed(argv, env, target, recipients):
    """pg_dump's output streamed through age into ``target``: no clear byte reaches a disk."""
    outbox = Outbox()
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, env=dict(os.environ, **env))
        try:
            outbox.seal(proc.stdout, target, recipients)
            proc.stdout.close()
            if proc.wait() != 0:
                errors.seek(0)
                raise common.ScriptError("pg_dump failed: %s" % errors.read().decode("utf-8", "replace").strip(), 1)
            outbox.publish()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            outbox.discard()


def _backup_postgres(settings, dest, print_only, recipients):
    argv, env, target = pg_dump_command(settings["zodbconn.uri"], dest, sealed=bool(recipients))
    shown = " ".join(argv)
    if recipients:  # the same with the age command-line tool
        shown += " | age %s -o %s" % (" ".join("-r %s" % r for r in recipients), target)
    if print_only or shutil.which("pg_dump") is None:
        print(("pg_dump is not installed here; run on a host that has it:\n  " if not print_only else "  ")
              + ("PGPASSWORD=… " if env.get("PGPASSWORD") else "") + shown)
        return 0 if print_only else common.EXIT_ENV
    os.makedirs(dest, exist_ok=True)
    if os.path.exists(target):
        raise common.ScriptError("%s exists: try again in a second" % target)
    if recipients:
        _dump_sealed(argv, env, target, recipients)
    else:
        result = subprocess.run(argv, env=dict(os.environ, **env), capture_output=True, text=True)
        if result.returncode != 0:
            raise common.ScriptError("pg_dump failed: %s" % result.stderr.strip(), 1)
    print("database dumped to %s%s" % (target, " (encrypted)" if recipients else ""))
    return 0


# -- the command ------------------------------------------------------------------------

def _dest(args, settings, uri):
    return os.path.abspath(args.dest or settings.get("xueji.backup_dir")
                           or os.path.join(os.path.dirname(uri), "var", "backup"))


def _blob_dir(settings):
    query = parse_qs(urlsplit(settings["zodbconn.uri"]).query)
    found = query.get("blobstorage_dir") or query.get("blob_dir")
    return found[0] if found else None


def decrypt_to_stdout(path, identity_file):
    if sys.stdout.isatty():
        raise common.ScriptError("refusing to write a decrypted backup to a terminal: pipe or redirect it")
    identities = load_identities(identity_file)
    sys.stdout.flush()
    open_sealed(path, sys.stdout.buffer, identities)
    sys.stdout.buffer.flush()
    return 0


def _restore_file(args, dest):
    output = os.path.abspath(args.restore_to)
    try:
        blobs = restore(dest, output, args.date, args.identity)
    except OSError as exc:
        raise common.ScriptError("restore failed: %s" % exc, 1)
    problems = check_file(output)
    for problem in problems:
        print("PROBLEM " + problem)
    print("restored to %s: %s" % (args.restore_to, "checked, sound" if not problems else "DAMAGED"))
    if blobs:
        print("blob files decrypted into %s" % blobs)
    return 1 if problems else 0


def _newest_is_sealed(dest):
    """Whether the newest repozo backup in ``dest`` is an encrypted one."""
    stems = []
    for name in os.listdir(dest):
        found = REPOZO_FILE.match(name[:-len(AGE)] if name.endswith(AGE) else name)
        if found and found.group(2) not in ("dat", "index"):
            stems.append((found.group(1), name.endswith(AGE)))
    return bool(stems) and max(stems)[1]


def _clear_files(dest):
    """How many files in ``dest`` may hold clear data (anything but .age, .dat and the lock)."""
    return sum(1 for _folder, _dirs, files in os.walk(dest) for name in files
               if not name.endswith((AGE, ".dat", PART)) and name != LOCK_NAME)


def _backup_file(args, settings, data_fs, dest, recipients):
    if not os.path.isfile(data_fs):
        raise common.ScriptError("no database at %s" % data_fs, common.EXIT_ENV)
    import zc.lockfile
    os.makedirs(dest, exist_ok=True)
    try:  # two runs at once would both continue the chain from the same place
        lock = zc.lockfile.LockFile(os.path.join(dest, LOCK_NAME))
    except zc.lockfile.LockError:
        raise common.ScriptError("another xueji-backup is writing to %s" % dest, common.EXIT_ENV)
    try:
        before = set(os.listdir(dest))
        try:
            if recipients:
                written = sealed_repozo_backup(data_fs, dest, recipients, args.full)
            else:  # a clear chain never continues across encrypted backups
                repozo_backup(data_fs, dest, args.full or _newest_is_sealed(dest))
                written = sorted(n for n in set(os.listdir(dest)) - before if REPOZO_FILE.match(n))
            blobs = _blob_dir(settings)
            copied = copy_blobs(blobs, dest, recipients) if blobs and os.path.isdir(blobs) else 0
        except OSError as exc:  # a full disk, say: DEST keeps the backups it had
            raise common.ScriptError("backup failed: %s" % exc, 1)
    finally:
        lock.close()
    left = _clear_files(dest) if recipients else 0
    if left:
        print("warning: %d clear files from backups made before encryption remain in %s: delete them "
              "once the encrypted backups are proven by a restore" % (left, dest), file=sys.stderr)
    kinds = {REPOZO_FILE.match(n).group(2).rstrip("z") for n in written}
    kind = "full" if "fs" in kinds else "incremental" if "deltafs" in kinds else None
    print("%s of %s in %s%s (%d new blob files)" % (
        "%s backup" % kind if kind else "no change since the last backup", data_fs, dest,
        ", encrypted" if recipients else "", copied))
    return 0


def main_(argv):
    args = parse_args(argv)
    if args.new_identity:
        return new_identity(args.new_identity)
    uri = common.config_uri(args.config)
    settings = common.app_settings(uri)
    if args.decrypt:
        return decrypt_to_stdout(args.decrypt, args.identity)
    dest = _dest(args, settings, uri)
    scheme = urlsplit(settings["zodbconn.uri"]).scheme
    postgres = scheme in ("postgres", "postgresql")
    if args.restore_to:
        if postgres:
            raise common.ScriptError("RelStorage: restore a dump with pg_restore (decrypt an encrypted one "
                                     "with --decrypt FILE --identity KEY | pg_restore …)")
        return _restore_file(args, dest)
    recipients = backup_recipients(settings, args.allow_clear)
    if postgres:
        return _backup_postgres(settings, dest, args.print_only, recipients)
    data_fs = common.file_storage_path(settings)
    if data_fs is None:
        raise common.ScriptError("%s storage: back up on the storage server (see --help)" % scheme)
    return _backup_file(args, settings, data_fs, dest, recipients)


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    raise SystemExit(main())
