"""Loss terms for learning one style (issue #28), all on ``[N,3,h,w]`` RGB in [0, 1].

- ``pixel``: L1 to the teacher (the VGG model's painting of the same photo);
- ``content``: MSE of VGG relu4_1 of the output and of the teacher's output;
- ``perceptual``: MSE of shallow VGG features (relu1_1, relu2_1) against the teacher's;
- ``style``: the paper's mean/std distance (Eq. 12) at relu1_1…relu``style_layers``_1 against the
  painting's statistics;
- ``gram``: Gram-matrix distance at the same layers, each layer relative to the painting's Gram norm;
- ``adversarial``: a small patch discriminator (Texler et al. 2020: 2 conv layers, 12 filters)
  telling the teacher's patches from the student's (hinge loss).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.nets.adain import mean_std


def gram(feat: torch.Tensor) -> torch.Tensor:
    """``[N,C,h,w]`` → ``[N,C,C]`` Gram matrix normalised by the pixel count."""
    n, c = feat.shape[:2]
    f = feat.reshape(n, c, -1)
    return f @ f.transpose(1, 2) / f.shape[-1]


def style_targets(taps: list[torch.Tensor], weights: torch.Tensor) -> list[tuple[torch.Tensor, ...]]:
    """Per layer, (mean ``[1,C]``, std ``[1,C]``, Gram ``[1,C,C]``) of K painting taps
    (``taps[l]`` is ``[K,C,h,w]``, one painting per row, equal sizes not needed: a list per layer
    works too), blended by ``weights [K]`` (sum 1) as the VGG model blends statistics (Eq. 15)."""
    out = []
    for layer in taps:
        rows = layer if isinstance(layer, (list, tuple)) else [layer[k:k + 1] for k in range(layer.shape[0])]
        stats = [mean_std(r) for r in rows]
        grams = [gram(r) for r in rows]
        w = weights.to(rows[0].device)
        mean = sum(wk * m for wk, (m, _) in zip(w, stats))
        std = sum(wk * s for wk, (_, s) in zip(w, stats))
        out.append((mean, std, sum(wk * g for wk, g in zip(w, grams))))
    return out


def mean_std_loss(feats: list[torch.Tensor], targets) -> torch.Tensor:
    """Σ_l MSE(μ) + MSE(σ) of the output's features against the painting's (Eq. 12)."""
    loss = feats[0].new_zeros(())
    for f, (tm, ts, _) in zip(feats, targets):
        m, s = mean_std(f)
        loss = loss + F.mse_loss(m, tm.expand_as(m)) + F.mse_loss(s, ts.expand_as(s))
    return loss


def gram_loss(feats: list[torch.Tensor], targets) -> torch.Tensor:
    """Σ_l ‖G(f) − G_style‖² / ‖G_style‖² (each layer relative, so no layer dominates)."""
    loss = feats[0].new_zeros(())
    for f, (_, _, tg) in zip(feats, targets):
        g = gram(f)
        loss = loss + ((g - tg) ** 2).mean() / (tg ** 2).mean().clamp_min(1e-12)
    return loss


class PatchDiscriminator(nn.Module):
    """Two 3×3 convs (12 filters, LeakyReLU) and a 1×1 score per position: ``[N,3,h,w]`` →
    ``[N,1,h−4,w−4]`` (Texler et al. 2020's patch discriminator, receptive field 5 px per score,
    applied to the output's 32² patches by the caller)."""

    def __init__(self, width: int = 12):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, width, 3), nn.LeakyReLU(0.2), nn.Conv2d(width, width, 3, 2),
                                 nn.LeakyReLU(0.2), nn.Conv2d(width, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1)


def random_patches(x: torch.Tensor, y: torch.Tensor, size: int, count: int, gen: torch.Generator):
    """``count`` aligned ``size²`` patches of ``x`` and ``y`` ``[N,3,h,w]`` → two ``[count,3,size,size]``."""
    n, _, h, w = x.shape
    idx = torch.randint(0, n, (count,), generator=gen)
    top = torch.randint(0, h - size + 1, (count,), generator=gen)
    left = torch.randint(0, w - size + 1, (count,), generator=gen)
    take = [(int(i), int(t), int(l)) for i, t, l in zip(idx, top, left)]
    return (torch.stack([x[i, :, t:t + size, l:l + size] for i, t, l in take]),
            torch.stack([y[i, :, t:t + size, l:l + size] for i, t, l in take]))


__all__ = ["PatchDiscriminator", "gram", "gram_loss", "mean_std_loss", "random_patches", "style_targets"]
