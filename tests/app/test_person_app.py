"""The Style panel's Person control in the real window: modes, memory, disabled state, and the
live stream, stabilizer, snapshot and recording with a real photo of a person as the source."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings

from engine.media.imageio import save_image_rgb
from engine.runtime.person import SelfieSegmenter, person_mask
from engine.runtime.person_style import MODES
from person_photos import mean_abs, needs_model, photo, regions
from test_app import make_window, small_stylizer, style_files  # noqa: F401  (fixtures)
from window_kit import WAIT_MS, wait_ready, wait_result


def choose(win, mode: str) -> None:
    combo = win.person_control.mode_combo
    combo.setCurrentIndex(combo.findData(mode))


def test_four_modes_remembered_between_runs(qtbot, make_window, monkeypatch):
    monkeypatch.setattr("app.person_panel.unavailable_reason", lambda: None)
    win = make_window()
    wait_ready(qtbot, win, 2)
    combo = win.person_control.mode_combo
    assert [combo.itemData(i) for i in range(combo.count())] == list(MODES)
    assert win.current_controls().person_mode == "all"  # the default styles everything
    choose(win, "split")
    second = win.person_control.style_combo.findData(sorted(win.gallery.entries)[1])
    win.person_control.style_combo.setCurrentIndex(second)
    controls = win.current_controls()
    assert controls.person_mode == "split" and controls.person_key == sorted(win.gallery.entries)[1]
    assert controls.person_stats is win.gallery.entries[controls.person_key].stats
    win.close()
    again = make_window()
    wait_ready(qtbot, again, 2)
    assert again.person_control.mode == "split"
    assert again.current_controls().person_key == sorted(again.gallery.entries)[1]


def test_disabled_with_the_reason_when_segmentation_is_unavailable(qtbot, make_window, monkeypatch, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("person_mode", "keep_person")
    settings.sync()
    monkeypatch.setattr("app.person_panel.unavailable_reason", lambda: "the model is missing: pip install X")
    win = make_window()
    control = win.person_control
    assert not control.mode_combo.isEnabled()
    assert "the model is missing: pip install X" in control.mode_combo.toolTip()
    assert win.current_controls().person_mode == "all"
    wait_result(qtbot, win, lambda r: r.styled)  # everything else works
    win.close()
    assert QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat).value("person_mode") == \
        "keep_person"  # the choice made where it runs is kept


@pytest.fixture
def person_source(tmp_path):
    """A photo of a man sitting in a doorway (../shared/data) as a still-image source."""
    rgb = photo("imagen_00003.jpg", short=320)
    path = tmp_path / "man.png"
    save_image_rgb(rgb, path)
    return path, rgb


@needs_model
def test_live_keep_person_with_stabilizer_snapshot_and_recording(qtbot, make_window, person_source, tmp_path):
    path, rgb = person_source
    win = make_window(source=str(path))
    win._set_resolution(256)
    wait_ready(qtbot, win, 1)
    assert win.stabilize_check.isChecked()  # the app's default
    choose(win, "keep_person")
    result = wait_result(qtbot, win, lambda r: r.styled and r.controls.person_mode == "keep_person")
    inside, outside = regions(person_mask(SelfieSegmenter(), np.ascontiguousarray(result.original[:, :, ::-1])))
    assert mean_abs(result.stylized, result.original, inside) < 4.0
    assert mean_abs(result.stylized, result.original, outside) > 15.0

    shot = win.take_snapshot()
    qtbot.waitUntil(lambda: any(m.startswith("snapshot saved") for m in win.messages), timeout=WAIT_MS)
    full = cv2.imread(shot)[:, :, ::-1]
    assert full.shape == rgb.shape
    inside, outside = regions(person_mask(SelfieSegmenter(), rgb))
    assert mean_abs(full, rgb, inside) < 4.0
    assert mean_abs(full, rgb, outside) > 15.0

    choose(win, "keep_background")
    win.toggle_recording()
    wait_result(qtbot, win, lambda r: r.styled and r.controls.person_mode == "keep_background")
    wait_result(qtbot, win, lambda r: r.styled)
    win.toggle_recording()
    qtbot.waitUntil(lambda: win.last_recording is not None, timeout=WAIT_MS)
    video, frames, error = win.last_recording
    assert frames >= 1 and not error
    cap = cv2.VideoCapture(video)
    frame = None
    while True:  # the last frame: the first may still be in the previous mode
        ok, image = cap.read()
        if not ok:
            break
        frame = image
    cap.release()
    assert frame is not None
    shown = wait_result(qtbot, win, lambda r: True).original  # the room at the processing size …
    small = cv2.resize(shown, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)  # … as shown
    inside, outside = regions(person_mask(SelfieSegmenter(), np.ascontiguousarray(small[:, :, ::-1])))
    assert mean_abs(frame, small, outside) < 6.0  # the room as filmed, within the codec's error
    assert mean_abs(frame, small, inside) > 15.0
