"""The virtual camera's frame path through pyvirtualcam's own backend registry.

The v4l2loopback module cannot be loaded here (no module loading, no V4L2), so the camera is
:class:`MemoryCamera`, registered with ``pyvirtualcam.register_backend``: it keeps the rules of a
real backend (size, rate and pixel format fixed when opened, 1-D frames of exactly that format's
size, ``close`` called once) and decodes what it receives as a device would, by the FourCC.
"""
from __future__ import annotations

import os
import threading
import time
from glob import glob

import numpy as np
import pytest
import pyvirtualcam
from pyvirtualcam.camera import BACKENDS
from pyvirtualcam.util import decode_fourcc

from engine.media.outputs.base import OutputError
from engine.media.outputs.virtualcam import LINUX_FIX, VirtualCamera

FOURCC_CHANNELS = {"24BG": "BGR", "raw ": "RGB"}  # the 3-channel formats a device may be given


class MemoryCamera:
    """A pyvirtualcam backend that keeps every frame it receives, as RGB, with its arrival time."""

    opened: list["MemoryCamera"] = []
    send_delay = 0.0  # seconds each send takes (a slow device)
    refuse_sizes: set = set()  # sizes that "the device" refuses to open at

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        if (width, height) in self.refuse_sizes:
            raise RuntimeError(f"device busy: cannot set {width}x{height}")
        self.width, self.height, self.fps = width, height, fps
        self.fourcc = decode_fourcc(fourcc)
        if self.fourcc not in FOURCC_CHANNELS:
            raise RuntimeError(f"unsupported pixel format {self.fourcc!r}")
        self.frames: list[np.ndarray] = []
        self.times: list[float] = []
        self.closes = 0
        type(self).opened.append(self)

    def send(self, frame: np.ndarray) -> None:
        assert self.closes == 0, "send after close"
        assert frame.ndim == 1 and frame.dtype == np.uint8 and frame.flags.c_contiguous
        image = frame.reshape(self.height, self.width, 3)
        rgb = image[:, :, ::-1] if FOURCC_CHANNELS[self.fourcc] == "BGR" else image
        self.frames.append(rgb.copy())
        self.times.append(time.monotonic())
        if self.send_delay:
            time.sleep(self.send_delay)

    def close(self) -> None:
        self.closes += 1

    def device(self) -> str:
        return "memory0"

    def native_fourcc(self):
        return None


@pytest.fixture
def memcam():
    """A fresh MemoryCamera subclass registered under a unique name; unregistered afterwards."""
    cls = type("Cam", (MemoryCamera,), {"opened": [], "refuse_sizes": set()})
    name = f"memory-{id(cls)}"
    pyvirtualcam.register_backend(name, cls)
    cls.backend_name = name
    yield cls
    BACKENDS.pop(name, None)


def numbered_frame(i: int, size=(64, 48)) -> np.ndarray:
    """A BGR frame whose blue channel carries ``i`` and whose left half is pure red."""
    w, h = size
    frame = np.zeros((h, w, 3), np.uint8)
    frame[:, :, 0] = i % 256
    frame[:, : w // 2, 2] = 255  # red in BGR order
    return frame


def feed(vcam: VirtualCamera, seconds: float, rate: float, size=(64, 48)) -> list[float]:
    """Put numbered frames at ``rate`` for ``seconds``; returns how long each put took."""
    put_times, i = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        vcam.put(numbered_frame(i, size))
        put_times.append(time.perf_counter() - t0)
        i += 1
        time.sleep(1.0 / rate)
    return put_times


def test_frames_arrive_at_the_output_size_in_bgr_with_the_right_colours(memcam):
    vcam = VirtualCamera(30, backend=memcam.backend_name)
    vcam.start()
    feed(vcam, 0.5, 20, size=(80, 60))
    assert vcam.stop(2.0)
    (cam,) = memcam.opened
    assert (cam.width, cam.height) == (80, 60)
    assert cam.fourcc == "24BG"  # the pipeline's BGR frames go out without a conversion
    assert len(cam.frames) >= 5
    rgb = cam.frames[-1]
    assert rgb.shape == (60, 80, 3)
    assert (rgb[:, :40, 0] == 255).all() and (rgb[:, 40:, 0] == 0).all()  # red stays red, left
    assert (rgb[:, :, 1] == 0).all()
    blue = int(rgb[0, 0, 2])
    assert blue > 0  # the newest numbered frames got through, not only the first


@pytest.mark.parametrize("fps", [10, 25])
def test_frames_are_paced_at_the_source_rate_whatever_the_inference_rate(memcam, fps):
    """Inference at 4 frames/s: the camera still sends at ``fps``, repeating the newest frame."""
    vcam = VirtualCamera(fps, backend=memcam.backend_name)
    vcam.start()
    feed(vcam, 2.0, 4)
    vcam.stop(2.0)
    (cam,) = memcam.opened
    assert cam.fps == fps
    intervals = np.diff(cam.times)
    assert abs(np.median(intervals) - 1 / fps) < 0.25 / fps
    assert 0.7 * 2.0 * fps <= len(cam.frames) <= 1.15 * 2.0 * fps + 1
    numbers = [int(f[0, 0, 2]) for f in cam.frames]
    assert numbers == sorted(numbers)  # never an older frame after a newer one
    assert len(set(numbers)) >= 6  # the new frames do get through


def test_a_slow_device_never_blocks_the_producer_and_gets_the_newest_frames(memcam):
    memcam.send_delay = 0.25
    vcam = VirtualCamera(30, backend=memcam.backend_name)
    vcam.start()
    put_times = feed(vcam, 2.0, 50)
    vcam.stop(2.0)
    (cam,) = memcam.opened
    assert max(put_times) < 0.05  # inference never waits for the device (a send takes 0.25 s)
    assert len(cam.frames) <= 2.0 / 0.25 + 2  # no backlog: one send per device slot
    numbers = [int(f[0, 0, 2]) for f in cam.frames]
    assert numbers[-1] >= len(put_times) - 1 - 0.3 * 50  # the last one sent was recent
    assert np.diff(numbers).min() >= 0 and np.diff(numbers).max() >= 5  # frames were skipped


def test_the_camera_follows_a_new_output_size(memcam):
    vcam = VirtualCamera(30, backend=memcam.backend_name)
    vcam.start()
    feed(vcam, 0.4, 20, size=(64, 48))
    feed(vcam, 0.4, 20, size=(96, 64))
    vcam.stop(2.0)
    first, second = memcam.opened
    assert (first.width, first.height, first.closes) == (64, 48, 1)
    assert (second.width, second.height) == (96, 64)
    assert second.frames and all(f.shape == (64, 96, 3) for f in second.frames)


def test_odd_sizes_lose_one_edge_line_for_the_device(memcam):
    vcam = VirtualCamera(30, backend=memcam.backend_name)
    vcam.start()
    feed(vcam, 0.3, 20, size=(85, 63))
    vcam.stop(2.0)
    (cam,) = memcam.opened
    assert (cam.width, cam.height) == (84, 62)
    assert (cam.frames[-1][:, :42, 0] == 255).all()  # the left half is still red


def test_a_refused_new_size_keeps_the_camera_and_scales_the_frames(memcam):
    memcam.refuse_sizes = {(96, 64)}
    vcam = VirtualCamera(30, backend=memcam.backend_name)
    vcam.start()
    feed(vcam, 0.4, 20, size=(64, 48))
    feed(vcam, 0.4, 20, size=(96, 64))
    assert vcam.error is None and vcam.running
    vcam.stop(2.0)
    assert [(c.width, c.height) for c in memcam.opened] == [(64, 48), (64, 48)]
    assert memcam.opened[-1].frames and memcam.opened[-1].frames[-1].shape == (48, 64, 3)
    assert "96x64" in vcam.note


def test_stop_closes_the_device_once_and_ends_the_thread(memcam):
    before = threading.active_count()
    vcam = VirtualCamera(30, backend=memcam.backend_name)
    vcam.start()
    feed(vcam, 0.3, 20)
    t0 = time.monotonic()
    assert vcam.stop(2.0)
    assert time.monotonic() - t0 < 0.5
    (cam,) = memcam.opened
    sent = len(cam.frames)
    time.sleep(0.3)
    assert len(cam.frames) == sent and cam.closes == 1
    assert not vcam.running and threading.active_count() == before


def test_stop_before_the_first_frame_opens_nothing(memcam):
    vcam = VirtualCamera(30, backend=memcam.backend_name)
    vcam.start()
    assert vcam.stop(1.0)
    assert memcam.opened == []


def _fails_like_v4l2loopback(**kw):
    raise RuntimeError("No v4l2 loopback device found at /dev/video[0-99]. Did you run 'modprobe "
                       "v4l2loopback'? See also pyvirtualcam's documentation.")


def test_no_device_gives_one_line_with_the_fix_from_the_camera_thread():
    pyvirtualcam.register_backend("no-device", _fails_like_v4l2loopback)
    try:
        errors = []
        vcam = VirtualCamera(30, backend="no-device", on_error=errors.append)
        vcam.start()
        vcam.put(numbered_frame(0))
        deadline = time.monotonic() + 2
        while vcam.running and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not vcam.running
        assert errors == [vcam.error]
        assert "\n" not in vcam.error and LINUX_FIX in vcam.error
        assert "No v4l2 loopback device found" in vcam.error
    finally:
        BACKENDS.pop("no-device", None)


@pytest.mark.skipif(not hasattr(os, "uname") or os.uname().sysname != "Linux" or glob("/dev/video*"),
                    reason="needs Linux without any /dev/video device")
def test_the_real_linux_backend_without_a_device_says_how_to_fix_it():
    vcam = VirtualCamera(30, backend="v4l2loopback")
    with pytest.raises(OutputError) as info:
        vcam.open(64, 48)
    assert str(info.value) == ("virtual camera: No v4l2 loopback device found at /dev/video[0-99]. Fix: "
                               'sudo modprobe v4l2loopback exclusive_caps=1 card_label="adain-live"')


@pytest.mark.parametrize("system, fix", [("Windows", "install OBS Studio"), ("Darwin", "Start Virtual Camera once")])
def test_without_obs_the_message_names_the_platforms_fix(monkeypatch, system, fix):
    from engine.media.outputs import virtualcam

    monkeypatch.setattr(virtualcam.platform, "system", lambda: system)
    text = virtualcam.vcam_error_message(RuntimeError(
        "'obs' backend: OBS Virtual Camera device not found! Did you install OBS?"))
    assert text.startswith("virtual camera: OBS Virtual Camera device not found") and fix in text
    assert "backend" not in text and "\n" not in text
