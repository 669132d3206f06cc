"""The exports package's registrations (its ``includeme``): see the package's docstring."""
from xueji_site.exports.approvals import DEFAULT_DAYS, DEFAULT_ROWS, EXPORT_PROCESS, step_0009_export_approvals_on_the_chain
from xueji_site.kernel.settings import Setting, whole


def includeme(config):
    config.add_approval_process(EXPORT_PROCESS)
    config.add_setting(Setting("xueji.export_approval_rows", whole(0), DEFAULT_ROWS,
                               "the most rows of pupils' data an internal export takes without an approval"))
    config.add_setting(Setting("xueji.export_approval_days", whole(1), DEFAULT_DAYS,
                               "days an export approval stays valid"))
    config.add_evolve_step("0009-export-approvals-on-the-chain", step_0009_export_approvals_on_the_chain)
