"""Python ASTs are built one at a time (CPython gh-106905): template compilation and
``ast.parse`` (which Python 3.11's traceback formatting calls) share one lock."""
import ast
import threading
import time

import pytest

from chameleon import PageTemplate
from chameleon.template import BaseTemplate

from xueji_site.kernel import compile_lock


def test_template_compilation_is_serialised(app):
    """The app installs the lock; eight threads cooking templates never overlap inside the compiler."""
    assert getattr(BaseTemplate._cook, "xueji_locked", False)
    inside, most = [0], [0]
    guard = threading.Lock()
    original = BaseTemplate._compile

    def slow_compile(self, body, builtins):
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.01)  # widen the window two threads would need to overlap
        try:
            return original(self, body, builtins)
        finally:
            with guard:
                inside[0] -= 1

    BaseTemplate._compile = slow_compile
    try:
        threads = [threading.Thread(target=PageTemplate, args=("<p class='t%d'>${x}</p>" % n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        BaseTemplate._compile = original
    assert most[0] == 1
    compile_lock.install()  # a second install does not wrap twice
    assert BaseTemplate._cook.__wrapped__.__name__ == "_cook"


def test_ast_parse_waits_while_a_template_compiles(app):
    """A traceback being formatted in another thread (ast.parse) waits for the compiler."""
    if not compile_lock.NEEDED:
        pytest.skip("Python 3.13 and later build ASTs safely in threads")
    assert getattr(ast.parse, "xueji_locked", False)
    done = threading.Event()
    with compile_lock.LOCK:  # as while a template is being cooked
        parser = threading.Thread(target=lambda: (ast.parse("x = 1"), done.set()))
        parser.start()
        assert not done.wait(0.2)
    parser.join(5)
    assert done.is_set()
