"""The CUDA frame path without a GPU: the runner against a fake ``torch.cuda`` that records the
sequence of calls (lock around capture, thread-local capture mode, per-size failure, OOM,
stream restored, cuDNN autotuning scoped), and FastNet's device choices checked on CPU
(channels_last padding, the index-free max-pool, plain conv + ReLU on CUDA). The real-GPU
versions at the end run only when a GPU is there (``-m cuda``)."""
from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import engine.nets.fast as fast
from conftest import random_decoder_state, smooth_image
from engine.nets.fast import FastNet, amax_pool2x2, fused_candidate, pick_pool
from engine.nets.fast_cuda import CudaFrameRunner
from fake_devices import FakeCuda


class InvertNet:
    """Stands in for FastNet: ``out = 255 - frame``, recording the thread and cuDNN flag."""

    def __init__(self, cuda: FakeCuda, step_s: float = 0.0):
        self.cuda, self.step_s = cuda, step_s
        self.benchmark_seen: list[bool] = []

    def stylize_frame(self, frame, mean, std, alpha, out):
        self.cuda.log("step")
        self.benchmark_seen.append(torch.backends.cudnn.benchmark)
        time.sleep(self.step_s)
        out.copy_(255 - frame)
        return out


def make_runner(cuda: FakeCuda, **kw) -> CudaFrameRunner:
    runner = CudaFrameRunner(InvertNet(cuda, **kw), device="cpu", warmup=2, cuda=cuda)
    cuda.replay_fn = runner._step
    return runner


def frame(h=8, w=12, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def run(runner, f, graph=True):
    return runner(f, torch.zeros(512), torch.ones(512), 1.0, graph=graph)


def test_capture_holds_the_device_lock_and_is_thread_local():
    """Another thread's CUDA work (a style encode on the jobs thread) waits for the capture."""
    cuda = FakeCuda(capture_s=0.3)
    runner = make_runner(cuda)
    other = threading.Thread(target=lambda: (cuda.capturing.wait(5), runner.lock.acquire(),
                                             cuda.log("encode style"), runner.lock.release()), name="jobs")
    other.start()
    f = frame()
    assert np.array_equal(run(runner, f), 255 - f)
    other.join(5)
    names = cuda.names()
    assert "capture_begin thread_local" in names
    assert names.index("encode style") > names.index("capture_end")
    # two warm-up steps, the captured one, then the frame is a replay
    assert names.count("step") == 4 and names.index("replay") > names.index("capture_end")
    assert [t for t, c in cuda.calls if c == "encode style"] == ["jobs"]


def test_a_failed_capture_stays_eager_for_that_size_only_and_restores_the_stream():
    cuda = FakeCuda(fail={"capture_end": RuntimeError("operation not permitted when stream is capturing")})
    runner = make_runner(cuda)
    f = frame()
    with pytest.warns(RuntimeWarning, match="running eagerly"):
        out = run(runner, f)
    assert np.array_equal(out, 255 - f) and runner.graph_failed and runner.graph is None
    assert cuda.current is cuda.default  # not left on the capture stream
    run(runner, f)
    assert cuda.names().count("capture_begin thread_local") == 1  # same size: no second try
    g = frame(16, 8, 1)
    assert np.array_equal(run(runner, g), 255 - g)
    assert cuda.names().count("capture_begin thread_local") == 2 and not runner.graph_failed
    assert runner.graph is not None and cuda.names()[-4:] == ["replay", "step", "event record", "event synchronize"]


def test_out_of_memory_during_capture_is_raised():
    from app.pipeline import is_out_of_memory

    cuda = FakeCuda(fail={"capture_begin thread_local": torch.cuda.OutOfMemoryError("CUDA out of memory")})
    runner = make_runner(cuda)
    with pytest.raises(torch.cuda.OutOfMemoryError) as err:
        run(runner, frame())
    assert is_out_of_memory(err.value) and "empty_cache" in cuda.names()
    assert cuda.current is cuda.default


def test_cudnn_autotuning_is_on_only_inside_the_runner():
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = False
    try:
        cuda = FakeCuda()
        runner = make_runner(cuda)
        assert torch.backends.cudnn.benchmark is False  # building the runner changes nothing global
        run(runner, frame())
        run(runner, frame(), graph=False)
        assert runner.net.benchmark_seen and all(runner.net.benchmark_seen)
        assert torch.backends.cudnn.benchmark is False  # a snapshot on the jobs thread is not autotuned
    finally:
        torch.backends.cudnn.benchmark = before


# --- FastNet's device choices, checked on CPU --------------------------------------------------

@pytest.fixture(scope="module")
def modules():
    from engine.runtime.stylizer import Stylizer

    st = Stylizer(device="cpu", decoder_state=random_decoder_state(5), style_side=64)
    return st.encoder, st.decoder


@pytest.mark.parametrize("pad_mode", ["copy", "fix"])
def test_every_conv_input_stays_channels_last_when_pad_returns_nchw(modules, monkeypatch, pad_mode):
    """CUDA's reflection pad returns NCHW; here F.pad is made to do the same."""
    x = torch.from_numpy(smooth_image(40, 48, 3)).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        want = FastNet(*modules, pad_mode=pad_mode).decode(FastNet(*modules, pad_mode=pad_mode).encode(x))
    real_pad = F.pad
    monkeypatch.setattr(F, "pad", lambda *a, **k: real_pad(*a, **k).contiguous())
    net = FastNet(*modules, pad_mode=pad_mode)
    assert not net.pad_keeps_format
    seen, conv = [], net.conv

    def recording(x, *args):
        seen.append(x.is_contiguous(memory_format=torch.channels_last))
        return conv(x, *args)
    net.conv = recording
    with torch.inference_mode():
        got = net.decode(net.encode(x))
    assert len(seen) >= 18 and all(seen), f"{seen.count(False)} of {len(seen)} convs got NCHW inputs"
    assert torch.allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("memory_format", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize("shape", [(1, 64, 16, 24), (2, 5, 7, 9), (1, 512, 4, 6), (1, 3, 1, 1)])
def test_amax_pool_equals_max_pool2d(shape, memory_format):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))
    x = x.contiguous(memory_format=memory_format)
    got = amax_pool2x2(x)
    assert torch.equal(got, F.max_pool2d(x, 2, 2, ceil_mode=True))
    assert got.is_contiguous(memory_format=memory_format)


def test_cuda_pools_without_max_pool2d(modules, monkeypatch):
    assert pick_pool(torch.device("cuda")) is amax_pool2x2
    x = torch.from_numpy(smooth_image(32, 40, 4)).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        want = FastNet(*modules).encode(x)
        net = FastNet(*modules)
        net.pool = pick_pool(torch.device("cuda"))
        monkeypatch.setattr(F, "max_pool2d", lambda *a, **k: pytest.fail("max_pool2d computes int64 indices on CUDA"))
        assert torch.equal(net.encode(x), want)


def test_cuda_uses_plain_conv_and_relu():
    assert fused_candidate("cuda") is None  # cuDNN's fused op: slower for some real shapes
    assert fused_candidate("cuda", fused=True) is fast._cudnn_conv_relu  # only on request
    assert fused_candidate("cpu") is fast._mkldnn_conv and fused_candidate("cpu", fused=False) is None
    assert fast.pick_conv(torch.device("cuda"), torch.float16, torch.channels_last) is fast._plain_conv


# --- on a real GPU -------------------------------------------------------------------------------



@pytest.mark.parametrize("memory_format", [torch.channels_last])
@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_pads_and_pool_keep_channels_last(modules, memory_format):
    net = FastNet(*modules, device="cuda", dtype=torch.float16)
    x = torch.rand(1, 64, 24, 32, device="cuda", dtype=torch.float16).contiguous(memory_format=memory_format)
    assert net._pad1(x, "reflect").is_contiguous(memory_format=memory_format)
    assert torch.equal(net._pad1(x, "reflect"), F.pad(x, (1, 1, 1, 1), mode="reflect"))
    assert torch.equal(amax_pool2x2(x), F.max_pool2d(x, 2, 2, ceil_mode=True))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_capture_while_another_thread_encodes_styles():
    from engine.runtime.stylizer import Stylizer

    st = Stylizer(device="cuda", decoder_state=random_decoder_state(6), style_side=64)
    st.set_styles([smooth_image(64, 64, 1)])
    errors = []

    def encode():
        try:
            for k in range(20):
                st.encode_style(smooth_image(64, 64, 10 + k))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
    worker = threading.Thread(target=encode)
    worker.start()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a failed capture warns
        for size in ((96, 128), (72, 104), (96, 128)):
            st(smooth_image(*size, 2)[:, :, ::-1].copy())
    worker.join()
    assert not errors and st._cuda_runner.graph is not None and not st._cuda_runner.graph_failed
    assert torch.backends.cudnn.benchmark is False
