"""Ctrl-C and SIGTERM on the command line: one line and a known exit code at any moment, never a
traceback, and an exit that never aborts on a thread still inside a C++ library.

``main()`` installs :class:`StopSignals` first thing, before the parser is built (importing the
subcommands takes a few seconds). From then on:

- the **first** Ctrl-C or SIGTERM sets :attr:`StopSignals.stop` (threads that watch it end) and
  raises :class:`Interrupted` in the main thread, wherever it is (loading a model, encoding a
  style, waiting for the live run): ``main.py live`` treats it as its normal end (exit 0), other
  commands print ``interrupted`` and exit 130 (Ctrl-C) or 143 (SIGTERM); ``finally`` blocks run,
  so a video's temporary file is removed and a server's port closed;
- a **second** one raises ``KeyboardInterrupt`` (``interrupted``, exit 130) even inside that
  clean-up.

Why :func:`leave`: CPython ends a *daemon* thread that is still inside a C++ call (OpenVINO,
torch, OpenCV) when the interpreter finalizes, as the thread re-takes the GIL; that forced unwind
meets C++ frames that may not unwind and aborts the process ("terminate called without an active
exception", exit 134). After a stop, a daemon thread may still be in such a call (a join cut short
by the second Ctrl-C, a frame slower than the join's timeout); :func:`leave` then ends the process
at once with the command's exit code, skipping the finalization (output already flushed).
"""
from __future__ import annotations

import os
import signal
import sys
import threading

SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s)


class Interrupted(BaseException):
    """The first Ctrl-C / SIGTERM, raised in the main thread (a ``BaseException`` like
    ``KeyboardInterrupt``: ``except Exception`` blocks let it through)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """130 for Ctrl-C, 143 for SIGTERM (128 + the signal's number, as a shell reports it)."""
        return 128 + int(self.signum)


class StopSignals:
    """SIGINT and SIGTERM handlers for one command; :meth:`install`, then :meth:`restore`.

    Only the main thread can install them; elsewhere (a test calling a subcommand from a worker
    thread) both are no-ops and the signals keep their handlers."""

    active: "StopSignals | None" = None  # the installed instance (subcommands find main()'s here)
    requested = False  # a stop was requested in this process (by any instance)

    def __init__(self):
        self.stop = threading.Event()
        self.signum: int | None = None
        self._previous: dict = {}

    def install(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread() and not self._previous:
            self._previous = {s: signal.signal(s, self._handler) for s in SIGNALS}
            StopSignals.active = self
        return self

    def restore(self) -> None:
        """Give the signals back their previous handlers."""
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}
        if StopSignals.active is self:
            StopSignals.active = None

    def _handler(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.signum = signum
        StopSignals.requested = True
        self.stop.set()
        raise Interrupted(signum)

    def check(self) -> None:
        """Raise :class:`Interrupted` if a signal came and its exception was swallowed (a library's
        bare ``except:`` around an optional import catches it)."""
        if self.stop.is_set():
            raise Interrupted(self.signum)

    @classmethod
    def current(cls) -> "StopSignals":
        """main()'s installed instance, else a new one installed now (a subcommand run directly)."""
        return cls.active if cls.active is not None else cls().install()


def leave(code: int) -> int:
    """``code``, or end the process now with it when a stop was requested by a signal and a
    daemon thread is still running: finalizing the interpreter would end that thread mid-call
    (see the module docstring)."""
    if StopSignals.requested and lingering_threads():
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    return code


def lingering_threads() -> list[threading.Thread]:
    """Python daemon threads still running (threads not started by Python are not listed)."""
    return [t for t in threading.enumerate()
            if t.daemon and t.is_alive() and t is not threading.main_thread()
            and type(t).__name__ != "_DummyThread"]


__all__ = ["Interrupted", "StopSignals", "leave", "lingering_threads"]
