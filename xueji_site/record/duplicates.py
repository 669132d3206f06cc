"""One person, one record, for pupils without ID numbers too.

Pupils with a resident ID are kept unique by its keyed hash. Without one, a
"person key" — a keyed hash of name, birth date and guardian's name —
finds records that are probably the same child entered twice; a registrar
reviews each group and merges one record into the other. A merge keeps
everything: the surviving record takes the other's history, family members
and status changes, and the merged record's key becomes an alias so old
links and hashes still lead to the survivor.
"""
from BTrees.OOBTree import OOTreeSet
from hypatia.field import FieldIndex
from hypatia.query import Eq
from pyramid.traversal import find_root

from xueji_site.kernel import chain, content, events, history, subrecords
from xueji_site.kernel.catalog import scoped
from xueji_site.kernel.crypto import keyring


def person_key(name, birth_date, guardian_name):
    if not (name and birth_date):
        return None
    return keyring().blind("person", "%s|%s|%s" % (name.strip(), birth_date.isoformat(), (guardian_name or "").strip()))


def disc_person(obj, default):
    if getattr(obj, "content_type", None) != "Student":
        return default
    return person_key(obj.name, obj.birth_date, obj.guardian_name) or default


def on_indexed(event):
    """Note a person key the moment a second record shares it (no scan later)."""
    key = disc_person(event.object, None)
    site = find_root(event.object)
    catalog = getattr(site, "catalog", None)
    if key is None or catalog is None or "person" not in catalog:
        return
    if len(catalog["person"]._fwd_index.get(key, ())) >= 2:
        if getattr(site, "duplicate_keys", None) is None:
            site.duplicate_keys = OOTreeSet()
        site.duplicate_keys.insert(key)


def groups(site, user):
    """Groups of two or more records the user may see that share a person key."""
    found = []
    for key in getattr(site, "duplicate_keys", None) or ():
        query = scoped(site, user, Eq(site.catalog["person"], key))
        ids = list(query.execute().ids) if query is not None else []
        if len(ids) >= 2:
            found.append([site.docmap[d] for d in ids])
    return found


def prune_released(site):
    """Drop the derived keys the catalog no longer backs; returns how many.

    The indexes themselves keep nothing of an unindexed document: hypatia's
    FieldIndex and KeywordIndex delete a value whose postings become empty,
    and BTrees keeps its separator keys in step on deletion (the name tokens
    and ID hashes of a deleted pupil leave the live state at once; only old
    revisions hold them, until the pack). There is no TextIndex, whose
    Lexicon would keep every word forever. What does outlive its records is
    ``site.duplicate_keys``: the person keys (keyed hashes of name, birth date
    and guardian) noted when two records shared one, kept after the records
    are deleted, merged or corrected. A key with fewer than two postings in
    the ``person`` index goes.
    """
    keys = getattr(site, "duplicate_keys", None)
    if keys is None or "person" not in site.catalog:
        return 0
    postings = site.catalog["person"]._fwd_index
    stale = [key for key in keys if len(postings.get(key, ())) < 2]
    for key in stale:
        keys.remove(key)
    return len(stale)


def includeme(config):
    # same name + birth date + guardian: possible duplicates without ID numbers
    config.add_index("person", lambda: FieldIndex(disc_person))
    config.add_subscriber(on_indexed, events.ObjectAdded)
    config.add_subscriber(on_indexed, events.ObjectModified)


FIELDS_TO_FILL = ("former_name", "birthplace", "native_place", "household_place", "phone", "current_address",
                  "mailing_address", "home_address", "guardian_id_number", "guardian_phone", "id_number",
                  "registry_no")


def merge(survivor, other, registry=None):
    """Fold ``other`` into ``survivor``; ``other`` leaves the tree, nothing is lost."""
    if survivor is other or survivor.content_type != "Student" or other.content_type != "Student":
        raise ValueError("merge needs two different pupils")
    filled = {name: getattr(other, name) for name in FIELDS_TO_FILL
              if not getattr(survivor, name, None) and getattr(other, name, None)}
    if filled:
        content.modify(survivor, filled, registry=registry, note="merged from " + other.__name__)
    for key in list(other.keys()):
        other.move(key, survivor, registry=registry)
    for when_key, entry in (other.history or {}).items():
        if survivor.history is None:
            history.record(survivor, "merge")
        survivor.history[when_key] = entry
    chain.reassign(find_root(survivor), other, survivor)
    subrecords.move_all(other, survivor, registry)
    history.record(survivor, "merged", note="%s (%s)" % (other.__name__, other.name))
    other.__parent__.remove(other.__name__, registry=registry)
    return survivor
