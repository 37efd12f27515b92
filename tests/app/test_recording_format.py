"""A recording holds what the view shows (issue #29, item 15): the size the frame is drawn at
(never above the source's own), at the source's frame rate, frames repeated to keep time when
stylized frames come slower; the window says the size and rate. Offscreen window, real threads,
a real Stylizer (random decoder), a real generated source, real MP4 files."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest


from engine.media.sources import PatternSource
from window_kit import WAIT_MS, read_video
from window_kit import windows, small_stylizer  # noqa: F401 - fixtures

SOURCE_SIZE = (640, 480)
SAYS_FPS = 24.0  # the rate the source reports …
DELIVERS_FPS = 8.0  # … and the rate its frames really come at (a camera in low light)


def slow_source(spec):
    source = PatternSource(*SOURCE_SIZE, fps=DELIVERS_FPS)
    source.fps = SAYS_FPS
    return source


def video_facts(path) -> tuple[float, np.ndarray]:
    """The file's frame rate and its frames (BGR, stacked)."""
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return fps, read_video(path)


def test_recording_is_the_shown_size_at_the_sources_rate_in_step_with_the_clock(qtbot, windows, small_stylizer):
    win = windows(small_stylizer, source="slow", opener=slow_source)
    qtbot.waitUntil(lambda: win.sources.size == SOURCE_SIZE and win.results.latest()[1] is not None,
                    timeout=WAIT_MS)
    win.resize(800, 480)  # the view draws the 640×480 source smaller than it is
    qtbot.waitUntil(lambda: win.view.shown_size(SOURCE_SIZE)[0] < SOURCE_SIZE[0], timeout=WAIT_MS)
    shown = win.view.shown_size(SOURCE_SIZE)
    even = (shown[0] - shown[0] % 2, shown[1] - shown[1] % 2)
    _, processed = win.results.latest()
    assert processed.stylized.shape[1] < even[0] - 100  # shown larger than it is processed
    said = f"{even[0]}×{even[1]}, 24 fps"
    assert win.record_button.toolTip().endswith(said), win.record_button.toolTip()

    path = win.toggle_recording()
    started = time.monotonic()
    assert win.record_label.text().endswith(said) and any(m.endswith(f"({said})") for m in win.messages)
    qtbot.waitUntil(lambda: time.monotonic() - started > 2.0, timeout=WAIT_MS)
    win.toggle_recording()
    elapsed = time.monotonic() - started
    qtbot.waitUntil(lambda: win.last_recording is not None, timeout=WAIT_MS)
    saved, count, error = win.last_recording
    assert saved == path and error == ""

    fps, frames = video_facts(path)
    assert fps == pytest.approx(SAYS_FPS, abs=0.01)
    assert len(frames) == count and frames[0].shape == (even[1], even[0], 3)
    assert len(frames) / fps == pytest.approx(elapsed, abs=0.3)  # the file plays as long as it was recorded
    changes = sum(float(np.abs(a.astype(int) - b.astype(int)).mean()) > 0.5 for a, b in zip(frames, frames[1:]))
    assert changes + 1 <= DELIVERS_FPS * elapsed + 3  # about 8 new pictures a second …
    assert len(frames) >= 2.5 * (changes + 1)  # … each held for about 3 frames of the 24 fps file


def test_a_view_larger_than_the_source_records_the_sources_size(qtbot, windows, small_stylizer):
    win = windows(small_stylizer, source="pattern:120x90")
    qtbot.waitUntil(lambda: win.sources.size == (120, 90) and win.results.latest()[1] is not None,
                    timeout=WAIT_MS)
    assert win.view.shown_size((120, 90))[0] > 120  # drawn larger than the source …
    assert win.saving.recording_format() == ((120, 90), 30.0)  # … recorded at the source's size, its rate
    assert win.record_button.toolTip().endswith("120×90, 30 fps")
