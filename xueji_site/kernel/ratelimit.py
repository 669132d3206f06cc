"""A per-address sliding-window counter, O(1) a hit, in process memory.

``limits``' MemoryStorage sweeps every key every 10 ms from a timer thread:
with the many addresses of a public page that sweep ate a third of the CPU
in bench/verify.py, and it keeps its clock in that thread, out of reach of
the tests' frozen time. Here two plain dicts hold this window's and the
previous window's counts; rolling over drops the older dict whole, so memory
holds two windows of addresses at most. The estimate weighs the previous
window by how much of it still overlaps the sliding window (the usual
"sliding window counter"); it errs by at most the previous window's share.

Each application server counts for itself (documented in the README).
"""
import math
import threading
import time

from limits import parse as parse_rate

from xueji_site.kernel import settings


class AddressLimiter:
    def __init__(self, amount, seconds):
        self.amount, self.seconds = amount, seconds
        self.lock = threading.Lock()
        self.index, self.current, self.previous = None, {}, {}

    @classmethod
    def from_setting(cls, text):
        """From a rate like ``100/minute`` or ``20/minute`` (``limits``' notation)."""
        rate = parse_rate(text)
        return cls(rate.amount, rate.get_expiry())

    def _roll(self, now):
        index = int(now // self.seconds)
        if index != self.index:
            self.previous = self.current if self.index == index - 1 else {}
            self.current, self.index = {}, index
        return now - index * self.seconds

    def _wait(self, address, elapsed):
        used = self.previous.get(address, 0) * (1 - elapsed / self.seconds) + self.current.get(address, 0)
        return max(1, math.ceil(self.seconds - elapsed)) if used >= self.amount else 0

    def wait(self, address, now=None):
        """Seconds to wait when the address has used its allowance, else 0 (nothing counted)."""
        with self.lock:
            return self._wait(address, self._roll(time.time() if now is None else now))

    def add(self, address, now=None):
        """Count one hit, allowed or not."""
        with self.lock:
            self._roll(time.time() if now is None else now)
            self.current[address] = self.current.get(address, 0) + 1

    def hit(self, address, now=None):
        """0 when allowed (and counted), else the seconds to wait (not counted)."""
        with self.lock:
            elapsed = self._roll(time.time() if now is None else now)
            wait = self._wait(address, elapsed)
            if not wait:
                self.current[address] = self.current.get(address, 0) + 1
            return wait


def of_registry(registry, setting):
    """The application's limiter for ``setting`` (a rate such as ``20/minute``), made on
    first use and kept on the registry: one per application, shared by its threads."""
    limiters = registry.__dict__.setdefault("xueji_rate_limiters", {})
    found = limiters.get(setting)
    if found is None:
        found = limiters[setting] = AddressLimiter.from_setting(settings.value(registry, setting))
    return found
