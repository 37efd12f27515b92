"""Cameras through a fake ``cv2.VideoCapture`` with a driver's rules and timing (no webcam
here): the requested mode and what is granted, stop flags cutting stalled reads short, the
Windows backend order, the reasons given when a camera does not open, camera names, and
OpenCV's console log (real OpenCV, in a subprocess)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import types

import cv2
import pytest

import engine.media.camera as camera
from engine.media.camera import (CameraInfo, CameraRequest, CameraSource, CameraUnavailable, camera_failure,
                                 list_cameras)
from engine.media.sources import SourceLost, open_source
from fake_devices import FakeDevice, fake_cameras, fourcc_int

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_camera_asks_for_mjpg_720p30_and_reports_what_it_got(monkeypatch):
    with fake_cameras(monkeypatch, {0: FakeDevice()}) as log:
        cam = open_source("0")
    sets = [entry[1:] for entry in log if entry[0] == "set"]
    assert sets == [("fourcc", fourcc_int("MJPG")), ("width", 1280), ("height", 720), ("fps", 30.0)]
    assert cam.size == (1280, 720) and cam.fps == 30.0 and cam.fourcc == "MJPG"
    assert cam.details == "1280×720 MJPG at 30 fps"
    assert cam.read().shape == (720, 1280, 3)


def test_a_camera_without_mjpg_reports_the_granted_mode(monkeypatch):
    yuyv_only = {("YUYV", 640, 480): 30.0, ("YUYV", 1280, 720): 10.0}
    with fake_cameras(monkeypatch, {0: FakeDevice(modes=yuyv_only)}):
        cam = CameraSource(0)
    assert cam.size == (1280, 720) and cam.fps == 10.0 and cam.fourcc == "YUYV"
    assert cam.details == "1280×720 YUYV at 10 fps (asked 1280×720 MJPG at 30 fps)"


def test_the_requested_mode_is_settable(monkeypatch):
    modes = {("MJPG", 640, 480): 60.0, ("MJPG", 1920, 1080): 30.0, ("YUYV", 640, 480): 30.0}
    with fake_cameras(monkeypatch, {1: FakeDevice(modes=modes)}) as log:
        cam = open_source(1, camera=CameraRequest(640, 480, 60.0))
    assert ("width", 640) in [e[1:] for e in log if e[0] == "set"]
    assert (cam.size, cam.fps, cam.fourcc) == ((640, 480), 60.0, "MJPG")


def test_files_and_streams_are_not_asked_for_a_camera_mode(monkeypatch):
    with fake_cameras(monkeypatch, {"rtsp://cam/1": FakeDevice()}) as log:
        cam = open_source("rtsp://cam/1")
    assert not [e for e in log if e[0] == "set"] and not cam.selfie
    assert cam.size == (640, 480)


def test_stalled_reads_stop_retrying_when_the_stop_flag_is_set(monkeypatch):
    """A stalled camera: each read blocks 0.3 s and returns nothing. Without the flag, read()
    gives up after 8 reads (2.6 s); with it set 0.1 s in, read() returns within one read."""
    stop = threading.Event()
    with fake_cameras(monkeypatch, {0: FakeDevice(read_s=0.3, stall_after=1)}):
        cam = CameraSource(0, stop=stop)
        cam.read()  # the frame grabbed while opening
        threading.Timer(0.1, stop.set).start()
        t0 = time.monotonic()
        with pytest.raises(SourceLost):
            cam.read()
        elapsed = time.monotonic() - t0
    assert elapsed < 0.8, f"read kept retrying for {elapsed:.2f} s after stop"


def test_a_stalled_camera_counts_as_lost_after_seconds_not_minutes(monkeypatch):
    """Each stalled read blocks 1.2 s (OpenCV's V4L2 wait, shortened from 10 s to 3 s here):
    lost after ~3 s of failures, not after 8 reads."""
    monkeypatch.delenv("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", raising=False)
    monkeypatch.setattr(camera, "_OPENCV_CONFIGURED", False)
    with fake_cameras(monkeypatch, {0: FakeDevice(read_s=1.2, stall_after=1)}):
        cam = CameraSource(0)
        assert os.environ["OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT"] == "3"
        cam.read()
        t0 = time.monotonic()
        with pytest.raises(SourceLost):
            cam.read()
    assert 3.0 < time.monotonic() - t0 < 5.5
    monkeypatch.setenv("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", "20")
    monkeypatch.setattr(camera, "_OPENCV_CONFIGURED", False)
    camera.configure_opencv()
    assert os.environ["OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT"] == "20"  # the user's value is kept


def test_windows_prefers_directshow_then_media_foundation(monkeypatch):
    monkeypatch.delenv("OPENCV_VIDEOIO_MSMF_ENABLE_HW_TRANSFORMS", raising=False)
    monkeypatch.setattr(camera, "_OPENCV_CONFIGURED", False)
    with fake_cameras(monkeypatch, {0: FakeDevice(apis={cv2.CAP_MSMF})}) as log:
        cam = CameraSource(0, platform="win32")
    opens = [e[2] for e in log if e[0] == "open"]
    assert opens == [cv2.CAP_DSHOW, cv2.CAP_MSMF] and cam.size == (1280, 720)
    assert os.environ["OPENCV_VIDEOIO_MSMF_ENABLE_HW_TRANSFORMS"] == "0"  # MSMF's slow open, documented switch
    with fake_cameras(monkeypatch, {0: FakeDevice()}) as log:
        CameraSource(0, platform="win32")
    assert [e[2] for e in log if e[0] == "open"] == [cv2.CAP_DSHOW]
    with fake_cameras(monkeypatch, {0: FakeDevice()}) as log:
        CameraSource(0, platform="linux")
    assert [e[2] for e in log if e[0] == "open"] == [cv2.CAP_ANY]


def test_reasons_name_the_cause_and_the_setting(tmp_path):
    (tmp_path / "video0").touch()
    denied = camera_failure(0, "linux", str(tmp_path), access=lambda path, mode: False)
    assert "permission denied" in str(denied) and "video" in str(denied) and "usermod" in str(denied)
    assert not denied.waiting
    busy = camera_failure(0, "linux", str(tmp_path), access=lambda path, mode: True)
    assert "in use" in str(busy)
    assert "no camera found" in str(camera_failure(3, "linux", str(tmp_path)))
    mac = camera_failure(0, "darwin")
    assert mac.waiting and "Privacy & Security → Camera" in str(mac)
    win = camera_failure(0, "win32")
    assert not win.waiting and "Privacy & security → Camera" in str(win)
    assert "stream" in str(camera_failure("rtsp://nowhere/x", "linux"))


def test_a_camera_that_does_not_open_raises_the_reason(monkeypatch):
    with fake_cameras(monkeypatch, {}):
        with pytest.raises(CameraUnavailable) as err:
            CameraSource(0, platform="darwin")
    assert err.value.waiting and "camera 0" in str(err.value)


def test_linux_cameras_are_listed_by_name_without_metadata_nodes(tmp_path, monkeypatch):
    for n, (index, name) in enumerate([("0", "Integrated Camera: Integrated C"), ("1", "Integrated Camera: Integrated C"),
                                       ("0", "HD Pro Webcam C920"), ("1", "HD Pro Webcam C920")]):
        node = tmp_path / f"video{n}"
        node.mkdir()
        (node / "index").write_text(index + "\n")
        (node / "name").write_text(name + "\n")
    (tmp_path / "video10").mkdir()  # a loopback device with no index file: a capture node
    (tmp_path / "video10" / "name").write_text("Dummy video device\n")
    assert list_cameras("linux", sysfs=tmp_path) == [
        CameraInfo(0, "Integrated Camera: Integrated C", "/dev/video0"),
        CameraInfo(2, "HD Pro Webcam C920", "/dev/video2"),
        CameraInfo(10, "Dummy video device", "/dev/video10")]
    with fake_cameras(monkeypatch, {0: FakeDevice()}) as log:
        assert list_cameras("linux", sysfs=tmp_path / "missing", probe=4) == []
    assert log == []  # no device opened just to list it


def test_other_systems_use_the_enumeration_package_or_probe(monkeypatch):
    fake = types.ModuleType("cv2_enumerate_cameras")
    asked = []
    fake.enumerate_cameras = lambda api: asked.append(api) or [
        types.SimpleNamespace(index=0, name="FaceTime HD Camera", path=None),
        types.SimpleNamespace(index=1, name="iPhone Camera", path=None)]
    monkeypatch.setitem(sys.modules, "cv2_enumerate_cameras", fake)
    assert list_cameras("darwin") == [CameraInfo(0, "FaceTime HD Camera"), CameraInfo(1, "iPhone Camera")]
    assert list_cameras("win32")[1].name == "iPhone Camera"
    assert asked == [cv2.CAP_AVFOUNDATION, cv2.CAP_DSHOW]  # the API CameraSource opens first
    monkeypatch.setitem(sys.modules, "cv2_enumerate_cameras", None)  # not installed
    with fake_cameras(monkeypatch, {1: FakeDevice()}):
        assert list_cameras("win32", probe=3) == [CameraInfo(1, "Camera 1")]


def test_opencv_prints_nothing_when_a_camera_is_missing():
    """Real OpenCV: without the log level set it prints a warning per failed open."""
    code = ("from engine.media.sources import open_source\n"
            "for spec in ('7', '/dev/video97'):\n"
            "    try:\n        open_source(spec)\n    except Exception as exc:\n        print(exc)\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_LOG_LEVEL"}
    env["PYTHONPATH"] = ROOT
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("no camera found") == 2
    assert "WARN" not in done.stderr and "VIDEOIO" not in done.stderr, done.stderr


def test_camera_mode_option_is_parsed_or_refused_in_one_line(capsys):
    import main
    from engine.errors import InputError
    from engine.media.camera import parse_camera_mode

    assert parse_camera_mode("1920x1080@60") == CameraRequest(1920, 1080, 60.0, "MJPG")
    assert parse_camera_mode("640x480:yuyv") == CameraRequest(640, 480, 30.0, "YUYV")
    for bad in ("huge", "1280x720@0", "10x10", "1280x720:MJPEG"):
        with pytest.raises(InputError):
            parse_camera_mode(bad)
    assert main.main(["app", "--camera-mode", "1280x720@fast"]) == 2  # refused before any window opens
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: 1280x720@fast: camera mode") and "\n" not in err
    assert main.build_parser().parse_args(["--camera-mode", "800x600"]).camera_mode == "800x600"
