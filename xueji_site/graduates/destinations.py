"""After school: where each graduate went, contact records, and counts.

A graduate's follow-up (``FollowUp``) is its own small persistent object,
referenced from the pupil and carried into the archive, so recording a
destination never rewrites the frozen record. Counts per school are kept
as they change (``GraduateStats``: (year, kind, value) → n), so statistics
for a school or bureau add up a few counters per school and never load a
graduate.
"""
import time

from BTrees.LOBTree import LOBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from xueji_site.kernel.i18n import _

STUDY, WORK, OTHER, UNKNOWN = "study", "work", "other", ""
DESTINATIONS = {STUDY: _("升学"), WORK: _("就业"), OTHER: _("其他")}
CHANNELS = {"phone": _("电话"), "visit": _("走访"), "message": _("短信/微信"), "letter": _("信函")}
OUTCOME, DESTINATION = "outcome", "destination"


class FollowUp(Persistent):
    destination = UNKNOWN
    further_school = ""   # the school's name, for further study
    detail = ""           # employer or other note
    updated = 0.0

    def __init__(self):
        self.contacts = LOBTree()   # time key → (when, login, channel, note)


class GraduateStats(Persistent):
    """Counters of one school's graduates by (year, kind, value)."""

    def __init__(self):
        self.counts = OOBTree()

    def change(self, year, kind, value, delta):
        key = (int(year), kind, value)
        self.counts[key] = self.counts.get(key, 0) + delta

    def rows(self):
        return self.counts.items()


def stats_of(school, create=False):
    stats = getattr(school, "graduate_stats", None)
    if stats is None and create:
        stats = school.graduate_stats = GraduateStats()
    return stats


def count_outcome(school, year, outcome, delta=1):
    stats_of(school, create=True).change(year, OUTCOME, outcome, delta)


def followup_of(record, create=False):
    found = getattr(record, "followup", None)
    if found is None and create:
        found = record.followup = FollowUp()
    return found


def set_destination(record, school, year, destination, further_school="", detail=""):
    """Record where a graduate went; the school's counters follow."""
    if destination not in DESTINATIONS:
        raise ValueError("unknown destination")
    follow = followup_of(record, create=True)
    if follow.destination != destination:
        stats = stats_of(school, create=True)
        if follow.destination:
            stats.change(year, DESTINATION, follow.destination, -1)
        stats.change(year, DESTINATION, destination, 1)
    follow.destination = destination
    follow.further_school = further_school.strip()[:100] if destination == STUDY else ""
    follow.detail = detail.strip()[:200]
    follow.updated = time.time()
    return follow


def add_contact(record, login, channel, note, when=None):
    if channel not in CHANNELS:
        raise ValueError("unknown channel")
    follow = followup_of(record, create=True)
    when = time.time() if when is None else when
    key = int(when * 1_000_000)
    while key in follow.contacts:
        key += 1
    follow.contacts[key] = (when, login, channel, note.strip()[:500])


def contacts(record):
    follow = followup_of(record)
    return list(reversed(list(follow.contacts.values()))) if follow is not None else []


def table(schools):
    """{year: {"total": n, outcome…, destination…}} summed over ``schools``."""
    found = {}
    for school in schools:
        stats = stats_of(school)
        if stats is None:
            continue
        for (year, kind, value), n in stats.rows():
            row = found.setdefault(year, {"total": 0})
            row[value] = row.get(value, 0) + n
            if kind == OUTCOME:
                row["total"] += n
    return found
