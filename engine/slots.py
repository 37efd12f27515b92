"""The newest-value slot between threads: a stage hands over only its latest result, never a queue."""
from __future__ import annotations

import threading


class NewestSlot:
    """Thread-safe holder of the newest value and its sequence number (1, 2, …).

    ``put`` never blocks and overwrites; ``wait_newer(seq, timeout)`` returns ``(seq, value)`` once a
    value newer than ``seq`` is there, or None after ``timeout`` seconds or once :meth:`close` was
    called. It never hands out the None left by :meth:`clear`.
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
            self._cond.wait_for(lambda: self._closed or (self._seq > seq and self._value is not None), timeout)
            if self._closed or self._seq <= seq or self._value is None:
                return None
            return self._seq, self._value

    def clear(self) -> None:
        """Drop the value (e.g. a frame of the previous source); waiters keep waiting."""
        with self._cond:
            self._value = None

    def close(self) -> None:
        """Wake every waiter; later waits return None at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
