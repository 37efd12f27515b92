"""Frame sources: generated pattern, still image, looped video file, camera-like capture with
loss and reconnect, and clear errors for bad files. Real OpenCV capture and real files."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from engine.errors import InputError
from engine.media.sources import (CameraSource, ImageSource, PatternSource, SourceLost, VideoFileSource,
                            open_source)


def write_video(path, frames: int = 12, size=(64, 48), fps: float = 20.0):
    """A small MP4 whose frame k is a flat grey of level 20*k (easy to identify after decoding)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    for k in range(frames):
        writer.write(np.full((size[1], size[0], 3), 10 + 20 * k, np.uint8))
    writer.release()
    return path


def level(frame) -> float:
    return float(frame.mean())


def test_pattern_is_a_moving_photo_like_scene():
    src = open_source("pattern:320x240")
    assert isinstance(src, PatternSource) and src.size == (320, 240)
    first, later = src.render(0), src.render(45)
    assert first.shape == (240, 320, 3) and first.dtype == np.uint8
    assert np.array_equal(src.render(7), src.render(7))  # reproducible
    moved = np.abs(first.astype(int) - later.astype(int)).max(axis=2) > 40
    assert 0.01 < moved.mean() < 0.6  # objects move; the scene stays the same scene
    assert first.std() > 30  # not a flat colour: sky, ground, objects
    colours = len(np.unique(first.reshape(-1, 3) // 32, axis=0))
    assert colours >= 12
    # slight sensor noise: neighbouring flat-sky pixels differ a little
    sky = first[5:25, 100:200].astype(int)
    assert 0.5 < np.abs(np.diff(sky, axis=1)).mean() < 8
    frames = [src.read() for _ in range(3)]
    assert all(f.shape == (240, 320, 3) for f in frames) and not np.array_equal(frames[0], frames[2])


def test_pattern_default_size_and_bad_sizes():
    assert open_source("pattern").size == (640, 480)
    for spec in ("pattern:axb", "pattern:8x8", "pattern:10000x10"):
        with pytest.raises(InputError):
            open_source(spec)


def test_image_source_repeats_the_image_in_bgr(tmp_path):
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[..., 0] = 200  # red
    Image.fromarray(rgb).save(tmp_path / "red.png")
    src = open_source(str(tmp_path / "red.png"))
    assert isinstance(src, ImageSource) and src.size == (40, 30)
    a, b = src.read(), src.read()
    assert a.shape == (30, 40, 3) and np.array_equal(a, b) and a is not b
    assert a[..., 2].mean() == 200 and a[..., 0].mean() == 0  # BGR order


def test_video_file_loops_at_its_frame_rate(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=12, fps=20.0)
    src = open_source(str(path))
    assert isinstance(src, VideoFileSource)
    assert src.size == (64, 48) and src.fps == pytest.approx(20.0)
    levels = [level(src.read()) for _ in range(30)]
    assert levels[0] == pytest.approx(10, abs=4) and levels[11] == pytest.approx(230, abs=4)
    assert levels[12] == pytest.approx(levels[0], abs=4)  # looped back to the start
    assert levels[25] == pytest.approx(levels[1], abs=4)
    src.close()
    assert src.closed


def test_video_without_loop_ends_with_source_lost(tmp_path):
    src = VideoFileSource(write_video(tmp_path / "clip.mp4", frames=5), loop=False)
    for _ in range(5):
        src.read()
    with pytest.raises(SourceLost):
        src.read()


def test_capture_device_loss_and_reconnect(tmp_path):
    """A capture target that stops delivering (a non-looping stream) raises SourceLost after
    some failed reads; reconnect() reopens it and frames come again."""
    path = write_video(tmp_path / "stream.mp4", frames=4)
    cam = CameraSource(str(path))
    assert cam.live and cam.size == (64, 48)
    got = [level(cam.read()) for _ in range(4)]
    assert got[3] > got[0] + 40
    with pytest.raises(SourceLost):
        cam.read()
    with pytest.raises(SourceLost):  # stays lost until reconnected
        cam.read()
    assert cam.reconnect()
    assert level(cam.read()) == pytest.approx(got[0], abs=4)
    cam.close()
    assert cam.closed


@pytest.mark.parametrize("spec", ["7", 7, "/dev/video97"])
def test_missing_camera_is_a_clear_error(spec):
    with pytest.raises(InputError) as err:
        open_source(spec)
    text = str(err.value)
    assert "camera" in text or "video97" in text
    assert "cannot open" in text or "no camera" in text


def test_bad_files_are_input_errors(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "junk.mp4").write_bytes(b"\x00garbage" * 300)
    (tmp_path / "junk.png").write_bytes(b"not a png at all" * 20)
    (tmp_path / "notes.txt").write_text("hello\n" * 50)
    (tmp_path / "folder").mkdir()
    cases = {
        "missing.mp4": "no such file",
        "empty.mp4": "empty",
        "junk.mp4": "not a readable video",
        "junk.png": "not an image",
        "notes.txt": "not a readable image or video",
        "folder": "directory",
    }
    for name, reason in cases.items():
        with pytest.raises(InputError) as err:
            open_source(str(tmp_path / name))
        assert reason in str(err.value) and name in str(err.value), str(err.value)


def test_file_with_unknown_suffix_is_sniffed(tmp_path):
    write_video(tmp_path / "clip.mp4", frames=3)
    (tmp_path / "clip.mp4").rename(tmp_path / "clip.bin")
    assert isinstance(open_source(str(tmp_path / "clip.bin")), VideoFileSource)
    Image.fromarray(np.full((8, 8, 3), 99, np.uint8)).save(tmp_path / "still.png")
    (tmp_path / "still.png").rename(tmp_path / "still.data")
    assert isinstance(open_source(str(tmp_path / "still.data")), ImageSource)
