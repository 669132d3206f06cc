"""The status package's registrations (its ``includeme``): see the package's docstring."""
from hypatia.keyword import KeywordIndex

from xueji_site.status.changes import STATUS_PROCESS, disc_changes, step_0007_status_changes_on_the_chain


def includeme(config):
    config.add_approval_process(STATUS_PROCESS)
    config.add_evolve_step("0007-status-changes-on-the-chain", step_0007_status_changes_on_the_chain)
    # approved status changes by type and period
    config.add_index("changes", lambda: KeywordIndex(disc_changes))
    config.include("xueji_site.status.resumption")  # 休学期满: reminders and the to-do list
