"""Dense optical flow for temporal work: DIS flow, warping, and the forward-backward check.

Arrays: grayscale ``HxW`` uint8, RGB ``HxWx3`` uint8, flow ``HxWx2`` float32 in pixels.
Used per frame by the stabilizer and by the flicker metric (a tool).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

FB_RELATIVE = 0.01
FB_ABSOLUTE = 0.5
MIN_FLOW_SIDE = 32  # OpenCV's DIS crashes (segfault) on thinner images, e.g. 16x300


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
