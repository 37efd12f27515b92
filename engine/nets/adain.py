"""AdaIN and the paper's runtime controls, on relu4_1 features.

All statistics are computed in fp32, whatever dtype the network runs in.

- ``AdaIN(x, y) = σ(y)·(x − μ(x))/σ(x) + μ(y)`` with per-channel spatial mean/std (Eq. 8).
- Content–style trade-off (Eq. 14): ``t = (1−α)·f(c) + α·AdaIN(f(c), f(s))``.
- K-style interpolation (Eq. 15): ``Σ w_k AdaIN(f(c), f(s_k))``. AdaIN is affine in the style
  statistics, so with Σw=1 this equals AdaIN with blended statistics ``(Σ w_k μ_k, Σ w_k σ_k)``:
  one AdaIN per frame whatever K is.
- Spatial control: K masks, each region gets AdaIN with its own style, using the content
  statistics of that region only.
- Colour preservation: see :func:`match_color` (the paper's, for images) and
  :func:`luminance_transfer` (cache-friendly, for live video).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.nets.palette import Palette, blend_palettes

EPS = 1e-5


@dataclass(frozen=True)
class StyleStats:
    """Cached per-channel statistics of one style at relu4_1: ``mean``, ``std`` are ``[512]`` fp32;
    ``palette``: the style image's colour moments (:mod:`engine.nets.palette`), when known."""

    mean: torch.Tensor
    std: torch.Tensor
    palette: Palette | None = None

    def to(self, device) -> "StyleStats":
        return StyleStats(self.mean.to(device), self.std.to(device),
                          None if self.palette is None else self.palette.to(device))


def mean_std(feat: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """``[N,C,H,W]`` → (mean, std), each ``[N,C]`` fp32. Std uses the biased variance + eps."""
    x = feat.float().flatten(2)
    var = x.var(dim=2, unbiased=False)
    return x.mean(dim=2), (var + eps).sqrt()


def style_stats(feat: torch.Tensor) -> StyleStats:
    """Statistics of one style's relu4_1 features ``[1,C,H,W]``."""
    mean, std = mean_std(feat)
    return StyleStats(mean[0], std[0])


def blend_stats(styles: list[StyleStats], weights: list[float] | torch.Tensor) -> StyleStats:
    """Weighted mean of style statistics (weights are normalised to sum 1)."""
    w = normalise_weights(weights)
    mean = sum(wk * s.mean for wk, s in zip(w.tolist(), styles))
    std = sum(wk * s.std for wk, s in zip(w.tolist(), styles))
    return StyleStats(mean, std, blend_style_palettes(styles, w))


def blend_style_palettes(styles: list, weights: torch.Tensor) -> Palette | None:
    """The palette of a blend of styles (None unless every style has one)."""
    palettes = [s.palette for s in styles]
    return None if any(p is None for p in palettes) else blend_palettes(palettes, weights)


def normalise_weights(weights: list[float] | torch.Tensor) -> torch.Tensor:
    """Return weights scaled to sum 1. Negative, non-finite, or all-zero weights raise ValueError."""
    w = torch.as_tensor(weights, dtype=torch.float64).flatten()
    if w.numel() == 0:
        raise ValueError("no style weights given")
    if not torch.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"style weights must be finite and non-negative, got {w.tolist()}")
    total = w.sum()
    if total <= 0:
        raise ValueError(f"style weights must not sum to zero, got {w.tolist()}")
    return (w / total).float()


def adain(content: torch.Tensor, style: StyleStats) -> torch.Tensor:
    """AdaIN of content features ``[N,C,H,W]`` to the style statistics; output in content's dtype."""
    c_mean, c_std = mean_std(content)
    scale = style.std.unsqueeze(0) / c_std  # [N,C] fp32
    shift = style.mean.unsqueeze(0) - c_mean * scale
    return _affine(content, scale, shift)


def _affine(x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    return (x.float() * scale[..., None, None] + shift[..., None, None]).to(x.dtype)


def mix_alpha(content: torch.Tensor, target: torch.Tensor, alpha: float) -> torch.Tensor:
    """Eq. 14: ``(1−α)·content + α·target``."""
    if alpha >= 1.0:
        return target
    if alpha <= 0.0:
        return content
    return torch.lerp(content, target, alpha)


def masked_adain(content: torch.Tensor, styles: list[StyleStats], masks: torch.Tensor) -> torch.Tensor:
    """Spatial control: region k of ``content`` ``[1,C,H,W]`` takes style k.

    ``masks``: ``[K,h,w]`` in [0,1] at any resolution (resized here to the feature size).
    Content statistics are computed per region (mask-weighted). Where the masks sum to less
    than 1, the rest keeps the content features.
    """
    if masks.shape[0] != len(styles):
        raise ValueError(f"{masks.shape[0]} masks for {len(styles)} styles")
    h, w = content.shape[-2:]
    m = F.interpolate(masks[None].float().to(content.device), size=(h, w), mode="bilinear",
                      align_corners=False)[0].clamp(0, 1)  # [K,h,w]
    total = m.sum(0, keepdim=True)
    m = torch.where(total > 1, m / total.clamp_min(1e-8), m)
    x = content.float()
    out = x * (1 - m.sum(0)).clamp_min(0)
    for mk, style in zip(m, styles):
        weight = mk.sum()
        if weight < 1e-6:
            continue
        mean = (x * mk).sum(dim=(2, 3)) / weight  # [1,C]
        var = ((x - mean[..., None, None]) ** 2 * mk).sum(dim=(2, 3)) / weight
        std = (var + EPS).sqrt()
        scale = style.std.unsqueeze(0) / std
        shift = style.mean.unsqueeze(0) - mean * scale
        out = out + mk * (x * scale[..., None, None] + shift[..., None, None])
    return out.to(content.dtype)


# --- colour preservation ----------------------------------------------------------------------

def match_color(source: torch.Tensor, target: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """The paper's colour preservation: give ``source`` the colour mean and covariance of ``target``.

    ``source`` (the style image) ``[1,3,H,W]``, ``target`` (the content) ``[1,3,H',W']``, RGB in
    [0,1]. A linear map ``x ↦ A(x−μ_s)+μ_t`` with ``A = Σ_t^{1/2} Σ_s^{-1/2}`` (symmetric
    square roots). Returns ``[1,3,H,W]`` clamped to [0,1]. Needs re-encoding the style for each
    new content, so live video uses :func:`luminance_transfer` instead.
    """
    s = source[0].float().flatten(1)  # [3,P]
    t = target[0].float().flatten(1)
    mu_s, mu_t = s.mean(1, keepdim=True), t.mean(1, keepdim=True)
    eye = torch.eye(3, device=s.device)
    cov_s = torch.cov(s) + eps * eye
    cov_t = torch.cov(t) + eps * eye
    a = _sqrtm(cov_t) @ _inv_sqrtm(cov_s)
    out = a @ (s - mu_s) + mu_t
    return out.view_as(source[0]).unsqueeze(0).clamp(0, 1).to(source.dtype)


def _sqrtm(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T


def _inv_sqrtm(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return vecs @ torch.diag(vals.clamp_min(1e-8).rsqrt()) @ vecs.T


# ITU-R BT.601 YIQ: Y is luminance, I/Q carry the colour.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114],
                            [0.595716, -0.274453, -0.321263],
                            [0.211456, -0.522591, 0.311135]])


def luminance_transfer(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Keep the stylized luminance, take the content's colour (I/Q channels): ``[N,3,H,W]`` RGB.

    Cache-friendly colour preservation (Gatys et al. 2017, "luminance-only transfer"): the
    style's statistics stay cached, only this cheap per-pixel step is added per frame. The
    stylized luminance is first matched to the content's luminance mean/std.
    """
    to_yiq = _RGB_TO_YIQ.to(stylized.device)
    s = torch.einsum("ij,njhw->nihw", to_yiq, stylized.float())
    c = torch.einsum("ij,njhw->nihw", to_yiq, content.float())
    s_mean, s_std = s[:, :1].mean((2, 3), keepdim=True), s[:, :1].std((2, 3), keepdim=True)
    c_mean, c_std = c[:, :1].mean((2, 3), keepdim=True), c[:, :1].std((2, 3), keepdim=True)
    y = (s[:, :1] - s_mean) / (s_std + 1e-5) * c_std + c_mean
    yiq = torch.cat([y, c[:, 1:]], dim=1)
    out = torch.einsum("ij,njhw->nihw", torch.linalg.inv(to_yiq), yiq)
    return out.clamp(0, 1).to(stylized.dtype)
