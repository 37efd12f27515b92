"""The capture thread: :class:`CaptureThread` owns the frame source (camera, file, pattern); it
opens it on its own thread, writes each frame into the frames slot, mirrors selfie cameras and
reconnects a lost camera. See :mod:`app.threads` for how it is stopped and retired.
"""
from __future__ import annotations

import functools
import inspect
import time

from PySide6.QtCore import QThread, Signal

from engine.errors import InputError

from .pipeline import Frame, LatestSlot
from .threads import POLL_S, StoppableThread

RECONNECT_EVERY_S = 1.0
PERMISSION_WAIT_S = 120.0  # macOS: how long to keep retrying while the camera permission prompt is up


class CaptureThread(StoppableThread):
    """Opens the source (in this thread: cameras can be slow) and feeds the frames slot.

    ``predecessor``: a retired capture thread of the same device; this one opens only after it
    has let go of the device. ``mirror`` (settable any time) flips selfie cameras left–right
    here, on the capture thread. ``camera``: the :class:`~engine.media.camera.CameraRequest`.
    """

    opened = Signal(str, int, int, float)  # description, width, height, fps
    failed = Signal(str)  # the source could not be opened: one-line reason
    message = Signal(str)

    def __init__(self, spec, frames: LatestSlot, opener=None, camera=None, predecessor: QThread | None = None,
                 mirror: bool = False):
        super().__init__("capture")
        from engine.media.sources import open_source

        self.spec = spec
        self.frames = frames
        self.opener = opener or functools.partial(open_source, camera=camera)
        self.predecessor = predecessor
        self.mirror = mirror
        self.source = None
        self.frames_read = 0

    def run(self) -> None:
        while self.predecessor is not None and not self.predecessor.wait(int(1000 * POLL_S)):
            if self.stopping:
                return
        self.predecessor = None
        src = self._open()
        if src is None:
            return
        self.source = src
        self.opened.emit(src.description, src.size[0], src.size[1], float(src.fps))
        try:
            self._loop(src)
        finally:
            src.close()

    def _open(self):
        """The opened source, or None (reported through ``failed``). Retries while the OS may
        still be asking the user for camera permission (macOS)."""
        from engine.media.camera import CameraUnavailable

        start, reported = time.monotonic(), False
        while not self.stopping:
            try:
                return self._call_opener()
            except CameraUnavailable as exc:
                if not exc.waiting or time.monotonic() - start > PERMISSION_WAIT_S:
                    self.failed.emit(str(exc))
                    return None
                if not reported:
                    self.failed.emit(str(exc))
                    reported = True
                self.sleep_unless_stopped(RECONNECT_EVERY_S)
            except InputError as exc:
                self.failed.emit(str(exc))
                return None
            except Exception as exc:  # noqa: BLE001 - any driver failure is reported, not raised
                self.failed.emit(f"{self.spec}: cannot open ({type(exc).__name__}: {exc})")
                return None
        return None

    def _call_opener(self):
        """``opener(spec)``, passing the stop flag where the opener takes one."""
        try:
            params = inspect.signature(self.opener).parameters.values()
            takes_stop = any(p.name == "stop" or p.kind is p.VAR_KEYWORD for p in params)
        except (TypeError, ValueError):
            takes_stop = False
        return self.opener(self.spec, stop=self._stop_event) if takes_stop else self.opener(self.spec)

    def _loop(self, src) -> None:
        import cv2

        from engine.media.sources import SourceLost

        while not self.stopping:
            try:
                image = src.read()
            except SourceLost as exc:
                if self.stopping or not self._reconnect(src, str(exc)):
                    return
                continue
            except Exception as exc:  # noqa: BLE001 - keep the app alive, report once per failure
                self.message.emit(f"{src.description}: read failed ({exc}); retrying")
                self.sleep_unless_stopped(RECONNECT_EVERY_S)
                continue
            if self.stopping:
                return  # a frame that arrived after the switch belongs to no one
            if self.mirror and getattr(src, "selfie", False):
                image = cv2.flip(image, 1)
            self.frames.put(Frame(image, time.monotonic(), self.frames_read))
            self.frames_read += 1

    def _reconnect(self, src, reason: str) -> bool:
        if not hasattr(src, "reconnect"):
            self.message.emit(f"{reason}; no more frames")
            return False
        self.message.emit(f"{reason}: camera lost, reconnecting…")
        attempts = 0
        while not self.stopping:
            attempts += 1
            if src.reconnect():
                self.message.emit(f"{src.description}: reconnected")
                return True
            if attempts == 1 or attempts % 10 == 0:
                self.message.emit(f"{src.description}: still lost, retrying every {RECONNECT_EVERY_S:.0f} s "
                                  f"(attempt {attempts})")
            self.sleep_unless_stopped(RECONNECT_EVERY_S)
        return False

