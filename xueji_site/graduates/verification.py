"""Public certificate verification: the index, holders' codes, the answer.

The index (``site.certificates``) is an OOBTree keyed by a keyed hash of the
certificate number (``crypto.keyring().blind``): a copy of the database read
without the key cannot turn a number into a person, and there is no clear
certificate → person map anywhere. Each value is a small tuple holding only
what an answer shows (masked name, school, year, outcome) plus a keyed hash
of number + name to check the name given. A look-up loads one bucket: no
record is opened, nothing is scanned.

Verification codes are issued by the holder (or the school) for 30–180 days
and kept the same way, keyed by a hash of the code (``site.verification_codes``).

An unknown number, a wrong name, an expired code and a malformed number all
give the one ``INVALID`` answer, so nobody learns which part was wrong.

Integrity (security.md D3): each entry ends with an HMAC, under the site key,
of its number's hash and every other field, so an entry edited in storage
(another school, a better outcome) or moved to another number's key is
refused at the look-up — answered ``INVALID``, and reported through the
``problems`` list the caller passes, which the view puts in the audit log —
and found by ``xueji-verify-records``.
"""
import json
import secrets
import time

from BTrees.OOBTree import OOBTree

from xueji_site.graduates import certificates
from xueji_site.kernel.crypto import keyring

MIN_CODE_DAYS, MAX_CODE_DAYS = 30, 180
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read off paper
INVALID = {"valid": False}


def install(site):
    """Create the registers a site lacks (evolve step 0004 and first use)."""
    if getattr(site, "certificates", None) is None:
        site.certificates = OOBTree()
    if getattr(site, "verification_codes", None) is None:
        site.verification_codes = OOBTree()
    return site


def _number_key(number):
    return keyring().blind("certificate", number)


def _name_key(number, name):
    return keyring().blind("certificate-name", number + "\0" + (name or "").strip())


def mask_name(name):
    """张三 → 张*, 欧阳娜娜 → 欧***: the surname's first character only."""
    name = (name or "").strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def register(site, number, name, school_title, year, outcome):
    """Enter (or replace) a certificate in the index."""
    install(site)
    key = _number_key(number)
    fields = (_name_key(number, name), mask_name(name), str(school_title), int(year), outcome)
    site.certificates[key] = fields + (entry_mac(key, fields),)


def entry_mac(key, fields):
    """The HMAC binding an entry's fields to its number's hash."""
    return keyring().blind("certificate-entry", json.dumps([key, *fields], ensure_ascii=False))


def intact(key, found):
    """True when the stored entry still carries the MAC of its own fields."""
    return len(found) == 6 and found[5] == entry_mac(key, found[:5])


def stamp_entries(site):
    """Add the MAC to entries written before it existed (evolve step 0006); returns how many."""
    index = getattr(site, "certificates", None)
    stamped = 0
    for key, found in list(index.items()) if index is not None else ():
        if len(found) == 5:
            index[key] = tuple(found) + (entry_mac(key, tuple(found)),)
            stamped += 1
    return stamped


def tampered_entries(site):
    """Keys (hashes) of index entries whose MAC does not match."""
    index = getattr(site, "certificates", None)
    return [key for key, found in (index.items() if index is not None else ()) if not intact(key, found)]


def revoke(site, record, number, reason, userid, login, now=None):
    """Withdraw a certificate issued in error: out of the index (public look-ups then
    answer ``INVALID``, the same bytes as for a number never issued), and noted on
    the record as (when, userid, login, reason). False if it was already revoked."""
    if getattr(record, "certificate_revoked", None):
        return False
    forget(site, number)
    record.certificate_revoked = (time.time() if now is None else now, userid, login, reason)
    return True


def forget(site, number):
    install(site)
    site.certificates.pop(_number_key(number), None)


def entry(site, number):
    index = getattr(site, "certificates", None)
    return index.get(_number_key(number)) if index is not None else None


def issue_code(site, number, days, userid="", now=None, transcript=()):
    """A new verification code for ``number``, valid ``days`` (30–180); the clear code is returned once.

    ``transcript``: (term, subject code, level letter) rows the holder chose to let the
    code show (levels only, no name: grades/transcript.py); kept with the code, so the
    certificate index stays what every answer shows."""
    days = int(days)
    if not MIN_CODE_DAYS <= days <= MAX_CODE_DAYS:
        raise ValueError("days out of range")
    install(site)
    now = time.time() if now is None else now
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    site.verification_codes[keyring().blind("verification-code", code)] = (
        _number_key(number), now + days * 86400, now, userid, tuple(tuple(r) for r in transcript))
    return code, now + days * 86400


def normalise_code(text):
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def look_up(site, number, name=None, code=None, now=None, problems=None):
    """The public answer: a dict; ``INVALID`` whatever the reason.

    The same hashing work is done on every path so that timing says as little
    as the answer. An entry failing its MAC is answered ``INVALID`` too and,
    when a ``problems`` list is given, reported in it ("integrity").
    """
    number = certificates.normalise(number)
    if not certificates.is_valid(number):  # the check character is public: nothing to hide here
        return dict(INVALID)
    now = time.time() if now is None else now
    found = entry(site, number)
    shared = ()
    if code:
        stored = _code_entry(site, number, normalise_code(code), now)
        matched = stored is not None
        shared = stored[4] if matched and len(stored) > 4 else ()
    else:
        expected = _name_key(number, name)
        matched = found is not None and found[0] == expected
    if not matched or found is None:
        return dict(INVALID)
    if not intact(_number_key(number), found):
        if problems is not None:
            problems.append("integrity")
        return dict(INVALID)
    _name_blind, masked, school, year, outcome = found[:5]
    answer = {"valid": True, "name": masked, "school": school, "year": year,
              "outcome": outcome, "certificate": number}
    if shared:  # only through a holder's code, and only what they chose to share
        answer["transcript"] = [{"term": term, "subject": subject, "level": level} for term, subject, level in shared]
    return answer


def _code_entry(site, number, code, now):
    """The stored entry of a code that is good for ``number`` now, else None."""
    codes = getattr(site, "verification_codes", None)
    stored = codes.get(keyring().blind("verification-code", code)) if codes is not None else None
    return stored if stored is not None and stored[0] == _number_key(number) and stored[1] > now else None


def purge_expired_codes(site, now=None, limit=10000):
    """Drop expired codes (at most ``limit``); returns how many."""
    now = time.time() if now is None else now
    codes = getattr(site, "verification_codes", None) or {}
    stale = []
    for key, value in codes.items():
        if value[1] <= now:
            stale.append(key)
            if len(stale) >= limit:
                break
    for key in stale:
        del codes[key]
    return len(stale)
