"""The lite network (issue #19): arbitrary style transfer in ~1.3 GMAC per 640×480 picture
(1.49 with the reflected :data:`MARGIN` it runs with).

A second, small network for CPUs, distilled from the VGG model (``engine.training.lite_train``).
It keeps *arbitrary* styles: a style image is encoded once into a :class:`LiteStyle`, and every
runtime control is defined on that representation.

Per frame (content path, zero padding throughout, ``[N,3,H,W]`` RGB in [0,1], H, W multiples
of 8)::

    ½   e1 = AdaIN₁(relu(conv3×3/2(x)))                         c1 channels
    ¼   e2 = AdaIN₂(relu(pw(dw3×3/2(e1))))                      c2
    ⅛   e3 = AdaIN₃(relu(pw(dw3×3/2(e2))))                      c3
    ⅛   b  = e3;  b += FiLM(conv(relu(FiLM(conv(b)))))           × blocks (most of the compute)
    ¼   u2 = relu(pw(dw(up2(pw(b)) + g₂·e2)))                    skip from ¼ (gain g₂)
    ¼   u2 += conv(relu(conv(u2)))                                × up_blocks (LiteConfig)
    ¼   u2 = AdaIN₄(u2)                                         only with ``up_norms``
    ½   u1 = relu(pw(dw(up2(pw(u2)) + g₁·e1)))                   skip from ½ (gain g₁)
    ½   u1 += conv(relu(conv(u1)))                                × half_blocks (LiteConfig)
    ½   u1 = AdaIN₅(u1)                                         only with ``up_norms``
    1   y  = depth_to_space(conv3×3(u1) → 12 channels)           ICNR-initialised head

``AdaIN_l`` gives level ``l`` the style's per-channel mean/std *in the student's own encoder*
(the issue's finding: style that enters only as FiLM parameters is not learned), mixed with the
content by α as ``(1−α)·f + α·AdaIN(f)``. ``FiLM`` is ``y·(1+α·Δγ) + α·β`` per channel, with
(Δγ, β) predicted once per style by a small MLP from the statistics of the three levels and of a
style-only branch at 1/16 (two 3×3 convs). α = 0 makes every modulation the identity.

Per style (:meth:`LiteNet.encode_style`): the style image through the same encoder (its own
AdaIN is the identity), statistics per level, the style branch, the MLP → :class:`LiteStyle`.
Blending K styles is the weighted mean of every tensor of their :class:`LiteStyle`
(:func:`blend_lite`), so weights (1, 0) give the first style exactly. Spatial masks: per-region
AdaIN (content statistics of the region, as :func:`engine.nets.adain.masked_adain`) and FiLM
maps mixed by the masks. Colour preservation is applied to the output by the caller.

:class:`LiteFrameNet` is the uint8 BGR in → uint8 BGR out per-frame path (as
:class:`engine.nets.fast.FastNet`): ``/255`` and the BGR flip folded into the stem (exact: zero
padding commutes with scaling), FiLM folded into the block convs once per (style, α), the head
rewritten to emit ``255·BGR + 0.5`` in the output's memory order, channels_last.
:func:`engine.nets.lite_macs.layer_macs` counts multiply-accumulates per layer (the MODEL_CARD table).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .adain import EPS, StyleStats, blend_style_palettes, masked_adain, mix_alpha, normalise_weights
from .palette import Palette
from .weights import check_state_dict, load_state_dict_file, save_safetensors_atomic

STRIDE = 8
# Reflected margin around a picture at inference: the convs' zero padding answers the image edge
# with a bright/dark ring that reaches ~30 px in at 256 px; 16 px of mirrored picture keeps most of
# it outside (mean error in the outer 12 px 26.7 → 5.8 grey levels against a 64-px margin) for
# 12 % more pixels at 640×480.
MARGIN = 16
DEFAULT_LITE = Path(__file__).resolve().parents[2] / "models" / "lite.safetensors"
# trained but not adopted (models/MODEL_CARD.md: it does not paint strokes yet): an explicit
# Real-time choice runs it as a preview when DEFAULT_LITE is missing; `auto` never does
CANDIDATE_LITE = DEFAULT_LITE.with_name("lite_candidate.safetensors")


@dataclass(frozen=True)
class LiteConfig:
    """Architecture: channels at ½, ¼, ⅛; residual blocks at ⅛; style-branch width; MLP width;
    plain residual blocks in the up-path at ¼ (``up_blocks``, after the ¼ skip: capacity where
    brush strokes are drawn; 0 in the first candidates, whose files carry no such key)."""

    widths: tuple[int, int, int] = (16, 32, 64)
    blocks: int = 3
    style_width: int = 128
    hidden: int = 256
    up_blocks: int = 0
    # g₁ (½), g₂ (¼) scale the skips; any gain above 0 is undone by rescaling the next convs, so
    # only 0 removes a skip (models/MODEL_CARD.md, session 8)
    skip_gains: tuple[float, float] = (1.0, 1.0)
    # normalise-then-modulate (AdaIN levels 3 and 4) after the up-path at ¼ and at ½: a network
    # learned for one style (engine.learn) lifts faint variations (a flat sky) to stroke amplitude
    # there; their statistics are part of that style's LiteStyle (5 levels instead of 3)
    up_norms: bool = False
    # plain residual blocks at ½ after the ½ skip (before AdaIN₅): capacity at the finest level a
    # learned copy may grow (engine.learn Recipe.half_blocks); identity when grown, like up_blocks
    half_blocks: int = 0

    def levels(self) -> int:
        """AdaIN levels of this architecture: ½, ¼, ⅛ (+ ¼ and ½ in the up-path with ``up_norms``)."""
        return 5 if self.up_norms else 3

    def level_widths(self) -> tuple[int, ...]:
        c1, c2, c3 = self.widths
        return (c1, c2, c3, c2, c1)[:self.levels()]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "LiteConfig":
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**data)


# --- the style representation ----------------------------------------------------------------

@dataclass(frozen=True)
class LiteStyle:
    """Once-per-style parameters of the lite network, fp32, batch-first.

    ``means``/``stds``: per level ½, ¼, ⅛ ``[N, c_l]``; ``film_scale`` (Δγ) and ``film_shift`` (β):
    ``[N, 2·blocks, c3]``, one row per block conv.
    """

    means: tuple[torch.Tensor, ...]
    stds: tuple[torch.Tensor, ...]
    film_scale: torch.Tensor
    film_shift: torch.Tensor
    palette: Palette | None = None  # the style image's colour moments (engine.nets.palette)

    def tensors(self) -> dict[str, torch.Tensor]:
        """Flat ``{name: tensor}`` (for files and caches); inverse of :meth:`from_tensors`."""
        out = {f"mean{i}": m for i, m in enumerate(self.means)}
        out.update({f"std{i}": s for i, s in enumerate(self.stds)})
        out["film_scale"], out["film_shift"] = self.film_scale, self.film_shift
        return out

    @classmethod
    def from_tensors(cls, t: dict[str, torch.Tensor]) -> "LiteStyle":
        levels = sum(1 for k in t if k.startswith("mean"))
        return cls(tuple(t[f"mean{i}"] for i in range(levels)), tuple(t[f"std{i}"] for i in range(levels)),
                   t["film_scale"], t["film_shift"])

    def map(self, fn) -> "LiteStyle":
        """``fn`` applied to every network tensor (the palette, one per style, is carried as is)."""
        return LiteStyle(tuple(fn(m) for m in self.means), tuple(fn(s) for s in self.stds),
                         fn(self.film_scale), fn(self.film_shift), self.palette)

    def to(self, device) -> "LiteStyle":
        moved = self.map(lambda t: t.to(device))
        return moved if self.palette is None else replace(moved, palette=self.palette.to(device))

    def detach(self) -> "LiteStyle":
        return self.map(lambda t: t.detach())

    def select(self, i: int) -> "LiteStyle":
        """Sample ``i`` of the batch, keeping the batch dimension (``[1, …]``)."""
        return self.map(lambda t: t[i:i + 1])

    def level(self, i: int, sample: int = 0) -> StyleStats:
        """Level ``i``'s statistics of one sample as :class:`StyleStats` (``[c_l]`` each)."""
        return StyleStats(self.means[i][sample], self.stds[i][sample])


def blend_lite(styles: list[LiteStyle], weights) -> LiteStyle:
    """K-style interpolation on the lite representation: ``Σ w_k · tensor_k`` for every tensor
    (weights normalised to sum 1). Weights (1, 0, …) return the first style's values exactly."""
    w = normalise_weights(weights).tolist()
    if len(w) != len(styles):
        raise ValueError(f"{len(w)} weights for {len(styles)} styles")

    def mix(getter):
        return sum(wk * getter(s) for wk, s in zip(w, styles))

    n = len(styles[0].means)
    return LiteStyle(tuple(mix(lambda s, i=i: s.means[i]) for i in range(n)),
                     tuple(mix(lambda s, i=i: s.stds[i]) for i in range(n)),
                     mix(lambda s: s.film_scale), mix(lambda s: s.film_shift),
                     blend_style_palettes(styles, w))


# --- modulation: global (one style per sample) or spatial (masks) ---------------------------

def _alpha_column(alpha, n: int, device) -> torch.Tensor:
    """α as an ``[N,1]`` fp32 tensor in [0, 1] (a float, a 0-d tensor or ``[N]``)."""
    a = torch.as_tensor(alpha, dtype=torch.float32, device=device).clamp(0, 1)
    return a.reshape(-1, 1).expand(n, 1) if a.numel() == 1 else a.reshape(n, 1)


def channel_stats(feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel spatial (mean, biased variance) of ``feat [N,C,h,w]``, each ``[N,C]`` fp32.

    Two passes over a view in the tensor's own memory order (``torch.var_mean`` over (2, 3)
    measured 25 ms for a 16×240×320 map on one core here, these passes 2–5 ms)."""
    f = feat.float()
    n, c = f.shape[:2]
    if f.is_contiguous(memory_format=torch.channels_last) and not f.is_contiguous():
        y, dim = f.permute(0, 2, 3, 1).reshape(n, -1, c), 1
    else:
        y, dim = f.reshape(n, c, -1), 2
    mean = y.mean(dim, keepdim=True)
    d = y - mean
    return mean.squeeze(dim), (d * d).mean(dim)


def adain_affine(feat: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                 alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel (scale, shift) ``[N,C]`` of ``(1−α)·f + α·AdaIN(f, (mean, std))``.

    ``feat [N,C,h,w]``, ``mean``/``std`` ``[N,C]``, ``alpha [N,1]``; statistics in fp32."""
    mu, var = channel_stats(feat)
    ratio = std / (var + EPS).sqrt()
    return 1 - alpha + alpha * ratio, alpha * (mean - mu * ratio)


class GlobalModulation:
    """One :class:`LiteStyle` (batch ``N`` or 1) at α for every pixel."""

    def __init__(self, style: LiteStyle, alpha, n: int, device):
        self.style = style
        self.alpha = _alpha_column(alpha, n, device)

    def adain(self, level: int, f: torch.Tensor) -> torch.Tensor:
        scale, shift = adain_affine(f, self.style.means[level], self.style.stds[level], self.alpha)
        return torch.addcmul(shift[..., None, None], f.float(), scale[..., None, None]).to(f.dtype)

    def film(self, index: int, y: torch.Tensor) -> torch.Tensor:
        scale = 1 + self.alpha * self.style.film_scale[:, index]
        shift = self.alpha * self.style.film_shift[:, index]
        return torch.addcmul(shift[..., None, None], y.float(), scale[..., None, None]).to(y.dtype)


class MaskedModulation:
    """Spatial control (batch 1): region k takes style k; where the masks sum to less than 1
    the rest keeps the unmodulated content. ``masks [K,h,w]`` in [0,1], any resolution."""

    def __init__(self, styles: list[LiteStyle], masks: torch.Tensor, alpha):
        if masks.shape[0] != len(styles):
            raise ValueError(f"{masks.shape[0]} masks for {len(styles)} styles")
        self.styles, self.masks = styles, masks.float()
        self.alpha = float(torch.as_tensor(alpha).clamp(0, 1))

    def _masks_at(self, size, device) -> torch.Tensor:
        m = F.interpolate(self.masks[None].to(device), size=size, mode="bilinear",
                          align_corners=False)[0].clamp(0, 1)
        total = m.sum(0, keepdim=True)
        return torch.where(total > 1, m / total.clamp_min(1e-8), m)  # [K,h,w]

    def adain(self, level: int, f: torch.Tensor) -> torch.Tensor:
        t = masked_adain(f, [s.level(level) for s in self.styles], self.masks.to(f.device))
        return mix_alpha(f, t, self.alpha)

    def film(self, index: int, y: torch.Tensor) -> torch.Tensor:
        m = self._masks_at(y.shape[-2:], y.device)  # [K,h,w]
        scale = 1 + self.alpha * sum(mk * s.film_scale[0, index][:, None, None]
                                     for mk, s in zip(m, self.styles))
        shift = self.alpha * sum(mk * s.film_shift[0, index][:, None, None] for mk, s in zip(m, self.styles))
        return (y.float() * scale + shift).to(y.dtype)


# --- the network -----------------------------------------------------------------------------

def _dw(c: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c, c, 3, stride, 1, groups=c)


class LiteNet(nn.Module):
    """The trainable lite network (eager, any batch). See the module docstring for the graph."""

    def __init__(self, config: LiteConfig = LiteConfig()):
        super().__init__()
        self.config = config
        c1, c2, c3 = config.widths
        self.stem = nn.Conv2d(3, c1, 3, 2, 1)
        self.down2_dw, self.down2_pw = _dw(c1, 2), nn.Conv2d(c1, c2, 1)
        self.down3_dw, self.down3_pw = _dw(c2, 2), nn.Conv2d(c2, c3, 1)
        self.blocks = nn.ModuleList(nn.Conv2d(c3, c3, 3, 1, 1) for _ in range(2 * config.blocks))
        self.up2 = nn.Conv2d(c3, c2, 1)
        self.up2_dw, self.up2_pw = _dw(c2), nn.Conv2d(c2, c2, 1)
        self.up_blocks = nn.ModuleList(nn.Conv2d(c2, c2, 3, 1, 1) for _ in range(2 * config.up_blocks))
        self.up1 = nn.Conv2d(c2, c1, 1)
        self.up1_dw, self.up1_pw = _dw(c1), nn.Conv2d(c1, c1, 1)
        self.half_blocks = nn.ModuleList(nn.Conv2d(c1, c1, 3, 1, 1) for _ in range(2 * config.half_blocks))
        self.head = nn.Conv2d(c1, 12, 3, 1, 1)
        sw = config.style_width
        self.style1 = nn.Conv2d(c3, sw, 3, 2, 1)
        self.style2 = nn.Conv2d(sw, sw, 3, 1, 1)
        self.mlp = nn.Sequential(nn.Linear(2 * (c1 + c2 + c3 + sw), config.hidden), nn.ReLU(),
                                 nn.Linear(config.hidden, 2 * 2 * config.blocks * c3))
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self) -> None:
        for conv in self.blocks[1::2]:  # residual branches start small
            conv.weight.mul_(0.1)
        for conv in [*self.up_blocks[1::2], *self.half_blocks[1::2]]:  # identity at first: a grown network keeps its function
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        nn.init.zeros_(self.mlp[-1].weight)  # FiLM starts as the identity
        nn.init.zeros_(self.mlp[-1].bias)
        w = self.head.weight  # ICNR: the 4 sub-pixel phases start equal (no checkerboard)
        base = w[0::4].clone()
        for phase in range(4):
            w[phase::4] = base

    # content path ---------------------------------------------------------------------------

    def encode(self, x: torch.Tensor, mod=None) -> list[torch.Tensor]:
        """``[N,3,H,W]`` → [e1 ``[N,c1,H/2,W/2]``, e2 ``[N,c2,H/4,W/4]``, e3 ``[N,c3,H/8,W/8]``],
        each modulated by ``mod.adain`` when ``mod`` is given."""
        feats = []
        h = x
        for index, step in enumerate((lambda t: self.stem(t),
                                      lambda t: self.down2_pw(self.down2_dw(t)),
                                      lambda t: self.down3_pw(self.down3_dw(t)))):
            h = F.relu(step(h))
            if mod is not None:
                h = mod.adain(index, h)
            feats.append(h)
        return feats

    def decode(self, feats: list[torch.Tensor], mod) -> torch.Tensor:
        """Modulated encoder features → ``[N,3,H,W]`` RGB (unclamped)."""
        e1, e2, b = feats
        for i in range(0, len(self.blocks), 2):
            h = F.relu(mod.film(i, self.blocks[i](b)))
            b = b + mod.film(i + 1, self.blocks[i + 1](h))
        g1, g2 = self.config.skip_gains
        u = _up2(self.up2(b)) + g2 * e2
        u = F.relu(self.up2_pw(self.up2_dw(u)))
        for i in range(0, len(self.up_blocks), 2):
            u = u + self.up_blocks[i + 1](F.relu(self.up_blocks[i](u)))
        if self.config.up_norms:
            u = mod.adain(3, u)
        u = _up2(self.up1(u)) + g1 * e1
        u = F.relu(self.up1_pw(self.up1_dw(u)))
        for i in range(0, len(self.half_blocks), 2):
            u = u + self.half_blocks[i + 1](F.relu(self.half_blocks[i](u)))
        if self.config.up_norms:
            u = mod.adain(4, u)
        return F.pixel_shuffle(self.head(u), 2)

    def forward(self, x: torch.Tensor, style: LiteStyle | list[LiteStyle], alpha=1.0,
                masks: torch.Tensor | None = None) -> torch.Tensor:
        """``[N,3,H,W]`` RGB in [0,1] (H, W multiples of 8) → ``[N,3,H,W]`` RGB (unclamped).

        ``style``: a :class:`LiteStyle` with batch N or 1, α a float or ``[N]``; or, with
        ``masks [K,h,w]``, a list of K single styles (batch 1)."""
        if masks is not None:
            mod = MaskedModulation(list(style), masks, alpha)
        else:
            mod = GlobalModulation(style, alpha, x.shape[0], x.device)
        return self.decode(self.encode(x, mod), mod)

    def stylize(self, x: torch.Tensor, style: LiteStyle | list[LiteStyle], alpha=1.0,
                masks: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`forward` for a whole picture ``[N,3,H,W]`` (any H, W): a reflected
        :data:`MARGIN` around it (and padding to the stride), run, cropped back. Masks ``[K,h,w]``."""
        h, w = x.shape[-2:]
        m = MARGIN if min(h, w) > MARGIN else 0
        padded = _pad_to(F.pad(x, (m, m, m, m), mode="reflect") if m else x, STRIDE)
        if masks is not None:
            sized = F.interpolate(masks[None].float(), size=(h, w), mode="bilinear", align_corners=False)
            ph, pw = padded.shape[-2] - h - 2 * m, padded.shape[-1] - w - 2 * m
            masks = F.pad(sized, (m, m + pw, m, m + ph), mode="replicate")[0].to(masks.dtype)
        return self(padded, style, alpha, masks)[..., m:m + h, m:m + w]

    # style path -----------------------------------------------------------------------------

    def encode_style(self, s: torch.Tensor) -> LiteStyle:
        """``[N,3,H,W]`` style images RGB in [0,1] (H, W multiples of 16) → :class:`LiteStyle`."""
        feats = self.encode(s)
        g = F.relu(self.style2(F.relu(self.style1(feats[-1]))))
        stats = [_mean_std(f) for f in (*feats, g)]
        z = torch.cat([m for m, _ in stats] + [sd for _, sd in stats], dim=1)
        film = self.mlp(z).view(s.shape[0], 2, 2 * self.config.blocks, self.config.widths[2])
        return LiteStyle(tuple(m for m, _ in stats[:3]), tuple(sd for _, sd in stats[:3]),
                         film[:, 0], film[:, 1])


def _mean_std(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean, var = channel_stats(f)
    return mean, (var + EPS).sqrt()


def _up2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


# --- files ------------------------------------------------------------------------------------

def save_lite(net: LiteNet, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write fp32 weights with the architecture (``config``) and string metadata, atomically."""
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
    meta["config"] = net.config.to_json()
    save_safetensors_atomic({k: v.float() for k, v in net.state_dict().items()}, path, meta)


def load_lite(path: str | os.PathLike | None = None) -> tuple[LiteNet, dict[str, str]]:
    """The lite network from a file written by :func:`save_lite` (default ``models/lite.safetensors``).
    Raises :class:`engine.errors.InputError` naming the file when it is missing or wrong."""
    from .decoder import read_metadata

    path = Path(path) if path is not None else DEFAULT_LITE
    sd = load_state_dict_file(path)
    meta = read_metadata(path)
    config = LiteConfig.from_json(meta["config"]) if "config" in meta else LiteConfig()
    net = LiteNet(config)
    net.load_state_dict(check_state_dict(sd, net.state_dict(), path))
    return net, meta


def lite_available(path: str | os.PathLike | None = None) -> bool:
    """Whether trained lite weights exist (``auto`` picks the lite model only then)."""
    return (Path(path) if path is not None else DEFAULT_LITE).is_file()


def lite_weights(path: str | os.PathLike | None = None) -> Path | None:
    """The file an explicit lite choice runs: ``path`` if given, else the adopted
    :data:`DEFAULT_LITE`, else the trained :data:`CANDIDATE_LITE` (a preview); None if missing."""
    for candidate in ([Path(path)] if path is not None else [DEFAULT_LITE, CANDIDATE_LITE]):
        if candidate.is_file():
            return candidate
    return None


# --- the per-frame path ------------------------------------------------------------------------

class LiteFrameNet:
    """uint8 BGR ``[H,W,3]`` → uint8 BGR ``[H,W,3]`` through a copy of a :class:`LiteNet`'s weights,
    rewritten for inference (see the module docstring); one style at α, no masks."""

    def __init__(self, net: LiteNet, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                 memory_format=torch.channels_last):
        self.device, self.dtype, self.memory_format = torch.device(device), dtype, memory_format
        put = self._put
        sd = {k: v.detach().float().cpu() for k, v in net.state_dict().items()}
        self.stem = (put(sd["stem.weight"].flip(1) / 255.0), put(sd["stem.bias"]))
        self.convs = {name: (put(sd[f"{name}.weight"]), put(sd[f"{name}.bias"]))
                      for name in ("down2_dw", "down2_pw", "down3_dw", "down3_pw", "up2", "up2_dw", "up2_pw",
                                   "up1", "up1_dw", "up1_pw")}
        self.block_params = [(sd[f"blocks.{i}.weight"], sd[f"blocks.{i}.bias"]) for i in range(len(net.blocks))]
        self.skip_gains = tuple(float(g) for g in net.config.skip_gains)
        self.up_norms = bool(net.config.up_norms)
        self.level_widths = net.config.level_widths()
        self.up_block_params = [(put(sd[f"up_blocks.{i}.weight"]), put(sd[f"up_blocks.{i}.bias"]))
                                for i in range(len(net.up_blocks))]
        self.half_block_params = [(put(sd[f"half_blocks.{i}.weight"]), put(sd[f"half_blocks.{i}.bias"]))
                                  for i in range(len(net.half_blocks))]
        # pixel_shuffle reads channel c·4 + 2i + j; the frame wants (i, j, BGR channel) order
        perm = [(2 - c) * 4 + phase for phase in range(4) for c in range(3)]
        self.head = (put(sd["head.weight"][perm] * 255.0), put(sd["head.bias"][perm] * 255.0 + 0.5))

    def _put(self, t: torch.Tensor) -> torch.Tensor:
        t = t.to(self.device, self.dtype)
        return t.contiguous(memory_format=self.memory_format) if t.dim() == 4 else t.contiguous()

    def fold(self, style: LiteStyle, alpha: float) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Block conv weights with FiLM folded in for ``style`` (batch 1) at ``alpha``:
        ``γ·(W∗x + b) + β = (γW)∗x + (γb + β)``."""
        a = min(max(float(alpha), 0.0), 1.0)
        folded = []
        for index, (w, b) in enumerate(self.block_params):
            gamma = 1 + a * style.film_scale[0, index].float().cpu()
            beta = a * style.film_shift[0, index].float().cpu()
            folded.append((self._put(w * gamma[:, None, None, None]), self._put(b * gamma + beta)))
        return folded

    def _conv(self, x, params, stride=1, padding=1, relu=False):
        w, b = params
        y = F.conv2d(x, w, b, stride, padding, 1, x.shape[1] // w.shape[1])  # depthwise: groups = C
        return y.relu_() if relu else y

    def _adain(self, f: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        scale, shift = adain_affine(f, mean, std, alpha)
        return f.mul_(scale[..., None, None].to(f.dtype)).add_(shift[..., None, None].to(f.dtype))

    def stylize_frame(self, frame: torch.Tensor, style: LiteStyle, alpha: float, folded, out: torch.Tensor) -> torch.Tensor:
        """uint8 BGR ``frame [H,W,3]`` → ``out [H,W,3]`` (written in place); ``folded`` from :meth:`fold`."""
        return out.copy_(self.run(frame, style, alpha, folded))

    def body(self, x: torch.Tensor, adain, block) -> torch.Tensor:
        """The network on a padded input ``[1,3,Hp,Wp]`` (BGR, 0..255) → the head's output
        ``[1,12,Hp/2,Wp/2]`` (``255·BGR + 0.5`` per sub-pixel phase, unclamped). The style comes in
        through ``adain(level, f)`` (encoder levels ½, ¼, ⅛) and ``block(i, b)`` (residual block i,
        ``b`` plus its branch); :meth:`run` and the OpenVINO graph give their own."""
        c = self.convs
        e1 = adain(0, self._conv(x, self.stem, 2, relu=True))
        e2 = adain(1, self._conv(self._conv(e1, c["down2_dw"], 2), c["down2_pw"], 1, 0, relu=True))
        b = adain(2, self._conv(self._conv(e2, c["down3_dw"], 2), c["down3_pw"], 1, 0, relu=True))
        for i in range(len(self.block_params) // 2):
            b = block(i, b)
        u = _skip(_up2(self._conv(b, c["up2"], 1, 0)), e2, self.skip_gains[1])
        u = self._conv(self._conv(u, c["up2_dw"]), c["up2_pw"], 1, 0, relu=True)
        ub = self.up_block_params
        for i in range(0, len(ub), 2):
            u = u + self._conv(self._conv(u, ub[i], relu=True), ub[i + 1])
        if self.up_norms:
            u = adain(3, u)
        u = _skip(_up2(self._conv(u, c["up1"], 1, 0)), e1, self.skip_gains[0])
        u = self._conv(self._conv(u, c["up1_dw"]), c["up1_pw"], 1, 0, relu=True)
        hb = self.half_block_params
        for i in range(0, len(hb), 2):
            u = u + self._conv(self._conv(u, hb[i], relu=True), hb[i + 1])
        if self.up_norms:
            u = adain(4, u)
        return self._conv(u, self.head)

    def run(self, frame: torch.Tensor, style: LiteStyle, alpha: float, folded) -> torch.Tensor:
        """uint8 BGR ``frame [H,W,3]`` → ``[H,W,3]`` float ``255·BGR + 0.5`` clamped to [0, 255]
        (a cast to uint8 rounds it); one graph of tensor ops, so it exports to ONNX."""
        a = torch.full((1, 1), min(max(float(alpha), 0.0), 1.0), device=self.device)
        return self.run_with(frame, lambda level, f: self._adain(f, style.means[level], style.stds[level], a),
                             lambda i, b: b + self._conv(self._conv(b, folded[2 * i], relu=True), folded[2 * i + 1]))

    def input_modulation(self, inputs, blocks):
        """``(adain, block)`` for :meth:`body` with the style given as tensors (the OpenVINO and
        CUDA graphs' inputs: :func:`style_tensors`) instead of folded into the block weights:
        AdaIN per level, FiLM applied after each block conv. ``blocks``: the block convs'
        ``(weight, bias)``, where the graph keeps them."""
        levels = (len(inputs) - 3) // 2
        means, stds = inputs[0:2 * levels:2], inputs[1:2 * levels:2]
        film_scale, film_shift, alpha = inputs[2 * levels:]
        a = alpha.reshape(1, 1)
        gamma = (1 + a[..., None] * film_scale).to(self.dtype)  # [1, 2·blocks, c3]
        beta = (a[..., None] * film_shift).to(self.dtype)

        def adain(level, f):
            scale, shift = adain_affine(f, means[level], stds[level], a)
            return f * scale[..., None, None].to(f.dtype) + shift[..., None, None].to(f.dtype)

        def film(y, index):
            return y * gamma[:, index, :, None, None] + beta[:, index, :, None, None]

        def block(i, b):
            y = film(self._conv(b, blocks[2 * i]), 2 * i).relu()
            return b + film(self._conv(y, blocks[2 * i + 1]), 2 * i + 1)

        return adain, block

    def run_with(self, frame: torch.Tensor, adain, block) -> torch.Tensor:
        """:meth:`run` with the style given as :meth:`body`'s ``adain`` and ``block`` (the CUDA
        graph passes its input tensors this way): padding, network, depth-to-space, crop."""
        h, w = frame.shape[:2]
        x = frame.to(self.device).permute(2, 0, 1).unsqueeze(0).to(self.dtype)
        m = MARGIN if min(h, w) > MARGIN else 0  # as LiteNet.stylize
        x = F.pad(x, (m, m, m, m), mode="reflect") if m else x
        x = _pad_to(x, STRIDE).contiguous(memory_format=self.memory_format)
        y = self.body(x, adain, block).clamp_(0, 255)  # [1,12,H/2,W/2], (i, j, BGR) channels
        h2, w2 = y.shape[-2:]
        y = y.permute(0, 2, 3, 1).reshape(h2, w2, 2, 2, 3).permute(0, 2, 1, 3, 4).reshape(2 * h2, 2 * w2, 3)
        return y[m:m + h, m:m + w]


def style_tensors(style: LiteStyle, alpha: float) -> list[torch.Tensor]:
    """The frame graphs' style inputs for ``style`` (batch 1) at ``alpha``: ``mean_l``, ``std_l``
    ``[1,c_l]`` per level, ``film_scale``, ``film_shift`` ``[1,2·blocks,c3]``, ``alpha [1,1]``
    (clamped to [0, 1]); fp32."""
    tensors = [t for pair in zip(style.means, style.stds) for t in pair]
    a = torch.tensor([[min(max(float(alpha), 0.0), 1.0)]])
    return [t.detach().float() for t in (*tensors, style.film_scale, style.film_shift)] + [a]


def _skip(u: torch.Tensor, e: torch.Tensor, gain: float) -> torch.Tensor:
    """``u + gain·e`` in place (no work for a gain of 0)."""
    if gain == 0:
        return u
    return u.add_(e) if gain == 1 else u.add_(e, alpha=gain)


def _pad_to(x: torch.Tensor, stride: int) -> torch.Tensor:
    """Reflection-pad ``[N,C,H,W]`` bottom/right to multiples of ``stride`` (no copy if aligned),
    as the Stylizer pads for the eager path."""
    ph, pw = (-x.shape[-2]) % stride, (-x.shape[-1]) % stride
    return F.pad(x, (0, pw, 0, ph), mode="reflect") if ph or pw else x


def random_lite(config: LiteConfig = LiteConfig(), seed: int = 0) -> LiteNet:
    """An untrained lite network (seeded): for speed measurements before weights exist."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LiteNet(config)


__all__ = ["LiteConfig", "LiteStyle", "LiteNet", "LiteFrameNet", "blend_lite", "style_tensors",
           "save_lite", "load_lite", "lite_available", "lite_weights", "random_lite", "DEFAULT_LITE",
           "CANDIDATE_LITE", "adain_affine"]
