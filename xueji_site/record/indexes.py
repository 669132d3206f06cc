"""The ``hashes`` index: pupils by the keyed hashes of their ID number and 学籍号
(look-ups without the clear numbers)."""
from hypatia.keyword import KeywordIndex
from pyramid.traversal import find_root


def disc_hashes(obj, default):
    """A record's ID and 学籍号 look-up hashes; none for a registration cancelled as
    made in error (status/changes.py ``void``): it no longer holds the number."""
    if getattr(obj, "voided", False):
        return default
    found = [h for h in (getattr(obj, "id_hash", None), getattr(obj, "registry_hash", None)) if h]
    return found or default


def find_student_by_hash(request, kind, blind):
    site = find_root(request.context) if getattr(request, "context", None) is not None else request.root
    for docid in site.catalog["hashes"].applyEq(blind):
        return site.docmap.get(docid)
    return None


def includeme(config):
    config.add_index("hashes", lambda: KeywordIndex(disc_hashes))
