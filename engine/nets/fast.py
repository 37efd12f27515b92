"""The fast per-frame network: encoder + AdaIN + decoder rebuilt for inference.

:class:`FastNet` computes the same function as ``Decoder(AdaIN(Encoder(x)))`` (up to float
rounding) with less work; every change is exact algebra, checked in ``tests/test_fast.py``:

- **Folded pre/post-processing.** The encoder's 1×1 Caffe conv is folded into conv1_1, and so
  are the ``/255`` scaling and the BGR→RGB flip, so a uint8 BGR frame only needs a dtype cast.
  The decoder's last conv has a second weight set that outputs ``255·BGR + 0.5``, so the output
  needs only clamp + cast to uint8.
- **Sub-pixel up-sampling.** ``conv3x3(reflect_pad(nearest_up2(x)))`` equals four 2×2 convs on
  ``replicate_pad(x)`` (one per output phase), interleaved: 16 instead of 36 multiply-adds per
  output pixel and channel pair, and no full-size up-sampled copy. This is 44 % of the FLOPs
  of the three convs that follow an up-sampling layer (a quarter of the decoder's work).
- **Padding without full-size copies.** ``pad_mode="fix"``: a zero-padded conv (the padding is
  implicit in the conv kernel) whose border rows/columns are then recomputed from thin
  reflection-padded strips. ``pad_mode="copy"``: an explicit ``F.pad`` (one copy per conv).
  The sub-pixel layers write their output straight into a reflection-padded buffer.
- **Fused conv + ReLU** on CPU (oneDNN), probed once with a numeric check; elsewhere conv then
  in-place ReLU (cuDNN's fused op is reported up to 17× slower with channels_last and 3 input
  channels, pytorch issue 68506, and has not been measured here).
- **Padding that keeps channels_last**: where ``F.pad`` returns NCHW (CUDA), the 1-pixel pad is
  written into a channels_last buffer instead, so no conv gets a converted input.
- **Max-pool without indices** on CUDA: a reshape + ``amax`` (``max_pool2d`` there computes
  int64 indices, ~460 MB per 1080p frame); CPU's ``max_pool2d`` computes none and is faster.
- **AdaIN and the α mix as one affine map**: ``(1−α)·f + α·(σ_s(f−μ)/σ + μ_s)`` is
  ``f·(1−α+α·σ_s/σ) + α·(μ_s − μ·σ_s/σ)``, per channel, statistics in fp32.

Shapes: frames ``[H, W, 3]`` uint8 BGR; network tensors ``[N, C, H, W]`` in the network dtype
and memory format (channels_last). H and W of network inputs are multiples of 8.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .adain import EPS
from .decoder import Decoder
from .encoder import Encoder

STRIDE = 8
PAD_MODES = ("fix", "copy")


@dataclass
class Op:
    """One step of the network: ``conv`` (3×3, reflection padding), ``sub`` (up-sample + 3×3
    conv as a sub-pixel 2×2 conv), or ``pool`` (2×2 max-pool). ``weight``/``bias`` are the
    conv's parameters (for ``sub``: ``[4·C_out, C_in, 2, 2]``)."""

    kind: str
    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None
    relu: bool = True


# --- weight transforms (exact algebra) -------------------------------------------------------

def fold_preprocess(pre_w: torch.Tensor, pre_b: torch.Tensor, w: torch.Tensor, b: torch.Tensor,
                    input_scale: float = 1.0, reverse_channels: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold a 1×1 conv (``pre_w [3,3,1,1]``, ``pre_b [3]``) into the 3×3 conv after it.

    Reflection padding commutes with a per-pixel affine map, so ``conv(pad(A·x + a))`` equals
    ``conv'(pad(x))`` with ``W' = W·A`` and ``b' = b + Σ W·a``. ``input_scale`` and
    ``reverse_channels`` also absorb ``x ↦ x·scale`` and a channel flip (BGR input).
    Returns (weight ``[C_out,3,3,3]``, bias ``[C_out]``), fp32.
    """
    a = pre_w.double()[:, :, 0, 0]  # [3 (into conv), 3 (input)]
    w64 = w.double()
    folded = torch.einsum("ocyx,ci->oiyx", w64, a) * input_scale
    bias = b.double() + torch.einsum("ocyx,c->o", w64, pre_b.double())
    if reverse_channels:
        folded = folded.flip(1)
    return folded.float(), bias.float()


def subpixel_weight(w: torch.Tensor) -> torch.Tensor:
    """``[C_out,C_in,3,3]`` kernel of a conv after nearest ×2 up-sampling → ``[4·C_out,C_in,2,2]``.

    Output phase (a, b) (row parity a, column parity b), at low-res position (i, j), reads input
    rows (i−1, i) for a = 0 and (i, i+1) for a = 1 (same for columns): the 3 kernel rows
    collapse to 2 as ``[w0, w1+w2]`` (a = 0) or ``[w0+w1, w2]`` (a = 1). Phase p = 2a+b owns
    output channels ``[p·C_out, (p+1)·C_out)``.
    """
    def collapse(k: torch.Tensor, dim: int, phase: int) -> torch.Tensor:
        k0, k1, k2 = k.unbind(dim)
        pair = (k0, k1 + k2) if phase == 0 else (k0 + k1, k2)
        return torch.stack(pair, dim)

    phases = [collapse(collapse(w.double(), 2, a), 3, b) for a in (0, 1) for b in (0, 1)]
    return torch.cat(phases, 0).float()


def last_conv_bgr255(w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Last decoder conv rewritten to output ``255·BGR + 0.5`` (so clamp + cast gives uint8)."""
    return (w.double() * 255.0).flip(0).float(), (b.double() * 255.0 + 0.5).flip(0).float()


# --- backend probes --------------------------------------------------------------------------

def _mkldnn_conv(x, w, b, padding, relu):
    return torch.ops.mkldnn._convolution_pointwise(x, w, b, [padding, padding], [1, 1], [1, 1], 1,
                                                   "relu" if relu else "none", [], "")


def _cudnn_conv_relu(x, w, b, padding, relu):
    if not relu:
        return F.conv2d(x, w, b, padding=padding)
    return torch.cudnn_convolution_relu(x, w, b, [1, 1], [padding, padding], [1, 1], 1)


def _plain_conv(x, w, b, padding, relu):
    y = F.conv2d(x, w, b, padding=padding)
    return y.relu_() if relu else y


def fused_candidate(device_type: str, fused: bool | None = None):
    """The fused conv+ReLU op worth probing on a device, or None. CUDA only on request
    (``fused=True``): cuDNN's op is slower than conv + ReLU for some real layer shapes."""
    if fused is False:
        return None
    if device_type == "cuda":
        return _cudnn_conv_relu if fused else None
    return {"cpu": _mkldnn_conv}.get(device_type)


def pick_conv(device: torch.device, dtype: torch.dtype, memory_format, fused: bool | None = None):
    """The conv(+ReLU) function for this device: a fused backend op when :func:`fused_candidate`
    names one and it agrees numerically with conv + ReLU on a probe input, else plain conv +
    in-place ReLU."""
    candidate = fused_candidate(device.type, fused)
    if candidate is None:
        return _plain_conv
    try:
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(1, 8, 6, 7, generator=gen).to(device, dtype).contiguous(memory_format=memory_format)
        w = (torch.randn(16, 8, 3, 3, generator=gen) * 0.2).to(device, dtype).contiguous(memory_format=memory_format)
        b = torch.randn(16, generator=gen).to(device, dtype)
        with torch.inference_mode():
            got = candidate(x, w, b, 1, True).float()
            want = _plain_conv(x, w, b, 1, True).float()
        tol = 1e-4 if dtype == torch.float32 else 2e-2
        if got.shape == want.shape and torch.allclose(got, want, atol=tol, rtol=tol):
            return candidate
    except Exception:  # noqa: BLE001 - op missing or unsupported here: use the plain path
        pass
    return _plain_conv


def _fused_conv_flop(x_shape, w_shape, *args, out_shape=None, **kwargs) -> int:
    """FLOPs of a fused conv: 2 · (output elements) · (C_in/groups · k_h · k_w)."""
    macs_per_output = 1
    for d in w_shape[1:]:
        macs_per_output *= d
    outputs = 1
    for d in out_shape:
        outputs *= d
    return 2 * outputs * macs_per_output


def fused_flop_formulas() -> dict:
    """``FlopCounterMode(custom_mapping=...)`` entries for the fused conv ops (not in torch's registry)."""
    ops = {}
    for namespace, name in (("mkldnn", "_convolution_pointwise"), ("aten", "cudnn_convolution_relu")):
        packet = getattr(getattr(torch.ops, namespace), name, None)
        if packet is not None:
            ops[packet] = _fused_conv_flop
    return ops


def default_pad_mode(device: torch.device) -> str:
    """Padding strategy (``ADAIN_PAD_MODE`` overrides). ``copy`` on every device: on this CPU
    ``fix`` measured no faster (the pads are ~1 % of the time, the strip convs cost as much);
    on CUDA it is unmeasured, so the simpler path stays the default (see docs/PERF.md)."""
    env = os.environ.get("ADAIN_PAD_MODE", "")
    if env in PAD_MODES:
        return env
    return "copy"


# --- the network -----------------------------------------------------------------------------

class FastNet(nn.Module):
    """Inference-only encoder/decoder pair (see module docstring). Weights are copied.

    ``encode(x, bgr255)``: ``[N,3,H,W]`` (RGB in [0,1], or BGR in [0,255] when ``bgr255``) →
    relu4_1 ``[N,512,H/8,W/8]``. ``decode(t, bgr255)``: ``[N,512,h,w]`` → ``[N,3,8h,8w]``
    (RGB in ~[0,1], or ``255·BGR + 0.5`` when ``bgr255``).
    """

    def __init__(self, encoder: Encoder, decoder: Decoder, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32, pad_mode: str | None = None,
                 fused: bool | None = None, memory_format=torch.channels_last):
        super().__init__()
        self.device = torch.device(device)
        self.dtype = dtype
        self.memory_format = memory_format
        self.pad_mode = pad_mode or default_pad_mode(self.device)
        if self.pad_mode not in PAD_MODES:
            raise ValueError(f"pad_mode must be one of {PAD_MODES}, got {self.pad_mode!r}")
        self.conv = pick_conv(self.device, dtype, memory_format, fused)
        self.fused = self.conv is not _plain_conv
        self.pool = pick_pool(self.device)
        self.pad_keeps_format = pad_keeps_format(self.device, dtype, memory_format)
        enc_ops, self.first_rgb, self.first_bgr = self._encoder_ops(encoder)
        dec_ops, self.last_rgb, self.last_bgr = self._decoder_ops(decoder)
        self.enc_ops, self.dec_ops = enc_ops, dec_ops

    # building ---------------------------------------------------------------------------

    def _put(self, t: torch.Tensor) -> torch.Tensor:
        t = t.detach().to(self.device, self.dtype)
        return t.contiguous(memory_format=self.memory_format) if t.dim() == 4 else t.contiguous()

    def _encoder_ops(self, encoder: Encoder):
        layers = [m for m in encoder.layers if not isinstance(m, (nn.ReLU, nn.ReflectionPad2d))]
        convs = [m for m in layers if isinstance(m, nn.Conv2d)]
        pre, first = convs[0], convs[1]
        rgb = fold_preprocess(pre.weight, pre.bias, first.weight, first.bias)
        bgr = fold_preprocess(pre.weight, pre.bias, first.weight, first.bias, 1 / 255.0, True)
        first_rgb = Op("conv", *map(self._put, rgb))
        first_bgr = Op("conv", *map(self._put, bgr))
        ops = []
        for m in layers[2:]:  # after the 1×1 conv and conv1_1
            if isinstance(m, nn.MaxPool2d):
                ops.append(Op("pool"))
            else:
                ops.append(Op("conv", self._put(m.weight), self._put(m.bias)))
        return ops, first_rgb, first_bgr

    def _decoder_ops(self, decoder: Decoder):
        ops, upsample_next = [], False
        convs = [m for m in decoder.layers if isinstance(m, (nn.Conv2d, nn.Upsample))]
        for m in convs[:-1]:
            if isinstance(m, nn.Upsample):
                upsample_next = True
                continue
            if upsample_next:
                ops.append(Op("sub", self._put(subpixel_weight(m.weight)), self._put(m.bias.repeat(4))))
            else:
                ops.append(Op("conv", self._put(m.weight), self._put(m.bias)))
            upsample_next = False
        last = convs[-1]
        last_rgb = Op("conv", self._put(last.weight), self._put(last.bias), relu=False)
        last_bgr = Op("conv", *map(self._put, last_conv_bgr255(last.weight, last.bias)), relu=False)
        return ops, last_rgb, last_bgr

    # running ----------------------------------------------------------------------------

    def encode(self, x: torch.Tensor, bgr255: bool = False) -> torch.Tensor:
        """``[N,3,H,W]`` (H, W multiples of 8) → relu4_1 ``[N,512,H/8,W/8]``."""
        x = x.to(self.dtype).contiguous(memory_format=self.memory_format)
        x = self._conv3(x, self.first_bgr if bgr255 else self.first_rgb)
        return self._run(x, self.enc_ops)

    def decode(self, t: torch.Tensor, bgr255: bool = False) -> torch.Tensor:
        """relu4_1-shaped ``[N,512,h,w]`` → ``[N,3,8h,8w]``."""
        x, padded = self._run(t.contiguous(memory_format=self.memory_format), self.dec_ops, True)
        return self._conv3(x, self.last_bgr if bgr255 else self.last_rgb, padded)

    def _run(self, x: torch.Tensor, ops: list[Op], report_padded: bool = False):
        padded = False
        for op in ops:
            if op.kind == "pool":
                x, padded = self.pool(x), False
            elif op.kind == "sub":
                x, padded = self._subpixel(x, op), True
            else:
                x, padded = self._conv3(x, op, padded), False
        return (x, padded) if report_padded else x

    def _conv3(self, x: torch.Tensor, op: Op, padded: bool = False) -> torch.Tensor:
        """3×3 conv with reflection padding; ``padded``: ``x`` already carries the 1-pixel ring."""
        if padded:
            return self.conv(x, op.weight, op.bias, 0, op.relu)
        if self.pad_mode == "copy":
            return self.conv(self._pad1(x, "reflect"), op.weight, op.bias, 0, op.relu)
        y = self.conv(x, op.weight, op.bias, 1, op.relu)
        self._fix_borders(y, x, op)
        return y

    def _fix_borders(self, y: torch.Tensor, x: torch.Tensor, op: Op) -> None:
        """Overwrite the border rows/columns of a zero-padded conv's output ``y`` with the
        reflection-padded result, computed on 2-pixel strips of ``x`` (both ends batched)."""
        n = x.shape[0]
        rows = torch.cat([x[:, :, :2], x[:, :, -2:]])
        r = self.conv(self._pad1(rows, "reflect"), op.weight, op.bias, 0, op.relu)
        y[:, :, :1].copy_(r[:n, :, :1])
        y[:, :, -1:].copy_(r[n:, :, -1:])
        cols = torch.cat([x[..., :2], x[..., -2:]])
        c = self.conv(self._pad1(cols, "reflect"), op.weight, op.bias, 0, op.relu)
        y[..., :1].copy_(c[:n, ..., :1])
        y[..., -1:].copy_(c[n:, ..., -1:])

    def _pad1(self, x: torch.Tensor, mode: str) -> torch.Tensor:
        """1-pixel ``reflect``/``replicate`` pad of ``x [N,C,H,W]`` → ``[N,C,H+2,W+2]`` in the
        network's memory format (``F.pad`` where it keeps it, else a buffer + ring fill)."""
        if self.pad_keeps_format:
            return F.pad(x, (1, 1, 1, 1), mode=mode)
        return pad1_into(x, mode, self.memory_format)

    def _subpixel(self, x: torch.Tensor, op: Op) -> torch.Tensor:
        """Nearest ×2 up-sampling + 3×3 conv (+ReLU) of ``x [N,C,H,W]`` → ``[N,C',2H+2,2W+2]``,
        already reflection-padded by one pixel for the next conv."""
        n, _, h, w = x.shape
        full = self.conv(self._pad1(x, "replicate"), op.weight, op.bias, 0, op.relu)
        cout = full.shape[1] // 4
        out = torch.empty((n, cout, 2 * h + 2, 2 * w + 2), device=x.device, dtype=full.dtype,
                          memory_format=self.memory_format)
        dst = out[:, :, 1:-1, 1:-1].permute(0, 2, 3, 1).unflatten(1, (h, 2)).unflatten(3, (w, 2))
        src = full.permute(0, 2, 3, 1)  # [N, H+1, W+1, 4C]
        for a in (0, 1):
            for b in (0, 1):
                p = 2 * a + b
                dst[:, :, a, :, b, :].copy_(src[:, a:a + h, b:b + w, p * cout:(p + 1) * cout])
        reflect_fill_ring(out)
        return out

    # whole frames -----------------------------------------------------------------------

    def stylize_frame(self, frame: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                      alpha: torch.Tensor | float, out: torch.Tensor) -> torch.Tensor:
        """uint8 BGR ``frame [H,W,3]`` → uint8 BGR ``out [H,W,3]`` (written in place), one style
        (``mean``/``std`` ``[512]`` fp32) at content–style trade-off ``alpha`` in [0, 1].

        Only tensor ops with shapes fixed by (H, W): safe to capture in a CUDA graph.
        """
        h, w = frame.shape[:2]
        x = pad_to_stride(frame.permute(2, 0, 1).unsqueeze(0).to(self.dtype))
        feat = self.encode(x, bgr255=True)
        target = adain_mix(feat, mean, std, alpha)
        y = self.decode(target, bgr255=True)[0, :, :h, :w].permute(1, 2, 0)
        out.copy_(y.clamp_(0, 255))
        return out


def pad1_into(x: torch.Tensor, mode: str, memory_format=torch.channels_last) -> torch.Tensor:
    """``F.pad(x, (1, 1, 1, 1), mode)`` for ``reflect``/``replicate``, written into a new
    ``[N,C,H+2,W+2]`` tensor of ``memory_format`` (one copy, no layout conversion)."""
    n, c, h, w = x.shape
    out = torch.empty((n, c, h + 2, w + 2), device=x.device, dtype=x.dtype, memory_format=memory_format)
    out[:, :, 1:-1, 1:-1].copy_(x)
    return reflect_fill_ring(out) if mode == "reflect" else replicate_fill_ring(out)


def replicate_fill_ring(p: torch.Tensor) -> torch.Tensor:
    """Fill the 1-pixel ring of ``p [N,C,H+2,W+2]`` by repeating its edge pixels (in place)."""
    p[:, :, :1, 1:-1].copy_(p[:, :, 1:2, 1:-1])
    p[:, :, -1:, 1:-1].copy_(p[:, :, -2:-1, 1:-1])
    p[..., :1].copy_(p[..., 1:2])
    p[..., -1:].copy_(p[..., -2:-1])
    return p


def pad_keeps_format(device: torch.device, dtype: torch.dtype, memory_format) -> bool:
    """True when ``F.pad`` (reflect) returns ``memory_format`` on this device (CPU: yes; CUDA:
    NCHW, which would make every conv convert its input)."""
    probe = torch.zeros((1, 4, 3, 3), device=device, dtype=dtype).contiguous(memory_format=memory_format)
    return F.pad(probe, (1, 1, 1, 1), mode="reflect").is_contiguous(memory_format=memory_format)


def max_pool2x2(x: torch.Tensor) -> torch.Tensor:
    """2×2 max-pool, stride 2, ``ceil_mode`` (odd sizes keep the last row/column)."""
    return F.max_pool2d(x, 2, 2, ceil_mode=True)


def amax_pool2x2(x: torch.Tensor) -> torch.Tensor:
    """:func:`max_pool2x2` as a reshape + ``amax`` (no indices), ``[N,C,H,W]`` → ``[N,C,⌈H/2⌉,⌈W/2⌉]``
    in the input's memory format. Channels_last: the row pairs are reduced by ``amax`` on an
    NHWC view, the column pairs (adjacent channel blocks there) by one ``maximum``."""
    n, c, h, w = x.shape
    if h % 2 or w % 2:  # ceil_mode: a -inf row/column never wins
        x = F.pad(x, (0, w % 2, 0, h % 2), value=float("-inf"))
        h, w = h + h % 2, w + w % 2
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        rows = x.permute(0, 2, 3, 1).reshape(n, h // 2, 2, w // 2, 2 * c).amax(dim=2)  # [N,H/2,W/2,2C]
        return torch.maximum(rows[..., :c], rows[..., c:]).permute(0, 3, 1, 2)
    return x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))


def pick_pool(device: torch.device):
    """``max_pool2d`` on CPU (it computes no indices there), the ``amax`` pool elsewhere."""
    return max_pool2x2 if device.type == "cpu" else amax_pool2x2


def reflect_fill_ring(p: torch.Tensor) -> torch.Tensor:
    """Fill the 1-pixel ring of ``p [N,C,H+2,W+2]`` by reflecting its interior (in place)."""
    p[:, :, :1, 1:-1].copy_(p[:, :, 2:3, 1:-1])
    p[:, :, -1:, 1:-1].copy_(p[:, :, -3:-2, 1:-1])
    p[..., :1].copy_(p[..., 2:3])
    p[..., -1:].copy_(p[..., -3:-2])
    return p


def pad_to_stride(x: torch.Tensor, stride: int = STRIDE) -> torch.Tensor:
    """Reflection-pad ``[N,C,H,W]`` bottom/right to multiples of ``stride`` (no copy if aligned)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % stride, (-w) % stride
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
    return x


def adain_mix(feat: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
              alpha: torch.Tensor | float) -> torch.Tensor:
    """``(1−α)·f + α·AdaIN(f, (mean, std))`` as one per-channel affine map of ``feat [N,C,h,w]``.

    Statistics and coefficients in fp32; the result in ``feat``'s dtype. ``alpha`` (float or a
    0-d fp32 tensor, clamped to [0, 1]) may live on the device, so a CUDA graph can read it.
    """
    alpha = alpha.clamp(0, 1) if torch.is_tensor(alpha) else min(max(float(alpha), 0.0), 1.0)
    f32 = feat.float()
    var, mu = torch.var_mean(f32, dim=(2, 3), unbiased=False)  # [N,C]
    scale = std / (var + EPS).sqrt()
    shift = alpha * (mean - mu * scale)
    scale = 1 - alpha + alpha * scale
    out = torch.addcmul(shift[..., None, None], f32, scale[..., None, None])
    return out.to(feat.dtype)


__all__ = ["FastNet", "Op", "adain_mix", "fold_preprocess", "subpixel_weight", "last_conv_bgr255",
           "pad_to_stride", "reflect_fill_ring", "replicate_fill_ring", "pad1_into", "pad_keeps_format",
           "amax_pool2x2", "max_pool2x2", "pick_pool", "pick_conv", "fused_candidate", "default_pad_mode",
           "fused_flop_formulas", "PAD_MODES"]
