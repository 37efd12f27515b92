"""Plain data passed between the app's threads (no Qt): newest-value slots, frames, results,
control values, and the processing-resolution rules.

Frames travel camera → :class:`LatestSlot` of :class:`Frame` → inference → :class:`LatestSlot`
of :class:`Result` → view. A slot holds one value; a new value replaces the old one, so a slow
consumer drops frames instead of queueing them and latency stays at one frame.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from engine.slots import NewestSlot

#: Processing resolutions offered (shorter side in pixels; 0 = the source's own size).
RESOLUTIONS = (256, 384, 512, 720, 0)
#: Emergency steps below the offered ones, used only after running out of memory.
FALLBACK_RESOLUTIONS = (720, 512, 384, 256, 192, 128, 96, 64)


LatestSlot = NewestSlot  # the GUI's name for the engine's newest-value slot


@dataclass(frozen=True)
class Frame:
    """One captured frame: ``image`` is ``HxWx3`` uint8 BGR at the source's resolution."""

    image: np.ndarray
    t_capture: float = field(default_factory=time.monotonic)
    index: int = 0


@dataclass(frozen=True)
class Controls:
    """Everything the inference thread reads per frame; the GUI swaps in a new instance."""

    alpha: float = 1.0
    preserve_color: bool = False
    palette: bool = True  # the painting's colour distribution (engine.nets.palette)
    resolution: int = 256  # shorter side; 0 = native
    style_keys: tuple[str, ...] = ()
    style_stats: tuple = ()  # StyleStats per key (CPU fp32)
    weights: tuple[float, ...] = ()
    stabilize: bool = False
    person_mode: str = "all"  # engine.runtime.person_style.MODES
    person_key: str = ""  # split mode: the person's style (a gallery path) …
    person_stats: object = None  # … and its StyleStats (CPU fp32)
    style_digests: tuple[str, ...] = ()  # content hash per key (engine.runtime.learned.style_digest)
    learn: bool = True  # Real-time model: run networks learned for the style (app/learning.py)


@dataclass(frozen=True)
class Result:
    """One displayed frame. ``stylized`` and ``original`` are ``hxwx3`` uint8 BGR at the processing
    size; ``source`` is the full-resolution captured frame (for snapshots)."""

    stylized: np.ndarray
    original: np.ndarray
    source: np.ndarray
    frame_index: int
    t_capture: float
    t_done: float
    controls: Controls
    styled: bool  # False when the frame is shown unstyled (no style ticked, no model)

    @property
    def latency(self) -> float:
        return self.t_done - self.t_capture


def processing_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(w, h) with the shorter side ``short_side`` (never upscaled; 0 = unchanged)."""
    if short_side <= 0 or min(width, height) <= short_side:
        return width, height
    scale = short_side / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def lower_resolution(width: int, height: int, current: int) -> int | None:
    """The next smaller processing resolution after running out of memory at ``current``
    (0 = native) for a ``width x height`` source, or None when nothing smaller is left."""
    effective = min(processing_size(width, height, current))
    for side in FALLBACK_RESOLUTIONS:
        if side < effective:
            return side
    return None


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA and CPU out-of-memory errors raised by torch."""
    if isinstance(exc, MemoryError):
        return True
    try:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
    except (ImportError, AttributeError):  # pragma: no cover - old torch
        pass
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text
                                              or "not enough memory" in text)


def resolution_label(side: int) -> str:
    return "native" if side == 0 else ("720p" if side == 720 else f"{side} px")
