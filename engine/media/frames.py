"""The frame-source base: :class:`FrameSource`, :class:`SourceLost`, :class:`Pacer` and
:func:`as_bgr` (captured frames as ``HxWx3`` uint8 BGR). Shared by :mod:`engine.media.camera`
and :mod:`engine.media.sources`."""
from __future__ import annotations

import time

import numpy as np

DEFAULT_STILL_FPS = 30.0


class SourceLost(RuntimeError):
    """A live source (camera, stream) stopped delivering frames."""


class Pacer:
    """Sleeps so that successive :meth:`wait` calls return ``1/fps`` apart (no catch-up bursts)."""

    def __init__(self, fps: float):
        self.period = 1.0 / max(fps, 1e-3)
        self._next: float | None = None

    def wait(self) -> None:
        now = time.monotonic()
        if self._next is None or now - self._next > self.period:
            self._next = now  # first frame, or we fell behind: restart the clock
        elif self._next > now:
            time.sleep(self._next - now)
        self._next += self.period


class FrameSource:
    """Base class. ``read()`` → ``HxWx3`` uint8 BGR; ``close()`` releases the device or file."""

    #: True for cameras and streams: frames can stop coming (see :class:`SourceLost`).
    live = False
    #: True for a local camera facing the user: the app mirrors it by default (a selfie view).
    selfie = False
    #: One line on the granted mode (a camera's size, format and rate), or "".
    details = ""
    description = "source"
    fps = DEFAULT_STILL_FPS

    def read(self) -> np.ndarray:
        raise NotImplementedError

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames."""
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True

    closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def as_bgr(frame: np.ndarray) -> np.ndarray:
    """Captured frames as contiguous ``HxWx3`` uint8 (grey and BGRA devices exist)."""
    if frame.dtype != np.uint8:
        scale = 255.0 / max(float(frame.max(initial=0)), 1.0) if frame.dtype != np.uint16 else 1 / 257
        frame = np.clip(frame.astype(np.float32) * scale, 0, 255).astype(np.uint8)
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    elif frame.shape[2] == 4:
        frame = frame[:, :, :3]
    elif frame.shape[2] == 1:
        frame = np.repeat(frame, 3, axis=2)
    return np.ascontiguousarray(frame)


__all__ = ["FrameSource", "SourceLost", "Pacer", "as_bgr", "DEFAULT_STILL_FPS"]
