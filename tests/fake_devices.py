"""Fakes for what cannot run here, keeping the real thing's rules and timing: an OpenCV camera
(``cv2.VideoCapture`` with modes, slow opens, stalled reads) and the ``torch.cuda`` calls of
the frame runner (streams, graph capture, events), recording the sequence of calls."""
from __future__ import annotations

import contextlib
import threading
import time

import cv2
import numpy as np
import torch

PROP_NAMES = {cv2.CAP_PROP_FOURCC: "fourcc", cv2.CAP_PROP_FRAME_WIDTH: "width",
              cv2.CAP_PROP_FRAME_HEIGHT: "height", cv2.CAP_PROP_FPS: "fps"}


def fourcc_int(text: str) -> int:
    return cv2.VideoWriter_fourcc(*text)


class FakeDevice:
    """A camera as a V4L2/DirectShow driver shows it: ``modes`` maps (fourcc, w, h) to the
    highest fps; setting the FOURCC switches format, a size picks the nearest mode of the current
    format; opening takes ``open_s``; each read takes ``read_s`` and, once ``stall_after`` frames
    were delivered, fails (a stalled camera)."""

    def __init__(self, modes=None, start=("YUYV", 640, 480), open_s=0.0, read_s=0.0, stall_after=None,
                 apis=None):
        self.modes = modes or {("YUYV", 640, 480): 30.0, ("YUYV", 1280, 720): 10.0,
                               ("MJPG", 640, 480): 30.0, ("MJPG", 1280, 720): 30.0}
        self.mode = start
        self.fps = self.modes[start]
        self.open_s, self.read_s, self.stall_after = open_s, read_s, stall_after
        self.apis = apis  # None: any API opens it; else only these
        self.delivered = 0


class FakeVideoCapture:
    """Drop-in for ``cv2.VideoCapture`` over a dict of :class:`FakeDevice` (class attribute
    ``devices``, set per test); every call is appended to ``log``."""

    devices: dict = {}
    log: list = []

    def __init__(self, target, api=cv2.CAP_ANY):
        self.log.append(("open", target, api))
        dev = self.devices.get(target)
        if dev is not None:
            time.sleep(dev.open_s)
        self.dev = dev if dev is not None and (dev.apis is None or api in dev.apis) else None

    def isOpened(self) -> bool:
        return self.dev is not None

    def set(self, prop, value) -> bool:
        name = PROP_NAMES.get(prop, prop)
        self.log.append(("set", name, value))
        dev = self.dev
        fourcc, w, h = dev.mode
        if name == "fourcc":
            text = "".join(chr((int(value) >> (8 * i)) & 0xFF) for i in range(4))
            same_size = [m for m in dev.modes if m[0] == text]
            if not same_size:
                return False
            dev.mode = min(same_size, key=lambda m: abs(m[1] - w) + abs(m[2] - h))
        elif name in ("width", "height"):
            want = (value, h) if name == "width" else (w, value)
            candidates = [m for m in dev.modes if m[0] == fourcc]
            dev.mode = min(candidates, key=lambda m: abs(m[1] - want[0]) + abs(m[2] - want[1]))
        elif name == "fps":
            dev.fps = min(float(value), dev.modes[dev.mode])
            return True
        dev.fps = dev.modes[dev.mode]
        return True

    def get(self, prop) -> float:
        name = PROP_NAMES.get(prop)
        fourcc, w, h = self.dev.mode
        return {"fourcc": float(fourcc_int(fourcc)), "width": float(w), "height": float(h),
                "fps": self.dev.fps}.get(name, 0.0)

    def read(self):
        dev = self.dev
        time.sleep(dev.read_s)
        if dev.stall_after is not None and dev.delivered >= dev.stall_after:
            return False, None
        dev.delivered += 1
        _, w, h = dev.mode
        frame = np.zeros((h, w, 3), np.uint8)
        frame[:, : w // 4] = 200  # bright left quarter: shows a mirror flip
        return True, frame

    def release(self) -> None:
        self.log.append(("release",))


@contextlib.contextmanager
def fake_cameras(monkeypatch, devices: dict):
    """Route ``cv2.VideoCapture`` to :class:`FakeVideoCapture` over ``devices``."""
    FakeVideoCapture.devices = devices
    FakeVideoCapture.log = []
    monkeypatch.setattr(cv2, "VideoCapture", FakeVideoCapture)
    yield FakeVideoCapture.log


# --- torch.cuda ----------------------------------------------------------------------------

class FakeCuda:
    """The ``torch.cuda`` calls :class:`~engine.nets.fast_cuda.CudaFrameRunner` makes, on CPU
    tensors. ``calls`` records ``(thread name, call)`` in order; ``fail`` maps a call name
    (``"capture_begin"``, ``"capture_end"``, …) to an exception raised there once; ``capture_s``
    keeps a capture open that long (real captures take milliseconds to seconds)."""

    OutOfMemoryError = torch.cuda.OutOfMemoryError

    def __init__(self, fail: dict | None = None, capture_s: float = 0.0):
        self.calls: list[tuple[str, str]] = []
        self.fail = dict(fail or {})
        self.capture_s = capture_s
        self.default = _FakeStream(self, "default")
        self.current = self.default
        self.capturing = threading.Event()
        self.replay_fn = None
        self._streams = 0

    def log(self, call: str) -> None:
        self.calls.append((threading.current_thread().name, call))
        exc = self.fail.pop(call, None)
        if exc is not None:
            raise exc

    def names(self) -> list[str]:
        return [c for _, c in self.calls]

    def Stream(self, device=None):
        self._streams += 1
        return _FakeStream(self, f"side{self._streams}")

    def current_stream(self, device=None):
        return self.current

    @contextlib.contextmanager
    def stream(self, s):
        before, self.current = self.current, s
        self.log(f"stream {s.name}")
        try:
            yield
        finally:
            self.current = before
            self.calls.append((threading.current_thread().name, f"stream back to {before.name}"))

    def synchronize(self, device=None):
        self.log("synchronize")

    def empty_cache(self):
        self.log("empty_cache")

    def Event(self):
        return _FakeEvent(self)

    def CUDAGraph(self):
        return _FakeGraph(self)


class _FakeStream:
    def __init__(self, cuda: FakeCuda, name: str):
        self.cuda, self.name = cuda, name

    def wait_stream(self, other) -> None:
        self.cuda.log(f"{self.name} waits for {other.name}")


class _FakeEvent:
    def __init__(self, cuda: FakeCuda):
        self.cuda = cuda

    def record(self):
        self.cuda.log("event record")

    def synchronize(self):
        self.cuda.log("event synchronize")


class _FakeGraph:
    def __init__(self, cuda: FakeCuda):
        self.cuda = cuda

    def capture_begin(self, pool=None, capture_error_mode="global"):
        self.cuda.log(f"capture_begin {capture_error_mode}")
        self.cuda.capturing.set()

    def capture_end(self):
        time.sleep(self.cuda.capture_s)
        self.cuda.capturing.clear()
        self.cuda.log("capture_end")

    def replay(self):
        self.cuda.log("replay")
        self.cuda.replay_fn()
