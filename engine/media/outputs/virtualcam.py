"""Virtual camera: the stylized frames as a webcam that call apps (Zoom, Meet, Teams, OBS) can pick.

Uses pyvirtualcam: on Linux the v4l2loopback kernel module, on Windows and macOS the OBS Studio
virtual camera. :class:`VirtualCamera` runs in its own thread and sends the newest frame at a
steady rate (the source's frame rate), repeating the last frame while the network is slower, so
call apps see a normal camera; ``put`` only swaps a reference, so a slow device never blocks
capture or inference. The camera's size is the size of the frames put in (an odd side loses its
last line: devices want even sides); when that changes the camera is reopened at the new size (if
the device refuses, for instance because a call app holds it, frames are scaled to the old size).
"""
from __future__ import annotations

import platform
import re
import threading
import time

import numpy as np

from engine.slots import NewestSlot

from .base import OutputError

CARD_LABEL = "adain-live"
LINUX_FIX = f'sudo modprobe v4l2loopback exclusive_caps=1 card_label="{CARD_LABEL}"'
WINDOWS_FIX = "install OBS Studio (26 or newer): its virtual camera comes with it"
MACOS_FIX = "install OBS Studio, click Start Virtual Camera once (allow the system extension), close OBS"
MIN_FPS, MAX_FPS = 1.0, 60.0
POLL_S = 0.1


def vcam_error_message(exc: BaseException) -> str:
    """One line for the user: what pyvirtualcam said and the command or step that fixes it."""
    text = re.sub(r"'[\w-]+' backend: ", "", " ".join(str(exc).split()))  # pyvirtualcam's prefixes
    if "No v4l2 loopback device" in text:
        return ("virtual camera: No v4l2 loopback device found at /dev/video[0-99]. "
                f"Fix: {LINUX_FIX}")
    if isinstance(exc, ImportError):
        return "virtual camera: pyvirtualcam is not installed (pip install pyvirtualcam)"
    fix = {"Linux": LINUX_FIX, "Darwin": MACOS_FIX}.get(platform.system(), WINDOWS_FIX)
    if "not found" in text.lower() or "install" in text.lower():
        return f"virtual camera: {text} Fix: {fix}"
    return f"virtual camera: {text}"


class VirtualCamera:
    """A pyvirtualcam camera fed from a newest-frame slot by its own thread.

    ``put(frame)`` with ``HxWx3`` uint8 BGR frames (never blocks); ``start()`` / ``stop()``.
    ``fps`` is the sending rate (set it to the source's rate). ``backend`` / ``device`` go to
    ``pyvirtualcam.Camera`` (None: the platform's default). A failure ends the thread, sets
    ``error`` (one line) and calls ``on_error(error)`` from the camera thread.
    """

    def __init__(self, fps: float = 30.0, *, backend: str | None = None, device: str | None = None,
                 on_error=None):
        self.fps = fps
        self.backend, self.device = backend, device
        self.on_error = on_error
        self.frames = NewestSlot()
        self.frames_sent = 0
        self.error: str | None = None
        self.note: str | None = None  # set when frames are scaled to a size the device kept
        self._camera = None
        self._wanted: tuple[int, int] | None = None  # the frames' size (the camera's unless refused)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- control (any thread) -------------------------------------------------------------
    @property
    def fps(self) -> float:
        return self._fps

    @fps.setter
    def fps(self, value: float) -> None:
        self._fps = min(max(float(value), MIN_FPS), MAX_FPS)

    def put(self, frame_bgr: np.ndarray) -> None:
        """Offer a ``HxWx3`` uint8 BGR frame; the camera thread sends the newest one."""
        self.frames.put(frame_bgr)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="virtual-camera", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 3.0) -> bool:
        """Stop sending and close the device; waits up to ``timeout`` s. True once it has ended."""
        self._stop.set()
        self.frames.close()
        thread = self._thread
        if thread is None:
            self._close()
            return True
        thread.join(timeout)
        return not thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def size(self) -> tuple[int, int] | None:
        camera = self._camera
        return None if camera is None else (camera.width, camera.height)

    @property
    def device_name(self) -> str:
        camera = self._camera
        return "" if camera is None else str(camera.device)

    def open(self, width: int, height: int) -> str:
        """Open the device now (before ``start``) so a missing device is known at once; raises
        :class:`OutputError` with the fix. Returns the device's name."""
        self._wanted = (width, height)
        self._open(width, height)
        return self.device_name

    # --- camera thread ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._send_loop()
        except OutputError as exc:
            self._fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - a device failure ends the output, never the app
            self._fail(vcam_error_message(exc))
        finally:
            self._close()

    def _send_loop(self) -> None:
        seq, frame = 0, None
        while frame is None:  # the first frame decides the size
            item = self.frames.wait_newer(seq, POLL_S)
            if self._stop.is_set():
                return
            if item is not None and item[1] is not None:
                seq, frame = item
        next_t = time.monotonic()
        while not self._stop.is_set():
            latest_seq, latest = self.frames.latest()
            if latest_seq > seq and latest is not None:
                seq, frame = latest_seq, latest
            self._send(frame)
            period = 1.0 / self._fps
            next_t += period
            now = time.monotonic()
            if next_t < now - period:  # fell behind (a slow device): restart the clock, no burst
                next_t = now
            self._stop.wait(max(0.0, next_t - now))

    def _send(self, frame: np.ndarray) -> None:
        height, width = frame.shape[:2]
        if width % 2 or height % 2:  # 4:2:0 and YUYV devices need even sides: drop an edge line
            frame = frame[: height - height % 2, : width - width % 2]
        size = (frame.shape[1], frame.shape[0])
        camera = self._camera
        if camera is None or size != self._wanted or abs(camera.fps - self._fps) > 0.5:
            self._reopen(*size)
            camera = self._camera
        if (camera.width, camera.height) != size:
            import cv2

            frame = cv2.resize(frame, (camera.width, camera.height), interpolation=cv2.INTER_AREA)
        camera.send(frame)
        self.frames_sent += 1

    def _reopen(self, width: int, height: int) -> None:
        """Reopen at a new size or rate; if the device refuses, keep the old size and scale."""
        old = self.size
        self._wanted = (width, height)
        try:
            self._open(width, height)
            self.note = None
        except OutputError:
            if old is None:
                raise
            self._open(*old)
            self.note = (f"virtual camera stays at {old[0]}x{old[1]} (the device refused "
                         f"{width}x{height}); frames are scaled")

    def _open(self, width: int, height: int) -> None:
        self._close()
        try:
            import pyvirtualcam

            self._camera = pyvirtualcam.Camera(width, height, self._fps, fmt=pyvirtualcam.PixelFormat.BGR,
                                               backend=self.backend, device=self.device)
        except Exception as exc:  # noqa: BLE001 - RuntimeError without a device, ImportError, …
            raise OutputError(vcam_error_message(exc)) from exc

    def _close(self) -> None:
        camera, self._camera = self._camera, None
        if camera is not None:
            camera.close()

    def _fail(self, message: str) -> None:
        self.error = message
        if self.on_error is not None:
            self.on_error(message)
