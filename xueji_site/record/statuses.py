"""A record's registry status (学籍状态): the names, their labels, and which
statuses leave the record editable. Status changes (xueji_site.status) move a
record between them; graduation ends in one of the last three."""
from xueji_site.kernel.i18n import _

ENROLLED, SUSPENDED, TRANSFER_PENDING, TRANSFERRED_OUT = "enrolled", "suspended", "transfer_pending", "transferred_out"
WITHDRAWN, DROPPED_OUT, EXPELLED, DECEASED, ABROAD = "withdrawn", "dropped_out", "expelled", "deceased", "abroad"
GRADUATED, COMPLETED, INCOMPLETE, CANCELLED = "graduated", "completed", "incomplete", "cancelled"

STATUS_LABELS = {
    ENROLLED: _("在籍"), SUSPENDED: _("休学"), TRANSFER_PENDING: _("转出中"), TRANSFERRED_OUT: _("已转出"),
    WITHDRAWN: _("退学"), DROPPED_OUT: _("辍学"), EXPELLED: _("开除"), DECEASED: _("死亡"),
    ABROAD: _("出国（境）"), GRADUATED: _("毕业"), COMPLETED: _("结业"), INCOMPLETE: _("肄业"),
    CANCELLED: _("注销"),
}
# Statuses in which the record may be edited at all (suspended: only resumption).
EDITABLE = {ENROLLED, DROPPED_OUT}

