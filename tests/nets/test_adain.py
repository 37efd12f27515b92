"""The AdaIN core with numbers: statistics, Eq. 14/15, colour, masks, encoder fidelity, sizes."""
from __future__ import annotations

import torch

from conftest import colour_distance, random_features, smooth_image
from engine.nets.adain import (StyleStats, adain, luminance_transfer, masked_adain, match_color,
                          mean_std, style_stats)
from engine.media.imageio import to_tensor


def test_adain_output_has_the_style_statistics():
    content, style = random_features(0), random_features(1, (1, 512, 7, 5), scale=3.0, shift=0.5)
    out = adain(content, style_stats(style))
    out_mean, out_std = mean_std(out)
    s_mean, s_std = mean_std(style)
    assert torch.allclose(out_mean, s_mean, atol=1e-4)
    assert torch.allclose(out_std, s_std, rtol=1e-3, atol=1e-4)
    assert not torch.allclose(out_mean, mean_std(content)[0], atol=1e-2)


def test_statistics_are_fp32_under_fp16():
    content = random_features(0).half()
    mean, std = mean_std(content)
    assert mean.dtype == std.dtype == torch.float32
    out = adain(content, style_stats(random_features(1)))
    assert out.dtype == torch.float16
    assert torch.allclose(mean_std(out)[0], mean_std(random_features(1))[0], atol=5e-3)


def test_masks_confine_each_style_to_its_region():
    content = random_features(0, (1, 512, 16, 16))
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


def test_match_color_gives_the_target_mean_and_covariance():
    src = to_tensor(smooth_image(40, 50, 5)) * 0.5 + 0.25
    tgt = to_tensor(smooth_image(30, 30, 6)) * 0.6
    out = match_color(src, tgt)
    assert colour_distance(out, tgt) < 0.1 * colour_distance(src, tgt)


def test_luminance_transfer_keeps_content_colour():
    stylized = to_tensor(smooth_image(40, 40, 7))
    content = to_tensor(smooth_image(40, 40, 8))
    out = luminance_transfer(stylized, content)
    assert colour_distance(out, content) < colour_distance(stylized, content)


