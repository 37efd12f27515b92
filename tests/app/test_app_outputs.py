"""What the app shows and saves is the engine's picture at the current controls: the live view
at α 0 / 0.5 / 1 and with colours preserved, the snapshot, the recording. And the output paths
that go wrong: an unwritable folder, a recording stopped before its first frame or at once.
Trained decoder (so the settings give clearly different pictures), real threads and files."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, smooth_image
from window_kit import WAIT_MS, mad, read_video, wait_ready, wait_result
from window_kit import windows  # noqa: F401 - fixtures

DECODER = ROOT / "models" / "decoder.safetensors"
pytestmark = pytest.mark.skipif(not DECODER.is_file(), reason="models/decoder.safetensors missing")


@pytest.fixture(scope="module")
def trained():
    from engine.runtime.stylizer import Stylizer

    return Stylizer(device="cpu", style_side=64)


@pytest.fixture
def still(tmp_path):
    """A still-image source: every frame is the same, so results are comparable frame-exactly."""
    path = tmp_path / "still.png"
    Image.fromarray(smooth_image(90, 120, 7)).save(path)
    return path


@pytest.fixture
def one_style(tmp_path):
    folder = tmp_path / "defaults"
    folder.mkdir()
    Image.fromarray(np.ascontiguousarray(smooth_image(80, 80, 21)[::-1, :, ::-1])).save(folder / "style.png")
    return folder


def set_controls(win, alpha: int, preserve: bool, palette: bool = True) -> None:
    win.alpha_slider.setValue(alpha)
    win.preserve_check.setChecked(preserve)
    win.palette_check.setChecked(palette)


def test_live_picture_follows_alpha_and_colour_controls(qtbot, windows, trained, still, one_style):
    win = windows(trained, source=str(still), defaults=one_style)
    win.stabilize_check.setChecked(False)  # frame-exact comparisons
    wait_ready(qtbot, win, 1)
    shown = {}
    for alpha, preserve, palette in ((0, False, True), (50, False, True), (100, False, True), (100, True, True),
                                     (100, False, False)):
        set_controls(win, alpha, preserve, palette)
        r = wait_result(qtbot, win, lambda r: r.styled and r.controls.alpha == alpha / 100
                        and r.controls.preserve_color == preserve and r.controls.palette == palette)
        direct = trained(r.original, alpha=alpha / 100, preserve_color=preserve, palette=palette)
        assert np.abs(direct.astype(int) - r.stylized.astype(int)).max() <= 1, (alpha, preserve, palette)
        shown[alpha, preserve, palette] = r.stylized
    pictures = list(shown.values())
    for i in range(len(pictures)):
        for j in range(i + 1, len(pictures)):
            assert mad(pictures[i], pictures[j]) > 5, (list(shown)[i], list(shown)[j])


def test_snapshot_and_recording_hold_the_stylized_picture(qtbot, windows, trained, still, one_style, tmp_path):
    win = windows(trained, source=str(still), defaults=one_style)
    win.stabilize_check.setChecked(False)
    wait_ready(qtbot, win, 1)
    set_controls(win, 50, True)
    r = wait_result(qtbot, win, lambda r: r.styled and r.controls.alpha == 0.5 and r.controls.preserve_color)
    path = win.take_snapshot()
    qtbot.waitUntil(lambda: any(m.startswith("snapshot saved") for m in win.messages), timeout=WAIT_MS)
    shot = cv2.imread(path)
    assert shot.shape == r.source.shape == (90, 120, 3)  # full resolution
    expected = trained(r.source, alpha=0.5, preserve_color=True)
    assert mad(shot, expected) < 1.5  # the engine's picture at the current controls...
    assert mad(shot, r.source) > 10  # ...not the camera frame
    assert mad(shot, trained(r.source, alpha=1.0, preserve_color=False)) > 5

    video = win.toggle_recording()
    qtbot.waitUntil(lambda: win.inference.recording, timeout=WAIT_MS)
    done = win.inference.frames_done
    qtbot.waitUntil(lambda: win.inference.frames_done >= done + 4, timeout=WAIT_MS)
    win.toggle_recording()
    qtbot.waitUntil(lambda: win.last_recording is not None, timeout=WAIT_MS)
    frames = read_video(video)
    assert len(frames) >= 2 and frames.shape[1:] == (90, 120, 3)  # shown larger: the source's size
    stylized = cv2.resize(r.stylized, (120, 90), interpolation=cv2.INTER_LINEAR)
    original = cv2.resize(r.original, (120, 90), interpolation=cv2.INTER_LINEAR)
    for frame in frames:  # a still source: every recorded frame is the same stylized picture
        assert mad(frame, stylized) < 0.35 * mad(frame, original), (mad(frame, stylized), mad(frame, original))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([Path_name(path), Path_name(video)])


def Path_name(p) -> str:  # noqa: N802 - tiny helper
    from pathlib import Path

    return Path(p).name


def test_unwritable_output_folder_is_reported_and_the_app_goes_on(qtbot, windows, trained, one_style, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the output folder should be")  # (root ignores permissions)
    win = windows(trained, defaults=one_style, output_dir=blocked / "adain-live")
    wait_ready(qtbot, win, 1)
    wait_result(qtbot, win, lambda r: r.styled)
    win.take_snapshot()
    qtbot.waitUntil(lambda: any(m.startswith("snapshot") and "adain-live" in m and "saved" not in m
                                and "saving" not in m for m in win.messages), timeout=WAIT_MS)
    note = [m for m in win.messages if m.startswith("snapshot") and "saving" not in m][-1]
    assert "\n" not in note and "cannot" in note, note
    win.toggle_recording()
    qtbot.waitUntil(lambda: win.last_recording is not None, timeout=WAIT_MS)
    saved, frames, error = win.last_recording
    assert saved == "" and frames == 0 and "adain-live" in error and "\n" not in error, error
    assert "cannot" in error
    assert not win.record_button.isChecked() and not win.inference.recording
    assert blocked.read_text().startswith("a file")
    after = wait_result(qtbot, win, lambda r: r.styled)  # the video goes on
    assert after.frame_index > 0


def test_recording_stopped_before_its_first_frame_leaves_nothing(qtbot, windows, trained, tmp_path):
    win = windows(trained, source="7")  # no camera: no frame will ever come
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.no_source, timeout=WAIT_MS)
    win.toggle_recording()
    qtbot.waitUntil(lambda: win.inference.recording, timeout=WAIT_MS)
    win.toggle_recording()
    qtbot.waitUntil(lambda: win.last_recording is not None, timeout=WAIT_MS)
    assert win.last_recording == ("", 0, "nothing was recorded")
    assert "recording: nothing was recorded" in win.messages
    assert not win.record_button.isChecked() and win.record_label.text() == ""
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []


def test_record_pressed_twice_at_once_does_not_leave_a_recording_running(qtbot, windows, trained, one_style,
                                                                          tmp_path):
    win = windows(trained, defaults=one_style)
    wait_ready(qtbot, win, 1)
    wait_result(qtbot, win, lambda r: r.styled)
    win.toggle_recording()
    win.toggle_recording()  # before the inference thread saw the first press
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        qtbot.wait(50)
    assert not win.inference.recording
    assert not win.record_button.isChecked() and win.record_label.text() == ""
    out = tmp_path / "out"
    assert not out.exists() or all(p.stat().st_size > 0 for p in out.iterdir())
