"""Helpers for the app tests that check pictures and user paths (imported by test modules in
this folder): a window factory with an injected stylizer (and the ``windows`` and
``small_stylizer`` fixtures a test module imports), waits on results, drops."""
from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

RES = 64  # processing resolution (shorter side): small keeps the CPU tests fast
WAIT_MS = 60_000


class WindowFactory:
    """``make(stylizer=..., source=..., **MainWindow kwargs)``; closes every window at the end."""

    def __init__(self, qtbot, tmp_path):
        self.qtbot, self.tmp_path, self.windows = qtbot, tmp_path, []

    def __call__(self, stylizer=None, source="pattern:120x90", settings_name="settings.ini",
                 defaults=None, **kw):
        from app.main_window import MainWindow

        if defaults is None:
            defaults = self.tmp_path / "no_defaults"
            defaults.mkdir(exist_ok=True)
        settings = QSettings(str(self.tmp_path / settings_name), QSettings.Format.IniFormat)
        kw.setdefault("output_dir", self.tmp_path / "out")
        kw.setdefault("style_cache_dir", self.tmp_path / "cache")
        if stylizer is not None:
            kw["stylizer_factory"] = stylizer if callable(stylizer) and not hasattr(stylizer, "set_styles") \
                else (lambda: stylizer)
        win = MainWindow(source=source, settings=settings, default_styles_dir=defaults, **kw)
        win._set_resolution(RES)
        self.qtbot.addWidget(win)
        win.show()
        self.windows.append(win)
        return win

    def close_all(self) -> None:
        for win in self.windows:
            win.close()


@pytest.fixture
def windows(qtbot, tmp_path):
    """A :class:`WindowFactory`; every window it made is closed at the end of the test."""
    factory = WindowFactory(qtbot, tmp_path)
    yield factory
    factory.close_all()


@pytest.fixture(scope="module")
def small_stylizer():
    """A CPU VGG stylizer with a seeded random decoder and 64-px styles (fast; plumbing tests)."""
    from conftest import random_decoder_state
    from engine import Stylizer

    return Stylizer(device="cpu", decoder_state=random_decoder_state(), style_side=64)


def wait_ready(qtbot, win, count: int) -> None:
    qtbot.waitUntil(lambda: sum(e.ready for e in win.gallery.entries.values()) >= count, timeout=WAIT_MS)


def wait_result(qtbot, win, predicate, after: float | None = None):
    """The newest result satisfying ``predicate`` whose frame was captured after ``after``
    (default: now, so the result reflects controls set before the call)."""
    after = time.monotonic() if after is None else after
    found = []

    def check():
        _, r = win.results.latest()
        if r is not None and r.t_capture > after and predicate(r):
            found.append(r)
            return True
        return False
    qtbot.waitUntil(check, timeout=WAIT_MS)
    return found[-1]


def drop(win, paths) -> None:
    """Drop local file URLs on the window (the drop event goes straight to the window)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(200, 200), *args)
    QApplication.sendEvent(win, enter)
    assert enter.isAccepted()
    assert win.event(QDropEvent(QPointF(200, 200), *args))


def read_video(path) -> np.ndarray:
    """All frames of a video file (BGR uint8), stacked."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return np.stack(frames) if frames else np.zeros((0, 1, 1, 3), np.uint8)


def mad(a, b) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).mean())
