"""The exports package's registrations (its ``includeme``): see the package's docstring."""
from xueji_site.exports.approvals import EXPORT_PROCESS, step_0009_export_approvals_on_the_chain


def includeme(config):
    config.add_approval_process(EXPORT_PROCESS)
    config.add_evolve_step("0009-export-approvals-on-the-chain", step_0009_export_approvals_on_the_chain)
