"""The app's thread plumbing: :class:`StoppableThread` (a QThread with a stop flag) and the
*retiring* list.

Threads stop with a flag, then ``quit()``/``wait()``; never ``terminate()``. The GUI thread
never waits on the camera: a capture thread that is replaced or closed is :func:`retire`-d (flag
set, kept referenced until it has finished, since a QThread destroyed while running aborts the
process) and :func:`wait_retired` joins it later, off the GUI's event handling.
"""
from __future__ import annotations

import os
import sys
import threading
import time

from PySide6.QtCore import QThread

POLL_S = 0.1  # how often a waiting thread looks at its stop flag


class StoppableThread(QThread):
    """A QThread with a stop flag; :meth:`stop` sets it and waits for ``run`` to return."""

    def __init__(self, name: str):
        super().__init__()
        self.setObjectName(name)
        self._stop_event = threading.Event()

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    def sleep_unless_stopped(self, seconds: float) -> bool:
        """Sleep; True when woken by :meth:`stop`."""
        return self._stop_event.wait(seconds)

    def request_stop(self) -> None:
        """Set the stop flag and return at once; ``run`` returns when its current call does."""
        self._stop_event.set()
        self.quit()

    def stop(self, timeout_ms: int = 10_000) -> bool:
        """Stop and wait. Not for a thread that may be blocked in a device: :func:`retire` it."""
        self.request_stop()
        return self.wait(timeout_ms)


_retiring: list[QThread] = []
_retiring_lock = threading.Lock()


def retire(thread: StoppableThread) -> None:
    """Tell ``thread`` to stop without waiting (a camera read or open can block for 10–20 s) and
    keep it referenced until it has finished."""
    thread.request_stop()
    with _retiring_lock:
        _retiring[:] = [t for t in _retiring if t.isRunning()]  # Qt waits itself for one inside finish()
        if thread.isRunning():
            _retiring.append(thread)


def retiring() -> list[QThread]:
    """Retired threads that are still running."""
    with _retiring_lock:
        _retiring[:] = [t for t in _retiring if t.isRunning()]
        return list(_retiring)


def leave_when_retired(code: int, timeout_s: float = 30.0) -> int:
    """At exit, after the window is gone: wait for retired threads; if one is still blocked in a
    driver after ``timeout_s``, end the process now (destroying a running QThread aborts it)."""
    if wait_retired(timeout_s):
        return code
    print(f"a camera driver has not returned after {timeout_s:.0f} s; exiting without waiting for it",
          file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def wait_retired(timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for every retired thread to finish (at exit, after the window is
    gone, or in tests); True when none is left running."""
    deadline = time.monotonic() + timeout_s
    for thread in retiring():
        thread.wait(max(0, int(1000 * (deadline - time.monotonic()))))
    return not retiring()


def lower_thread_priority(niceness: int) -> None:
    """Make the calling thread (and the worker threads it creates from now on, e.g. its
    OpenMP team) yield the CPU to the frame path. Linux only; elsewhere a no-op."""
    if not hasattr(os, "setpriority") or sys.platform != "linux":
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
    except OSError:
        pass

