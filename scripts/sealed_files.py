"""age encryption of backup files, for xueji-backup (security.md E1).

Public-key: the machine making backups holds only the recipients (age1…
public keys); the private identity is kept offline and needed only to
restore. Encryption and decryption stream (pyrage, bindings to the Rust age
implementation), so no backup is ever held whole in memory or written in
clear on its way. ``Outbox`` writes files as NAME.part and renames them into
place together, so a failed run leaves the backup directory as it was;
``private_dir`` makes the 0700 working directories and removes those left by
runs that were killed.
"""
import datetime
import os
import re
import shutil
import sys
import tempfile

from . import common

AGE = ".age"                  # suffix of every encrypted file
PART = ".part"                # a file being written; renamed when complete
PLACEHOLDER = "FILL_"         # production.ini's placeholders start so


# -- age keys ------------------------------------------------------------------------

def parse_recipients(text):
    """The age public keys in ``text`` (whitespace or comma separated); [] when empty."""
    from pyrage import RecipientError, x25519
    recipients = []
    for key in [k for k in re.split(r"[\s,]+", text or "") if k]:
        if key.startswith(PLACEHOLDER):
            raise common.ScriptError(
                "xueji.backup_recipients still holds the placeholder %s: put the public key (age1…) "
                "printed by `xueji-backup CONFIG --new-identity FILE` there" % key, common.EXIT_ENV)
        try:
            recipients.append(x25519.Recipient.from_str(key))
        except RecipientError:
            raise common.ScriptError("xueji.backup_recipients: %r is not an age public key (age1…)" % key,
                                     common.EXIT_ENV)
    return recipients


def backup_recipients(settings, allow_clear):
    """Whom backups are encrypted to; [] for clear backups, which a production ini refuses
    unless ``allow_clear``: a backup copy holds names, birth dates and the audit log."""
    from pyramid.settings import asbool
    recipients = parse_recipients(settings.get("xueji.backup_recipients"))
    if recipients:
        return recipients
    if asbool(settings.get("xueji.secure_cookies", True)) and not allow_clear:
        raise common.ScriptError(
            "refusing to back up in clear with a production ini (xueji.secure_cookies is on) and no "
            "xueji.backup_recipients: a backup holds names, birth dates and the audit log. Make a key "
            "with `xueji-backup CONFIG --new-identity FILE`, put its public key in "
            "xueji.backup_recipients, or pass --allow-clear", common.EXIT_ENV)
    if allow_clear:
        print("warning: backing up in clear (--allow-clear)", file=sys.stderr)
    return []


def load_identities(path):
    """The age private keys in identity file ``path`` (age-keygen's format)."""
    from pyrage import IdentityError, x25519
    if not path:
        raise common.ScriptError("the backups are encrypted: give the private key with --identity FILE")
    try:
        with open(path, encoding="utf-8") as src:
            lines = src.read().splitlines()
    except OSError as exc:
        raise common.ScriptError("cannot read identity file %s: %s" % (path, exc.strerror), common.EXIT_ENV)
    except ValueError:
        lines = []
    keys = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    try:
        identities = [x25519.Identity.from_str(key) for key in keys]
    except IdentityError:
        identities = []
    if not identities:
        raise common.ScriptError("%s holds no age private key (AGE-SECRET-KEY-1…)" % path, common.EXIT_ENV)
    return identities


def new_identity(path):
    """Write a fresh age private key to ``path`` (0600, never overwriting); print its public key."""
    from pyrage import x25519
    identity = x25519.Identity.generate()
    public = str(identity.to_public())
    created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise common.ScriptError("%s exists: refusing to overwrite an identity" % path)
    except OSError as exc:
        raise common.ScriptError("cannot create %s: %s" % (path, exc.strerror), common.EXIT_ENV)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        os.fchmod(fd, 0o600)  # whatever the umask
        out.write("# created: %s\n# public key: %s\n%s\n" % (created, public, identity))
    print("age private key written to %s: keep it offline, it is needed only to restore" % path)
    print("put the public key in the ini:\nxueji.backup_recipients = %s" % public)
    return 0


# -- encrypted files -------------------------------------------------------------------

def seal_stream(reader, out, recipients):
    """Encrypt everything ``reader`` gives into file ``out`` (streamed: never all in memory)."""
    import pyrage
    try:
        pyrage.encrypt_io(reader, out, recipients)
    except pyrage.EncryptError as exc:
        raise common.ScriptError("age encryption failed: %s" % exc, 1)
    out.flush()
    os.fsync(out.fileno())


def open_sealed(source, out, identities):
    """Decrypt file ``source`` into binary stream ``out``; a wrong key or damage is a ScriptError."""
    import pyrage
    try:
        with open(source, "rb") as src:
            pyrage.decrypt_io(src, out, identities)
    except pyrage.DecryptError as exc:
        raise common.ScriptError("cannot decrypt %s with the identity given (%s): is it the private key "
                                 "of one of xueji.backup_recipients?" % (source, exc), common.EXIT_ENV)
    except BrokenPipeError:
        raise
    except OSError as exc:  # pyrage reports a damaged or truncated file so, without an errno
        raise common.ScriptError("cannot decrypt %s: %s%s" % (
            source, exc.strerror or exc, " (damaged or truncated?)" if exc.errno is None else ""), 1)


class Outbox:
    """Files for DEST, each written as NAME.part and renamed into place by ``publish`` once all
    are complete, the last one last (the commit point: repozo's .dat). A failure before that
    leaves DEST as it was; ``discard`` removes what was not published."""

    def __init__(self):
        self.parts = []

    def _part(self, final):
        self.parts.append((final + PART, final))
        return final + PART

    def seal(self, reader, final, recipients):
        with open(self._part(final), "wb") as out:
            seal_stream(reader, out, recipients)

    def write_text(self, final, text):
        with open(self._part(final), "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())

    def publish(self):
        published = []
        try:
            for part, final in self.parts:
                os.replace(part, final)
                published.append(final)
        except BaseException:
            for final in published:  # none of them is listed in a .dat yet
                os.unlink(final)
            raise
        self.parts = []

    def discard(self):
        for part, _final in self.parts:
            if os.path.exists(part):
                os.unlink(part)
        self.parts = []


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's
        pass
    return True


def private_dir(parent, prefix):
    """A new 0700 directory in ``parent``, named after this process; the ones left by processes
    that died (kill -9) are removed first: they may hold clear data."""
    for name in os.listdir(parent):
        found = re.match(re.escape(prefix) + r"(\d+)-", name)
        if found and not _alive(int(found.group(1))):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
    return tempfile.mkdtemp(prefix="%s%d-" % (prefix, os.getpid()), dir=parent)
