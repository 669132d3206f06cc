"""Field encryption at rest and keyed hashes for look-ups.

The key lives in a file outside the database (``xueji.key_file`` in the ini);
a copy of the database read without it shows no sensitive field. Values are
sealed with AES-GCM (``cryptography``), the field name bound in as associated
data so a ciphertext cannot be moved to another field. Look-ups by ID number
use an HMAC-SHA256 "blind index" under a second key derived from the same file.
"""
import base64
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"


class KeyRing:
    def __init__(self, master):
        if len(master) < 32:
            raise ValueError("the key file must hold at least 32 bytes of key")
        self._aead = AESGCM(hashlib.sha256(b"xueji-enc\0" + master).digest())
        self._mac_key = hashlib.sha256(b"xueji-mac\0" + master).digest()

    def seal(self, field, value):
        if value is None or value == "":
            return None
        return self.seal_bytes(field, value.encode("utf-8"))

    def open(self, field, blob):
        return self.open_bytes(field, blob).decode("utf-8")

    def seal_bytes(self, field, data):
        if not data:
            return None
        nonce = secrets.token_bytes(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, bytes(data), field.encode())

    def open_bytes(self, field, blob):
        if blob is None:
            return b""
        if blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        return self._aead.decrypt(blob[1:13], blob[13:], field.encode())

    def blind(self, kind, value):
        """A keyed hash of ``value`` for exact-match look-ups (hex)."""
        return hmac.new(self._mac_key, kind.encode() + b"\0" + value.encode(), "sha256").hexdigest()


_current = None


def install(keyring):
    """Make ``keyring`` the process-wide key ring (done once at start-up)."""
    global _current
    _current = keyring


def keyring():
    if _current is None:
        raise RuntimeError("no encryption key loaded: set xueji.key_file")
    return _current


def create_key_file(path):
    """Write a new random key (base64) readable by the owner only; never overwrite."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(base64.b64encode(secrets.token_bytes(32)) + b"\n")
    return path


def load_key_file(path):
    with open(path, "rb") as src:
        return KeyRing(base64.b64decode(src.read().strip()))


class Sealed:
    """A data descriptor storing a field encrypted: ``student.id_number = '…'``."""

    def __init__(self, field):
        self.field = field
        self.attr = "_sealed_" + field

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return keyring().open(self.field, getattr(obj, self.attr, None))

    def __set__(self, obj, value):
        setattr(obj, self.attr, keyring().seal(self.field, value or ""))
