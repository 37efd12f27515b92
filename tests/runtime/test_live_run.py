"""The live runtime in-process: the real source, capture and inference threads and outputs, with
the conftest Stylizer (real VGG encoder, seeded decoder) at a small processing size."""
from __future__ import annotations

import io
import threading
import time
import urllib.request

import cv2
import numpy as np
import pyvirtualcam
import pytest
from pyvirtualcam.camera import BACKENDS

from conftest import stripes_image
from engine.media.outputs.base import OutputError
from engine.runtime.live import LiveOptions, processing_size, run_live


class KeepFrames:
    """pyvirtualcam backend that keeps what it is sent (see tests/media/test_virtualcam.py)."""

    opened: list = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.width, self.height, self.fps, self.frames, self.closes = width, height, fps, [], 0
        KeepFrames.opened.append(self)

    def send(self, frame):
        self.frames.append(frame.reshape(self.height, self.width, 3).copy())

    def close(self):
        self.closes += 1

    def device(self):
        return "memory0"

    def native_fourcc(self):
        return None


@pytest.fixture
def keep_frames():
    KeepFrames.opened = []
    pyvirtualcam.register_backend("keep-frames", KeepFrames)
    yield KeepFrames
    BACKENDS.pop("keep-frames", None)


def start_live(options, stylizer) -> tuple[threading.Thread, threading.Event, io.StringIO, dict]:
    stop, out, result = threading.Event(), io.StringIO(), {}
    thread = threading.Thread(target=lambda: result.setdefault(
        "code", run_live(options, stop, stylizer_factory=lambda device: stylizer, out=out)))
    thread.start()
    return thread, stop, out, result


def wait_for(predicate, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def fetch_snapshot(url: str):
    """``[the stream's /snapshot.jpg decoded]``, or None while it answers 503 (no frame yet)."""
    import urllib.error

    try:
        with urllib.request.urlopen(url + "snapshot.jpg", timeout=5) as r:
            return [cv2.imdecode(np.frombuffer(r.read(), np.uint8), cv2.IMREAD_COLOR)]
    except urllib.error.HTTPError as exc:
        if exc.code == 503:
            return None
        raise


def test_processing_size_keeps_the_aspect_with_even_sides_and_never_upscales():
    assert processing_size(640, 360, 256) == (456, 256)
    assert processing_size(640, 480, 64) == (86, 64)
    assert processing_size(100, 80, 256) == (100, 80)


def test_live_sends_stylized_frames_to_the_stream_and_the_virtual_camera(stylizer, keep_frames):
    options = LiveOptions(source="pattern:160x120", styles=[stripes_image(64, 64)], size=48,
                          serve=("127.0.0.1", 0), virtual_cam=True, vcam_backend="keep-frames",
                          status_every=0.5, stabilize=False)
    thread, stop, out, result = start_live(options, stylizer)
    try:
        url = wait_for(lambda: next((line.split()[1] for line in out.getvalue().splitlines()
                                     if line.startswith("stream: ")), None), 30)
        wait_for(lambda: "client" in out.getvalue() and "FPS" in out.getvalue(), 30)
        (snap,) = wait_for(lambda: fetch_snapshot(url), 30)  # 503 "no frame yet" until the first frame (slow CI)
        cap = cv2.VideoCapture(url + "stream.mjpg", cv2.CAP_FFMPEG)
        ok, frame = cap.read()
        cap.release()
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive() and result["code"] == 0
    assert snap.shape == (48, 64, 3) and ok and frame.shape == (48, 64, 3)
    (cam,) = keep_frames.opened
    assert (cam.width, cam.height, cam.fps, cam.closes) == (64, 48, 30, 1)
    # stylized, not the source: the pattern's frame at that size is far from what was sent
    from engine.media.sources import PatternSource

    source = cv2.resize(PatternSource(160, 120).render(0), (64, 48), interpolation=cv2.INTER_AREA)
    styled = stylizer(source)
    sent = cam.frames[-1]
    to_source, to_styled = (float(np.abs(sent.astype(int) - x).mean()) for x in (source, styled))
    assert to_styled < 0.3 * to_source
    assert "stopped after" in out.getvalue()


def test_a_busy_port_ends_before_anything_runs(stylizer):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        options = LiveOptions(source="pattern:160x120", styles=[stripes_image(64, 64)], size=48,
                              serve=("127.0.0.1", port))
        before = threading.active_count()
        with pytest.raises(OutputError, match=str(port)):
            run_live(options, threading.Event(), stylizer_factory=lambda device: stylizer, out=io.StringIO())
        assert threading.active_count() == before


class FlakyCamera:
    """A camera (the generated scene) that is lost after ``lost_after`` frames: reads raise
    SourceLost and the first ``failed_reopens`` reconnects fail, as an unplugged webcam does."""

    live, selfie, description, fps = True, True, "flaky camera", 30.0

    def __init__(self, lost_after=5, failed_reopens=2):
        from engine.media.sources import PatternSource

        self.pattern = PatternSource(160, 120)
        self.lost_after, self.failed_reopens = lost_after, failed_reopens
        self.reads = self.reconnects = 0
        self.connected, self.closed = True, False

    @property
    def size(self):
        return self.pattern.size

    def read(self):
        from engine.media.sources import SourceLost

        if not self.connected:
            raise SourceLost("flaky camera: not connected")
        self.reads += 1
        if self.reads == self.lost_after:
            self.connected = False
            raise SourceLost("flaky camera: stopped delivering frames")
        return self.pattern.read()

    def reconnect(self):
        self.reconnects += 1
        self.connected = self.reconnects > self.failed_reopens
        return self.connected

    def close(self):
        self.closed = True


@pytest.mark.parametrize("failed_reopens", [2, 10_000])
def test_a_lost_camera_is_reconnected_and_released_at_stop(stylizer, failed_reopens):
    camera = FlakyCamera(failed_reopens=failed_reopens)
    options = LiveOptions(source="0", styles=[stripes_image(64, 64)], size=48, serve=("127.0.0.1", 0),
                          status_every=0.5, stabilize=False)
    stop, out = threading.Event(), io.StringIO()
    thread = threading.Thread(target=run_live, args=(options, stop), daemon=True,
                              kwargs=dict(stylizer_factory=lambda device: stylizer, out=out,
                                          opener=lambda spec, **kw: camera))
    thread.start()
    try:
        wait_for(lambda: camera.reconnects >= min(failed_reopens, 3), 30)
        if failed_reopens < 10:
            wait_for(lambda: camera.reads > camera.lost_after + 10, 30)  # frames flow again
    finally:
        t0 = time.monotonic()
        stop.set()
        thread.join(10)
    assert not thread.is_alive() and time.monotonic() - t0 < 3  # also while the camera is lost
    assert camera.closed
    assert "reconnecting every 1 s" in out.getvalue()
    assert ("reconnected" in out.getvalue()) == (failed_reopens < 10)
