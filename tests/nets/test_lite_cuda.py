"""The lite model's CUDA frame path without a GPU: the graph-ready frame function (style as input
tensors) against the torch frame path on CPU, the runner with a fake ``torch.cuda`` (one capture
per size, new styles and α as new input values only), the Stylizer's routing; the real-GPU
check runs only when a GPU is there (``-m cuda``)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import styled_net
from engine.nets.fast_cuda import CudaFrameRunner
from engine.nets.lite import blend_lite, style_tensors
from engine.nets.lite_cuda import LiteCudaFrame
from engine.nets.lite_runner import LiteRunner
from engine.runtime.stylizer import Stylizer
from engine.tools.synthetic import pattern_image
from fake_devices import FakeCuda


def frame_of(h, w, seed=0):
    return np.ascontiguousarray(pattern_image(h, w, seed=seed)[:, :, ::-1])


@pytest.fixture(scope="module", params=[0, 2], ids=["plain", "up-blocks"])
def runner(request):
    return LiteRunner(styled_net(seed=3, up_blocks=request.param), torch.device("cpu"), backend="torch")


@pytest.fixture(scope="module")
def styles(runner):
    return [runner.encode_style(pattern_image(64, 96, seed=s)) for s in (1, 2)]


def graph_frame(net: LiteCudaFrame, frame: np.ndarray, style, alpha: float) -> np.ndarray:
    out = torch.empty(frame.shape, dtype=torch.uint8)
    net.stylize_frame(torch.from_numpy(frame), *style_tensors(style, alpha), out)
    return out.numpy()


@pytest.mark.parametrize("h, w", [(72, 96), (61, 83)])
def test_style_as_inputs_equals_the_folded_frame_path(runner, styles, h, w):
    net, frame = LiteCudaFrame(runner.frame_net), frame_of(h, w)
    for style, alpha in ((styles[0], 1.0), (styles[1], 0.4), (blend_lite(styles, [0.3, 0.7]), 0.8), (styles[0], 0.0)):
        diff = np.abs(graph_frame(net, frame, style, alpha).astype(int) - runner.frame(frame, style, alpha))
        assert diff.max() <= 1 and diff.mean() < 0.01
    assert np.abs(graph_frame(net, frame, styles[0], 1.0).astype(int) - graph_frame(net, frame, styles[1], 1.0)).mean() > 0.3


def test_the_runner_captures_once_per_size_and_takes_new_styles_as_inputs(runner, styles):
    cuda = FakeCuda()
    graph_runner = CudaFrameRunner(LiteCudaFrame(runner.frame_net), device="cpu", warmup=1, cuda=cuda)
    cuda.replay_fn = graph_runner._step
    frame = frame_of(72, 96)
    for style, alpha in ((styles[0], 1.0), (styles[1], 1.0), (styles[1], 0.3)):
        got = graph_runner(frame, *style_tensors(style, alpha))
        assert np.abs(got.astype(int) - runner.frame(frame, style, alpha)).max() <= 1
    names = cuda.names()
    assert names.count("capture_begin thread_local") == 1 and names.count("replay") == 3
    graph_runner(frame_of(40, 56), *style_tensors(styles[0], 1.0))
    assert cuda.names().count("capture_begin thread_local") == 2  # a new size only


def test_the_stylizer_sends_lite_frames_on_cuda_through_the_graph_runner(monkeypatch):
    st = Stylizer(device="cpu", lite_net=styled_net(seed=4, up_blocks=2))
    st.set_styles([pattern_image(64, 96, seed=5)])
    cuda = FakeCuda()
    st._cuda_runner = CudaFrameRunner(st.lite.cuda_frame_net(), device="cpu", warmup=1, cuda=cuda)
    cuda.replay_fn = st._cuda_runner._step
    frame = frame_of(64, 80)
    got = st._cuda_frame(frame, st.plan, 1.7)  # α clamped to 1 as on the CPU
    assert np.abs(got.astype(int) - st.lite.frame(frame, st.plan.blended, 1.0)).max() <= 1
    assert "replay" in cuda.names()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_lite_on_cuda_matches_the_cpu_within_fp16():
    import warnings

    net = styled_net(seed=6, up_blocks=2)
    cpu, gpu = Stylizer(device="cpu", lite_net=net), Stylizer(device="cuda", lite_net=net)
    style = pattern_image(64, 96, seed=7)
    cpu.set_styles([style])
    gpu.set_styles([style])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a failed capture warns
        for size in ((96, 128), (72, 104), (96, 128)):
            f = frame_of(*size, seed=size[0])
            diff = np.abs(gpu(f, palette=False).astype(int) - cpu(f, palette=False))
            assert diff.mean() < 1.5 and np.percentile(diff, 99) <= 6
    assert gpu._cuda_runner.graph is not None and not gpu._cuda_runner.graph_failed
