"""Switching the source with Stabilize on starts the new source without the old one's picture
(issue #29, item 19): the stabilizer's history is dropped, so the new source's first frame is its
own per-frame stylization. Offscreen window, real threads, a real Stylizer (random decoder) with
its real stabilizer, two real image files as sources."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import smooth_image
from window_kit import RES, WAIT_MS, mad, wait_ready
from window_kit import windows, small_stylizer  # noqa: F401 - fixtures


@pytest.fixture
def two_sources(tmp_path):
    """Two pictures of one size with the same brightness everywhere and opposite colours: the
    stabilizer's optical flow (on grayscale) finds them identical, so without a reset it blends
    the old source's picture into the new one at full trust."""
    first = cv2.cvtColor(smooth_image(90, 120, 7), cv2.COLOR_RGB2BGR)
    ycc = cv2.cvtColor(first, cv2.COLOR_BGR2YCrCb).astype(int)
    ycc[..., 1:] = 256 - ycc[..., 1:]
    second = cv2.cvtColor(np.clip(ycc, 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2BGR)
    paths = tmp_path / "first.png", tmp_path / "second.png"
    for path, bgr in zip(paths, (first, second)):
        Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1])).save(path)
    return paths, first, second


@pytest.fixture
def one_style(tmp_path):
    folder = tmp_path / "defaults"
    folder.mkdir()
    Image.fromarray(smooth_image(80, 80, 21)).save(folder / "style.png")
    return folder


def test_switching_the_source_with_stabilize_on_drops_the_old_pictures_history(qtbot, windows, small_stylizer,
                                                                                two_sources, one_style):
    (first_path, second_path), first, second = two_sources
    win = windows(small_stylizer, source=str(first_path), defaults=one_style)
    win.stabilize_check.setChecked(True)
    win.preserve_check.setChecked(True)  # the output keeps each source's colours: the old one's show
    wait_ready(qtbot, win, 1)
    results = []
    put = win.results.put

    def tap(result):  # every result the inference thread publishes, in order
        results.append(result)
        return put(result)
    win.results.put = tap
    size = (round(120 * RES / 90), RES)
    small = {name: cv2.resize(img, size, interpolation=cv2.INTER_AREA) for name, img in
             (("first", first), ("second", second))}

    def of(name):
        return [r for r in list(results) if r.styled and r.controls.stabilize and r.controls.preserve_color
                and mad(r.original, small[name]) < 2]
    qtbot.waitUntil(lambda: len(of("first")) >= 6, timeout=WAIT_MS)  # the stabilizer has a history
    win.set_source(str(second_path))
    qtbot.waitUntil(lambda: len(of("second")) >= 20, timeout=WAIT_MS)
    old, new = of("first")[-1].stylized, of("second")
    settled = new[-1].stylized  # a still source: every frame is the same per-frame stylization
    assert mad(old, settled) > 40  # the two sources look clearly different …
    assert mad(new[0].stylized, settled) < 0.5  # … and the new source's first frame is its own picture
