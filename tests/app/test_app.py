"""The desktop app, offscreen, with real threads, real OpenCV sources and a real Stylizer (real
VGG encoder, seeded random decoder), at a small processing resolution to stay fast."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import random_decoder_state, smooth_image
from window_kit import RES, WAIT_MS, WindowFactory, drop, wait_ready, wait_result



@pytest.fixture(scope="module")
def small_stylizer():
    from engine import Stylizer

    return Stylizer(device="cpu", decoder_state=random_decoder_state(), style_side=64)


@pytest.fixture
def style_files(tmp_path):
    folder = tmp_path / "styles"
    folder.mkdir()
    paths = []
    for k, (h, w) in enumerate(((80, 80), (64, 96), (90, 70), (72, 72))):
        p = folder / f"style{k}.png"
        Image.fromarray(smooth_image(h, w, 20 + k)).save(p)
        paths.append(p)
    return paths


@pytest.fixture
def make_window(qtbot, tmp_path, small_stylizer, style_files):
    """Build a MainWindow; the default-styles folder holds the first two style files."""
    defaults = tmp_path / "defaults"
    defaults.mkdir(exist_ok=True)
    for p in style_files[:2]:
        (defaults / p.name).write_bytes(p.read_bytes())
    factory = WindowFactory(qtbot, tmp_path)

    def make(source="pattern:120x90", stylizer=small_stylizer, settings_name="settings.ini", **kw):
        return factory(stylizer, source, settings_name, defaults=kw.pop("default_styles_dir", defaults), **kw)

    yield make
    factory.close_all()


def count_frames(path) -> tuple[int, tuple[int, int] | None]:
    cap = cv2.VideoCapture(str(path))
    n, size = 0, None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        n, size = n + 1, (frame.shape[1], frame.shape[0])
    cap.release()
    return n, size


# --- frames ------------------------------------------------------------------------------------

def test_frames_reach_the_view_and_change(qtbot, make_window):
    win = make_window()
    wait_ready(qtbot, win, 2)  # first run: both default styles loaded, the first one ticked
    assert [win.gallery.is_checked(p) for p in win.gallery.paths()] == [True, False]
    first = wait_result(qtbot, win, lambda r: r.styled)
    assert first.stylized.shape == (RES, 85, 3) and first.source.shape == (90, 120, 3)
    qtbot.waitUntil(lambda: win.view.result is not None and win.view.result.frame_index > first.frame_index + 3,
                    timeout=WAIT_MS)
    r_a, shot_a = win.view.result, win.view.grab().toImage()
    qtbot.waitUntil(lambda: win.view.result.frame_index > r_a.frame_index + 20, timeout=WAIT_MS)
    r_b, shot_b = win.view.result, win.view.grab().toImage()
    rect = win.view.image_rect().toRect()
    assert rect.width() > 300 and rect.height() == pytest.approx(rect.width() * 64 / 85, abs=2)
    a, b = (qimage_array(s.copy(rect)) for s in (shot_a, shot_b))
    assert a.std() > 2  # a picture, not a blank widget
    # the scene moves, the stylized frames follow, and so do the painted pixels
    assert np.abs(r_a.original.astype(int) - r_b.original.astype(int)).mean() > 3
    assert np.abs(r_a.stylized.astype(int) - r_b.stylized.astype(int)).mean() > 0.1
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 0.1
    # what is painted is the result, scaled: compare with the stylized frame resized to the rect
    expected = cv2.resize(r_b.stylized[:, :, ::-1], (rect.width(), rect.height()), interpolation=cv2.INTER_LINEAR)
    assert np.abs(expected.astype(int) - b.astype(int)).mean() < 3
    assert win.view.frames_painted >= 5
    assert win.device_label.text() == "CPU fp32"


def qimage_array(img) -> np.ndarray:
    img = img.convertToFormat(img.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return arr[:, :img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def test_alpha_zero_and_one_give_different_pixels(qtbot, make_window, tmp_path, small_stylizer):
    still = tmp_path / "still.png"
    Image.fromarray(smooth_image(90, 120, 7)).save(still)
    win = make_window(source=str(still))
    win.stabilize_check.setChecked(False)  # frame-exact comparisons below
    wait_ready(qtbot, win, 1)
    win.alpha_slider.setValue(0)
    a0 = wait_result(qtbot, win, lambda r: r.styled and r.controls.alpha == 0.0)
    a0_again = wait_result(qtbot, win, lambda r: r.styled and r.controls.alpha == 0.0)
    win.alpha_slider.setValue(100)
    a1 = wait_result(qtbot, win, lambda r: r.styled and r.controls.alpha == 1.0)
    assert win.alpha_value.text() == "100%"
    assert np.array_equal(a0.original, a1.original)  # same content: only alpha differs
    assert np.array_equal(a0.stylized, a0_again.stylized)
    change = np.abs(a0.stylized.astype(int) - a1.stylized.astype(int)).mean()
    assert change > 0.3, change  # (a random decoder has little contrast: the change is small)
    for r, alpha in ((a0, 0.0), (a1, 1.0)):  # the view shows exactly the engine's output
        direct = small_stylizer(r.original, alpha=alpha, preserve_color=False)
        assert np.abs(direct.astype(int) - r.stylized.astype(int)).max() <= 1


# --- gallery ---------------------------------------------------------------------------------------

def test_dropping_images_adds_them_and_bad_drops_are_refused(qtbot, make_window, style_files, tmp_path):
    win = make_window()
    wait_ready(qtbot, win, 2)
    drop(win, style_files[2:4])
    assert len(win.gallery.entries) == 4
    wait_ready(qtbot, win, 4)
    added = [str(p.resolve()) for p in style_files[2:4]]
    assert all(win.gallery.entries[p].ready for p in added)
    assert win.gallery.checked_entries()[0].path == added[0]  # the first dropped style is used
    notes = tmp_path / "notes.txt"
    notes.write_text("not a painting")
    drop(win, [notes])
    assert len(win.gallery.entries) == 4
    assert "refused" in win.messages[-1] and "notes.txt" in win.messages[-1]
    assert "refused" in win.message_label.full_text()  # the status bar shows it
    fake = tmp_path / "fake.jpg"  # right suffix, wrong content: refused once decoding fails
    fake.write_bytes(b"\xff\xd8 definitely not a jpeg" * 20)
    drop(win, [fake])
    qtbot.waitUntil(lambda: any("fake.jpg" in m and "refused" in m for m in win.messages), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(win.gallery.entries) == 4, timeout=WAIT_MS)
    drop(win, [style_files[2]])  # a duplicate is not added twice
    assert len(win.gallery.entries) == 4


def test_dropping_a_folder_adds_its_images(qtbot, make_window, style_files, tmp_path):
    (tmp_path / "no_defaults").mkdir()
    win = make_window(default_styles_dir=tmp_path / "no_defaults")
    assert win.gallery.paths() == []
    drop(win, [style_files[0].parent])
    wait_ready(qtbot, win, 4)
    assert sorted(Path(p).name for p in win.gallery.paths()) == [p.name for p in style_files]


def test_blend_weights_reach_the_engine(qtbot, make_window, small_stylizer):
    win = make_window()
    wait_ready(qtbot, win, 2)
    a, b = win.gallery.paths()
    win.gallery.set_checked(b, True)
    qtbot.waitUntil(lambda: set(win.blend_panel.sliders) == {a, b}, timeout=WAIT_MS)
    win.blend_panel.sliders[a].setValue(75)
    win.blend_panel.sliders[b].setValue(25)
    assert [win.blend_panel.percent_labels[p].text() for p in (a, b)] == ["75%", "25%"]
    wait_result(qtbot, win, lambda r: r.styled and r.controls.weights == pytest.approx((0.75, 0.25)))
    plan = small_stylizer.plan
    assert plan.weights.tolist() == pytest.approx([0.75, 0.25])
    for stats, path in zip(plan.styles, (a, b)):
        assert torch.allclose(stats.mean.cpu(), win.gallery.entries[path].stats.mean)
    expected_mean = 0.75 * plan.styles[0].mean + 0.25 * plan.styles[1].mean
    assert torch.allclose(plan.blended.mean, expected_mean, atol=1e-5)
    win.gallery.remove_selected()  # nothing selected: no change
    win.gallery.list.item(1).setSelected(True)
    win._remove_selected()
    assert win.gallery.paths() == [a]
    wait_result(qtbot, win, lambda r: r.styled and r.controls.style_keys == (a,))
    assert len(small_stylizer.plan.styles) == 1


def test_adding_a_style_does_not_stall_the_video(qtbot, make_window, tmp_path):
    """Encoding a style at 256 px takes seconds on a CPU; frames keep coming meanwhile."""
    from engine import Stylizer

    big = Stylizer(device="cpu", decoder_state=random_decoder_state(), style_side=256)
    only_one = tmp_path / "one_default"
    only_one.mkdir()
    Image.fromarray(smooth_image(64, 64, 3)).save(only_one / "first.png")
    win = make_window(stylizer=big, default_styles_dir=only_one)
    wait_ready(qtbot, win, 1)
    wait_result(qtbot, win, lambda r: r.styled)
    painting = tmp_path / "painting.png"
    Image.fromarray(smooth_image(600, 800, 11)).save(painting)
    drop(win, [painting])
    wait_ready(qtbot, win, 2)
    start, end = win.jobs.encode_intervals[-1]
    during = [t for t in list(win.inference.done_times) if start < t < end]
    assert len(during) >= 2, (end - start, len(during))


# --- output ------------------------------------------------------------------------------------

def test_snapshot_is_a_full_resolution_png(qtbot, make_window, tmp_path):
    win = make_window(source="pattern:160x120")
    wait_ready(qtbot, win, 1)
    result = wait_result(qtbot, win, lambda r: r.styled)
    assert result.stylized.shape[:2] == (RES, 85)
    path = win.take_snapshot()
    qtbot.waitUntil(lambda: any(m.startswith("snapshot saved") for m in win.messages), timeout=WAIT_MS)
    img = cv2.imread(path)
    assert img is not None and img.shape == (120, 160, 3)
    assert img.std() > 3
    assert [p.name for p in (tmp_path / "out").iterdir()] == [Path(path).name]  # no temp file left


def test_recording_writes_a_playable_mp4(qtbot, make_window, tmp_path):
    win = make_window()
    wait_ready(qtbot, win, 1)
    wait_result(qtbot, win, lambda r: r.styled)
    path = win.toggle_recording()
    qtbot.waitUntil(lambda: win.inference.recording, timeout=WAIT_MS)
    done = win.inference.frames_done
    qtbot.waitUntil(lambda: win.inference.frames_done >= done + 6, timeout=WAIT_MS)
    win.toggle_recording()
    qtbot.waitUntil(lambda: win.last_recording is not None, timeout=WAIT_MS)
    saved, frames, error = win.last_recording
    assert saved == path and error == "" and frames >= 2  # frames are written in step with the clock
    assert count_frames(path) == (frames, (120, 90))  # the view shows it larger: the source's size
    assert not win.record_button.isChecked()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [Path(path).name]


def test_closing_while_recording_leaves_a_playable_file_and_no_threads(qtbot, make_window, tmp_path):
    win = make_window()
    wait_ready(qtbot, win, 1)
    wait_result(qtbot, win, lambda r: r.styled)
    path = win.toggle_recording()
    qtbot.waitUntil(lambda: win.inference.recording, timeout=WAIT_MS)
    done = win.inference.frames_done
    qtbot.waitUntil(lambda: win.inference.frames_done >= done + 4, timeout=WAIT_MS)
    capture = win.capture
    win.close()
    assert len(win.stopped_threads) == 3
    qtbot.waitUntil(lambda: capture.isFinished(), timeout=WAIT_MS)  # retired, not waited for
    assert all(t.isFinished() and not t.isRunning() for t in win.stopped_threads)
    assert capture.source.closed
    frames, size = count_frames(path)
    assert frames >= 2 and size == (120, 90)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [Path(path).name]


# --- sources and errors --------------------------------------------------------------------------

def test_no_camera_shows_a_chooser_and_the_pattern_works(qtbot, make_window):
    win = make_window(source="7")
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.no_source, timeout=WAIT_MS)
    assert "no camera" in win.no_source_label.text()
    win.no_source.pattern_button.click()
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.view, timeout=WAIT_MS)
    assert wait_result(qtbot, win, lambda r: True).source.shape == (480, 640, 3)
    assert win.source_combo.currentData() == "pattern"


def test_a_dropped_video_becomes_the_source(qtbot, make_window, tmp_path):
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 25, (96, 72))
    for k in range(10):
        writer.write(np.full((72, 96, 3), 20 * k, np.uint8))
    writer.release()
    win = make_window()
    drop(win, [clip])
    assert win.settings.value("source") == str(clip) and win.source_combo.currentText() == "clip.mp4"
    assert wait_result(qtbot, win, lambda r: True).source.shape == (72, 96, 3)
    assert len(win.gallery.entries) == 2  # not added as a style


def test_lost_camera_is_reconnected(qtbot, tmp_path):
    """A capture that stops delivering (a stream that ends) is reported and reopened."""
    from app.pipeline import LatestSlot
    from app.capture_worker import CaptureThread
    from engine.media.sources import CameraSource

    path = tmp_path / "stream.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (32, 24))
    for k in range(5):
        writer.write(np.full((24, 32, 3), 40 * k, np.uint8))
    writer.release()
    slot = LatestSlot()
    thread = CaptureThread(str(path), slot, opener=CameraSource)
    messages = []
    thread.message.connect(messages.append)
    thread.start()
    try:
        qtbot.waitUntil(lambda: thread.frames_read >= 12, timeout=WAIT_MS)  # more than the 5 it holds
        qtbot.waitUntil(lambda: any("reconnected" in m for m in messages), timeout=WAIT_MS)
    finally:
        assert thread.stop()
    assert any("camera lost" in m for m in messages)
    assert thread.source.closed and thread.isFinished()


def test_out_of_memory_lowers_the_resolution_and_video_continues(qtbot, make_window, small_stylizer):
    """No GPU here: a stylizer whose device runs out of memory above 100×100 pixels (raising
    torch's real OOM error type) stands in for a full GPU."""
    from engine import Stylizer

    class SmallMemoryStylizer(Stylizer):
        def __call__(self, frame, **kw):
            if frame.shape[0] * frame.shape[1] > 100 * 100:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
            return super().__call__(frame, **kw)

    st = SmallMemoryStylizer(device="cpu", decoder_state=random_decoder_state(), style_side=64)
    win = make_window(stylizer=st)
    win._set_resolution(0)  # native: 120x90 is "too big" for this device
    wait_ready(qtbot, win, 1)
    r = wait_result(qtbot, win, lambda r: r.styled)
    assert r.stylized.shape[:2] == (64, 85)
    assert win.resolution_combo.currentData() == min(r.stylized.shape[:2])
    assert any("out of memory" in m and "lowered to" in m for m in win.messages)


def test_settings_persist_between_runs(qtbot, make_window, style_files, small_stylizer):
    win = make_window()
    wait_ready(qtbot, win, 2)
    a, b = win.gallery.paths()
    win.gallery.set_checked(b, True)
    win.alpha_slider.setValue(40)
    win.preserve_check.setChecked(True)
    assert win.palette_check.isChecked()  # on by default
    win.palette_check.setChecked(False)
    assert win.stabilize_check.isChecked()  # on by default
    win.stabilize_check.setChecked(False)
    win.set_view_mode("split")
    drop(win, [style_files[3]])
    wait_ready(qtbot, win, 3)
    paths, checks = win.gallery.paths(), [win.gallery.is_checked(p) for p in win.gallery.paths()]
    win.close()
    again = make_window(source=None)
    assert again.alpha_slider.value() == 40 and again.preserve_check.isChecked()
    assert not again.palette_check.isChecked()
    assert not again.stabilize_check.isChecked() and again.view.mode == "split"
    assert again.gallery.paths() == paths
    assert [again.gallery.is_checked(p) for p in paths] == checks
    assert again.settings.value("source") == "pattern:120x90"
    wait_ready(qtbot, again, 3)  # statistics come from the disk cache
    r = wait_result(qtbot, again, lambda r: r.styled)
    assert r.controls.alpha == 0.4 and r.controls.preserve_color and not r.controls.stabilize
    assert not small_stylizer.stabilize  # the toggle reaches the engine
    assert not r.controls.palette and small_stylizer.match_palette is False
    again.stabilize_check.setChecked(True)
    wait_result(qtbot, again, lambda r: r.styled and r.controls.stabilize)
    assert small_stylizer.stabilize
