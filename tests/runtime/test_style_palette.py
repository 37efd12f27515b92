"""The Stylizer and the style cache with the painting's palette (engine.nets.palette)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.nets.palette import Palette


def image(seed: int, size=(64, 80)) -> torch.Tensor:
    """A smooth colourful ``[1,3,H,W]`` image in [0.25, 0.75]."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, size[0] // 8, size[1] // 8, generator=g)
    return 0.25 + 0.5 * torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)


def grey_style() -> torch.Tensor:
    return image(7)[:, :1].repeat(1, 3, 1, 1)


def test_stylizer_applies_the_style_palette_and_can_leave_it(stylizer):
    grey = (grey_style()[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    frame = (image(16, size=(72, 96))[0].permute(1, 2, 0).numpy()[:, :, ::-1] * 255).astype(np.uint8)
    frame = np.ascontiguousarray(frame)
    stylizer.set_styles([grey])
    assert stylizer.plan.blended.palette is not None
    on = stylizer(frame)
    off = stylizer(frame, palette=False)
    spread = lambda x: float(x.astype(float).std(axis=2).mean())  # noqa: E731
    assert spread(on) < 2.0 < spread(off)
    weak = stylizer(frame, alpha=0.3)
    assert spread(on) < spread(weak)  # strength follows α
    assert spread(stylizer(frame, preserve_color=True)) > 2.0  # colour preservation wins


@pytest.mark.parametrize("bad", [torch.full((3,), float("nan"))])
def test_cache_entry_with_a_broken_palette_is_a_miss(tmp_path, bad, stylizer):
    from engine.runtime.style_cache import StyleCache
    from engine.nets.adain import StyleStats

    path = tmp_path / "s.png"
    path.write_bytes(b"not really an image, only hashed")
    cache = StyleCache("enc", 64, tmp_path / "cache")
    good = StyleStats(torch.rand(512) + 0.1, torch.rand(512) + 0.1, Palette(torch.rand(3), torch.eye(3) * 0.01))
    cache.put(path, good)
    back = cache.get(path)
    assert back is not None and torch.equal(back.palette.mean, good.palette.mean)
    cache.put(path, StyleStats(good.mean, good.std, Palette(bad, torch.eye(3))))
    assert cache.get(path) is None
    cache.put(path, StyleStats(good.mean, good.std))  # an entry from before palettes
    assert cache.get(path) is None
