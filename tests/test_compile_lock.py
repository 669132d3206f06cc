"""Templates compile one at a time (CPython's compile() is not thread-safe before gh-106905)."""
import threading
import time

from chameleon import PageTemplate
from chameleon.template import BaseTemplate

from xueji_site import compile_lock


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
