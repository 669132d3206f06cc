"""One template compilation at a time in the process.

Chameleon compiles a template to Python on its first use, and CPython's
``compile()`` is not safe for several threads at once before the fix for
gh-106905: under concurrent first requests after a start (waitress serves
with threads), a compile could fail with ``SystemError: AST constructor
recursion depth mismatch`` and the request answered 500. The fault tests met
it about one run in six. Holding a lock around chameleon's ``_cook`` costs
nothing once templates are compiled (they are cooked once per process).
"""
import functools
import threading

from chameleon.template import BaseTemplate

LOCK = threading.RLock()  # re-entrant: cooking a template may load (and cook) its macros


def install():
    """Wrap ``BaseTemplate._cook`` once; later calls do nothing."""
    original = BaseTemplate._cook
    if getattr(original, "xueji_locked", False):
        return

    @functools.wraps(original)
    def cook(self, *args, **kwargs):
        with LOCK:
            return original(self, *args, **kwargs)

    cook.xueji_locked = True
    BaseTemplate._cook = cook
