"""A webcam unplugged for several seconds: the app keeps retrying, picks the camera up again when
it comes back, and switching source while the camera is lost is prompt. No webcam here, so
OpenCV's capture is replaced by a fake camera with a camera's timing: frames paced at 30 fps, an
open that takes 0.1 s, and reads of an unplugged camera that fail after a short wait."""
from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from window_kit import WAIT_MS, wait_result
from window_kit import windows  # noqa: F401 - fixtures

FPS = 30.0
OPEN_S = 0.1
FAILED_READ_S = 0.05


class Camera:
    """The physical camera: plugged or not; counts opens; frame level tells the plug epoch."""

    def __init__(self):
        self.plugged = True
        self.level = 60
        self.opens = 0
        self.failed_opens = 0
        self.lock = threading.Lock()

    def unplug(self) -> None:
        self.plugged = False

    def plug(self, level: int) -> None:
        self.level, self.plugged = level, True


class FakeCapture:
    """Enough of ``cv2.VideoCapture`` for a camera, with real waits."""

    camera: Camera = None

    def __init__(self, target=None, *args, **kw):
        cam = self.camera
        time.sleep(OPEN_S)
        with cam.lock:
            cam.opens += 1
            self._open = cam.plugged
            if not cam.plugged:
                cam.failed_opens += 1
        self._next = time.monotonic()
        self.props = {cv2.CAP_PROP_FPS: FPS, cv2.CAP_PROP_FRAME_WIDTH: 64, cv2.CAP_PROP_FRAME_HEIGHT: 48}

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's names
        return self._open

    def read(self, image=None):
        if not self._open or not self.camera.plugged:
            time.sleep(FAILED_READ_S)
            return False, None
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + 1 / FPS
        return True, np.full((48, 64, 3), self.camera.level, np.uint8)

    def grab(self) -> bool:
        return self.read()[0]

    def retrieve(self, image=None, flag=0):
        return self.read()

    def set(self, prop, value) -> bool:
        return False  # a camera may refuse any setting

    def get(self, prop) -> float:
        return float(self.props.get(prop, 0.0))

    def getBackendName(self) -> str:  # noqa: N802
        return "FAKE"

    def release(self) -> None:
        self._open = False


@pytest.fixture
def camera(monkeypatch):
    cam = Camera()
    monkeypatch.setattr(FakeCapture, "camera", cam)
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    return cam


def no_model():
    raise RuntimeError("not needed here: frames are shown as they are")


def level_seen(win, level: int, qtbot) -> None:
    wait_result(qtbot, win, lambda r: abs(float(r.source.mean()) - level) < 1)


def test_camera_lost_for_several_retries_comes_back(qtbot, camera, windows):
    win = windows(no_model, source="0")
    level_seen(win, 60, qtbot)
    camera.unplug()
    t_lost = time.monotonic()
    qtbot.waitUntil(lambda: camera.failed_opens >= 3, timeout=WAIT_MS)  # retried, and retried again
    assert any("lost" in m.lower() for m in win.messages)
    _, last = win.results.latest()
    assert last.t_capture < t_lost + 1.0  # no frames while unplugged
    camera.plug(level=180)
    level_seen(win, 180, qtbot)  # the same source picks the camera up again
    assert win.stack.currentWidget() is win.view


def test_switching_source_while_the_camera_is_lost_is_prompt(qtbot, camera, windows):
    win = windows(no_model, source="0")
    level_seen(win, 60, qtbot)
    camera.unplug()
    qtbot.waitUntil(lambda: camera.failed_opens >= 2, timeout=WAIT_MS)
    old = win.capture
    t0 = time.monotonic()
    win.set_source("pattern:80x60")  # on the GUI thread
    assert time.monotonic() - t0 < 0.5
    qtbot.waitUntil(lambda: old.isFinished(), timeout=2000)  # the lost camera's thread ends...
    assert time.monotonic() - t0 < 0.8
    opens = camera.opens
    wait_result(qtbot, win, lambda r: r.source.shape == (60, 80, 3))  # ...and the pattern plays
    qtbot.wait(1200)
    assert camera.opens == opens  # nobody is still retrying the old camera
