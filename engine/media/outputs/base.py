"""What the outputs share: the newest-frame slot and the one error type.

The slot has one producer that overwrites and any number of consumers that wait for something
newer, so a slow consumer drops frames instead of queueing them and the producer never blocks.
"""
from __future__ import annotations

import threading


class OutputError(RuntimeError):
    """An output could not start or stopped working; ``str()`` is one line saying why (and the fix)."""


class NewestSlot:
    """Thread-safe holder of the newest value and its sequence number (1, 2, …).

    ``put`` never blocks; ``wait_newer(seq, timeout)`` returns ``(seq, value)`` once a value newer
    than ``seq`` is there, or None after ``timeout`` seconds or once :meth:`close` was called.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._seq = 0
        self._value = None
        self._closed = False

    def put(self, value) -> int:
        with self._cond:
            self._seq += 1
            self._value = value
            self._cond.notify_all()
            return self._seq

    def latest(self) -> tuple[int, object]:
        with self._cond:
            return self._seq, self._value

    def wait_newer(self, seq: int, timeout: float) -> tuple[int, object] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._seq > seq or self._closed, timeout)
            if self._seq <= seq or self._closed:
                return None
            return self._seq, self._value

    def close(self) -> None:
        """Wake every waiter; later waits return None at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
