"""Bench modes ``lite`` and ``lite-onnx`` (engine.tools.bench_lite): rows, counted FLOPs = the
layer table, frame-in → frame-out; no speed is asserted (speed claims come from bench runs)."""
from __future__ import annotations

import json
import sys

import pytest

from engine.nets.lite import MARGIN, LiteConfig
from engine.nets.lite_macs import layer_macs


def bench(tmp_path, modes, capsys):
    from main import main

    out = tmp_path / "bench.json"
    code = main(["bench", "--device", "cpu", "--sizes", "64x48", "--modes", *modes, "--frames", "1",
                 "--warmup", "0", "--lite", str(tmp_path / "none.safetensors"), "--json", str(out)])
    return code, capsys.readouterr(), out


def test_lite_mode_counts_the_layer_table(tmp_path, capsys):
    code, printed, out = bench(tmp_path, ["lite"], capsys)
    assert code == 0
    rows = json.loads(out.read_text())["results"]
    assert [(r["mode"], r["height"], r["width"]) for r in rows] == [("lite", 48, 64)]
    macs = sum(m for *_, m in layer_macs(LiteConfig(), 48 + 2 * MARGIN, 64 + 2 * MARGIN))  # with the margin
    # (the palette's 3×3 colour map runs in OpenCV, outside torch's count: 0.2 % of these FLOPs)
    assert rows[0]["gflop_per_frame"] == pytest.approx(2 * macs / 1e9, rel=1e-9)
    assert "lite weights: random" in printed.out and "GMAC per 640×480 picture" in printed.out


def test_lite_onnx_needs_its_packages(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    code, printed, _ = bench(tmp_path, ["lite-onnx"], capsys)
    assert code == 2 and "error: bench mode lite-onnx needs onnxruntime and onnx" in printed.err


def test_lite_onnx_frames_match_torch():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    import numpy as np
    import torch

    from conftest import smooth_image, stripes_image
    from engine.nets.lite import random_lite
    from engine.runtime.stylizer import Stylizer
    from engine.tools.bench_lite import OnnxLitePipeline

    net = random_lite(seed=1)
    with torch.no_grad():  # outputs spanning [0, 1] and a FiLM that is not the identity
        net.head.weight.mul_(10.0)
        net.head.bias.fill_(0.5)
        net.mlp[-1].bias.normal_(0, 0.3, generator=torch.Generator().manual_seed(2))
    st = Stylizer(device="cpu", lite_net=net)
    st.set_styles([stripes_image(64, 64)])
    st.alpha = 0.2
    st.match_palette = False  # the exported graph is the network; the palette map comes after it
    frame = np.ascontiguousarray(smooth_image(48, 64, 3)[..., ::-1])
    a, b = st(frame), OnnxLitePipeline(st, 1)(frame)
    assert b.dtype == np.uint8 and b.shape == frame.shape
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    assert np.abs(a.astype(int) - st(frame, alpha=1.0).astype(int)).mean() > 1  # α matters here
