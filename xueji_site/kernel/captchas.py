"""Picture challenges (CAPTCHA) for the public certificate check (security.md H1).

Stateless, so any application server can check a challenge another one
issued: the token *is* the challenge, its answer and expiry sealed with the
site key (AES-GCM: the holder of a token can neither read nor change the
answer). A token is good for one answer: each application server remembers
the nonces it has accepted until they expire (a token replayed on a
different server within its few minutes is the accepted gap).

The pictures come from the ``captcha`` package (Pillow-based, its own fonts),
rather than hand-drawn noise. The alphabet leaves out characters people
confuse (0/O, 1/I/L, 2/Z, 5/S, 8/B).
"""
import base64
import json
import secrets
import threading
import time

from xueji_site.kernel.crypto import keyring

ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
LENGTH = 5
LIFETIME = 300  # seconds a challenge may be answered in
FIELD = "captcha"


def new_token(now=None):
    """A fresh challenge: the opaque token to put in the form."""
    now = time.time() if now is None else now
    answer = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    payload = json.dumps({"a": answer, "e": int(now) + LIFETIME, "n": secrets.token_hex(8)}).encode()
    return base64.urlsafe_b64encode(keyring().seal_bytes(FIELD, payload)).decode().rstrip("=")


def _open(token, now=None):
    """The challenge's (answer, nonce), or None when the token is forged, damaged or expired."""
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(keyring().open_bytes(FIELD, blob))
    except Exception:  # any damage at all: not a challenge of ours
        return None
    now = time.time() if now is None else now
    if payload.get("e", 0) < now:
        return None
    return payload["a"], payload["n"]


def answer_of(token):
    """The characters to draw for a token (None: not drawable)."""
    opened = _open(token or "")
    return opened[0] if opened else None


def normalise(typed):
    return "".join((typed or "").split()).upper()[:LENGTH * 2]


class UsedNonces:
    """Nonces accepted on this server, forgotten once their tokens expire."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}

    def take(self, nonce, now):
        """True the first time a nonce is offered (within its lifetime)."""
        with self.lock:
            if len(self.seen) > 10000:
                self.seen = {n: t for n, t in self.seen.items() if t > now}
            if self.seen.get(nonce, 0) > now:
                return False
            self.seen[nonce] = now + LIFETIME
            return True


def check(token, typed, used, now=None):
    """True when ``typed`` answers the token's challenge in time. Any answer,
    right or wrong, uses the token up: one guess per picture."""
    now = time.time() if now is None else now
    opened = _open(token or "", now)
    if opened is None:
        return False
    answer, nonce = opened
    first = used.take(nonce, now)
    return first and secrets.compare_digest(normalise(typed), answer)


def png(answer):
    """The challenge drawn as a PNG image."""
    from captcha.image import ImageCaptcha
    return ImageCaptcha(width=200, height=70).generate(answer).getvalue()
