"""The window's "Share" group: the stream and virtual-camera toggles with real threads, a real
HTTP client (OpenCV) and pyvirtualcam's backend registry (an in-memory camera)."""
from __future__ import annotations

import socket
import sys
import time
from glob import glob

import cv2
import numpy as np
import pytest
import pyvirtualcam
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from pyvirtualcam.camera import BACKENDS

import app.outputs_view as outputs_view
from conftest import random_decoder_state, smooth_image

RES = 64
WAIT_MS = 60_000


class MemoryCamera:
    """A pyvirtualcam backend keeping what it gets (the rules of tests/media/test_virtualcam.py)."""

    opened: list = []
    fail_with: str | None = None

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        if self.fail_with:
            raise RuntimeError(self.fail_with)
        self.width, self.height, self.fps, self.times, self.frames, self.closes = width, height, fps, [], [], 0
        type(self).opened.append(self)

    def send(self, frame):
        self.frames.append(frame.reshape(self.height, self.width, 3)[:, :, ::-1].copy())  # BGR → RGB
        self.times.append(time.monotonic())

    def close(self):
        self.closes += 1

    def device(self):
        return "memory0"

    def native_fourcc(self):
        return None


@pytest.fixture
def memcam():
    cls = type("Cam", (MemoryCamera,), {"opened": []})
    name = f"memory-{id(cls)}"
    pyvirtualcam.register_backend(name, cls)
    cls.backend_name = name
    yield cls
    BACKENDS.pop(name, None)


@pytest.fixture(scope="module")
def small_stylizer():
    from engine import Stylizer

    return Stylizer(device="cpu", decoder_state=random_decoder_state(), style_side=64)


@pytest.fixture
def open_window(qtbot, tmp_path, small_stylizer):
    """``open_window(source)``: a window with one style ticked, processing at 64 px, returned once
    styled frames flow; its stream server uses a free port."""
    from app.main_window import MainWindow

    styles = tmp_path / "styles"
    styles.mkdir()
    Image.fromarray(smooth_image(80, 80, 21)).save(styles / "style.png")
    windows = []

    def open_(source="pattern:120x90"):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        win = MainWindow(source=source, settings=settings, stylizer_factory=lambda: small_stylizer,
                         output_dir=tmp_path / "out", style_cache_dir=tmp_path / "cache",
                         default_styles_dir=styles)
        windows.append(win)
        win._set_resolution(RES)
        qtbot.addWidget(win)
        win.show()
        win.outputs.port = 0
        qtbot.waitUntil(lambda: win.results.latest()[1] is not None and win.results.latest()[1].styled,
                        timeout=WAIT_MS)
        return win

    yield open_
    for win in windows:
        win.close()


@pytest.fixture
def window(open_window):
    return open_window()


def clip_at(path, fps: float, frames: int = 24):
    """An MP4 of the 120x90 pattern at ``fps`` frames/s."""
    from engine.media.sources import PatternSource

    pattern = PatternSource(120, 90)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (120, 90))
    for i in range(frames):
        writer.write(pattern.render(i))
    writer.release()
    return path


def port_refuses(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_stream_toggle_serves_the_stylized_video_shows_the_url_and_frees_the_port(qtbot, window):
    panel = window.outputs
    panel.stream_check.setChecked(True)
    url = panel.url_field.text()
    assert url.startswith("http://127.0.0.1:") and panel.copy_button.isEnabled()
    panel.copy_button.click()
    assert QApplication.clipboard().text() == url
    cap = cv2.VideoCapture(url + "stream.mjpg", cv2.CAP_FFMPEG)
    ok, frame = cap.read()
    qtbot.waitUntil(lambda: "stream: 1 viewer" in panel.state_label.text(), timeout=5000)
    cap.release()
    _, result = window.results.latest()
    assert ok and frame.shape == result.stylized.shape == (64, 85, 3)
    to_styled = np.abs(frame.astype(int) - result.stylized).mean()
    to_camera = np.abs(frame.astype(int) - result.original).mean()
    assert to_styled < 0.3 * to_camera  # the stylized frames go out, not the camera's
    port = panel.server.port
    panel.stream_check.setChecked(False)
    assert panel.server is None and panel.url_field.text() == "" and port_refuses(port)


def test_a_busy_port_moves_to_the_next_one_and_no_free_port_is_an_error_in_the_window(qtbot, window, monkeypatch):
    panel = window.outputs
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        panel.port = port
        panel.stream_check.setChecked(True)
        assert panel.server is not None and port < panel.server.port < port + outputs_view.PORT_TRIES
        panel.stream_check.setChecked(False)
        monkeypatch.setattr(outputs_view, "PORT_TRIES", 1)
        panel.stream_check.setChecked(True)
    assert not panel.stream_check.isChecked() and panel.server is None
    assert str(port) in panel.error_label.text() and panel.error_label.isVisibleTo(panel)
    assert window.messages[-1] == panel.error_label.text()


def test_virtual_camera_gets_the_stylized_frames_at_the_source_rate_and_stops(qtbot, open_window, memcam,
                                                                               tmp_path):
    window = open_window(str(clip_at(tmp_path / "clip.mp4", 12)))
    panel = window.outputs
    panel.vcam_backend = memcam.backend_name
    panel.vcam_check.setChecked(True)
    qtbot.waitUntil(lambda: bool(memcam.opened) and len(memcam.opened[0].frames) >= 20, timeout=10_000)
    cam = memcam.opened[0]
    assert (cam.width, cam.height, cam.fps) == (84, 64, 12)  # the output's size (even), the source's rate
    assert abs(np.median(np.diff(cam.times)) - 1 / 12) < 0.02
    qtbot.waitUntil(lambda: "virtual camera memory0: 84×64 at 12 fps" in panel.state_label.text(), timeout=3000)
    _, result = window.results.latest()
    sent = cam.frames[-1][:, :, ::-1]  # back to BGR
    assert np.abs(sent.astype(int) - result.stylized[:, :84]).mean() < 0.3 * np.abs(
        sent.astype(int) - result.original[:, :84]).mean()
    panel.vcam_check.setChecked(False)
    qtbot.waitUntil(lambda: cam.closes == 1, timeout=3000)
    sent = len(cam.frames)
    qtbot.wait(200)
    assert len(cam.frames) == sent and panel.vcam is None


def test_closing_the_window_closes_the_virtual_camera(qtbot, window, memcam):
    window.outputs.vcam_backend = memcam.backend_name
    window.outputs.vcam_check.setChecked(True)
    qtbot.waitUntil(lambda: bool(memcam.opened and memcam.opened[0].frames), timeout=10_000)
    window.close()
    assert memcam.opened[0].closes == 1


def _no_device_backend(memcam):
    memcam.fail_with = ("No v4l2 loopback device found at /dev/video[0-99]. Did you run 'modprobe "
                        "v4l2loopback'? See also pyvirtualcam's documentation.")
    return memcam.backend_name


@pytest.mark.parametrize("backend", ["registered", "platform"])
def test_no_virtual_camera_device_shows_the_fix_and_the_toggle_goes_back_off(qtbot, window, memcam, backend):
    if backend == "platform" and (sys.platform != "linux" or glob("/dev/video*")):
        pytest.skip("the platform backend fails this way only on Linux without /dev/video")
    panel = window.outputs
    if backend == "registered":
        panel.vcam_backend = _no_device_backend(memcam)
    else:
        panel.vcam_backend = "v4l2loopback"
    panel.vcam_check.setChecked(True)
    qtbot.waitUntil(lambda: not panel.vcam_check.isChecked(), timeout=5000)
    command = 'sudo modprobe v4l2loopback exclusive_caps=1 card_label="adain-live"'
    assert "No v4l2 loopback device" in panel.error_label.text() and panel.error_label.isVisibleTo(panel)
    # the command is whole in its own field (not cut off by the panel's width), with a Copy button
    assert panel.fix_row.isVisibleTo(panel) and panel.fix_row.command() == command
    panel.fix_row.copy_button.click()
    assert QApplication.clipboard().text() == command
    # the status bar gets one short line pointing to the panel, not the command cut mid-way
    note = next(m for m in window.messages if m.startswith("virtual camera"))
    assert "Share group" in note and "modprobe" not in note and len(note) <= 100, note
    assert window.messages[-1] == "command copied: paste it in a terminal" and panel.vcam is None
    done = window.inference.frames_done
    qtbot.waitUntil(lambda: window.inference.frames_done > done + 2, timeout=WAIT_MS)  # the app goes on


def test_a_mirrored_selfie_view_goes_out_unmirrored(qtbot, tmp_path):
    """The window mirrors a selfie camera (Mirror on); call apps mirror the self-view themselves, so
    the outputs must carry the camera's true orientation. No style ticked: frames go out as shot."""
    from app.main_window import MainWindow
    from engine.media.sources import PatternSource

    class SelfieCamera(PatternSource):  # the moving scene (sun left, house right) as a webcam
        live, selfie, description = True, True, "selfie camera"

    empty = tmp_path / "no-styles"
    empty.mkdir()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(source="0", settings=settings, stylizer_factory=lambda: None, output_dir=tmp_path / "out",
                     style_cache_dir=tmp_path / "cache", default_styles_dir=empty,
                     opener=lambda spec, **kw: SelfieCamera(120, 90))
    qtbot.addWidget(win)
    win.show()
    try:
        win._set_resolution(RES)
        win.outputs.port = 0
        win.outputs.stream_check.setChecked(True)
        url = win.outputs.url_field.text() + "stream.mjpg"
        for mirror in (True, False):
            if win.toolbar.mirror_button.isChecked() != mirror:
                win.toolbar.mirror_button.click()
            qtbot.wait(500)  # frames captured after the switch
            cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
            ok, frame = cap.read()
            cap.release()
            _, result = win.results.latest()
            shown = result.stylized.astype(int)  # what the window shows (mirrored when mirror is on)
            as_shot = shown[:, ::-1] if mirror else shown
            other = shown if mirror else shown[:, ::-1]
            assert ok and np.abs(frame - as_shot).mean() < 0.5 * np.abs(frame - other).mean(), mirror
    finally:
        win.close()
