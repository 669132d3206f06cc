"""Status changes (学籍异动): the kinds, their rules and their approval chains."""
from hypatia.field import FieldIndex
from hypatia.keyword import KeywordIndex

from xueji_site.status.changes import disc_changes, disc_waiting_at


def includeme(config):
    # where a pupil's open status change waits (work queues)
    config.add_index("waiting_at", lambda: FieldIndex(disc_waiting_at))
    # approved status changes by type and period
    config.add_index("changes", lambda: KeywordIndex(disc_changes))
