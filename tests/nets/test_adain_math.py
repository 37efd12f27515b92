"""AdaIN's controls as exact numbers on small tensors (fast; the mutation run leans on these):
statistics, weight normalisation, Eq. 14 end points, Eq. 15 blending, masked regions with
overlaps and gaps, colour preservation on both sides."""
from __future__ import annotations

import pytest
import torch

from engine.nets.adain import (EPS, StyleStats, adain, blend_stats, luminance_transfer, masked_adain,
                               match_color, mean_std, mix_alpha, normalise_weights, style_stats)


def feats(seed: int, shape=(1, 4, 6, 5), scale: float = 1.0, shift: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g) * scale + shift


def test_mean_std_is_biased_with_eps_in_fp32():
    x = torch.tensor([[[[1.0, 3.0], [5.0, 7.0]]]])  # mean 4, biased variance 5
    mean, std = mean_std(x)
    assert mean.shape == std.shape == (1, 1)
    assert mean.item() == pytest.approx(4.0)
    assert std.item() == pytest.approx((5.0 + EPS) ** 0.5, rel=1e-7)
    assert mean_std(x, eps=1.0)[1].item() == pytest.approx(6.0 ** 0.5)
    assert mean_std(x.half())[0].dtype == torch.float32
    s = style_stats(x)
    assert s.mean.shape == (1,) and s.mean.item() == pytest.approx(4.0)


def test_normalise_weights_rules():
    assert normalise_weights([1, 3]).tolist() == pytest.approx([0.25, 0.75])
    assert normalise_weights(torch.tensor([[2.0], [2.0]])).tolist() == pytest.approx([0.5, 0.5])
    assert normalise_weights([0, 5]).tolist() == pytest.approx([0.0, 1.0])  # a zero is allowed
    assert normalise_weights([1, 1]).dtype == torch.float32
    for bad, match in (([], "no style weights"), ([0, 0], "sum to zero"), ([-1, 2], "non-negative"),
                       ([float("inf"), 1], "finite"), ([float("nan")], "finite")):
        with pytest.raises(ValueError, match=match):
            normalise_weights(bad)


def test_blend_is_the_weighted_mean_of_statistics():
    a = StyleStats(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0]))
    b = StyleStats(torch.tensor([3.0, 6.0]), torch.tensor([3.0, 8.0]))
    s = blend_stats([a, b], [3, 1])
    assert s.mean.tolist() == pytest.approx([1.5, 3.0]) and s.std.tolist() == pytest.approx([1.5, 5.0])
    one = blend_stats([a, b], [0, 2])
    assert one.mean.tolist() == pytest.approx([3.0, 6.0]) and one.std.tolist() == pytest.approx([3.0, 8.0])
    moved = a.to("cpu")
    assert torch.equal(moved.mean, a.mean) and torch.equal(moved.std, a.std)


def test_adain_gives_exact_style_statistics_and_keeps_dtype():
    x = feats(0)
    style = StyleStats(torch.tensor([2.0, -1.0, 0.5, 10.0]), torch.tensor([0.5, 3.0, 1.0, 0.1]))
    out = adain(x, style)
    mean, std = mean_std(out, eps=0.0)
    assert torch.allclose(mean[0], style.mean, atol=1e-4)
    assert torch.allclose(std[0], style.std, rtol=1e-3)
    # the normalised content keeps its spatial pattern (a per-channel affine map, positive scale)
    for c in range(4):
        assert torch.corrcoef(torch.stack([out[0, c].flatten(), x[0, c].flatten()]))[0, 1] > 0.999
    assert adain(x.half(), style).dtype == torch.float16


def test_mix_alpha_end_points_and_middle():
    c, t = torch.zeros(1, 2, 3, 3), torch.full((1, 2, 3, 3), 4.0)
    assert mix_alpha(c, t, 1.0) is t and mix_alpha(c, t, 1.5) is t
    assert mix_alpha(c, t, 0.0) is c and mix_alpha(c, t, -0.1) is c
    assert torch.allclose(mix_alpha(c, t, 0.25), torch.full_like(c, 1.0))
    assert torch.allclose(mix_alpha(c, t, 0.75), torch.full_like(c, 3.0))


def test_masked_adain_regions_overlap_and_gaps():
    x = feats(1, (1, 3, 8, 8), scale=2.0)
    a = StyleStats(torch.tensor([5.0, 5.0, 5.0]), torch.tensor([0.2, 0.2, 0.2]))
    b = StyleStats(torch.tensor([-5.0, -5.0, -5.0]), torch.tensor([2.0, 2.0, 2.0]))
    m = torch.zeros(2, 8, 8)
    m[0, :, :4] = 1  # a on the left half; b on the top-right quarter; bottom right: no style
    m[1, :4, 4:] = 1
    out = masked_adain(x, [a, b], m)
    left, top_right, bottom_right = out[..., :4], out[..., :4, 4:], out[..., 4:, 4:]
    lm, ls = mean_std(left, eps=0.0)
    assert torch.allclose(lm[0], a.mean, atol=1e-4) and torch.allclose(ls[0], a.std, rtol=1e-3)
    rm, rs = mean_std(top_right, eps=0.0)
    assert torch.allclose(rm[0], b.mean, atol=1e-4) and torch.allclose(rs[0], b.std, rtol=1e-3)
    assert torch.equal(bottom_right, x[..., 4:, 4:])  # outside every mask: the content features
    both = masked_adain(x, [a, a], torch.ones(2, 8, 8))  # masks summing to 2 are normalised
    assert torch.allclose(both, adain(x, a), atol=1e-4)
    empty = masked_adain(x, [a, b], torch.stack([torch.ones(8, 8), torch.zeros(8, 8)]))
    assert torch.allclose(empty, adain(x, a), atol=1e-4)  # an empty region is skipped, not NaN
    assert masked_adain(x.half(), [a, b], m).dtype == torch.float16
    with pytest.raises(ValueError, match="2 masks for 1 styles"):
        masked_adain(x, [a], m)


def test_masks_at_another_resolution_are_resized():
    x = feats(2, (1, 3, 4, 4))
    a = StyleStats(torch.full((3,), 1.0), torch.full((3,), 0.5))
    b = StyleStats(torch.full((3,), -1.0), torch.full((3,), 0.5))
    big = torch.zeros(2, 32, 32)
    big[0, :, :16], big[1, :, 16:] = 1, 1
    out = masked_adain(x, [a, b], big)
    assert out[..., :2].mean() > 0.8 and out[..., 2:].mean() < -0.8


def colour_distance(img: torch.Tensor, ref: torch.Tensor) -> float:
    a, b = img[0].flatten(1), ref[0].flatten(1)
    return float((a.mean(1) - b.mean(1)).norm() + (torch.cov(a) - torch.cov(b)).norm())


def ramp_image(seed: int, tint) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.linspace(0, 1, 24).view(1, 1, 1, 24).expand(1, 1, 20, 24)
    noise = torch.rand(1, 1, 20, 24, generator=g) * 0.3
    return ((base * 0.6 + noise) * torch.tensor(tint).view(1, 3, 1, 1)).clamp(0, 1)


def test_match_color_moves_mean_and_covariance_only():
    src, tgt = ramp_image(1, (0.9, 0.2, 0.1)), ramp_image(2, (0.1, 0.5, 0.9))
    out = match_color(src, tgt)
    assert out.shape == src.shape and out.dtype == src.dtype
    assert colour_distance(out, tgt) < 0.1 * colour_distance(src, tgt)
    assert out.min() >= 0 and out.max() <= 1
    assert torch.corrcoef(torch.stack([out.mean(1).flatten(), src.mean(1).flatten()]))[0, 1] > 0.9


def luma(x: torch.Tensor) -> torch.Tensor:
    return 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]


def test_luminance_transfer_is_two_sided():
    """Colours (I/Q) from the content, luminance pattern from the stylized image, rescaled to the
    content's luminance mean and spread."""
    stylized = ramp_image(3, (1.0, 0.3, 0.2)).flip(-1)  # red, ramp running the other way
    content = ramp_image(4, (0.3, 0.6, 0.9)) * 0.8 + 0.1  # blue-ish
    out = luminance_transfer(stylized, content)
    assert out.shape == content.shape and out.dtype == stylized.dtype
    y_out, y_sty, y_con = luma(out), luma(stylized), luma(content)
    assert torch.corrcoef(torch.stack([y_out.flatten(), y_sty.flatten()]))[0, 1] > 0.98
    assert torch.corrcoef(torch.stack([y_out.flatten(), y_con.flatten()]))[0, 1] < 0
    assert y_out.mean().item() == pytest.approx(y_con.mean().item(), abs=0.02)
    assert y_out.std().item() == pytest.approx(y_con.std().item(), rel=0.1)
    chroma = lambda x: x - luma(x)[:, None]  # noqa: E731
    assert (chroma(out) - chroma(content)).abs().mean() < 0.1 * (chroma(stylized) - chroma(content)).abs().mean()
    assert luminance_transfer(stylized.half(), content.half()).dtype == torch.float16


def test_mask_values_outside_0_1_count_as_clamped():
    x = feats(5, (1, 3, 8, 8))
    a = StyleStats(torch.full((3,), 2.0), torch.full((3,), 0.5))
    b = StyleStats(torch.full((3,), -2.0), torch.full((3,), 1.5))
    wild = torch.zeros(2, 8, 8)
    wild[0, :, :4], wild[0, :, 4:] = 3.0, -0.5  # over 1 on the left, negative on the right
    wild[1, :, :4] = 0.5
    tame = wild.clamp(0, 1)
    assert torch.allclose(masked_adain(x, [a, b], wild), masked_adain(x, [a, b], tame), atol=1e-6)
    assert torch.equal(masked_adain(x, [a, b], wild)[..., 4:], x[..., 4:])  # the negative part: no style


def test_an_empty_region_first_does_not_hide_the_next_style():
    x = feats(6, (1, 3, 6, 6))
    a = StyleStats(torch.full((3,), 2.0), torch.full((3,), 0.5))
    b = StyleStats(torch.full((3,), -1.0), torch.full((3,), 2.0))
    masks = torch.stack([torch.zeros(6, 6), torch.ones(6, 6)])
    assert torch.allclose(masked_adain(x, [a, b], masks), adain(x, b), atol=1e-4)


def test_a_region_smaller_than_one_feature_pixel_still_gets_its_style():
    x = feats(7, (1, 3, 4, 4))
    a = StyleStats(torch.full((3,), 5.0), torch.full((3,), 1.0))
    m = torch.zeros(1, 4, 4)
    m[0, 1, 2] = 0.5  # half of one feature pixel
    out = masked_adain(x, [a], m)
    # one pixel: its own mean, so the style's mean replaces it, at half strength
    assert torch.allclose(out[0, :, 1, 2], 0.5 * x[0, :, 1, 2] + 2.5, atol=1e-4)
    outside = torch.ones(4, 4, dtype=torch.bool)
    outside[1, 2] = False
    assert torch.equal(out[0][:, outside], x[0][:, outside])


def test_masks_are_resized_to_the_features_with_pixel_centres():
    """A mask at twice the feature size: bilinear with align_corners=False samples between
    mask pixels, so a region edge inside a feature pixel gives it a half share."""
    x = feats(8, (1, 3, 4, 4))
    a = StyleStats(torch.full((3,), 3.0), torch.full((3,), 0.7))
    fine = torch.zeros(1, 8, 8)
    fine[0, :, :3] = 1  # three of eight columns
    coarse = torch.tensor([1.0, 0.5, 0.0, 0.0]).expand(4, 4)[None].clone()
    assert torch.allclose(masked_adain(x, [a], fine), masked_adain(x, [a], coarse), atol=1e-5)


def mixed_colours(seed: int, mix, offset) -> torch.Tensor:
    """A full-rank colour image: three independent noises mixed by ``mix``, plus ``offset``."""
    g = torch.Generator().manual_seed(seed)
    z = torch.rand(3, 30 * 40, generator=g) - 0.5
    return (torch.tensor(mix) @ z + torch.tensor(offset)[:, None]).view(1, 3, 30, 40)


def test_match_color_gives_the_target_covariance_exactly():
    src = mixed_colours(1, [[0.30, 0.05, 0.0], [0.1, 0.2, 0.0], [0.0, 0.1, 0.1]], [0.5, 0.4, 0.3])
    tgt = mixed_colours(2, [[0.1, 0.0, 0.1], [0.0, 0.25, 0.05], [0.1, 0.0, 0.3]], [0.45, 0.55, 0.5])
    out = match_color(src, tgt)
    assert out.min() > 0 and out.max() < 1  # nothing clamped: the map itself is checked
    cov = lambda x: torch.cov(x[0].flatten(1))  # noqa: E731
    assert torch.allclose(cov(out), cov(tgt), atol=1e-4)
    assert torch.allclose(out[0].flatten(1).mean(1), tgt[0].flatten(1).mean(1), atol=1e-5)
    assert match_color(src.half(), tgt.half()).dtype == torch.float16


def test_match_color_clamps_to_the_valid_range():
    src = torch.full((1, 3, 10, 10), 0.5)
    src[..., 0, 0], src[..., 0, 1] = 0.0, 1.0  # rare extreme pixels: far out once whitened
    src[:, 1] += torch.linspace(-0.01, 0.01, 100).view(10, 10)
    src[:, 2] += torch.linspace(0.01, -0.01, 100).view(10, 10).T
    tgt = mixed_colours(3, [[0.9, 0.0, 0.0], [0.0, 0.9, 0.0], [0.0, 0.0, 0.9]], [0.5, 0.5, 0.5])
    out = match_color(src, tgt)
    assert out.min() == 0.0 and out.max() == 1.0


def test_luminance_transfer_treats_each_image_of_a_batch_on_its_own():
    sty = torch.cat([ramp_image(5, (1.0, 0.3, 0.2)), ramp_image(6, (0.2, 0.9, 0.4)) * 0.5])
    con = torch.cat([ramp_image(7, (0.3, 0.6, 0.9)).flip(-1), ramp_image(8, (0.9, 0.9, 0.2)) * 0.3 + 0.6])
    both = luminance_transfer(sty, con)
    for k in range(2):
        assert torch.allclose(both[k:k + 1], luminance_transfer(sty[k:k + 1], con[k:k + 1]), atol=1e-5)
