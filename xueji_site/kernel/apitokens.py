"""Personal API tokens: a user makes and revokes their own; only a SHA-256
hash is stored (on the user), and the token is shown once.

A token reads ``xj1.<userid>.<secret>``: the userid finds the account without
an index, the secret is checked against the stored hashes in constant time.
A token acts as its user with that user's roles; deactivating the user or
revoking the token ends it at once.
"""
import hashlib
import hmac
import secrets
import time

from persistent.mapping import PersistentMapping

PREFIX = "xj1"
MAX_TOKENS = 10


def _digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_of(user):
    """{token id: {"name", "created", "hash"}} (a mapping on the user, made lazily)."""
    table = getattr(user, "api_tokens", None)
    return table if table is not None else {}


def create(user, name):
    """A new token for ``user`` (the plain text is returned, never stored)."""
    table = getattr(user, "api_tokens", None)
    if table is None:
        table = user.api_tokens = PersistentMapping()
    if len(table) >= MAX_TOKENS:
        raise ValueError("too many tokens")
    token = "%s.%s.%s" % (PREFIX, user.userid, secrets.token_urlsafe(32))
    table[secrets.token_hex(6)] = {"name": name, "created": time.time(), "hash": _digest(token)}
    return token


def revoke(user, token_id):
    table = getattr(user, "api_tokens", None)
    return table is not None and table.pop(token_id, None) is not None


def find_user(principals, token):
    """The active user ``token`` belongs to, or None."""
    parts = (token or "").split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    user = principals.get(parts[1])
    if user is None or getattr(user, "kind", "") != "user" or not user.active:
        return None
    digest = _digest(token)
    found = False
    for entry in tokens_of(user).values():
        found |= hmac.compare_digest(entry["hash"], digest)
    return user if found else None
