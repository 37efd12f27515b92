"""The stream's viewer slots: at most ``limit`` viewers, and none may keep a slot it cannot use.

Each viewer's thread marks when it starts writing a frame and when the write returns
(:meth:`Viewer.writing`). A viewer that keeps up spends milliseconds per write; one that reads
slowly or not at all sits in a write until the kernel's buffers drain. When every slot is taken, a
newcomer waits up to ``admit_wait`` s for a slot; meanwhile the viewer that has sat longest in one
write, once that is at least ``evict_after`` s, is disconnected and the newcomer takes its slot. So a
slow viewer keeps its slot while nobody else needs one, and a well-behaved newcomer is served within
about ``admit_wait`` s even while every slot is held by slow viewers. (A viewer stuck longer than the
server's send timeout is dropped anyway, newcomer or not.)
"""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

from .http_guard import shutdown_socket


class Viewer:
    """One stream client: its connection and since when it has been in a write (None: not writing)."""

    __slots__ = ("conn", "writing_since")

    def __init__(self, conn: socket.socket):
        self.conn = conn
        self.writing_since: float | None = None

    @contextmanager
    def writing(self):
        self.writing_since = time.monotonic()
        try:
            yield
        finally:
            self.writing_since = None

    def stuck_for(self, now: float) -> float:
        since = self.writing_since
        return 0.0 if since is None else now - since


class ViewerSlots:
    """``enter`` a slot (waiting, or taking a stuck viewer's), ``leave`` it, ``close`` them all."""

    def __init__(self, limit: int, evict_after: float, admit_wait: float):
        self.limit, self.evict_after, self.admit_wait = limit, evict_after, admit_wait
        self.evicted = 0  # viewers disconnected to make room for a newcomer, all together
        self._cond = threading.Condition()
        self._viewers: dict[socket.socket, Viewer] = {}
        self._closed = False

    def enter(self, conn: socket.socket) -> Viewer | None:
        """A slot for ``conn``, or None when every viewer keeps up for ``admit_wait`` s (or closed)."""
        deadline = time.monotonic() + self.admit_wait
        with self._cond:
            while not self._closed:
                if len(self._viewers) >= self.limit:
                    self._evict_most_stuck()
                if len(self._viewers) < self.limit:
                    viewer = self._viewers[conn] = Viewer(conn)
                    return viewer
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(min(remaining, 0.1))
            return None

    def leave(self, viewer: Viewer) -> None:
        with self._cond:
            if self._viewers.get(viewer.conn) is viewer:
                del self._viewers[viewer.conn]
                self._cond.notify_all()

    def close(self) -> None:
        """Refuse newcomers and disconnect every viewer (a thread stuck in a write wakes up)."""
        with self._cond:
            self._closed = True
            conns = list(self._viewers)
            self._cond.notify_all()
        for conn in conns:
            shutdown_socket(conn)

    def __len__(self) -> int:
        with self._cond:
            return len(self._viewers)

    def _evict_most_stuck(self) -> None:
        now = time.monotonic()
        stuck = max(self._viewers.values(), key=lambda v: v.stuck_for(now), default=None)
        if stuck is not None and stuck.stuck_for(now) >= self.evict_after:
            del self._viewers[stuck.conn]
            self.evicted += 1
            shutdown_socket(stuck.conn)  # its write fails at once and its thread ends
