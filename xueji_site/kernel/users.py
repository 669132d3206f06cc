"""Principals stored in the ZODB: users and groups, with bcrypt password hashes.

A principal is known by a stable id (``u-…`` / ``g-…``) that ACLs and local
roles name; the login is a renameable attribute looked up through an index.
"""
import secrets
import time

import bcrypt
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from persistent.list import PersistentList
from persistent.mapping import PersistentMapping

from xueji_site.kernel.crypto import Sealed, keyring

BCRYPT_MAX_BYTES = 72
SESSION_MAX_AGE = 12 * 3600  # server-side tokens older than the absolute timeout are pruned
_rounds = 12


def set_bcrypt_rounds(rounds):
    """Cost factor for new hashes (12 in production; tests use 4)."""
    global _rounds
    _rounds = int(rounds)


class PasswordTooLong(ValueError):
    """bcrypt reads at most 72 bytes; longer passwords are refused, not truncated."""


def hash_password(password):
    raw = password.encode("utf-8")
    if len(raw) > BCRYPT_MAX_BYTES:
        raise PasswordTooLong(len(raw))
    return bcrypt.hashpw(raw, bcrypt.gensalt(_rounds)).decode("ascii")


def check_password(password, hashed):
    raw = password.encode("utf-8")
    if not hashed or len(raw) > BCRYPT_MAX_BYTES:
        return False
    return bcrypt.checkpw(raw, hashed.encode("ascii"))


# A fixed hash to compare against when the login is unknown, so a miss costs
# the same time as a wrong password and logins cannot be enumerated by timing.
_DUMMY = None


def dummy_check(password):
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = hash_password("not-a-real-password")
    check_password(password[:BCRYPT_MAX_BYTES], _DUMMY)
    return False


def new_one_time_password():
    """A readable random password meeting the password rules."""
    return "Xj-" + secrets.token_urlsafe(12) + "-7a"


class _SealedSince(Sealed):
    """Sealed, still reading a value older code stored in clear under ``legacy``
    (``User.email`` was a plain attribute); the next write seals it and drops it."""

    def __init__(self, field, legacy):
        super().__init__(field)
        self.legacy = legacy

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        blob = getattr(obj, self.attr, None)  # also loads a ghost before its __dict__ is read
        if blob is None:
            return obj.__dict__.get(self.legacy) or ""
        return keyring().open(self.field, blob)

    def __set__(self, obj, value):
        super().__set__(obj, value)
        obj.__dict__.pop(self.legacy, None)


class User(Persistent):
    kind = "user"
    # Contact details (contacts.py), sealed like the pupils' own. A new e-mail
    # address chosen by the user waits in ``email_pending`` until the link mailed
    # to it is followed (email_change.py): the link's token is kept only as a
    # keyed hash, with its expiry.
    email = _SealedSince("user_email", "email")
    phone = Sealed("user_phone")
    email_pending = Sealed("user_email_pending")
    email_token_hash = None
    email_token_expires = 0.0
    # TOTP second factor: the secret is sealed with the external key (never
    # readable from a copy of the database); ``totp_last_step`` refuses a
    # code's replay; ``totp_pending`` holds a secret shown but not yet confirmed.
    totp_secret = Sealed("totp_secret")
    totp_pending = Sealed("totp_pending")
    totp_last_step = 0

    def __init__(self, userid, login, title="", email=""):
        self.userid = userid
        self.login = login
        self.title = title or login
        self.email = email
        self.password_hash = None
        self.password_changed = 0.0
        self.must_change_password = True
        self.password_history = PersistentList()
        self.groups = ()
        self.places = PersistentList()
        self.sessions = PersistentMapping()  # token → created (server-side session list)
        self.active = True
        self.created = time.time()
        self.last_login = None
        self.failed_logins = 0
        self.locked_until = 0.0

    def set_password(self, password, must_change=False):
        if self.password_hash:
            self.password_history.append(self.password_hash)
            del self.password_history[:-5]
        self.password_hash = hash_password(password)
        self.password_changed = time.time()
        self.must_change_password = must_change
        self.sessions.clear()  # a new password ends every open session

    def check_password(self, password):
        return check_password(password, self.password_hash)

    def password_expired(self, max_age_days, now=None):
        """Whether the password is older than ``max_age_days`` (0 or less: never)."""
        if not max_age_days or max_age_days <= 0:
            return False
        now = time.time() if now is None else now
        return now - (self.password_changed or 0) > max_age_days * 86400

    def start_session(self):
        now = time.time()
        for old, started in list(self.sessions.items()):
            if now - started > SESSION_MAX_AGE:
                del self.sessions[old]  # expired anyway: keep the list from growing
        token = secrets.token_urlsafe(24)
        self.sessions[token] = now
        return token

    def set_second_factor(self, secret, step):
        self.totp_secret = secret
        self.totp_pending = ""
        self.totp_last_step = step

    def clear_second_factor(self):
        self.totp_secret = ""
        self.totp_pending = ""
        self.totp_last_step = 0
        self.sessions.clear()

    def end_session(self, token):
        self.sessions.pop(token, None)

    def has_session(self, token):
        return bool(token) and token in self.sessions


class Group(Persistent):
    kind = "group"

    def __init__(self, userid, title=""):
        self.userid = userid
        self.title = title or userid
        self.places = PersistentList()
        self.members = PersistentList()


class Principals(Persistent):
    """All users and groups, by id and by login."""

    def __init__(self):
        self.by_id = OOBTree()
        self.by_login = OOBTree()

    def get(self, userid, default=None):
        return self.by_id.get(userid, default)

    def by_login_name(self, login):
        userid = self.by_login.get(normalise_login(login))
        return self.by_id.get(userid) if userid else None

    def add_user(self, login, title="", email="", password=None, must_change=True):
        login = normalise_login(login)
        if login in self.by_login:
            raise KeyError(login)
        user = User("u-" + secrets.token_hex(8), login, title, email)
        if password is not None:
            user.set_password(password, must_change=must_change)
        self.by_id[user.userid] = user
        self.by_login[login] = user.userid
        return user

    def add_group(self, title):
        group = Group("g-" + secrets.token_hex(8), title)
        self.by_id[group.userid] = group
        return group

    def add_member(self, group, user):
        if user.userid not in group.members:
            group.members.append(user.userid)
        user.groups = tuple(sorted(set(user.groups) | {group.userid}))

    def users(self):
        return (p for p in self.by_id.values() if p.kind == "user")


def normalise_login(login):
    return (login or "").strip().lower()
