"""Temporal-consistency metrics of a stylized video (the tool behind ``main.py flicker``).

- **Warping error** (Lai et al. 2018, "Learning Blind Video Temporal Consistency"): for each
  pair of consecutive frames, optical flow is computed on the *original* frames (OpenCV DIS,
  medium preset, full resolution); the previous stylized frame is warped onto the current one
  and the mean squared RGB difference (values in [0,1]) is taken over reliable pixels only,
  then averaged over pairs. Unreliable pixels are masked out: those whose flow fails the
  forward-backward check ``|F_b(x) + F_f(x + F_b(x))|² ≤ 0.01·(|F_b|² + |F_f|²) + 0.5``
  (Sundaram et al. 2010, as used by Ruder et al. 2016), occlusions, and those that land
  outside the frame. A perfectly consistent stylization scores about the original's own
  warping error (sensor noise, lighting change); flicker raises it.
- **Absolute warping error**: the same with the mean *absolute* difference. Shimmer of fine
  texture (many small changes) is what a viewer sees, and a squared error weighs it little next
  to a few large changes; report both.
- **Frame-difference ratio** (flow-free): ``mean|S_t − S_{t−1}| / mean|O_t − O_{t−1}|``, how
  much the stylization amplifies the frame-to-frame change of the input. It needs no flow,
  so it also catches flicker the flow check masks away, but it also counts honest motion of
  high-contrast stylized texture.
- :func:`style_loss`: the paper's style loss of one frame against a style image (sum over
  relu1_1..relu4_1 of the MSE of channel means plus the MSE of channel stds).

Frames are ``HxWx3`` uint8 RGB arrays. When the stylized video has another size, the
original frames are resized to it before the flow is computed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from engine.runtime.flow import PairFlow, pair_flow, warp

def original_flows(originals: Iterable[np.ndarray], size: tuple[int, int] | None = None) -> list[PairFlow]:
    """:class:`PairFlow` for every consecutive pair (``len(originals) − 1`` of them).

    ``size`` ``(width, height)``: resize the originals first (to the stylized size).
    """
    flows, prev = [], None
    for frame in originals:
        frame = _resized(frame, size)
        if prev is not None:
            flows.append(pair_flow(prev, frame))
        prev = frame
    return flows


def _resized(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    import cv2

    if size is None or (frame.shape[1], frame.shape[0]) == tuple(size):
        return frame
    return cv2.resize(frame, tuple(size), interpolation=cv2.INTER_AREA)


# --- metrics ----------------------------------------------------------------------------------

def pair_warping_error(prev_rgb: np.ndarray, cur_rgb: np.ndarray, pf: PairFlow, absolute: bool = False) -> float:
    """Mean squared (``absolute``: absolute) RGB difference (0..1 scale) between ``cur`` and
    ``prev`` warped onto it, over the reliable pixels of ``pf`` (NaN when none is reliable)."""
    count = int(pf.mask.sum())
    if count == 0:
        return float("nan")
    warped = warp(prev_rgb, pf.flow).astype(np.float32)
    diff = (cur_rgb.astype(np.float32) - warped) / 255.0
    per_pixel = np.abs(diff) if absolute else diff ** 2
    return float(per_pixel.sum(-1)[pf.mask].sum() / (3 * count))


def warping_error(stylized: Iterable[np.ndarray], flows: list[PairFlow], absolute: bool = False) -> float:
    """Mean over consecutive pairs of :func:`pair_warping_error` (flows from :func:`original_flows`)."""
    errors, prev = [], None
    for i, frame in enumerate(stylized):
        if prev is not None:
            if i - 1 >= len(flows):
                raise ValueError(f"more stylized frames than flows ({len(flows)} pairs)")
            errors.append(pair_warping_error(prev, frame, flows[i - 1], absolute))
        prev = frame
    errors = [e for e in errors if np.isfinite(e)]
    return float(np.mean(errors)) if errors else float("nan")


def mean_abs_difference(frames: Iterable[np.ndarray]) -> float:
    """Mean over consecutive pairs of ``mean|F_t − F_{t−1}|`` (0..1 scale)."""
    values, prev = [], None
    for frame in frames:
        cur = frame.astype(np.float32) / 255.0
        if prev is not None:
            values.append(float(np.abs(cur - prev).mean()))
        prev = cur
    return float(np.mean(values)) if values else float("nan")


@dataclass(frozen=True)
class FlickerReport:
    frames: int
    warping_error: float  # stylized video
    original_warping_error: float  # the original's own (noise, lighting): the floor
    frame_difference_ratio: float  # mean|ΔS| / mean|ΔO|
    stylized_difference: float  # mean|ΔS|
    original_difference: float  # mean|ΔO|
    reliable_fraction: float  # pixels that passed the forward-backward check
    abs_warping_error: float = float("nan")  # stylized, mean absolute difference
    original_abs_warping_error: float = float("nan")

    def lines(self) -> list[str]:
        return [
            f"frames: {self.frames} ({max(0, self.frames - 1)} pairs); flow: OpenCV DIS (medium) "
            f"on the original, {100 * self.reliable_fraction:.1f}% of pixels reliable",
            f"warping error, stylized:  {self.warping_error:.6f}  (mean squared RGB difference, 0..1)",
            f"warping error, original:  {self.original_warping_error:.6f}  (noise/lighting floor)",
            f"absolute warping error, stylized: {self.abs_warping_error:.5f}, original: "
            f"{self.original_abs_warping_error:.5f}  (mean absolute RGB difference, 0..1)",
            f"frame-difference ratio:   {self.frame_difference_ratio:.3f}  "
            f"(mean|ΔS| {self.stylized_difference:.5f} / mean|ΔO| {self.original_difference:.5f})",
        ]


def flicker_report(originals: Iterable[np.ndarray], stylized: Iterable[np.ndarray]) -> FlickerReport:
    """Both metrics for two frame sequences of equal length (streamed: two frames in memory).

    Raises ValueError when the lengths differ.
    """
    sums = dict(warp=0.0, warp_orig=0.0, abs=0.0, abs_orig=0.0, pairs=0, d_sty=0.0, d_orig=0.0, reliable=0.0,
                frames=0)
    prev_o = prev_s = None
    orig_iter, sty_iter = iter(originals), iter(stylized)
    while True:
        o, s = next(orig_iter, None), next(sty_iter, None)
        if o is None or s is None:
            if o is not None or s is not None:
                rest = sum(1 for _ in (orig_iter if o is not None else sty_iter)) + 1
                longer = "original" if o is not None else "stylized"
                raise ValueError(f"frame counts differ: the {longer} video has {rest} more frames")
            break
        sums["frames"] += 1
        o = _resized(o, (s.shape[1], s.shape[0]))
        if prev_o is not None:
            pf = pair_flow(prev_o, o)
            if pf.mask.any():
                sums["warp"] += pair_warping_error(prev_s, s, pf)
                sums["warp_orig"] += pair_warping_error(prev_o, o, pf)
                sums["abs"] += pair_warping_error(prev_s, s, pf, absolute=True)
                sums["abs_orig"] += pair_warping_error(prev_o, o, pf, absolute=True)
                sums["pairs"] += 1
            sums["reliable"] += float(pf.mask.mean())
            sums["d_sty"] += float(np.abs(s.astype(np.float32) - prev_s).mean()) / 255.0
            sums["d_orig"] += float(np.abs(o.astype(np.float32) - prev_o).mean()) / 255.0
        prev_o, prev_s = o, s
    pairs_all = max(1, sums["frames"] - 1)
    pairs = max(1, sums["pairs"])
    nan = float("nan")
    d_sty, d_orig = sums["d_sty"] / pairs_all, sums["d_orig"] / pairs_all
    return FlickerReport(
        frames=sums["frames"],
        warping_error=sums["warp"] / pairs if sums["pairs"] else nan,
        original_warping_error=sums["warp_orig"] / pairs if sums["pairs"] else nan,
        frame_difference_ratio=d_sty / d_orig if d_orig > 0 else nan,
        stylized_difference=d_sty, original_difference=d_orig,
        reliable_fraction=sums["reliable"] / pairs_all,
        abs_warping_error=sums["abs"] / pairs if sums["pairs"] else nan,
        original_abs_warping_error=sums["abs_orig"] / pairs if sums["pairs"] else nan)


# --- style loss (paper metric) ---------------------------------------------------------------

def tap_stats(encoder, rgb: np.ndarray) -> list[tuple]:
    """Channel means/stds at relu1_1..relu4_1 of an ``HxWx3`` uint8 RGB image: 4 × ([C], [C])."""
    import torch

    from engine.nets.adain import mean_std
    from engine.media.imageio import to_tensor

    param = next(encoder.parameters())
    x = to_tensor(rgb).to(device=param.device, dtype=param.dtype)
    with torch.inference_mode():
        return [tuple(v[0] for v in mean_std(f)) for f in encoder.taps(x)]


def style_loss(encoder, frame_rgb: np.ndarray, style_taps: list[tuple]) -> float:
    """Σ_layers MSE(μ(frame), μ(style)) + MSE(σ(frame), σ(style)) (Huang & Belongie Eq. 13,
    as a mean over channels); ``style_taps`` from :func:`tap_stats` of the style image."""
    total = 0.0
    for (fm, fs), (sm, ss) in zip(tap_stats(encoder, frame_rgb), style_taps):
        total += float(((fm - sm) ** 2).mean() + ((fs - ss) ** 2).mean())
    return total
