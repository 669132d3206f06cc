"""A MAC on each pupil's record and each archived graduate (checklist D3).

Whoever can write the database (a copy of Data.fs, the ZEO port, the
PostgreSQL tables) but does not hold the external key must not be able to
change a pupil's identity, status or certificate unnoticed. Each Student and
ArchivedGraduate therefore carries ``_integrity``: an HMAC under the site's
key (``crypto.keyring().blind``) over a canonical JSON of its core fields *as
stored* — the clear identity and status fields, the ciphertexts of the
sealed numbers (not their clear values: checking needs no decryption) and
the record's ``__name__``, so a record cannot be copied over another one.

The MAC is computed when the object is pickled (``Stamped.__getstate__``),
so every state that any code path commits carries a MAC of exactly what the
application wrote: there is no event to forget and no second write. What the
MAC does not cover: the record's child objects (history, family members,
follow-up: separate persistent objects), non-core fields, and a whole record
replaced by an older state of itself (a replay of a genuine earlier state
verifies; the audit log and backups are the defence there).

``check(obj)`` says "ok", "changed" (stored state departs from its MAC) or
"unstamped" (no MAC: written before this module existed — evolve step 0005
stamps those — or by code that bypassed the class, or its MAC was removed;
after step 0005 an unstamped record is as suspect as a changed one). It
compares what was *loaded*: call it on a freshly loaded record, not on one
modified in the current transaction.
"""
import base64
import datetime
import hmac
import json

from persistent import Persistent

from xueji_site.kernel.crypto import keyring
from xueji_site.kernel.registry import content_registry

OK, CHANGED, UNSTAMPED = "ok", "changed", "unstamped"
ATTR = "_integrity"
PURPOSE = "record-mac"

# The core fields of each type are part of its registration (``mac_fields`` of
# ``config.add_content_type``), as the attribute names under which they are
# stored; the registration also sets them on the class as ``mac_fields``,
# which is what pickling reads. A field absent from the stored state (the
# class default applies) is left out of the MAC input, so removing a stored
# field is a change too.


def fields_of(kind, registry=None):
    """The MAC'd fields of type ``kind``, from its registration."""
    ct = content_registry(registry).find(kind)
    if ct is None or not ct.mac_fields:
        raise TypeError("%r carries no record MAC" % (kind,))
    return tuple(ct.mac_fields)


def _plain(value):
    """JSON for values JSON has no type for; anything else is a programming error."""
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    raise TypeError("a core field of a record holds %r, which the record MAC cannot encode" % type(value))


def canonical(kind, state, fields=None):
    """The MAC input: the type and its core fields present in ``state``, as canonical JSON."""
    fields = fields_of(kind) if fields is None else fields
    core = {field: state[field] for field in fields if field in state}
    return json.dumps([kind, core], sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=_plain)


def mac(kind, state, fields=None):
    """The record MAC (hex) of a pickled state dict of type ``kind``."""
    return keyring().blind(PURPOSE, canonical(kind, state, fields))


def _split(state):
    """The instance dict of a ``Persistent.__getstate__`` result (dict, or (dict, slots))."""
    return state[0] if isinstance(state, tuple) else state


class Stamped:
    """Mixin: the pickled state carries the MAC of its core fields (``mac_fields``,
    set on the class by its registration).

    ``Persistent.__getstate__`` already leaves out ``_p_`` and ``_v_``
    attributes; the MAC input is then drawn from the named core fields only,
    never from ``_integrity`` itself (an old MAC loaded with the state is
    replaced, not chained).
    """

    def __getstate__(self):
        state = super().__getstate__()
        found = dict(_split(state))
        found[ATTR] = mac(self.content_type, found, self.mac_fields)
        # The object in this connection's cache keeps the MAC just written, so
        # that it matches its stored state (a plain dict write: not a change).
        self.__dict__[ATTR] = found[ATTR]
        return (found,) + tuple(state[1:]) if isinstance(state, tuple) else found


def check(obj):
    """OK, CHANGED or UNSTAMPED for the record as it was loaded."""
    fields = getattr(obj, "mac_fields", ())
    if not fields:
        raise TypeError("%r carries no record MAC" % (obj,))
    obj._p_activate()
    state = _split(Persistent.__getstate__(obj))  # the stored state, not a fresh stamp
    stored = state.get(ATTR)
    if not isinstance(stored, str):
        return UNSTAMPED
    expected = mac(obj.content_type, state, fields)
    return OK if hmac.compare_digest(stored.encode("utf-8"), expected.encode()) else CHANGED


def placed(record):
    """Whether the record's container holds it under its own ``__name__``.

    The MAC binds ``__name__`` to the record; this closes the loop from the
    other side, catching two records swapped in their container's BTree.
    """
    parent = getattr(record, "__parent__", None)
    return parent is not None and parent.get(record.__name__) is record
