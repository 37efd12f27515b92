"""Sources that behave like real webcams, with real timing (no webcam here): a read or open that
blocks for seconds, a source that delivers nothing, a permission prompt; the GUI thread must
never wait on them, a running capture thread is never destroyed, the inference thread survives
anything one frame does, and a GPU that fails hands over to the CPU."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings

from conftest import ROOT, random_decoder_state
from engine.media.camera import CameraInfo, CameraUnavailable
from engine.media.frames import FrameSource

WAIT_MS = 60_000


class FakeCamera(FrameSource):
    """A camera whose ``read`` blocks ``read_s`` (uninterruptibly, as in a driver) and returns a
    frame with a bright left quarter; ``log`` gets ``(event, time)`` pairs."""

    live = True
    selfie = True
    description = "fake camera"
    fps = 30.0

    def __init__(self, read_s: float = 0.01, log: list | None = None, started: threading.Event | None = None):
        self.read_s, self.log, self.started = read_s, log if log is not None else [], started
        self.log.append(("open", time.monotonic()))

    def read(self) -> np.ndarray:
        if self.started is not None:
            self.started.set()
        time.sleep(self.read_s)
        frame = np.zeros((24, 32, 3), np.uint8)
        frame[:, :8] = 200
        return frame

    @property
    def size(self):
        return (32, 24)

    def close(self) -> None:
        self.log.append(("close", time.monotonic()))
        self.closed = True


class FlatFile(FakeCamera):
    selfie = False
    description = "a file"


@pytest.fixture
def window(qtbot, tmp_path):
    from app.main_window import MainWindow
    from app.threads import wait_retired

    made = []

    def make(source, opener, lister=lambda: [], settings_name="settings.ini"):
        settings = QSettings(str(tmp_path / settings_name), QSettings.Format.IniFormat)

        def fail():
            raise RuntimeError("no model in this test")
        win = MainWindow(source=source, settings=settings, stylizer_factory=fail, opener=opener,
                         camera_lister=lister, output_dir=tmp_path / "out", style_cache_dir=tmp_path / "cache",
                         default_styles_dir=tmp_path / "no-styles")
        qtbot.addWidget(win)
        made.append(win)
        return win

    yield make
    for win in made:
        win.close()
    assert wait_retired(30)


# --- the frames slot and the inference thread ----------------------------------------------------

def test_a_cleared_slot_never_hands_out_none():
    from app.pipeline import LatestSlot

    slot = LatestSlot()
    seq = slot.put("frame of the old source")
    slot.clear()  # the source was switched before the inference thread took it
    assert slot.wait_newer(0, 0.05) is None
    assert slot.wait_newer(seq, 0.05) is None
    got = []
    waiter = threading.Thread(target=lambda: got.append(slot.wait_newer(0, 5)))
    waiter.start()
    time.sleep(0.05)
    slot.put("frame of the new source")
    waiter.join(5)
    assert got == [(seq + 1, "frame of the new source")]


def test_the_inference_thread_survives_a_frame_that_raises(qtbot):
    from app.pipeline import Frame, LatestSlot
    from app.inference_worker import InferenceThread, StylizerBox

    frames, results = LatestSlot(), LatestSlot()

    def no_model():
        raise RuntimeError("no model in this test")
    thread = InferenceThread(frames, results, StylizerBox(), no_model)
    messages = []
    thread.message.connect(messages.append)
    thread.start()
    try:
        frames.put(Frame(None, time.monotonic(), 0))  # not an image: _process raises
        qtbot.waitUntil(lambda: any("frame skipped" in m for m in messages), timeout=WAIT_MS)
        frames.put(Frame(np.full((24, 32, 3), 7, np.uint8), time.monotonic(), 1))
        qtbot.waitUntil(lambda: results.latest()[1] is not None, timeout=WAIT_MS)
        assert thread.isRunning() and results.latest()[1].frame_index == 1
    finally:
        assert thread.stop()


# --- capture threads that block -----------------------------------------------------------------

def test_switching_away_from_a_stuck_camera_never_waits_for_it(qtbot, window):
    """The camera's read blocks 2.5 s (a stalled V4L2 read blocks up to 10 s, an MSMF open 4–20 s)."""
    from app.threads import retiring, wait_retired

    started, log = threading.Event(), []

    def opener(spec, stop=None):
        return FakeCamera(read_s=2.5, log=log, started=started) if spec == "0" else FlatFile()
    win = window("0", opener)
    assert started.wait(10)
    stuck = win.capture
    t0 = time.monotonic()
    win.set_source("pattern")
    switch_s = time.monotonic() - t0
    assert switch_s < 0.5, f"the GUI thread waited {switch_s:.1f} s for the camera"
    assert stuck in retiring() and stuck.isRunning() and win.capture is not stuck
    t0 = time.monotonic()
    win.close()
    assert time.monotonic() - t0 < 2.0
    assert wait_retired(10) and stuck.isFinished() and [e for e, _ in log] == ["open", "close"]


def test_reopening_the_same_camera_waits_for_the_old_thread_to_let_go(qtbot, window):
    log, started = [], threading.Event()

    def opener(spec, stop=None):
        return FakeCamera(read_s=1.0, log=log, started=started)
    win = window("0", opener)
    assert started.wait(10)
    first = win.capture
    win.set_source("0")  # "Try camera 0 again" while the old thread is still inside a read
    qtbot.waitUntil(lambda: [e for e, _ in log].count("open") == 2, timeout=WAIT_MS)
    assert first.isFinished()
    (_, closed), (_, reopened) = log[1], log[2]
    assert [e for e, _ in log][:3] == ["open", "close", "open"] and closed <= reopened


def test_a_running_capture_thread_is_never_destroyed():
    """In a subprocess: a capture thread blocked in a 5 s open is retired and its last Python
    reference dropped; the process must exit cleanly, not abort with "QThread: Destroyed while
    thread is still running"."""
    code = """
import gc, sys, time
from PySide6.QtCore import QCoreApplication
from app.pipeline import LatestSlot
from app.capture_worker import CaptureThread
from app.threads import leave_when_retired, retire

app = QCoreApplication([])
thread = CaptureThread("0", LatestSlot(), opener=lambda spec: time.sleep(5))
thread.start()
time.sleep(0.2)
retire(thread)
del thread
gc.collect()
time.sleep(0.2)
sys.exit(leave_when_retired(0, timeout_s=0.3))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert "Destroyed while thread" not in done.stderr
    assert "has not returned" in done.stderr


def test_the_macos_permission_prompt_is_waited_for(qtbot, monkeypatch):
    import app.capture_worker as capture_worker
    from app.pipeline import LatestSlot

    monkeypatch.setattr(capture_worker, "RECONNECT_EVERY_S", 0.05)
    attempts = []

    def opener(spec):
        attempts.append(time.monotonic())
        if len(attempts) < 4:  # the user has not answered the prompt yet
            raise CameraUnavailable("camera 0", "camera access not allowed: … Privacy & Security …", waiting=True)
        return FakeCamera()
    thread = capture_worker.CaptureThread("0", LatestSlot(), opener=opener)
    failed, opened = [], []
    thread.failed.connect(failed.append)
    thread.opened.connect(lambda *a: opened.append(a))
    thread.start()
    try:
        qtbot.waitUntil(lambda: bool(opened), timeout=WAIT_MS)
    finally:
        assert thread.stop()
    assert len(attempts) == 4 and len(failed) == 1 and "Privacy & Security" in failed[0]


# --- mirror, camera names, retry ----------------------------------------------------------------

def test_mirror_flips_selfie_cameras_on_the_capture_thread(qtbot):
    from app.pipeline import LatestSlot
    from app.capture_worker import CaptureThread

    for source, mirror, bright_left in ((FakeCamera, True, False), (FakeCamera, False, True),
                                        (FlatFile, True, True)):
        slot = LatestSlot()
        thread = CaptureThread("x", slot, opener=lambda spec, s=source: s(), mirror=mirror)
        thread.start()
        try:
            qtbot.waitUntil(lambda: slot.latest()[1] is not None, timeout=WAIT_MS)
        finally:
            assert thread.stop()
        image = slot.latest()[1].image
        assert (image[:, 0].mean() > 100) == bright_left and (image[:, -1].mean() > 100) != bright_left


def test_cameras_are_listed_by_name_in_the_background_and_the_chosen_one_is_retried(qtbot, window):
    release = threading.Event()
    cameras = [CameraInfo(0, "Integrated Camera", "/dev/video0"), CameraInfo(2, "HD Pro Webcam C920", "/dev/video2")]

    def lister():
        release.wait(10)  # a slow enumeration: the window is built meanwhile
        return cameras
    opened = []

    def opener(spec, stop=None):
        opened.append(spec)
        raise CameraUnavailable(f"camera {spec}", "no camera found (not connected)")
    win = window("7", opener, lister)
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.no_source, timeout=WAIT_MS)
    release.set()
    combo = win.source_combo
    assert combo.itemText(combo.findData("0")) == "Camera 0"  # until the list comes
    qtbot.waitUntil(lambda: combo.itemText(combo.findData("2")) == "HD Pro Webcam C920", timeout=WAIT_MS)
    assert combo.itemText(0) == "Integrated Camera" and combo.findData("1") < 0
    assert combo.currentData() == "7"  # the chosen camera stays shown
    assert win.no_source.camera_button.text() == "Try camera 7 again"
    win.no_source.camera_button.click()
    qtbot.waitUntil(lambda: opened == ["7", "7"], timeout=WAIT_MS)
    win.set_source("2")
    assert win.no_source.camera_button.text() == "Try camera 2 (HD Pro Webcam C920) again"


def test_the_mirror_toggle_is_on_for_a_first_run_and_remembered(qtbot, window):
    win = window("0", lambda spec, stop=None: FakeCamera())
    assert win.toolbar.mirror_button.isChecked() and win.capture.mirror
    win.toolbar.mirror_button.click()
    assert not win.capture.mirror
    win.close()
    again = window("0", lambda spec, stop=None: FakeCamera())
    assert not again.toolbar.mirror_button.isChecked() and not again.capture.mirror


# --- a GPU that fails ---------------------------------------------------------------------------

class BrokenGpuStylizer:
    """A CUDA stylizer whose kernels do not run on this GPU ("no kernel image")."""

    device = torch.device("cuda")
    stabilize = False

    def set_styles(self, *args, **kwargs):
        pass

    def __call__(self, frame, **kwargs):
        raise RuntimeError("CUDA error: no kernel image is available for execution on the device\n"
                           "CUDA kernel errors might be asynchronously reported at some other API call")


@pytest.mark.parametrize("when", ["first frame", "start"])
def test_a_failing_gpu_falls_back_to_the_cpu_with_one_line(qtbot, when):
    from app.pipeline import Controls, Frame, LatestSlot
    from app.inference_worker import InferenceThread, StylizerBox
    from engine.nets.adain import StyleStats
    from engine.runtime.stylizer import Stylizer

    def gpu():
        if when == "start":
            raise RuntimeError("CUDA error: all CUDA-capable devices are busy or unavailable")
        return BrokenGpuStylizer()
    built = []

    def cpu():
        built.append(Stylizer(device="cpu", decoder_state=random_decoder_state(9), style_side=64))
        return built[-1]
    frames, results, box = LatestSlot(), LatestSlot(), StylizerBox()
    thread = InferenceThread(frames, results, box, gpu, cpu)
    g = torch.Generator().manual_seed(0)
    stats = StyleStats(torch.rand(512, generator=g), torch.rand(512, generator=g) + 0.1)
    thread.controls = Controls(resolution=0, style_keys=("a",), style_stats=(stats,), weights=(1.0,))
    messages, ready = [], []
    thread.message.connect(messages.append)
    thread.stylizer_ready.connect(ready.append)
    thread.start()
    try:
        frame = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
        deadline, k, r = time.monotonic() + 60, 0, None
        while time.monotonic() < deadline and not (r is not None and r.styled):  # loading VGG takes seconds
            frames.put(Frame(frame, time.monotonic(), k))
            qtbot.wait(20)
            k, r = k + 1, results.latest()[1]
        assert r is not None and r.styled
    finally:
        assert thread.stop()
    assert box.stylizer is built[0] and ready[-1] == "CPU fp32"
    notices = [m for m in messages if "CPU" in m]
    assert len(notices) == 1 and "\n" not in notices[0] and notices[0].endswith("running on the CPU instead")
    assert ("no kernel image" if when == "first frame" else "busy or unavailable") in notices[0]


def test_falling_back_to_the_cpu_undoes_the_gpu_resolution(qtbot, window):
    """A first run on a GPU raises the processing size to 512; the CPU after a GPU failure
    must not be left at a size that costs it seconds per frame."""
    import types

    win = window("0", lambda spec, stop=None: FakeCamera())
    qtbot.waitUntil(lambda: win.box.ready.is_set(), timeout=WAIT_MS)  # "no model" in this test
    win.box.stylizer = types.SimpleNamespace(device=torch.device("cuda"))
    win._on_stylizer_ready("NVIDIA H200 fp16")
    assert win.resolution_combo.currentData() == 512 and win.inference.controls.resolution == 512
    win.box.stylizer = types.SimpleNamespace(device=torch.device("cpu"))
    win._on_stylizer_ready("CPU fp32")
    assert win.resolution_combo.currentData() == 256 and win.inference.controls.resolution == 256
    win.box.stylizer = None


def test_the_cpu_fallback_exists_only_where_a_gpu_was_meant(monkeypatch):
    """Under ``auto`` on a machine without CUDA a model failure is not a GPU failure: no "GPU
    unavailable" notice, no second CPU attempt."""
    from app.inference_worker import cpu_fallback

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cpu_fallback("cpu") is None and cpu_fallback("auto") is None and callable(cpu_fallback("cuda"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert callable(cpu_fallback("auto")) and cpu_fallback("cpu") is None
