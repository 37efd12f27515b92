"""The painting's palette (engine.nets.palette): colour moments matched, exactly where they can be."""
from __future__ import annotations

import numpy as np
import torch

from engine.nets.palette import MAX_GAIN, blend_palettes, match_palette, match_palette_frame, \
    match_palette_regions, palette_of


def image(seed: int, tint=(1.0, 1.0, 1.0), size=(64, 80)) -> torch.Tensor:
    """A smooth colourful ``[1,3,H,W]`` image well inside [0,1] (so clamping does not bite)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, size[0] // 8, size[1] // 8, generator=g)
    x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)
    return (0.25 + 0.5 * x) * torch.tensor(tint).view(1, 3, 1, 1)


def grey_style() -> torch.Tensor:
    """A monochrome 'engraving': every pixel on the grey axis."""
    return image(7)[:, :1].repeat(1, 3, 1, 1)


def chroma(x: torch.Tensor) -> float:
    """Mean spread of a pixel's R, G, B around their mean (0 for a grey picture)."""
    return float(x.float().std(dim=1).mean())


def test_output_gets_the_palettes_mean_and_covariance():
    target = palette_of(image(2, tint=(1.0, 0.6, 0.3)))
    out = match_palette(image(1), target)
    got = palette_of(out)
    assert torch.allclose(got.mean, target.mean, atol=2e-3)
    assert torch.allclose(got.cov, target.cov, atol=2e-3)
    assert (palette_of(image(1)).mean - target.mean).abs().max() > 0.1  # it had to move


def test_a_monochrome_style_gives_a_monochrome_picture():
    content = image(3)
    out = match_palette(content, palette_of(grey_style()))
    assert chroma(content) > 0.05
    assert chroma(out) < 0.01


def test_strength_blends_with_the_identity():
    content, target = image(4), palette_of(image(5, tint=(0.3, 0.9, 0.5)))
    full = match_palette(content, target, 1.0)
    half = match_palette(content, target, 0.5)
    assert torch.equal(match_palette(content, target, 0.0), content)
    assert torch.allclose(half, (content + full) / 2, atol=1e-5)


def test_the_map_moves_colours_least_and_never_amplifies_noise_past_the_cap():
    flat = 0.5 + 0.002 * torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    out = match_palette(flat, palette_of(image(6)))
    spread = lambda x: float((x - x.mean(dim=(2, 3), keepdim=True)).pow(2).mean().sqrt())  # noqa: E731
    assert spread(out) <= MAX_GAIN * spread(flat) * 1.01
    assert spread(out) > 2 * spread(flat)  # it did stretch, up to the cap
    # the same palette as the picture's own: nothing to move
    own = image(8)
    assert torch.allclose(match_palette(own, palette_of(own)), own, atol=2e-3)


def test_blending_gives_the_mixtures_moments():
    a, b = image(10, tint=(1, 0.4, 0.4)), image(11, tint=(0.4, 0.4, 1))
    pa, pb = palette_of(a), palette_of(b)
    mixed = blend_palettes([pa, pb], torch.tensor([0.5, 0.5]))
    both = palette_of(torch.cat([a, b], dim=3))  # equal pixel counts: the 50/50 mixture
    assert torch.allclose(mixed.mean, both.mean, atol=1e-5)
    assert torch.allclose(mixed.cov, both.cov, atol=1e-5)
    only_a = blend_palettes([pa, pb], [1.0, 0.0])
    assert torch.equal(only_a.mean, pa.mean) and torch.allclose(only_a.cov, pa.cov, atol=1e-7)


def test_frame_path_equals_the_tensor_path_in_bgr_order():
    rgb = image(12)
    red = palette_of(image(13, tint=(1.0, 0.2, 0.1)))
    frame_bgr = (rgb[0].permute(1, 2, 0).numpy()[:, :, ::-1] * 255 + 0.5).astype(np.uint8)
    out = match_palette_frame(np.ascontiguousarray(frame_bgr), red)
    want = match_palette(torch.from_numpy(frame_bgr[:, :, ::-1].copy()).permute(2, 0, 1)[None].float() / 255, red)
    want_bgr = (want[0].permute(1, 2, 0).numpy()[:, :, ::-1] * 255 + 0.5).astype(np.uint8)
    assert np.abs(out.astype(int) - want_bgr.astype(int)).max() <= 1
    assert out[:, :, 2].mean() > out[:, :, 0].mean() + 60  # red lands in OpenCV's third channel
    assert match_palette_frame(frame_bgr, None) is frame_bgr


def test_each_region_gets_its_own_palette():
    content = image(14, size=(48, 96))
    masks = torch.zeros(2, 48, 96)
    masks[0, :, :48], masks[1, :, 48:] = 1, 1
    colourful = palette_of(image(15, tint=(1.0, 0.3, 0.8)))
    out = match_palette_regions(content, [palette_of(grey_style()), colourful], masks)
    assert chroma(out[..., :44]) < 0.01  # the grey style's half (away from the soft seam)
    assert chroma(out[..., 52:]) > 0.05
    assert torch.allclose(palette_of(out[..., 52:]).mean, colourful.mean, atol=0.02)
    untouched = match_palette_regions(content, [colourful], torch.zeros(1, 48, 96))
    assert torch.allclose(untouched, content)
