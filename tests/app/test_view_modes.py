"""The video view paints what its mode says: Stylized shows the stylized frame, Original the
camera frame, Split the camera's left part and the stylized right part at the divider."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent

from conftest import smooth_image


def qimage_array(img) -> np.ndarray:
    img = img.convertToFormat(img.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return arr[:, :img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def make_result(stylized: np.ndarray, original: np.ndarray):
    from app.pipeline import Controls, Result

    now = time.monotonic()
    return Result(stylized, original, original, 1, now, now, Controls(), True)


@pytest.fixture
def view(qtbot):
    from app.view import VideoView

    v = VideoView()
    qtbot.addWidget(v)
    v.resize(400, 300)
    v.show()
    # two pictures that differ everywhere: a photo-like frame and its colour negative, 4:3
    original = np.ascontiguousarray(smooth_image(60, 80, 3)[:, :, ::-1])
    stylized = np.ascontiguousarray(255 - original)
    v.set_result(make_result(stylized, original))
    return v, stylized, original


def painted(v) -> np.ndarray:
    """What the view paints inside the frame rectangle, as RGB."""
    rect = v.image_rect().toRect()
    return qimage_array(v.grab().toImage().copy(rect))


def expected(bgr: np.ndarray, shape) -> np.ndarray:
    import cv2

    return cv2.resize(bgr[:, :, ::-1], (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR).astype(int)


def mad(a, b) -> float:
    return float(np.abs(np.asarray(a, float) - np.asarray(b, float)).mean())


def test_each_mode_paints_its_own_picture(view):
    v, stylized, original = view
    shots = {}
    for mode in ("stylized", "original", "split"):
        v.set_mode(mode)
        shots[mode] = painted(v)
    shape = shots["stylized"].shape
    assert shape[0] > 250 and abs(shape[1] / shape[0] - 4 / 3) < 0.02  # aspect kept
    assert mad(shots["stylized"], expected(stylized, shape)) < 4
    assert mad(shots["original"], expected(original, shape)) < 4
    assert mad(shots["stylized"], shots["original"]) > 40
    w = shape[1]
    left, right = np.s_[:, : int(0.45 * w)], np.s_[:, int(0.55 * w):]  # away from the divider
    split = shots["split"]
    assert mad(split[left], expected(original, shape)[left]) < 6  # original on the left
    assert mad(split[right], expected(stylized, shape)[right]) < 6  # stylized on the right
    assert mad(split[left], shots["stylized"][left]) > 40 and mad(split[right], shots["original"][right]) > 40
    with pytest.raises(ValueError):
        v.set_mode("sepia")


def test_dragging_the_divider_moves_the_split(view, qtbot):
    v, stylized, original = view
    v.set_mode("split")
    rect = v.image_rect()
    x = rect.x() + 0.25 * rect.width()
    y = rect.center().y()
    for kind in (QMouseEvent.Type.MouseButtonPress, QMouseEvent.Type.MouseButtonRelease):
        v.event(QMouseEvent(kind, QPointF(x, y), QPointF(x, y), Qt.MouseButton.LeftButton,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    assert v.split == pytest.approx(0.25, abs=0.01)
    shot = painted(v)
    w = shot.shape[1]
    exp_o, exp_s = expected(original, shot.shape), expected(stylized, shot.shape)
    assert mad(shot[:, : int(0.2 * w)], exp_o[:, : int(0.2 * w)]) < 6
    assert mad(shot[:, int(0.3 * w):], exp_s[:, int(0.3 * w):]) < 6
