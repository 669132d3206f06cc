"""A pupil's record (Student) and its family members (FamilyMember).

Sensitive fields are sealed at rest by ``crypto.Sealed``; ``Stamped`` puts a
MAC of the core fields into every pickled state (kernel/integrity.py).
"""
from persistent import Persistent

from xueji_site.kernel.crypto import Sealed, keyring
from xueji_site.kernel.folder import Container
from xueji_site.kernel.integrity import Stamped
from xueji_site.kernel import permissions as P
from xueji_site.kernel.nodes import Leaf, Node
from xueji_site.record.statuses import EDITABLE
from xueji_site.standards import codes


class Student(Stamped, Node, Container):
    """A pupil's record. Keyed by an opaque record id, never by an ID number.

    A G-form 学籍号 contains the resident ID number, so neither may appear in
    a URL or in clear in storage: both are sealed, and look-ups go through
    keyed hashes (``id_hash``, ``registry_hash``). Addresses, phones, e-mail,
    health and the guardian's ID are sealed too. Family members beyond the
    primary guardian are child records (FamilyMember); the record's own
    change history lives in ``history``.

    Defaults are class attributes, so records made before a field existed
    read it as empty without an evolve step. ``Stamped`` puts a MAC of the
    core fields into every pickled state (integrity.py).
    """

    content_type = "Student"

    id_number = Sealed("id_number")
    registry_no = Sealed("registry_no")
    current_address = Sealed("current_address")
    mailing_address = Sealed("mailing_address")
    home_address = Sealed("home_address")
    phone = Sealed("phone")
    email = Sealed("email")
    health = Sealed("health")
    guardian_id_number = Sealed("guardian_id_number")
    guardian_phone = Sealed("guardian_phone")

    # identity
    name = ""
    former_name = ""
    gender = ""
    birth_date = None
    birthplace = ""
    native_place = ""
    ethnicity = ""
    nationality = "CHN"
    id_type = codes.ID_TYPE_RESIDENT
    id_valid_until = None
    hmt_status = "00"
    political_status = "13"
    disability = ""
    inclusive = False
    # household
    household_place = ""
    household_type = ""
    specialty = ""
    optional_consent = False  # consent to the optional extras recorded (inventory.py); who and when: history
    # enrolment
    provincial_no = ""
    seat_no = ""
    enrolled_on = ""
    enrolment_mode = ""
    attendance_mode = "1"
    source = "1"
    # contact
    postcode = ""
    # flags
    only_child = False
    preschool = False
    left_behind = "0"
    migrant_child = False
    orphan = False
    martyr_child = False
    needs_aid = False
    boarding_subsidy = False
    bought_place = False
    school_bus = False
    distance_km = None
    commute_mode = ""
    # primary guardian (more family members are child records)
    guardian_name = ""
    guardian_relation = ""
    # registry status (status changes come with their own workflow)
    status = "enrolled"
    # hashes for look-ups without clear numbers
    id_hash = None
    registry_hash = None
    history = None
    approval_ids = None     # ids of the requests about this pupil on the approval chain (kernel/chain.py)
    suspended_until = None  # the end of an approved 休学
    resume_reminded_on = None  # the day xueji-remind last told the school a 休学 had ended
    voided = False          # cancelled as a registration made in error (status/changes.py void)
    _sealed_photo = None
    photo_consent = None  # (userid, login, when) of the guardian consent recorded for an under-14

    def __init__(self):
        Container.__init__(self)

    # What a record that is not in an editable status (suspended, withdrawn,
    # transferred out, …) loses: it is frozen until a status change reopens it.
    FROZEN_LOSES = (P.EDIT, P.ADD, P.DELETE)

    @property
    def __acl__(self):
        acl = Node.__acl__.fget(self)
        if self.status in EDITABLE:
            return acl
        return tuple((action, who, tuple(p for p in perms if p not in self.FROZEN_LOSES))
                     if isinstance(perms, tuple) else (action, who, perms) for action, who, perms in acl)

    @property
    def has_photo(self):
        return self._sealed_photo is not None

    def photo(self):
        """The stored JPEG (bytes), opened with the key."""
        return keyring().open_bytes("photo", self._sealed_photo)

    def set_photo(self, jpeg, consent=None):
        """Store a prepared JPEG (photos.prepare) sealed; None removes it."""
        self._sealed_photo = keyring().seal_bytes("photo", jpeg) if jpeg else None
        self.photo_consent = consent if jpeg else None

    def __setattr__(self, name, value):
        Persistent.__setattr__(self, name, value)
        if name in ("id_number", "registry_no"):
            kind = "id" if name == "id_number" else "registry"
            blind = keyring().blind(kind, value) if value else None
            Persistent.__setattr__(self, kind + "_hash", blind)

    @property
    def title(self):
        return self.name

    @property
    def pinyin(self):
        from pypinyin import lazy_pinyin
        return "".join(lazy_pinyin(self.name))


class FamilyMember(Leaf):
    """A family member or further guardian of a pupil (a child of the Student)."""

    content_type = "FamilyMember"
    id_number = Sealed("fm_id_number")
    address = Sealed("fm_address")
    phone = Sealed("fm_phone")

    name = ""
    relation = ""
    is_guardian = False
    id_type = codes.ID_TYPE_RESIDENT
    ethnicity = ""
    household_place = ""
    employer = ""
    position = ""

    @property
    def title(self):
        return self.name
