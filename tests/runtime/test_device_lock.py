"""The Stylizer's device lock: frames, style encoding (jobs thread, through the style cache)
and snapshots all hold it, so none of them runs on the GPU while a frame graph is captured.
On CPU the lock is a no-op; here a recording lock is put in its place."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from conftest import random_decoder_state, smooth_image


class RecordingLock:
    """A reentrant lock that records which threads took it, outermost entries only."""

    def __init__(self):
        self._lock = threading.RLock()
        self.depth = threading.local()
        self.holders: list[str] = []

    def __enter__(self):
        self._lock.acquire()
        level = getattr(self.depth, "n", 0)
        if level == 0:
            self.holders.append(threading.current_thread().name)
        self.depth.n = level + 1
        return self

    def __exit__(self, *exc):
        self.depth.n -= 1
        self._lock.release()

    def held(self) -> bool:
        """True when the calling thread holds the lock."""
        return getattr(self.depth, "n", 0) > 0


@pytest.fixture
def locked_stylizer():
    from engine.runtime.stylizer import Stylizer

    st = Stylizer(device="cpu", decoder_state=random_decoder_state(7), style_side=64)
    assert not isinstance(st.device_lock, type(threading.RLock()))  # CPU: nothing to serialize
    st.device_lock = RecordingLock()
    return st


def test_frames_styles_and_snapshots_hold_the_device_lock(locked_stylizer, tmp_path):
    from app.pipeline import Controls
    from app.job_worker import stylize_still
    from engine.runtime.style_cache import StyleCache, encode_style_file

    st = locked_stylizer
    path = tmp_path / "style.png"
    Image.fromarray(smooth_image(64, 64, 3)).save(path)

    def jobs():
        encode_style_file(st, path, StyleCache(st.encoder_id, st.style_side, tmp_path / "cache"))
    worker = threading.Thread(target=jobs, name="jobs")
    worker.start()
    worker.join()
    assert st.device_lock.holders == ["jobs"]
    st.set_styles([smooth_image(64, 64, 4)])
    frame = smooth_image(48, 64, 5)[:, :, ::-1].copy()
    st(frame)  # the fast path
    st(frame, preserve_color=True)  # the tensor path
    snap = threading.Thread(target=lambda: stylize_still(st, frame, Controls(alpha=0.5)), name="snapshot")
    snap.start()
    snap.join()
    assert st.device_lock.holders == ["jobs", "MainThread", "MainThread", "MainThread", "snapshot"]
    assert isinstance(st(frame), np.ndarray)


def test_uploads_and_downloads_around_the_network_hold_the_lock_too(locked_stylizer, tmp_path, monkeypatch):
    """The copy of a style's statistics to the host (jobs thread) and a snapshot's upload are
    device work as well: they must not run while a frame graph is captured."""
    import torch

    from app.pipeline import Controls
    from app.job_worker import stylize_still
    from engine.runtime.style_cache import StyleCache, encode_style_file

    st = locked_stylizer
    encode = st.encode_style
    copies = []

    class Watched:
        def __init__(self, stats):
            self.stats = stats

        def to(self, device):
            copies.append(st.device_lock.held())
            return self.stats.to(device)
    monkeypatch.setattr(st, "encode_style", lambda image: Watched(encode(image)))
    path = tmp_path / "style.png"
    Image.fromarray(smooth_image(64, 64, 3)).save(path)
    encode_style_file(st, path, StyleCache(st.encoder_id, st.style_side, tmp_path / "cache"))
    assert copies == [True]
    monkeypatch.undo()
    st.set_styles([smooth_image(64, 64, 4)])
    uploads, from_numpy = [], torch.from_numpy
    monkeypatch.setattr(torch, "from_numpy", lambda a: uploads.append(st.device_lock.held()) or from_numpy(a))
    stylize_still(st, smooth_image(48, 64, 5), Controls())
    assert uploads and all(uploads)
