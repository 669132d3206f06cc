"""Retention: after ``xueji.retention_years`` an archived graduate keeps only
what verification and the school's own history need.

Removed: the sealed ID number and 学籍号, their keyed hash, the birth date,
former name, grades, the parts of the record carried into the archive (the
types registered with ``archive=True``), contact records and local roles. Kept: the name (the
verification index holds its keyed hash and masked form anyway), gender,
outcome, year, school, certificate number (sealed) and the status history
(whose sensitive values were masked when written).
"""
import time

from xueji_site.graduates.destinations import followup_of

DEFAULT_YEARS = 30
REMOVED_FIELDS = ("_sealed_id_number", "_sealed_registry_no", "id_blind", "birth_date", "former_name", "grades",
                  "parts")


def last_year_to_strip(this_year, years):
    """Graduates who left in this year or before have passed retention."""
    return this_year - years


def strip(record, now=None):
    """Remove the sensitive fields of one archived graduate; False if already done."""
    if record.retained_until is not None:
        return False
    for field in REMOVED_FIELDS:
        setattr(record, field, None)
    follow = followup_of(record)
    if follow is not None:
        follow.contacts.clear()
        follow.detail = ""
    record.local_roles = None
    record.retained_until = time.time() if now is None else now
    return True
