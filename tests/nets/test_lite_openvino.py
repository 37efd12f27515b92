"""The lite model's OpenVINO frame path: the same frames as torch, style and α as inputs (no
rebuild), new sizes built in the background, failures fall back to torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("openvino")

from engine.nets.lite import LiteFrameNet, blend_lite, random_lite  # noqa: E402
from engine.nets.lite_runner import LiteRunner  # noqa: E402
from engine.nets.lite_openvino import OpenVinoLiteFrame  # noqa: E402
from engine.tools.synthetic import pattern_image  # noqa: E402
from conftest import styled_net  # noqa: E402


@pytest.fixture(scope="module")
def runner():
    return LiteRunner(random_lite(seed=3), torch.device("cpu"), backend="torch")


@pytest.fixture(scope="module")
def styles(runner):
    return [runner.encode_style(pattern_image(64, 96, seed=s)) for s in (1, 2)]


def frame_of(h, w, seed=0):
    return np.ascontiguousarray(pattern_image(h, w, seed=seed)[:, :, ::-1])


@pytest.fixture(scope="module")
def ov(runner):
    return OpenVinoLiteFrame(runner.frame_net)


@pytest.mark.parametrize("h, w", [(72, 96), (61, 83), (20, 30)])
def test_frames_match_the_torch_path(runner, styles, ov, h, w):
    frame = frame_of(h, w)
    assert ov.prepare(frame.shape)
    for style, alpha in ((styles[0], 1.0), (styles[1], 0.5), (blend_lite(styles, [0.3, 0.7]), 0.8), (styles[0], 0.0)):
        got, want = ov(frame, style, alpha), runner.frame(frame, style, alpha)
        assert got.shape == want.shape == frame.shape and got.dtype == np.uint8
        diff = np.abs(got.astype(int) - want)
        assert diff.max() <= 1 and diff.mean() < 0.01  # rounding only
    # the styles give different pictures, so matching each one means the style really is an input
    assert np.abs(runner.frame(frame, styles[0], 1.0).astype(int) - runner.frame(frame, styles[1], 1.0)).mean() > 0.3


def test_a_grown_network_matches_too():
    """With residual blocks in the up-path (trained, so not the identity)."""
    runner = LiteRunner(styled_net(up_blocks=2), torch.device("cpu"), backend="torch")
    style = runner.encode_style(pattern_image(64, 96, seed=1))
    frame = frame_of(61, 83)
    ov = OpenVinoLiteFrame(runner.frame_net)
    assert ov.prepare(frame.shape)
    diff = np.abs(ov(frame, style, 0.9).astype(int) - runner.frame(frame, style, 0.9))
    assert diff.max() <= 1 and diff.mean() < 0.01


def test_a_new_size_is_built_in_the_background(runner, styles):
    ov = OpenVinoLiteFrame(runner.frame_net)
    frame = frame_of(40, 56)
    assert ov(frame, styles[0], 1.0) is None  # exported now, compiling on a helper thread: use torch
    assert ov.prepare(frame.shape)  # waits for that build
    assert ov(frame, styles[0], 1.0) is not None
    assert len(ov._compiled) == 1
    ov(frame, styles[1], 0.3)  # another style and α: the same compiled graph
    assert len(ov._compiled) == 1


def test_the_runner_uses_openvino_and_falls_back_to_torch(styles, monkeypatch):
    net = random_lite(seed=3)
    auto = LiteRunner(net, torch.device("cpu"))
    plain = LiteRunner(net, torch.device("cpu"), backend="torch")
    assert auto.backend == "openvino" and plain.backend == "torch" and plain.openvino is None
    frame = frame_of(48, 64, seed=5)
    auto.prepare_frames(frame.shape)
    calls = []
    monkeypatch.setattr(auto.frame_net, "stylize_frame", lambda *a: calls.append(a))
    out = auto.frame(frame, styles[0], 1.0)
    assert not calls  # served by OpenVINO
    assert np.abs(out.astype(int) - plain.frame(frame, styles[0], 1.0)).max() <= 1
    monkeypatch.undo()
    # a size whose graph cannot be built stays on torch, with a reason
    broken = LiteRunner(net, torch.device("cpu"))
    broken.openvino._exported()
    monkeypatch.setattr(broken.openvino._model, "clone", lambda: (_ for _ in ()).throw(RuntimeError("no")))
    other = frame_of(32, 40, seed=6)
    assert not broken.openvino.prepare(other.shape)
    assert "could not build" in broken.openvino.error and broken.backend == "torch"
    assert np.array_equal(broken.frame(other, styles[0], 1.0), plain.frame(other, styles[0], 1.0))


def test_the_status_bar_names_openvino():
    from engine.runtime.stylizer import Stylizer, stylizer_summary

    assert stylizer_summary(Stylizer(device="cpu", lite_net=random_lite())) == "CPU fp32, OpenVINO"


def test_a_bad_backend_name_is_refused():
    with pytest.raises(ValueError, match="backend"):
        LiteRunner(random_lite(), torch.device("cpu"), backend="tensorrt")


def test_frame_net_without_openvino_is_plain_torch(runner):
    assert isinstance(runner.frame_net, LiteFrameNet) and runner.openvino is None
