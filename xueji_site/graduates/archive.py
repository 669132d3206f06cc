"""A school's archive of graduates: ``/.../{school}/archive/{year}/{record}``.

The archive is not a child of the school's BTree (so class listings, batch
edits and class pickers never see it) but the school's ``graduate_archive``
attribute, located under the school as ``archive``; views reach it as the
school's ``archive`` view with the year and record in the subpath. Its ACL
is set once through ``security.set_acl`` (which fires an event the audit log
records) from the read-only "Archive" row of the matrix: nobody may add,
edit, delete or share below it.

An archived graduate (``ArchivedGraduate``) is a frozen snapshot: identity
(sealed numbers kept sealed), the status history, the certificate and final
grades when the record has them, plus the follow-up carried over. It is not
in the catalog: verification goes through the certificate index, listings
page through the year's BTree.
"""
import time

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from persistent.list import PersistentList
from pyramid.traversal import find_root

from xueji_site.kernel import security
from xueji_site.graduates import verification
from xueji_site.kernel.crypto import Sealed
from xueji_site.kernel.folder import Container
from xueji_site.graduates.graduation import certificate_of
from xueji_site.grades.transcript import transcript
from xueji_site.kernel.integrity import Stamped
from xueji_site.kernel.nodes import Node
from xueji_site.kernel.registry import content_registry
from xueji_site.kernel.subrecords import collection_of
from xueji_site.kernel.i18n import _

STATUS_KINDS = ("create", "move", "status-requested", "status-step", "status-changed",
                "status-rejected", "status-withdrawn")
IDENTITY = ("name", "former_name", "gender", "birth_date", "ethnicity", "nationality", "id_type")
SEALED = ("id_number", "registry_no", "certificate")


class Archive(Node, Container):
    content_type = "Archive"

    @property
    def title(self):
        return _("毕业生档案")


class ArchiveYear(Container):
    """One year's graduates of one school, keyed by the pupil's record key."""

    @property
    def title(self):
        return self.__name__


class ArchivedGraduate(Stamped, Persistent):
    """A frozen graduate record. No ``__acl__``: the archive's ACL applies.
    ``Stamped``: every pickled state carries a MAC of the core fields."""

    __parent__ = None
    __name__ = None
    content_type = "ArchivedGraduate"
    local_roles = None
    id_number = Sealed("id_number")
    registry_no = Sealed("registry_no")
    certificate = Sealed("certificate")
    followup = None
    grades = None
    parts = None            # type name -> carried collection or children (archive=True registrations)
    retained_until = None   # set when sensitive fields were removed (retention)

    @property
    def title(self):
        return self.name


def archive_of(school, create=False, registry=None):
    """The school's archive (made, with its read-only ACL, on first use)."""
    found = getattr(school, "graduate_archive", None)
    if found is None and create:
        found = Archive()
        found.__parent__, found.__name__ = school, "archive"
        found.created = time.time()
        school.graduate_archive = found
        security.set_acl(found, security.type_acl("Archive"), registry=registry)
    return found


def year_of(archive, year, create=False):
    key = "%04d" % int(year)
    found = archive.get(key)
    if found is None and create:
        found = archive.add(key, ArchiveYear(), send_events=False)
    return found


def snapshot(pupil, school):
    """An ArchivedGraduate holding what is kept of ``pupil``."""
    record = ArchivedGraduate()
    for field in IDENTITY:
        setattr(record, field, getattr(pupil, field, None))
    for field in SEALED:  # the ciphertexts move as they are: no clear value on the way
        setattr(record, "_sealed_" + field, getattr(pupil, "_sealed_" + field, None))
    record.id_blind = getattr(pupil, "id_hash", None)
    record.outcome = pupil.status
    record.year = int(pupil.graduation_year)
    record.left_on = getattr(pupil, "left_on", None)
    record.cohort = pupil.__parent__.cohort
    record.class_key = pupil.__parent__.__name__
    record.school_code, record.school_name = school.code, school.name
    record.status_history = tuple(e for e in _history(pupil) if e[3] in STATUS_KINDS)
    record.grades = transcript(find_root(pupil), pupil) or getattr(pupil, "grades", None)
    record.followup = getattr(pupil, "followup", None)
    record.parts = _carried_parts(pupil)
    record.local_roles = dict(pupil.local_roles) if pupil.local_roles else None
    record.archived_at = time.time()
    return record


def _carried_parts(pupil, registry=None):
    """The parts of the pupil's record whose registration says they follow it
    into the archive (``archive=True``): type name -> its sub-record collection,
    or the list of its child objects. None when there are none."""
    parts = OOBTree()
    for ct in content_registry(registry).all():
        if not ct.archive or pupil.content_type not in ct.add_to:
            continue
        if ct.collection:
            found = collection_of(pupil, ct.name)
            if found is not None:
                parts[ct.name] = found
        else:
            children = [c for c in pupil.values() if getattr(c, "content_type", None) == ct.name]
            if children:
                parts[ct.name] = PersistentList(children)
    return parts or None


def _freeze_parts(record, registry):
    """Carried parts hang under the archived record and take the archive's
    read-only ACL (set through set_acl: each change of an ACL is audited)."""
    frozen = security.type_acl("Archive", registry)
    for part in (record.parts or {}).values():
        for node in part if isinstance(part, PersistentList) else (part,):
            node.__parent__ = record
            security.set_acl(node, frozen, registry=registry)


def _history(pupil):
    return list(pupil.history.values()) if pupil.history is not None else []


def archive_pupil(pupil, registry=None):
    """Move one graduate into its school's archive; returns the record.

    One transaction does all of it (snapshot, removal from the class — the
    catalog and audit subscribers see that — and the guardian's place), so
    a crash leaves the pupil either fully archived or untouched.
    """
    klass = pupil.__parent__
    school = klass.__parent__
    year = year_of(archive_of(school, create=True, registry=registry), pupil.graduation_year, create=True)
    record = snapshot(pupil, school)
    key = pupil.__name__
    year.add(key, record, send_events=False)
    _freeze_parts(record, registry)
    _move_places(find_root(school), pupil, record)
    klass.remove(key, registry=registry)
    return record


def _move_places(site, pupil, record):
    """Guardians (and anyone else with a role on the pupil) keep it on the record."""
    for principal in (record.local_roles or {}):
        holder = site.principals.get(principal) if site.principals is not None else None
        places = getattr(holder, "places", None)
        if places is not None and any(p is pupil for p in places):
            holder.places = type(places)([record if p is pupil else p for p in places])


def certificate_number(record):
    return certificate_of(record)


def reregister(site, record, school):
    """Keep the verification index pointing at what the archive holds."""
    number = certificate_of(record)
    if number:
        verification.register(site, number, record.name, school.title, record.year, record.outcome)


def records(node):
    """Every record under a MAC at or below ``node`` (pupils and archived
    graduates), depth first.

    Walks the tree itself (not the catalog, which a tamperer could edit too),
    including each school's graduate archive, which is not one of its
    children. A record's own children (family members) are not descended into.
    """
    if getattr(node, "mac_fields", ()):
        yield node
        return
    found = getattr(node, "graduate_archive", None)
    if found is not None:
        for year in list(found.values()):
            yield from list(year.values())
    if getattr(node, "content_type", None) is not None and hasattr(node, "values"):
        # one container's children at a time, as a list: a caller may commit
        # or trim the cache between records without upsetting an iterator
        for child in list(node.values()):
            yield from records(child)
