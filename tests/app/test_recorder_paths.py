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
    assert text.endswith("(Not a directory)")  # the reason, not the whole OSError
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
    assert rec.write(np.full((32, 48, 3), 160, np.uint8), 60.15) == 1  # the clock went on from the cap
    assert rec.frames_written == 23 and rec.size == (48, 32)
    assert rec.finish() == tmp_path / "clip.mp4"
    assert not rec.active and rec.finish() is None  # finished once, and a second call is harmless
    frames = frames_of(tmp_path / "clip.mp4")
    assert len(frames) == 23
    seen = [float(f.mean()) for f in frames]
    assert seen[0] == pytest.approx(40, abs=6) and seen[1] == pytest.approx(200, abs=6)
    assert all(v == pytest.approx(120, abs=6) for v in seen[2:22]) and seen[22] == pytest.approx(160, abs=6)


def test_frames_without_a_time_use_the_clock(tmp_path):
    rec = Recorder(tmp_path / "clip.mp4", fps=10)
    assert rec.write(np.zeros((32, 48, 3), np.uint8)) == 1
    assert rec.write(np.zeros((32, 48, 3), np.uint8)) == 0  # a moment later: not due yet
    rec.abort()


def test_frames_of_another_size_are_resized_to_the_first(tmp_path):
    rec = Recorder(tmp_path / "clip.mp4", fps=5)
    left_dark = np.zeros((41, 65, 3), np.uint8)
    left_dark[:, 30:] = 250
    assert rec.write(left_dark, 0.0) == 1
    assert rec.size == (64, 40)  # made even
    top_dark = np.zeros((90, 30, 3), np.uint8)
    top_dark[45:] = 250
    assert rec.write(top_dark, 0.2) == 1
    rec.finish()
    first, second = frames_of(tmp_path / "clip.mp4")
    assert first.shape == second.shape == (40, 64, 3)
    assert first[:, :25].mean() < 40 and first[:, 35:].mean() > 210
    assert second[:17].mean() < 40 and second[23:].mean() > 210  # its own picture, scaled


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


def test_nested_folders_are_created_and_tiny_frames_made_codec_sized(tmp_path):
    rec = Recorder(tmp_path / "a" / "b" / "clip.mp4", fps=5)
    rec.write(np.zeros((33, 47, 3), np.uint8), 0.0)
    assert rec.finish() == tmp_path / "a" / "b" / "clip.mp4" and len(frames_of(rec.path)) == 1
    tiny = Recorder(tmp_path / "tiny.mp4", fps=5)
    try:
        tiny.write(np.zeros((1, 1, 3), np.uint8), 0.0)
    except InputError:
        pass  # a codec may refuse 2x2; the size asked for is what matters here
    assert tiny.size == (2, 2)
    tiny.abort()


def test_a_writer_that_cannot_open_is_one_input_error(tmp_path):
    rec = Recorder(tmp_path / "clip.mp4", fps=5)
    rec.tmp_path.mkdir()  # something in the way of the temporary file
    with pytest.raises(InputError) as err:
        rec.write(np.zeros((32, 48, 3), np.uint8), 0.0)
    assert str(err.value) == f"{tmp_path / 'clip.mp4'}: cannot open a video writer here (folder not writable?)"
    assert not rec.active and not (tmp_path / "clip.mp4").exists()


def test_a_name_without_suffix_records_mp4(tmp_path):
    rec = Recorder(tmp_path / "clip", fps=5)
    assert rec.tmp_path.name == ".clip.recording.mp4"
    rec.write(np.full((32, 48, 3), 77, np.uint8), 0.0)
    assert rec.finish() == tmp_path / "clip"
    frames = frames_of(tmp_path / "clip")
    assert len(frames) == 1 and float(frames[0].mean()) == pytest.approx(77, abs=6)


def test_smaller_frames_are_area_averaged_not_aliased(tmp_path):
    rec = Recorder(tmp_path / "clip.mp4", fps=5)
    rec.write(np.full((16, 20, 3), 128, np.uint8), 0.0)
    stripes = np.zeros((48, 60, 3), np.uint8)
    stripes[:, ::3] = 255  # one bright column in three: an area average is a flat 85
    rec.write(stripes, 0.2)
    rec.finish()
    second = frames_of(tmp_path / "clip.mp4")[1].astype(np.float64)
    assert second.mean() == pytest.approx(85, abs=8) and second.std() < 12


def test_a_given_size_is_the_files_size_whatever_the_frames_size(tmp_path):
    rec = Recorder(tmp_path / "clip.mp4", fps=10, size=(101, 75))  # made even: 100×74
    rec.write(np.full((32, 48, 3), 200, np.uint8), 0.0)  # smaller frames are scaled up …
    rec.write(np.full((300, 400, 3), 60, np.uint8), 0.1)  # … larger ones down
    assert rec.size == (100, 74) and rec.finish() == tmp_path / "clip.mp4"
    frames = frames_of(tmp_path / "clip.mp4")
    assert [f.shape for f in frames] == [(74, 100, 3)] * 2
    assert [float(f.mean()) for f in frames] == [pytest.approx(200, abs=6), pytest.approx(60, abs=6)]
