"""The recorder's edge paths (no Qt): an output folder that cannot exist, a recording stopped
before its first frame, aborting, a long stall, and frames written as they came."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.recorder import Recorder
from engine.errors import InputError


def frames_of(path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    cap.release()
    return out


def test_unwritable_folder_is_one_input_error_and_leaves_nothing(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    rec = Recorder(blocked / "sub" / "clip.mp4", fps=10)
    with pytest.raises(InputError) as err:
        rec.write(np.zeros((32, 48, 3), np.uint8), 0.0)
    text = str(err.value)
    assert text.startswith(str(blocked / "sub")) and "cannot create the output folder" in text
    assert "\n" not in text
    assert not rec.active and rec.frames_written == 0
    rec.abort()  # harmless, and so is finishing
    assert rec.finish() is None
    assert blocked.read_text() == "a file, not a folder"


def test_stopped_before_the_first_frame_leaves_no_file(tmp_path):
    rec = Recorder(tmp_path / "out" / "clip.mp4", fps=10)
    assert not rec.active and rec.finish() is None
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_abort_removes_the_partial_file(tmp_path):
    rec = Recorder(tmp_path / "clip.mp4", fps=10)
    rec.write(np.zeros((32, 48, 3), np.uint8), 0.0)
    assert rec.active and rec.tmp_path.exists() and rec.tmp_path.name.startswith(".")
    rec.abort()
    assert not rec.active and list(tmp_path.iterdir()) == []
    assert rec.finish() is None


def test_frames_are_written_as_they_came_and_stalls_are_capped(tmp_path):
    rec = Recorder(tmp_path / "clip.mp4", fps=10)
    levels = (40, 200, 120)
    assert rec.write(np.full((32, 48, 3), levels[0], np.uint8), 5.0) == 1
    assert rec.write(np.full((32, 48, 3), levels[1], np.uint8), 5.15) == 1
    assert rec.write(np.full((32, 48, 3), levels[2], np.uint8), 60.0) == 20  # a stall: at most 2 s
    assert rec.write(np.full((32, 48, 3), 90, np.uint8), 60.05) == 0  # early: skipped
    assert rec.frames_written == 22 and rec.size == (48, 32)
    assert rec.finish() == tmp_path / "clip.mp4"
    frames = frames_of(tmp_path / "clip.mp4")
    assert len(frames) == 22
    seen = [float(f.mean()) for f in frames]
    assert seen[0] == pytest.approx(40, abs=6) and seen[1] == pytest.approx(200, abs=6)
    assert all(v == pytest.approx(120, abs=6) for v in seen[2:])


def test_fps_is_clamped():
    assert Recorder("a.mp4", fps=0.1).fps == 1.0
    assert Recorder("a.mp4", fps=500).fps == 60.0
    assert Recorder("a.mp4", fps=24).fps == 24.0


def test_a_first_frame_that_fails_to_encode_leaves_no_file(tmp_path):
    rec = Recorder(tmp_path / "clip.mp4", fps=10)
    with pytest.raises(cv2.error):
        rec.write(np.zeros((32, 48, 3), np.float64), 0.0)  # the writer opened, nothing went in
    assert rec.frames_written == 0
    assert rec.finish() is None
    assert list(tmp_path.iterdir()) == []
