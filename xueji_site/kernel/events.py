"""Events fired by the tree and by security changes.

Plain classes; subscribers are registered with ``config.add_subscriber``
(the catalog and the audit log listen here).
"""
from pyramid.threadlocal import get_current_registry


class _NodeEvent:
    def __init__(self, obj, parent=None, name=None):
        self.object = obj
        self.parent = parent if parent is not None else getattr(obj, "__parent__", None)
        self.name = name if name is not None else getattr(obj, "__name__", None)


class ObjectAdded(_NodeEvent):
    """``object`` was added to ``parent`` under ``name``."""


class ObjectWillBeRemoved(_NodeEvent):
    """``object`` is about to leave ``parent``; it is still in the tree."""


class ObjectRemoved(_NodeEvent):
    """``object`` has left ``parent``."""


class ObjectMoved(_NodeEvent):
    """``object`` moved from ``old_parent``/``old_name`` to its current place."""

    def __init__(self, obj, old_parent, old_name):
        super().__init__(obj)
        self.old_parent = old_parent
        self.old_name = old_name


class ObjectModified(_NodeEvent):
    """``object``'s fields changed; ``changes`` maps field → (before, after).

    ``note`` says how, when it was not a plain edit (e.g. a reviewed change)."""

    def __init__(self, obj, changes, note=""):
        super().__init__(obj)
        self.changes = changes
        self.note = note


class SecurityChanged(_NodeEvent):
    """``object``'s ACL or local roles changed."""

    def __init__(self, obj, principal=None, before=(), after=()):
        super().__init__(obj)
        self.principal = principal
        self.before = tuple(before)
        self.after = tuple(after)


def notify(event, registry=None):
    (registry or get_current_registry()).notify(event)


class _ApprovalEvent:
    def __init__(self, request):
        self.request = request  # a kernel.chain.Request (not a web request)
        self.object = request.subject


class ApprovalRequested(_ApprovalEvent):
    """A request was made on an approval process (kernel/chain.py)."""


class ApprovalDecided(_ApprovalEvent):
    """A decision was taken on a request (its last entry in ``decisions``): a step
    approved, the request rejected, or withdrawn by its requester."""


class ApprovalCompleted(_ApprovalEvent):
    """A request ended: ``request.state`` says how (approved, rejected, withdrawn)."""


class ApprovalOverdue(_ApprovalEvent):
    """A request's waiting step is past its deadline (found by the reminder job)."""
