"""The recording thread: writes what the view shows into an MP4, off the frame path.

:class:`RecordingThread` waits on the results slot (as the view does) and hands each new result's
stylized frame to an :class:`~app.recorder.Recorder` at a fixed size (the size the view shows it
at) and a fixed rate (the source's), which repeats or skips frames to keep the file in step with
the wall clock; on stop the last frame is held until the stop time. Encoding (~3.5 ms per
640×480 frame here, up to 60 times a second) therefore never slows the inference thread.

:class:`Recordings` is the inference thread's handle on it: the GUI starts and stops recordings
through it (both return at once), and the inference thread joins the last one when it ends, so
closing the window finalises a recording in progress.
"""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import Signal

from engine.errors import InputError

from .pipeline import LatestSlot
from .threads import POLL_S, StoppableThread


class RecordingThread(StoppableThread):
    """Records the results slot into ``path`` at ``fps`` frames per second and ``size`` (w, h; None:
    the first frame's size) until stopped. ``active`` turns False before ``saved`` is emitted."""

    saved = Signal(str, int, str)  # path ('' when nothing written), frames, error

    def __init__(self, results: LatestSlot, path: str, fps: float, size: tuple[int, int] | None = None):
        super().__init__("recording")
        from .recorder import Recorder

        self.results = results
        self.recorder = Recorder(path, fps, size)
        self.active = True

    def run(self) -> None:
        rec = self.recorder
        seq, _ = self.results.latest()  # record from the next result on
        last = None
        try:
            while not self.stopping:
                item = self.results.wait_newer(seq, POLL_S)
                if item is None:
                    continue
                seq, result = item
                last = result.stylized
                rec.write(last, result.t_done)
            if last is not None:
                rec.write(last, time.monotonic())  # hold the last frame until the stop
        except (InputError, OSError) as exc:
            rec.abort()
            self._done("", 0, str(exc))
            return
        self._finish()

    def _finish(self) -> None:
        rec = self.recorder
        try:
            path = rec.finish()
        except OSError as exc:
            rec.abort()
            self._done("", 0, f"{rec.path}: cannot save ({exc})")
            return
        self._done(str(path) if path else "", rec.frames_written, "" if path else "nothing was recorded")

    def _done(self, path: str, frames: int, error: str) -> None:
        self.active = False
        self.saved.emit(path, frames, error)


class Recordings:
    """Starts and stops :class:`RecordingThread` s for the inference thread. ``started(path)`` and
    ``finished(path, frames, error)`` are the signals (or callables) that report them."""

    def __init__(self, results: LatestSlot, started, finished):
        self.results, self.started, self.finished = results, started, finished
        self.current: RecordingThread | None = None
        self._threads: list[RecordingThread] = []  # stopped ones may still be finalising their file
        self._lock = threading.Lock()

    def start(self, path: str, fps: float, size: tuple[int, int] | None = None) -> None:
        """Stop the current recording (if any) and start one into ``path``; returns at once."""
        self.stop()
        thread = RecordingThread(self.results, path, fps, size)
        thread.saved.connect(self.finished)
        with self._lock:
            self._threads = [t for t in self._threads if t.isRunning()] + [thread]
            self.current = thread
        thread.start()
        self.started.emit(path)

    def stop(self) -> None:
        """Stop the current recording; its thread finalises the file and reports it."""
        with self._lock:
            thread, self.current = self.current, None
        if thread is not None:
            thread.request_stop()

    @property
    def recording(self) -> bool:
        thread = self.current
        return thread is not None and thread.active

    def close(self, timeout_ms: int = 10_000) -> None:
        """Stop and wait for every recording thread (each finalises its file)."""
        self.stop()
        with self._lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.wait(timeout_ms)
