"""Temporal-consistency metrics of a stylized video (``main.py flicker ORIGINAL STYLIZED``).

- **Warping error** (Lai et al. 2018, "Learning Blind Video Temporal Consistency"): for each
  pair of consecutive frames, optical flow is computed on the *original* frames (OpenCV DIS,
  medium preset, full resolution); the previous stylized frame is warped onto the current one
  and the mean squared RGB difference (values in [0,1]) is taken over reliable pixels only,
  then averaged over pairs. Unreliable pixels are masked out: those whose flow fails the
  forward-backward check ``|F_b(x) + F_f(x + F_b(x))|² ≤ 0.01·(|F_b|² + |F_f|²) + 0.5``
  (Sundaram et al. 2010, as used by Ruder et al. 2016), occlusions, and those that land
  outside the frame. A perfectly consistent stylization scores about the original's own
  warping error (sensor noise, lighting change); flicker raises it.
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

import functools
import json
import sys
from dataclasses import asdict, dataclass
from typing import Iterable, Iterator

import numpy as np

from .errors import InputError

FB_RELATIVE = 0.01
FB_ABSOLUTE = 0.5
MIN_FLOW_SIDE = 32  # OpenCV's DIS crashes (segfault) on thinner images, e.g. 16x300


# --- optical flow -----------------------------------------------------------------------------

def to_gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def dis_flow(src_gray: np.ndarray, dst_gray: np.ndarray, preset: str = "medium") -> np.ndarray:
    """Flow ``HxWx2`` float32 from ``src`` to ``dst``: ``src(x) ≈ dst(x + flow(x))``.

    Raises ValueError for images with a side under :data:`MIN_FLOW_SIDE`.
    """
    if min(src_gray.shape[:2]) < MIN_FLOW_SIDE or src_gray.shape != dst_gray.shape:
        raise ValueError(f"optical flow needs two frames of the same size, each side at least "
                         f"{MIN_FLOW_SIDE} pixels (got {src_gray.shape[1]}x{src_gray.shape[0]})")

    return create_dis(preset).calc(src_gray, dst_gray, None)


def create_dis(preset: str = "medium"):
    """An OpenCV DIS optical-flow object with the ``ultrafast``, ``fast`` or ``medium`` preset."""
    import cv2

    presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
               "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST, "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
    return cv2.DISOpticalFlow_create(presets[preset])


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` at ``x + flow(x)`` (bilinear, edge replicated): ``HxWxC`` like ``image``."""
    import cv2

    grid_x, grid_y = _pixel_grid(*flow.shape[:2])
    return cv2.remap(image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def consistency_mask(flow_back: np.ndarray, flow_fwd: np.ndarray) -> np.ndarray:
    """Reliable pixels of ``flow_back`` (t→t−1) given ``flow_fwd`` (t−1→t): ``HxW`` bool.

    Forward-backward check plus "lands inside the frame".
    """
    import cv2

    h, w = flow_back.shape[:2]
    grid_x, grid_y = _pixel_grid(h, w)
    x, y = grid_x + flow_back[..., 0], grid_y + flow_back[..., 1]
    fwd = cv2.remap(flow_fwd, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    bx, by, fx, fy = flow_back[..., 0], flow_back[..., 1], fwd[..., 0], fwd[..., 1]
    loop = (bx + fx) ** 2 + (by + fy) ** 2
    bound = FB_RELATIVE * (bx * bx + by * by + fx * fx + fy * fy) + FB_ABSOLUTE
    return (loop <= bound) & (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)


@functools.lru_cache(maxsize=8)
def _pixel_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates ``(x, y)``, each ``HxW`` float32 (cached per size; read only)."""
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    gx.flags.writeable = gy.flags.writeable = False
    return gx, gy


@dataclass(frozen=True)
class PairFlow:
    """Flow from frame t to frame t−1 of the original (``HxWx2``) and its reliable pixels (``HxW``)."""

    flow: np.ndarray
    mask: np.ndarray


def pair_flow(prev_rgb: np.ndarray, cur_rgb: np.ndarray, preset: str = "medium") -> PairFlow:
    prev_gray, cur_gray = to_gray(prev_rgb), to_gray(cur_rgb)
    back = dis_flow(cur_gray, prev_gray, preset)
    fwd = dis_flow(prev_gray, cur_gray, preset)
    return PairFlow(back, consistency_mask(back, fwd))


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

def pair_warping_error(prev_rgb: np.ndarray, cur_rgb: np.ndarray, pf: PairFlow) -> float:
    """Mean squared RGB difference (0..1 scale) between ``cur`` and ``prev`` warped onto it,
    over the reliable pixels of ``pf`` (NaN when none is reliable)."""
    count = int(pf.mask.sum())
    if count == 0:
        return float("nan")
    warped = warp(prev_rgb, pf.flow).astype(np.float32)
    diff = (cur_rgb.astype(np.float32) - warped) / 255.0
    return float((diff ** 2).sum(-1)[pf.mask].sum() / (3 * count))


def warping_error(stylized: Iterable[np.ndarray], flows: list[PairFlow]) -> float:
    """Mean over consecutive pairs of :func:`pair_warping_error` (flows from :func:`original_flows`)."""
    errors, prev = [], None
    for i, frame in enumerate(stylized):
        if prev is not None:
            if i - 1 >= len(flows):
                raise ValueError(f"more stylized frames than flows ({len(flows)} pairs)")
            errors.append(pair_warping_error(prev, frame, flows[i - 1]))
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

    def lines(self) -> list[str]:
        return [
            f"frames: {self.frames} ({max(0, self.frames - 1)} pairs); flow: OpenCV DIS (medium) "
            f"on the original, {100 * self.reliable_fraction:.1f}% of pixels reliable",
            f"warping error, stylized:  {self.warping_error:.6f}  (mean squared RGB difference, 0..1)",
            f"warping error, original:  {self.original_warping_error:.6f}  (noise/lighting floor)",
            f"frame-difference ratio:   {self.frame_difference_ratio:.3f}  "
            f"(mean|ΔS| {self.stylized_difference:.5f} / mean|ΔO| {self.original_difference:.5f})",
        ]


def flicker_report(originals: Iterable[np.ndarray], stylized: Iterable[np.ndarray]) -> FlickerReport:
    """Both metrics for two frame sequences of equal length (streamed: two frames in memory).

    Raises ValueError when the lengths differ.
    """
    sums = dict(warp=0.0, warp_orig=0.0, pairs=0, d_sty=0.0, d_orig=0.0, reliable=0.0, frames=0)
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
        reliable_fraction=sums["reliable"] / pairs_all)


# --- style loss (paper metric) ---------------------------------------------------------------

def tap_stats(encoder, rgb: np.ndarray) -> list[tuple]:
    """Channel means/stds at relu1_1..relu4_1 of an ``HxWx3`` uint8 RGB image: 4 × ([C], [C])."""
    import torch

    from .adain import mean_std
    from .imageio import to_tensor

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


# --- command line -----------------------------------------------------------------------------

def add_arguments(p) -> None:
    p.add_argument("original", help="the original video")
    p.add_argument("stylized", help="the stylized video (same frames, any size)")
    p.add_argument("--max-frames", type=int, default=0, help="only the first N frames (0: all)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def _limited(frames: Iterator[np.ndarray], n: int) -> Iterator[np.ndarray]:
    for i, frame in enumerate(frames):
        if n and i >= n:
            return
        yield frame


def run(args) -> int:
    from .video import probe_video, read_frames

    if args.max_frames < 0:
        raise InputError(None, f"--max-frames must be ≥ 0, got {args.max_frames}")
    probe_video(args.original)
    probe_video(args.stylized)
    try:
        report = flicker_report(_limited(read_frames(args.original), args.max_frames),
                                _limited(read_frames(args.stylized), args.max_frames))
    except ValueError as exc:
        raise InputError(args.stylized, str(exc)) from None
    if report.frames < 2:
        raise InputError(args.original, "needs at least 2 frames")
    if args.json:
        print(json.dumps(asdict(report), indent=1))
    else:
        print("\n".join(report.lines()), file=sys.stdout)
    return 0
