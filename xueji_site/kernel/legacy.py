"""Reading objects of shapes the code no longer has (for evolve steps only).

A class that was removed loads as a ZODB *broken* object, which keeps its
pickled state untouched in ``__Broken_state__``; an evolve step reads that
state, builds today's objects from it, and drops the old one.
"""


def state_of(obj):
    """The stored attributes of ``obj``, broken (class gone) or not."""
    if obj is None:
        return {}
    activate = getattr(obj, "_p_activate", None)
    if activate is not None:
        activate()
    state = obj.__dict__.get("__Broken_state__")
    if state is None:
        return {k: v for k, v in obj.__dict__.items() if not k.startswith("_p_")}
    return state[0] if isinstance(state, tuple) else state


def pop(obj, *names):
    """Remove the instance attributes ``names`` of ``obj`` (now read from elsewhere)."""
    for name in names:
        if name in obj.__dict__:
            delattr(obj, name)
