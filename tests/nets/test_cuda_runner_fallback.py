"""CudaFrameRunner when CUDA graph capture fails: the frame is still stylized, eagerly, with the
same buffers, and capture is not retried on every frame. No GPU here: the runner's view of
``torch.cuda`` is a fake whose graph capture raises (as a capture does when another thread
uses the device), passed in as the runner's ``cuda``; tensors live on the CPU, so the numbers
are the real network's."""
from __future__ import annotations

import contextlib
import types
import warnings

import numpy as np
import pytest
import torch

from conftest import ROOT, smooth_image, stripes_image


class _Stream:
    def wait_stream(self, other) -> None:
        pass

    def synchronize(self) -> None:
        pass


class _Event:
    def record(self, stream=None) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def query(self) -> bool:
        return True


class _FailingGraph:
    """A CUDA graph whose capture fails, as it does when another thread uses the device."""

    def __init__(self, cuda):
        self.cuda = cuda

    def capture_begin(self, *args, **kw):
        self.cuda.captures += 1
        raise RuntimeError("CUDA error: operation not permitted when stream is capturing")

    def capture_end(self):
        pass

    def replay(self):
        raise AssertionError("no graph was captured")


class FakeCuda(types.SimpleNamespace):
    """The parts of ``torch.cuda`` the runner uses (passed as its ``cuda``); capture fails."""

    def __init__(self):
        super().__init__(captures=0, Event=_Event, OutOfMemoryError=torch.cuda.OutOfMemoryError)

    def Stream(self, *args, **kw):  # noqa: N802 - torch's names
        return _Stream()

    def current_stream(self, *args, **kw):
        return _Stream()

    def stream(self, s):
        return contextlib.nullcontext()

    def CUDAGraph(self, *args, **kw):  # noqa: N802
        return _FailingGraph(self)

    @contextlib.contextmanager
    def graph(self, g, *args, **kw):
        g.capture_begin()
        yield  # pragma: no cover

    def synchronize(self, *args, **kw) -> None:
        pass

    def empty_cache(self) -> None:
        pass

    def is_available(self) -> bool:
        return True


@pytest.fixture(scope="module")
def st():
    from engine.runtime.stylizer import Stylizer

    if not (ROOT / "models" / "decoder.safetensors").is_file():
        pytest.skip("models/decoder.safetensors missing")
    s = Stylizer(device="cpu", style_side=64)  # the trained decoder: frames give distinct pictures
    s.set_styles([stripes_image(72, 72)])
    return s


def test_failed_graph_capture_runs_the_frames_eagerly(monkeypatch, st):
    from engine.nets import fast_cuda

    monkeypatch.setattr(torch.backends.cudnn, "benchmark", torch.backends.cudnn.benchmark)  # restored after
    fake = FakeCuda()
    runner = fast_cuda.CudaFrameRunner(st._fast_net(), "cpu", cuda=fake)
    stats = st.plan.blended
    frames = [np.ascontiguousarray(smooth_image(40, 56, k)[:, :, ::-1]) for k in range(3)]
    alphas = (1.0, 0.5, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = [runner(f, stats.mean, stats.std, a) for f, a in zip(frames, alphas)]
    assert fake.captures == 1  # tried once for this size, not on every frame
    assert runner.graph is None
    for frame, alpha, out in zip(frames, alphas, outs):
        want = st(frame, alpha=alpha, palette=False)  # the CPU fast path: the same network, eagerly
        assert out.shape == frame.shape and out.dtype == np.uint8
        assert np.abs(out.astype(int) - want.astype(int)).max() <= 1
    assert np.abs(outs[0].astype(int) - outs[2].astype(int)).mean() > 5  # each frame is its own
    assert np.abs(outs[0].astype(int) - frames[0].astype(int)).mean() > 5  # and stylized
