"""The AdaIN core with numbers: statistics, Eq. 14/15, colour, masks, encoder fidelity, sizes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import colour_distance, smooth_image
from engine.nets.adain import (adain, match_color)
from engine.media.imageio import to_tensor
from engine.runtime.stylizer import Stylizer


def test_alpha_zero_gives_back_the_content_features(stylizer, images):
    stylizer.set_styles([images["style_a"]])
    x = to_tensor(images["content"])
    out = stylizer.stylize_tensor(x, alpha=0.0)
    expected = stylizer.decoder(stylizer.encoder(x)).clamp(0, 1)
    assert torch.allclose(out, expected, atol=1e-5)
    fc = stylizer.encoder(x)
    assert (adain(fc, stylizer.plan.blended) - fc).abs().mean() > 0.05  # alpha=1 would differ


def test_alpha_interpolates_features_eq14(stylizer, images):
    plan = stylizer.set_styles([images["style_a"]])
    x = to_tensor(images["content"])
    fc = stylizer.encoder(x)
    t = 0.3 * fc + 0.7 * adain(fc, plan.blended)
    assert torch.allclose(stylizer.stylize_tensor(x, alpha=0.7, palette=False), stylizer.decoder(t).clamp(0, 1), atol=1e-5)


def test_blended_statistics_equal_literal_eq15(stylizer, images):
    styles = [images["style_a"], images["style_b"], images["content"]]
    weights = [0.5, 0.2, 0.3]
    stylizer.set_styles(styles, [5, 2, 3])  # normalised to sum 1
    x = to_tensor(images["content"])
    fast = stylizer.stylize_tensor(x, alpha=1.0, palette=False)
    fc = stylizer.encoder(x)
    literal_t = sum(w * adain(fc, stylizer.encode_style(s)) for w, s in zip(weights, styles))
    literal = stylizer.decoder(literal_t).clamp(0, 1)
    assert torch.allclose(fast, literal, atol=1e-5)
    single = stylizer.set_styles([images["style_a"]])
    assert (adain(fc, single.blended) - literal_t).abs().mean() > 0.05  # the blend matters


def test_set_weights_reblends_without_reencoding(stylizer, images):
    stylizer.set_styles([images["style_a"], images["style_b"]], [1, 1])
    calls = []
    hook = stylizer.encoder.register_forward_hook(lambda *a: calls.append(1))
    try:
        stylizer.set_weights([1, 0])
        a = stylizer.encode_style(images["style_a"])
        assert torch.allclose(stylizer.plan.blended.mean, a.mean)
        stylizer.set_styles([images["style_a"], images["style_b"]])  # cached: no encoder run
    finally:
        hook.remove()
    assert calls == []


@pytest.mark.parametrize("weights", [[0, 0], [-1, 2], [float("nan"), 1]])
def test_bad_weights_are_refused_and_plan_kept(stylizer, images, weights):
    plan = stylizer.set_styles([images["style_a"]])
    with pytest.raises(ValueError):
        stylizer.set_styles([images["style_a"], images["style_b"]], weights)
    assert stylizer.plan is plan


def test_mask_count_must_match_style_count(stylizer, images):
    with pytest.raises(ValueError, match="masks"):
        stylizer.set_styles([images["style_a"], images["style_b"]], masks=[np.ones((8, 8))])


def test_spatial_control_through_the_stylizer(stylizer, images):
    h, w = images["content"].shape[:2]
    left = np.zeros((h, w), np.float32)
    left[:, : w // 2] = 1
    stylizer.set_styles([images["style_a"], images["style_b"]], masks=[left, 1 - left])
    bgr = images["content"][:, :, ::-1].copy()
    mixed = stylizer(bgr).astype(float)
    stylizer.set_styles([images["style_a"]])
    only_a = stylizer(bgr).astype(float)
    stylizer.set_styles([images["style_b"]])
    only_b = stylizer(bgr).astype(float)
    inner = slice(8, w // 2 - 8), slice(w // 2 + 8, w - 8)
    # Each half is closer to the single-style result of its own style than to the other one.
    assert np.abs(mixed[:, inner[0]] - only_a[:, inner[0]]).mean() < np.abs(mixed[:, inner[0]] - only_b[:, inner[0]]).mean()
    assert np.abs(mixed[:, inner[1]] - only_b[:, inner[1]]).mean() < np.abs(mixed[:, inner[1]] - only_a[:, inner[1]]).mean()


def test_colour_preservation_moves_output_colour_toward_content(images):
    """With the trained default decoder, output colours move to the content's, for the live
    method (luminance transfer, Stylizer) and for the paper's (CLI), which recolours the style
    before encoding; the latter is also checked where it acts, on the style statistics."""
    from engine.runtime.stylizer import stylize_image

    st = Stylizer(device="cpu")
    content = smooth_image(64, 64, 11)
    style = np.zeros((64, 64, 3), np.uint8)
    style[..., 0] = 200  # a strongly red style
    style[::4, :, 1] = 90
    c = to_tensor(content)
    plain = to_tensor(stylize_image(st, content, [style]))
    st.set_styles([style])
    live = to_tensor(st(content[:, :, ::-1].copy(), preserve_color=True)[:, :, ::-1].copy())
    assert colour_distance(live, c) < 0.8 * colour_distance(plain, c)

    recoloured = match_color(to_tensor(style), c)
    assert colour_distance(recoloured, c) < 0.2 * colour_distance(to_tensor(style), c)
    content_stats = st.encode_style(content)
    before = st.encode_style(style)
    after = st.encode_style((recoloured[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
    assert (after.mean - content_stats.mean).norm() < (before.mean - content_stats.mean).norm()
    paper = to_tensor(stylize_image(st, content, [style], preserve_color=True))
    assert paper.shape == c.shape
    assert colour_distance(paper, c) < 0.8 * colour_distance(plain, c)


@pytest.mark.parametrize("shape", [(37, 53), (1, 1), (15, 8), (9, 200), (101, 67)])
def test_output_size_equals_input_size(stylizer, images, shape):
    stylizer.set_styles([images["style_a"]])
    frame = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    out = stylizer(frame)
    assert out.shape == frame.shape and out.dtype == np.uint8


def test_frame_must_be_uint8_hwc3(stylizer, images):
    stylizer.set_styles([images["style_a"]])
    with pytest.raises(ValueError):
        stylizer(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError):
        stylizer(np.zeros((10, 10, 3), np.float32))


def test_style_is_encoded_once(stylizer, images):
    calls = []
    hook = stylizer.encoder.register_forward_hook(lambda *a: calls.append(1))
    try:
        style = smooth_image(50, 50, 99)
        first = stylizer.encode_style(style)
        second = stylizer.encode_style(style.copy())
    finally:
        hook.remove()
    assert len(calls) == 1 and first is second


# --- encoder fidelity ------------------------------------------------------------------------

