"""MP4 recording of the stylized stream (no Qt).

Frames arrive at whatever rate the stylizer manages; the file has a fixed frame rate (the app
passes the source's), so each frame is written as many times as needed to keep the video in step
with the wall clock (a frame that arrives early is skipped). The file's size is fixed too (the app
passes the size the view shows): each frame is scaled to it. The file is written under a hidden temporary name and
renamed into place by :meth:`Recorder.finish`: a recording is either complete and playable or
absent, never half-written under its final name.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from engine.errors import InputError

FOURCC = "mp4v"


class Recorder:
    """``write(frame_bgr, t)`` frames of any size (resized to ``size``, or else to the first
    frame's size; made even); ``finish()`` → final path (None when nothing was written)."""

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int] | None = None):
        self.path = Path(path)
        self.fps = float(min(max(fps, 1.0), 60.0))
        self.tmp_path = self.path.with_name(f".{self.path.stem}.recording{self.path.suffix or '.mp4'}")
        self.size: tuple[int, int] | None = even_size(*size) if size else None
        self.frames_written = 0
        self._writer = None
        self._t0: float | None = None

    def write(self, frame: np.ndarray, t: float | None = None) -> int:
        """Add a frame shown at time ``t`` (monotonic seconds); returns how many copies were written."""
        import cv2

        t = time.monotonic() if t is None else t
        if self._writer is None:
            self._open(frame)
            self._t0 = t
        due = int((t - self._t0) * self.fps) + 1  # frames the file should hold once this one is in
        copies = max(0, due - self.frames_written) if self.frames_written else 1
        if copies == 0:
            return 0
        limit = int(self.fps * 2)  # a long stall is not padded beyond 2 s: the clock moves on
        if copies > limit:
            self._t0 += (copies - limit) / self.fps
            copies = limit
        if (frame.shape[1], frame.shape[0]) != self.size:
            shrink = self.size[0] < frame.shape[1]
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        frame = np.ascontiguousarray(frame)
        for _ in range(copies):
            self._writer.write(frame)
            self.frames_written += 1
        return copies

    def _open(self, frame: np.ndarray) -> None:
        import cv2

        if self.size is None:
            self.size = even_size(frame.shape[1], frame.shape[0])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(self.path.parent, f"cannot create the output folder ({exc.strerror or exc})") from None
        writer = cv2.VideoWriter(str(self.tmp_path), cv2.VideoWriter_fourcc(*FOURCC), self.fps, self.size)
        if not writer.isOpened():
            writer.release()
            self._remove_tmp()
            raise InputError(self.path, "cannot open a video writer here (folder not writable?)")
        self._writer = writer

    def finish(self) -> Path | None:
        """Close the file and move it into place. Safe to call twice."""
        if self._writer is None:
            return None
        self._writer.release()
        self._writer = None
        if self.frames_written == 0:
            self._remove_tmp()
            return None
        os.replace(self.tmp_path, self.path)
        return self.path

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self._remove_tmp()

    @property
    def active(self) -> bool:
        return self._writer is not None

    def _remove_tmp(self) -> None:
        try:
            self.tmp_path.unlink()
        except OSError:  # never there, or its folder is not one: nothing to clean up
            pass


def even_size(width: int, height: int) -> tuple[int, int]:
    """``(width, height)`` rounded down to even numbers, at least 2 (codecs want even sizes)."""
    return max(2, int(width) - int(width) % 2), max(2, int(height) - int(height) % 2)
