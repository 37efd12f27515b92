"""Frame sources for the live app: camera, looped video file, still image, generated test scene.

Every source yields ``HxWx3`` uint8 BGR frames (OpenCV order) from :meth:`FrameSource.read`,
which blocks until the next frame is due. File, image and pattern sources are paced at their
frame rate, so they behave like a camera; a camera paces itself.

``open_source(spec)`` picks the source from a spec: an int or digit string (camera index), a
device path or stream URL (camera-like live source), ``"pattern"`` (optionally
``"pattern:WIDTHxHEIGHT"``), or a path to an image or video file. Bad files raise
:class:`~engine.errors.InputError` naming the file and the reason.

A live source that stops delivering frames raises :class:`SourceLost` from ``read``; the caller
may then call :meth:`CameraSource.reconnect` until it returns True.

Cameras live in :mod:`engine.media.camera` (re-exported here); the base classes in
:mod:`engine.media.frames`.

No Qt here: the app's capture thread drives these objects.
"""
from __future__ import annotations

import math
import os
import threading
from pathlib import Path

import numpy as np

from engine.errors import InputError, check_input_file
from .camera import (MAX_FAILED_READS, CameraInfo, CameraRequest, CameraSource, CameraUnavailable,  # noqa: F401
                     camera_backends, camera_failure, configure_opencv, list_cameras)
from .frames import DEFAULT_STILL_FPS, FrameSource, Pacer, SourceLost, as_bgr
from .imageio import IMAGE_SUFFIXES, load_image_bgr

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".wmv", ".mpg", ".mpeg", ".ogv",
                  ".flv", ".3gp", ".ts", ".mts"}
STREAM_PREFIXES = ("rtsp://", "rtmp://", "http://", "https://", "udp://", "/dev/video")
DEFAULT_PATTERN_SIZE = (640, 480)


# --- files ----------------------------------------------------------------------------------

FFMPEG_QUIET = "-8"  # AV_LOG_QUIET


def quiet_ffmpeg_log() -> None:
    """Keep the FFmpeg inside OpenCV from printing its own log ("moov atom not found" for a
    truncated file) before our one-line error: OpenCV reads ``OPENCV_FFMPEG_LOGLEVEL`` when it
    first opens a file or stream through FFmpeg, so this is called before every such open. A value
    the user set (to debug a file) is kept, and ``main.py --verbose`` keeps FFmpeg's log."""
    from .native_stderr import verbose

    if not verbose():
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", FFMPEG_QUIET)


class VideoFileSource(FrameSource):
    """A video file played in a loop at its own frame rate."""

    def __init__(self, path: str | os.PathLike, loop: bool = True):
        import cv2

        self.path = Path(path)
        self.description = self.path.name
        self.loop = loop
        check_input_file(self.path, "an image or video")
        quiet_ffmpeg_log()
        self._cap = cv2.VideoCapture(str(self.path))
        first = None
        if self._cap.isOpened():
            ok, first = self._cap.read()
            first = first if ok and first is not None and first.size else None
        if first is None:
            self._cap.release()
            raise InputError(self.path, "not a readable video (no frame could be decoded)")
        self._pending: np.ndarray | None = as_bgr(first)
        self._size = (self._pending.shape[1], self._pending.shape[0])
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1.0 <= fps <= 240.0 else 25.0
        self._pacer = Pacer(self.fps)

    def read(self) -> np.ndarray:
        self._pacer.wait()
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        frame = self._grab()
        if frame is None and self.loop:
            frame = self._rewind_and_grab()
        if frame is None:
            raise SourceLost(f"{self.description}: end of video")
        return frame

    def _grab(self) -> np.ndarray | None:
        ok, frame = self._cap.read()
        if not ok or frame is None or not frame.size:
            return None
        frame = as_bgr(frame)
        if (frame.shape[1], frame.shape[0]) != self._size:  # odd streams that change size
            import cv2

            frame = cv2.resize(frame, self._size, interpolation=cv2.INTER_AREA)
        return frame

    def _rewind_and_grab(self) -> np.ndarray | None:
        import cv2

        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        frame = self._grab()
        if frame is None:  # some containers do not seek: reopen instead
            self._cap.release()
            self._cap = cv2.VideoCapture(str(self.path))
            frame = self._grab()
        return frame

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def close(self) -> None:
        self._cap.release()
        self.closed = True


class ImageSource(FrameSource):
    """A still image repeated at ``fps`` (each read returns a fresh copy)."""

    def __init__(self, path: str | os.PathLike, fps: float = DEFAULT_STILL_FPS):
        self.path = Path(path)
        self.description = self.path.name
        self.frame = load_image_bgr(self.path)
        self.fps = fps
        self._pacer = Pacer(fps)

    def read(self) -> np.ndarray:
        self._pacer.wait()
        return self.frame.copy()

    @property
    def size(self) -> tuple[int, int]:
        return (self.frame.shape[1], self.frame.shape[0])


# --- generated test scene -------------------------------------------------------------------

class PatternSource(FrameSource):
    """A generated moving outdoor scene: sky, sun, hills, house, trees, drifting clouds, a
    bouncing ball, a passing car, a spinning pinwheel, a slight hand-held sway and sensor noise.

    Frame ``i`` is a pure function of ``i`` and the size (see :meth:`render`), so tests can
    reproduce any frame.
    """

    description = "test pattern"

    def __init__(self, width: int = DEFAULT_PATTERN_SIZE[0], height: int = DEFAULT_PATTERN_SIZE[1],
                 fps: float = 30.0, seed: int = 0):
        if width < 16 or height < 16 or width > 7680 or height > 4320:
            raise InputError(f"pattern:{width}x{height}", "pattern size must be 16x16 .. 7680x4320")
        self.fps = fps
        self._size = (int(width), int(height))
        self._scene = _PatternScene(self._size, seed)
        self._pacer = Pacer(fps)
        self.index = 0

    def render(self, index: int) -> np.ndarray:
        """Frame number ``index`` as ``HxWx3`` uint8 BGR."""
        return self._scene.render(index / self.fps, index)

    def read(self) -> np.ndarray:
        self._pacer.wait()
        frame = self.render(self.index)
        self.index += 1
        return frame

    @property
    def size(self) -> tuple[int, int]:
        return self._size


class _PatternScene:
    """Static background drawn once; moving objects drawn per frame with OpenCV primitives."""

    def __init__(self, size: tuple[int, int], seed: int):
        self.w, self.h = size
        rng = np.random.default_rng(seed)
        margin = max(4, int(0.03 * max(self.w, self.h)))  # room for the hand-held sway
        self.margin = margin
        self.background = self._background(self.w + 2 * margin, self.h + 2 * margin, rng)
        self.cloud = self._cloud_sprite(rng)
        self.noise = [rng.normal(0, 3.0, (self.h, self.w, 1)).astype(np.int16) for _ in range(4)]

    # scale helpers: scene coordinates are fractions of the frame
    def _px(self, fx: float, fy: float, ox: int = 0, oy: int = 0) -> tuple[int, int]:
        return int(round(fx * self.w)) + ox, int(round(fy * self.h)) + oy

    def _background(self, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
        import cv2

        horizon = int(0.58 * h)
        t = np.linspace(0, 1, horizon)[:, None]
        sky_top, sky_low = np.array([170, 110, 40.0]), np.array([235, 205, 175.0])  # BGR
        img = np.zeros((h, w, 3), np.float32)
        img[:horizon] = (sky_top * (1 - t) + sky_low * t)[:, None, :]
        g = np.linspace(0, 1, h - horizon)[:, None]
        grass_far, grass_near = np.array([90, 160, 120.0]), np.array([40, 120, 60.0])
        img[horizon:] = (grass_far * (1 - g) + grass_near * g)[:, None, :]
        img = img.astype(np.uint8)
        self._hills(img, w, h, horizon, rng)
        texture = cv2.GaussianBlur(rng.normal(0, 10, (h, w)).astype(np.float32), (0, 0), 1.5)
        ground = img[horizon:].astype(np.float32) + texture[horizon:, :, None]
        img[horizon:] = np.clip(ground, 0, 255).astype(np.uint8)
        self._path(img, w, h, horizon)
        self._house(img, w, h, horizon)
        for fx, fs in ((0.08, 1.0), (0.17, 0.8), (0.88, 1.1), (0.95, 0.7)):
            self._tree(img, int(fx * w), horizon + int(0.06 * h), int(0.09 * h * fs))
        return img

    @staticmethod
    def _hills(img, w, h, horizon, rng) -> None:
        import cv2

        for depth, colour in ((0.0, (150, 135, 120)), (1.0, (95, 125, 95))):
            xs = np.arange(0, w + 8, 8)
            phase = rng.uniform(0, 2 * math.pi, 3)
            ys = horizon - h * (0.10 - 0.05 * depth) * (
                1 + 0.5 * np.sin(xs / w * 5 + phase[0]) + 0.3 * np.sin(xs / w * 11 + phase[1]))
            pts = np.concatenate([np.stack([xs, ys], 1), [[w, horizon + 2], [0, horizon + 2]]])
            cv2.fillPoly(img, [pts.astype(np.int32)], colour, cv2.LINE_AA)

    @staticmethod
    def _path(img, w, h, horizon) -> None:
        import cv2

        pts = np.array([[0.47 * w, horizon], [0.53 * w, horizon], [0.75 * w, h], [0.25 * w, h]], np.int32)
        cv2.fillPoly(img, [pts], (120, 160, 190), cv2.LINE_AA)

    @staticmethod
    def _house(img, w, h, horizon) -> None:
        import cv2

        x0, x1 = int(0.62 * w), int(0.80 * w)
        y1 = horizon + int(0.10 * h)
        y0 = y1 - int(0.17 * h)
        cv2.rectangle(img, (x0, y0), (x1, y1), (170, 215, 240), -1)
        cv2.rectangle(img, (x0, y0), (x1, y0 + 3), (120, 150, 170), -1)
        roof = np.array([[x0 - 8, y0], [x1 + 8, y0], [(x0 + x1) // 2, y0 - int(0.10 * h)]], np.int32)
        cv2.fillPoly(img, [roof], (50, 60, 150), cv2.LINE_AA)
        ww = (x1 - x0) // 6
        for fx in (0.2, 0.65):
            wx = x0 + int(fx * (x1 - x0))
            cv2.rectangle(img, (wx, y0 + ww), (wx + ww, y0 + 2 * ww), (110, 80, 50), -1)
            cv2.rectangle(img, (wx, y0 + ww), (wx + ww, y0 + 2 * ww), (250, 250, 250), 2)
        dx = x0 + int(0.42 * (x1 - x0))
        cv2.rectangle(img, (dx, y1 - int(1.6 * ww)), (dx + ww, y1), (40, 70, 120), -1)

    @staticmethod
    def _tree(img, x, y, size) -> None:
        import cv2

        cv2.rectangle(img, (x - size // 8, y - size), (x + size // 8, y), (40, 70, 100), -1)
        for dx, dy, r, shade in ((0, -1.3, 0.75, 0), (-0.45, -1.0, 0.55, 20), (0.45, -1.0, 0.55, -15)):
            cv2.circle(img, (x + int(dx * size), y + int(dy * size)), int(r * size),
                       (50 + shade, 120 + shade, 50 + shade), -1, cv2.LINE_AA)

    def _cloud_sprite(self, rng) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        cw, ch = max(8, int(0.28 * self.w)), max(4, int(0.12 * self.h))
        alpha = np.zeros((ch, cw), np.float32)
        for k in range(9):
            cx, cy = (0.2 + 0.6 * k / 8 + rng.uniform(-0.04, 0.04)) * cw, rng.uniform(0.5, 0.62) * ch
            r = rng.uniform(0.2, 0.36) * ch * (1.25 - abs(k / 8 - 0.5))
            cv2.circle(alpha, (int(cx), int(cy)), max(1, int(r)), 1.0, -1, cv2.LINE_AA)
        alpha = cv2.GaussianBlur(alpha, (0, 0), max(1.0, ch / 12))[..., None] * 0.9
        shade = np.clip((np.linspace(0, 1, ch) - 0.45) * 60, 0, 30)[:, None, None]  # darker underside
        colour = np.full((ch, cw, 3), 250, np.float32) - shade
        return colour, alpha

    def render(self, t: float, index: int) -> np.ndarray:
        m = self.margin
        ox = int(round(m + 0.6 * m * math.sin(0.9 * t)))
        oy = int(round(m + 0.4 * m * math.sin(1.3 * t + 1.0)))
        frame = self.background[oy:oy + self.h, ox:ox + self.w].copy()
        sx, sy = ox - m, oy - m  # scene objects move with the background
        self._sun(frame, t, -sx, -sy)
        for i, speed in enumerate((0.025, 0.018)):
            fx = ((0.15 + 0.55 * i + speed * t) % 1.4) - 0.3
            self._blend_sprite(frame, self.cloud, *self._px(fx, 0.08 + 0.1 * i, -sx, -sy))
        self._car(frame, t, -sx, -sy)
        self._ball(frame, t, -sx, -sy)
        self._pinwheel(frame, t, -sx, -sy)
        noise = self.noise[index % len(self.noise)]
        return np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)

    def _sun(self, frame, t, ox, oy) -> None:
        import cv2

        cx, cy = self._px(0.22 + 0.01 * math.sin(0.2 * t), 0.18, ox, oy)
        r = max(3, int(0.06 * self.h))
        cv2.circle(frame, (cx, cy), int(r * 1.6), (190, 230, 250), -1, cv2.LINE_AA)
        cv2.circle(frame, (cx, cy), r, (150, 235, 255), -1, cv2.LINE_AA)

    def _blend_sprite(self, frame, sprite, x, y) -> None:
        colour, alpha = sprite
        sh, sw = alpha.shape[:2]
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + sw, self.w), min(y + sh, self.h)
        if x1 <= x0 or y1 <= y0:
            return
        a = alpha[y0 - y:y1 - y, x0 - x:x1 - x]
        region = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = (region * (1 - a) + colour[y0 - y:y1 - y, x0 - x:x1 - x] * a).astype(np.uint8)

    def _car(self, frame, t, ox, oy) -> None:
        import cv2

        fx = ((0.12 * t) % 1.5) - 0.25
        x, y = self._px(fx, 0.86, ox, oy)
        cw, ch = int(0.2 * self.w), int(0.07 * self.h)
        cv2.rectangle(frame, (x, y - ch), (x + cw, y), (40, 40, 200), -1, cv2.LINE_AA)
        cabin = np.array([[x + cw // 5, y - ch], [x + cw // 3, y - 2 * ch], [x + 3 * cw // 4, y - 2 * ch],
                          [x + 4 * cw // 5, y - ch]], np.int32)
        cv2.fillPoly(frame, [cabin], (40, 40, 180), cv2.LINE_AA)
        cv2.fillPoly(frame, [(cabin - [[0, 0], [-3, -3], [3, -3], [0, 0]]).astype(np.int32)],
                     (230, 200, 160), cv2.LINE_AA)
        for wx in (x + cw // 5, x + 4 * cw // 5):
            cv2.circle(frame, (wx, y), max(2, ch // 2), (30, 30, 30), -1, cv2.LINE_AA)
            cv2.circle(frame, (wx, y), max(1, ch // 5), (180, 180, 180), -1, cv2.LINE_AA)

    def _ball(self, frame, t, ox, oy) -> None:
        import cv2

        bounce = abs(math.sin(2.2 * t))
        x, y = self._px(0.38 + 0.08 * math.sin(0.7 * t), 0.78 - 0.25 * bounce, ox, oy)
        r = max(3, int(0.045 * self.h))
        sx, sy = self._px(0.38 + 0.08 * math.sin(0.7 * t), 0.80, ox, oy)
        cv2.ellipse(frame, (sx, sy), (int(r * (1.2 - 0.4 * bounce)), max(1, r // 4)), 0, 0, 360,
                    (30, 70, 40), -1, cv2.LINE_AA)
        cv2.circle(frame, (x, y), r, (30, 150, 250), -1, cv2.LINE_AA)
        cv2.circle(frame, (x - r // 3, y - r // 3), max(1, r // 3), (170, 220, 255), -1, cv2.LINE_AA)

    def _pinwheel(self, frame, t, ox, oy) -> None:
        import cv2

        cx, cy = self._px(0.9, 0.55, ox, oy)
        r = int(0.09 * self.h)
        cv2.line(frame, (cx, cy), (cx, cy + int(2.2 * r)), (60, 60, 60), max(1, r // 12), cv2.LINE_AA)
        colours = ((60, 60, 230), (60, 200, 250), (200, 130, 40), (90, 190, 90))
        for k, colour in enumerate(colours):
            a = 1.7 * t + k * math.pi / 2
            tip = (cx + int(r * math.cos(a)), cy + int(r * math.sin(a)))
            side = (cx + int(0.6 * r * math.cos(a + 0.9)), cy + int(0.6 * r * math.sin(a + 0.9)))
            cv2.fillPoly(frame, [np.array([(cx, cy), tip, side], np.int32)], colour, cv2.LINE_AA)
        cv2.circle(frame, (cx, cy), max(1, r // 10), (240, 240, 240), -1, cv2.LINE_AA)


# --- factory --------------------------------------------------------------------------------

def open_source(spec: int | str | os.PathLike | None, pattern_size: tuple[int, int] | None = None,
                camera: CameraRequest | None = None, stop: threading.Event | None = None) -> FrameSource:
    """Open a source from a spec: camera index (int or ``"0"``), ``"pattern"`` or
    ``"pattern:WxH"``, a capture device path or stream URL, or an image / video file.
    ``camera``: the mode cameras are asked for; ``stop``: cuts a camera's retries short."""
    if spec is None:
        spec = 0
    r = camera or CameraRequest()
    if isinstance(spec, int):
        return CameraSource(spec, r.width, r.height, r.fps, r.fourcc, stop=stop)
    text = os.fspath(spec).strip()
    if text.isdigit():
        return CameraSource(int(text), r.width, r.height, r.fps, r.fourcc, stop=stop)
    if text.lower() == "pattern" or text.lower().startswith("pattern:"):
        return PatternSource(*(_pattern_size(text) or pattern_size or DEFAULT_PATTERN_SIZE))
    if text.lower().startswith(STREAM_PREFIXES):
        quiet_ffmpeg_log()
        return CameraSource(text, r.width, r.height, r.fps, r.fourcc, stop=stop)
    return open_file_source(text)


def open_file_source(path: str | os.PathLike) -> FrameSource:
    """An image (repeated) or a video (looped), chosen by suffix and, failing that, by content."""
    path = Path(path)
    check_input_file(path, "an image or video")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return ImageSource(path)
    if suffix in VIDEO_SUFFIXES:
        return VideoFileSource(path)
    try:
        return ImageSource(path)
    except InputError:
        pass
    try:
        return VideoFileSource(path)
    except InputError:
        raise InputError(path, "not a readable image or video") from None


def _pattern_size(text: str) -> tuple[int, int] | None:
    if ":" not in text:
        return None
    value = text.split(":", 1)[1].lower()
    try:
        w, h = (int(v) for v in value.split("x"))
    except ValueError:
        raise InputError(text, "pattern size must look like pattern:640x480") from None
    return w, h


__all__ = ["FrameSource", "CameraSource", "CameraRequest", "CameraInfo", "CameraUnavailable", "VideoFileSource",
           "ImageSource", "PatternSource", "SourceLost", "Pacer", "open_source", "open_file_source", "list_cameras",
           "camera_failure", "camera_backends", "configure_opencv"]
