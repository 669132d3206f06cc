"""One Python AST built at a time in the process (a CPython bug's workaround).

Chameleon compiles a template to Python on its first use in each application
(its default loader keeps nothing between template instances), parsing
generated source with ``compile(..., PyCF_ONLY_AST)``. Before the fix for
CPython gh-106905 (Python 3.13), the conversion of a parse tree to Python
objects keeps a recursion counter shared by all threads: two threads doing it
at once fail with ``SystemError: AST constructor recursion depth mismatch``,
and the request is answered 500. The other party need not be a template:
Python 3.11's ``traceback`` calls ``ast.parse`` to place its ^^^ markers, so
any thread logging an exception with its traceback can collide with a
template being compiled. The fault tests met both, a few runs in twenty.

So chameleon's ``_cook`` and ``ast.parse`` share one lock. It costs nothing in
steady state: templates are cooked once per application, and tracebacks are
formatted only when something went wrong.
"""
import ast
import functools
import sys
import threading

from chameleon.template import BaseTemplate

LOCK = threading.RLock()  # re-entrant: cooking a template may load (and cook) its macros
NEEDED = sys.version_info < (3, 13)


def _locked(function):
    if getattr(function, "xueji_locked", False):
        return function

    @functools.wraps(function)
    def locked(*args, **kwargs):
        with LOCK:
            return function(*args, **kwargs)

    locked.xueji_locked = True
    return locked


def install():
    """Wrap ``BaseTemplate._cook`` and (before Python 3.13) ``ast.parse`` once."""
    BaseTemplate._cook = _locked(BaseTemplate._cook)
    if NEEDED:
        ast.parse = _locked(ast.parse)
