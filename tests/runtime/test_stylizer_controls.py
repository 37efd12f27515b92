"""The Stylizer's runtime controls, asserted on the pictures they make (trained decoder, real
VGG): α gives three different pictures, colour preservation is two-sided (content colours *and*
the style's luminance texture), the attribute defaults and the weight/plan rules."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import ROOT, smooth_image, stripes_image, noise_image
from engine.runtime.stylizer import Stylizer

DECODER = ROOT / "models" / "decoder.safetensors"
pytestmark = pytest.mark.skipif(not DECODER.is_file(), reason="models/decoder.safetensors missing")


@pytest.fixture(scope="module")
def trained():
    st = Stylizer(device="cpu", style_side=64)
    st.set_styles([stripes_image(72, 72)])
    return st


@pytest.fixture(scope="module")
def frame():
    return np.ascontiguousarray(smooth_image(48, 64, 1)[:, :, ::-1])  # BGR


def luma(bgr: np.ndarray) -> np.ndarray:
    b, g, r = (bgr[..., k].astype(np.float64) for k in range(3))
    return 0.299 * r + 0.587 * g + 0.114 * b


def chroma_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance of the colour left after removing each pixel's luminance."""
    ca = a.astype(np.float64) - luma(a)[..., None]
    cb = b.astype(np.float64) - luma(b)[..., None]
    return float(np.abs(ca - cb).mean())


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def preserve_color_is_two_sided(out: np.ndarray, plain: np.ndarray, content: np.ndarray) -> None:
    """``out`` (colour-preserved) keeps the content's colours but the plain output's luminance
    texture: neither the plain stylized frame nor the content frame passes."""
    assert chroma_distance(out, content) < 0.25 * chroma_distance(plain, content)
    assert corr(luma(out), luma(plain)) > 0.9  # the style's strokes are still there...
    assert corr(luma(out), luma(content)) < 0.8  # ...and the camera's own texture is not back


def test_preserve_color_keeps_content_colours_and_style_texture(trained, frame):
    plain = trained(frame, preserve_color=False)
    kept = trained(frame, preserve_color=True)
    preserve_color_is_two_sided(kept, plain, frame)
    assert mad(kept, frame) > 10  # not the camera frame passed through


def test_alpha_gives_three_different_pictures_on_a_line(trained, frame):
    outs = {a: trained(frame, alpha=a).astype(np.float64) for a in (0.0, 0.5, 1.0)}
    assert mad(outs[0.0], outs[1.0]) > 15
    assert mad(outs[0.5], outs[0.0]) > 5 and mad(outs[0.5], outs[1.0]) > 5
    # α = 0 is the network's reconstruction of the frame: the closest of the three to it
    assert mad(outs[0.0], frame) < mad(outs[0.5], frame) < mad(outs[1.0], frame)


def test_attribute_controls_are_the_defaults(trained, frame):
    try:
        trained.alpha, trained.preserve_color = 0.5, True
        via_attributes = trained(frame)
    finally:
        trained.alpha, trained.preserve_color = 1.0, False
    assert np.array_equal(via_attributes, trained(frame, alpha=0.5, preserve_color=True))
    assert mad(via_attributes, trained(frame)) > 5  # and they are not ignored


def test_set_weights_reblends_and_keeps_the_styles(trained, frame):
    a, b = stripes_image(72, 72), noise_image(60, 90, 3)
    try:
        plan = trained.set_styles([a, b], [3, 1])
        assert plan.weights.tolist() == pytest.approx([0.75, 0.25])
        mixed = trained(frame)
        trained.set_weights([0, 1])
        assert trained.plan.styles == plan.styles
        assert torch.allclose(trained.plan.blended.mean, plan.styles[1].mean)
        only_b = trained(frame)
        trained.set_styles([b])
        assert np.array_equal(only_b, trained(frame))
        assert mad(mixed, only_b) > 5
        with pytest.raises(ValueError):
            trained.set_styles([a, b], [1.0])
        with pytest.raises(ValueError):
            trained.set_styles([])
        trained.set_styles([a, b])
        assert trained.plan.weights.tolist() == pytest.approx([0.5, 0.5])  # default: equal
        with pytest.raises(ValueError):
            trained.set_weights([1, 1, 1])
    finally:
        trained.set_styles([a])


def test_fp16_on_cpu_matches_fp32(frame):
    """``half=True`` on a CPU (no GPU needed): the network runs fp16, statistics stay fp32,
    and the pictures agree with fp32 (PSNR ≥ 40 dB) for every control."""
    style = stripes_image(72, 72)
    st16 = Stylizer(device="cpu", half=True, style_side=64)
    st32 = Stylizer(device="cpu", style_side=64)
    for st in (st16, st32):
        st.set_styles([style])
    assert st16.dtype == torch.float16 and next(st16.decoder.parameters()).dtype == torch.float16
    assert st16.plan.blended.mean.dtype == torch.float32
    from engine.runtime.stylizer import stylizer_summary

    assert stylizer_summary(st16) == "CPU fp16" and stylizer_summary(st32) == "CPU fp32"
    for kw in ({}, {"alpha": 0.5}, {"preserve_color": True}):
        a, b = st16(frame, **kw), st32(frame, **kw)
        mse = np.mean((a.astype(np.float64) - b) ** 2)
        assert 10 * np.log10(255 ** 2 / max(mse, 1e-9)) >= 40, kw
        assert mad(a, frame) > 10
