"""Cameras and capture devices through OpenCV: open with a requested mode, report what was
granted, explain why a camera did not open, list cameras by name, keep OpenCV's log quiet.

Cameras ask for MJPG at 1280×720, 30 fps (:class:`CameraRequest`, settable) and report what the
driver granted in :attr:`CameraSource.details`. A camera that cannot be opened raises
:class:`CameraUnavailable` naming the likely cause (no device, in use, permission denied, with
the OS setting to change). :func:`list_cameras` names the cameras (it may take seconds: call it
off the GUI thread). No Qt here: the app's capture thread drives these objects.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import InputError
from .frames import FrameSource, SourceLost, as_bgr

MAX_FAILED_READS = 8  # consecutive failed camera reads before the camera counts as lost…
LOST_AFTER_S = 3.0  # …or failing reads for this long, whichever comes first
V4L_SELECT_TIMEOUT_S = "3"  # OpenCV's wait for one V4L2 frame (its default: 10 s)
SYSFS_VIDEO = Path("/sys/class/video4linux")
PROBE_CAMERAS = 4  # indices tried where cameras cannot be listed by name


@dataclass(frozen=True)
class CameraRequest:
    """What a camera is asked for. MJPG first: uncompressed YUYV over USB 2 gives 5–10 fps at
    720p. The driver may grant less; :attr:`CameraSource.details` says what it granted."""

    width: int = 1280
    height: int = 720
    fps: float = 30.0
    fourcc: str = "MJPG"


def parse_camera_mode(text: str) -> CameraRequest:
    """``"WxH[@FPS][:FOURCC]"`` (e.g. ``"1920x1080@30"``, ``"640x480@60:YUYV"``) → :class:`CameraRequest`."""
    rest, _, fourcc = text.strip().partition(":")
    size, _, fps = rest.partition("@")
    try:
        w, h = (int(v) for v in size.lower().split("x"))
        rate = float(fps) if fps else CameraRequest.fps
    except ValueError:
        raise InputError(text, "camera mode must look like 1280x720@30 (optionally :MJPG or :YUYV)") from None
    if not (16 <= w <= 7680 and 16 <= h <= 4320 and 1 <= rate <= 240) or (fourcc and len(fourcc) != 4):
        raise InputError(text, "camera mode out of range: 16x16..7680x4320, 1..240 fps, a 4-letter format")
    return CameraRequest(w, h, rate, fourcc.upper() or CameraRequest.fourcc)


@dataclass(frozen=True)
class CameraInfo:
    """A camera as listed by :func:`list_cameras`: OpenCV index, human name, device path."""

    index: int
    name: str
    path: str = ""


class CameraUnavailable(InputError):
    """A camera could not be opened. ``waiting`` is True where the OS may still be showing the
    user a permission prompt (macOS): opening again later can succeed."""

    def __init__(self, source, reason: str, waiting: bool = False):
        super().__init__(source, reason)
        self.waiting = waiting


_OPENCV_CONFIGURED = False


def configure_opencv() -> None:
    """Silence OpenCV's console log (a warning per failed open, one a second while a lost camera
    reconnects) unless the user set ``OPENCV_LOG_LEVEL``; on Windows also turn off Media
    Foundation's hardware transforms, which make opening a camera take seconds (OpenCV's
    documented ``OPENCV_VIDEOIO_MSMF_ENABLE_HW_TRANSFORMS=0``); on Linux wait at most
    :data:`V4L_SELECT_TIMEOUT_S` for a stalled camera's frame instead of 10 s (read at the first
    capture). Variables the user set are kept. Idempotent."""
    global _OPENCV_CONFIGURED
    if _OPENCV_CONFIGURED:
        return
    user_level = "OPENCV_LOG_LEVEL" in os.environ
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")  # read when cv2 is first imported
    os.environ.setdefault("OPENCV_VIDEOIO_MSMF_ENABLE_HW_TRANSFORMS", "0")  # read at first MSMF open
    os.environ.setdefault("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", V4L_SELECT_TIMEOUT_S)
    import cv2

    if not user_level:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # cv2 may be imported already
    _OPENCV_CONFIGURED = True


def camera_backends(target: int | str, platform: str | None = None) -> list[int]:
    """OpenCV capture APIs to try, in order. Windows cameras: DirectShow first (opens in well
    under a second; Media Foundation can take 4–20 s), then Media Foundation."""
    import cv2

    platform = platform or sys.platform
    if isinstance(target, int) and platform == "win32":
        return [cv2.CAP_DSHOW, cv2.CAP_MSMF]
    return [cv2.CAP_ANY]


def camera_failure(target: int | str, platform: str | None = None, dev_root: str = "/dev",
                   access=os.access) -> CameraUnavailable:
    """Why ``target`` did not open, as the user should read it: the likely cause and the
    setting that fixes it (``platform`` as ``sys.platform``; ``access`` as ``os.access``)."""
    platform = platform or sys.platform
    name = f"camera {target}" if isinstance(target, int) else str(target)
    if isinstance(target, str) and not target.startswith("/dev/"):
        return CameraUnavailable(name, "cannot open this capture device or stream")
    if platform.startswith("linux"):
        node = target if isinstance(target, str) else os.path.join(dev_root, f"video{target}")
        if not os.path.exists(node):
            return CameraUnavailable(name, "no camera found (not connected)")
        if not access(node, os.R_OK | os.W_OK):
            return CameraUnavailable(name, f"permission denied on {node}: add your user to the 'video' "
                                           "group (sudo usermod -aG video $USER) and log in again")
        return CameraUnavailable(name, "camera found but it does not deliver frames (in use by another app?)")
    if platform == "darwin":
        return CameraUnavailable(name, "no camera, or camera access not allowed: answer the permission "
                                       "prompt, or allow it in System Settings → Privacy & Security → Camera "
                                       "(for the terminal or Python that runs this app); retrying…", waiting=True)
    if platform == "win32":
        return CameraUnavailable(name, "no camera found, in use by another app, or blocked: allow it in "
                                       "Settings → Privacy & security → Camera → Let desktop apps access your camera")
    return CameraUnavailable(name, "no camera found (not connected, or in use by another app)")


class CameraSource(FrameSource):
    """An OpenCV capture device: camera index, ``/dev/videoN`` or a stream URL.

    A local camera is asked for ``request`` (default MJPG 1280×720 at 30 fps); :attr:`details`
    reports what it granted. ``stop`` (a :class:`threading.Event`) cuts retries short when set,
    so a thread that owns a stalled camera can stop. ``read`` raises :class:`SourceLost` after
    :data:`MAX_FAILED_READS` failed grabs in a row or :data:`LOST_AFTER_S` of them;
    :meth:`reconnect` reopens the device and returns True once a frame comes again.
    """

    live = True

    def __init__(self, target: int | str, width: int | None = None, height: int | None = None,
                 fps: float | None = None, fourcc: str | None = None, stop: threading.Event | None = None,
                 platform: str | None = None):
        default = CameraRequest()
        self.target = target
        self.request = CameraRequest(width or default.width, height or default.height, fps or default.fps,
                                     fourcc or default.fourcc)
        self.requested_size = (self.request.width, self.request.height)
        self.platform = platform or sys.platform
        self.description = f"camera {target}" if isinstance(target, int) else str(target)
        self.selfie = isinstance(target, int) or str(target).startswith("/dev/")  # a local camera
        self.details = ""
        self.fourcc = ""
        self._stop = stop or threading.Event()
        self._cap = None
        self._size = (0, 0)
        self._pending: np.ndarray | None = None
        configure_opencv()
        if not self._open():
            raise camera_failure(target, self.platform)

    def _open(self) -> bool:
        import cv2

        self._release()
        cap = None
        for api in camera_backends(self.target, self.platform):
            if self._stop.is_set():
                return False
            cap = cv2.VideoCapture(self.target, api)
            if cap.isOpened():
                break
            cap.release()
            cap = None
        if cap is None:
            return False
        if self.selfie:
            self._ask_for_mode(cap)
        frame = None
        for _ in range(3):  # some drivers drop the first grab after a mode change
            ok, got = cap.read()
            if ok and got is not None and got.size:
                frame = got
                break
            if self._stop.is_set():
                break
        if frame is None:
            cap.release()
            return False
        self._cap = cap
        self._pending = as_bgr(frame)
        self._size = (self._pending.shape[1], self._pending.shape[0])
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1.0 <= fps <= 240.0 else 30.0
        self.fourcc = _fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
        self.details = self._granted_text()
        return True

    def _ask_for_mode(self, cap) -> None:
        """FOURCC before size (V4L2 picks the size list of the current format), fps last."""
        import cv2

        r = self.request
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*r.fourcc))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, r.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, r.height)
        cap.set(cv2.CAP_PROP_FPS, r.fps)

    def _granted_text(self) -> str:
        """E.g. ``"1280×720 MJPG at 30 fps"``, plus what was asked for when it differs."""
        w, h = self._size
        text = f"{w}×{h} {self.fourcc or '?'} at {self.fps:.0f} fps"
        r = self.request
        if self.selfie and ((w, h) != (r.width, r.height) or self.fourcc != r.fourcc
                            or abs(self.fps - r.fps) > 0.5):
            text += f" (asked {r.width}×{r.height} {r.fourcc} at {r.fps:.0f} fps)"
        return text

    def read(self) -> np.ndarray:
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        if self._cap is None:
            raise SourceLost(f"{self.description}: not connected")
        give_up = time.monotonic() + LOST_AFTER_S
        for _ in range(MAX_FAILED_READS):
            if self._stop.is_set():
                raise SourceLost(f"{self.description}: stopped")
            ok, frame = self._cap.read()
            if ok and frame is not None and frame.size:
                frame = as_bgr(frame)
                self._size = (frame.shape[1], frame.shape[0])
                return frame
            if time.monotonic() > give_up:
                break
            self._stop.wait(0.02)
        self._release()
        raise SourceLost(f"{self.description}: stopped delivering frames")

    def reconnect(self) -> bool:
        """Try once to reopen the device; True when it delivers frames again."""
        return self._open()

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def close(self) -> None:
        self._release()
        self.closed = True


def _fourcc_text(value: float) -> str:
    """OpenCV's FOURCC property (a float holding 4 packed bytes) as text, e.g. ``"MJPG"``."""
    code = int(value) if value and value > 0 else 0
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if code and text.isprintable() else ""


def list_cameras(platform: str | None = None, sysfs: Path = SYSFS_VIDEO, probe: int = PROBE_CAMERAS) -> list[CameraInfo]:
    """The cameras on this machine with their names (may take seconds: not on the GUI thread).

    Linux: the capture nodes under ``/sys/class/video4linux`` (``index`` 0; a UVC camera's
    second node, index 1, carries metadata only, so a second webcam is usually /dev/video2).
    Elsewhere: the ``cv2_enumerate_cameras`` package when installed, else indices
    0..``probe``−1 that open (a last resort: it opens the devices).
    """
    platform = platform or sys.platform
    if platform.startswith("linux"):  # no video4linux class: no camera (probing would open devices)
        return _sysfs_cameras(sysfs) if sysfs.is_dir() else []
    try:
        return _enumerated_cameras(platform)
    except Exception:  # noqa: BLE001 - not installed, or its backend failed here: probe instead
        return _probed_cameras(probe)


def _sysfs_cameras(sysfs: Path) -> list[CameraInfo]:
    found = []
    for node in sysfs.glob("video*"):
        number = node.name[len("video"):]
        if not number.isdigit():
            continue
        if _read_text(node / "index", "0") != "0":
            continue  # metadata node
        n = int(number)
        found.append(CameraInfo(n, _read_text(node / "name", "") or f"Camera {n}", f"/dev/video{n}"))
    return sorted(found, key=lambda c: c.index)


def _read_text(path: Path, default: str) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return default


def _enumerated_cameras(platform: str) -> list[CameraInfo]:
    """Through ``cv2_enumerate_cameras`` for the API :func:`camera_backends` opens first (its
    indices are then plain OpenCV indices for that API)."""
    import cv2
    from cv2_enumerate_cameras import enumerate_cameras

    api = cv2.CAP_DSHOW if platform == "win32" else cv2.CAP_AVFOUNDATION if platform == "darwin" else cv2.CAP_ANY
    return [CameraInfo(int(c.index), c.name or f"Camera {c.index}", c.path or "") for c in enumerate_cameras(api)]


def _probed_cameras(count: int) -> list[CameraInfo]:
    import cv2

    configure_opencv()
    found = []
    for i in range(count):
        cap = cv2.VideoCapture(i)
        if cap.isOpened():
            found.append(CameraInfo(i, f"Camera {i}"))
        cap.release()
    return found


__all__ = ["CameraSource", "CameraRequest", "parse_camera_mode", "CameraInfo", "CameraUnavailable", "list_cameras", "camera_failure",
           "camera_backends", "configure_opencv", "MAX_FAILED_READS"]
