"""The jobs thread: :class:`JobThread` does the slow one-off work off the frame path, one job at
a time and at a lower CPU priority: encoding added styles (through the on-disk style cache) and
full-resolution snapshots (:func:`stylize_still`).
"""
from __future__ import annotations

import contextlib
import itertools
import queue
import time
import traceback
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal

from engine.errors import InputError

from .inference_worker import StylizerBox
from .pipeline import Controls, Result, is_out_of_memory, processing_size
from .threads import POLL_S, StoppableThread, lower_thread_priority

SNAPSHOT_MAX_SHORT_SIDE = 1080  # larger sources are stylized at this size and upscaled
JOB_NICENESS = 10  # style encoding and snapshots must not slow the live video down


class JobThread(StoppableThread):
    """Encodes added styles and renders snapshots, one job at a time, off the frame path."""

    style_ready = Signal(str, object, object, bool)  # path, StyleStats (CPU), thumbnail RGB, cached
    style_failed = Signal(str, str)  # path, one-line reason
    snapshot_done = Signal(str, str)  # path ('' on failure), message
    learned_ready = Signal(str, str)  # key of a learned network now prepared in the stylizer, error ('' if none)
    THUMB = 96

    def __init__(self, box: StylizerBox, cache_root=None):
        super().__init__("jobs")
        self.box = box
        self.cache_root = cache_root
        self._jobs: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()  # FIFO within a priority
        self.encode_intervals: list[tuple[float, float]] = []  # (start, end) of each real encode
        self.digests: dict[str, str] = {}  # style path → content hash (keys learned networks)

    def add_style(self, path: str, urgent: bool = False) -> None:
        """Queue a style for encoding; ``urgent`` ones (ticked by the user) go first."""
        self._put(0 if urgent else 1, ("style", path))

    def prepare_learned(self, key: str, cache_root: str, shape) -> None:
        """Load the learned network ``key`` from the cache and build its frame graph for ``shape``
        frames in the stylizer, off the frame path; ``learned_ready`` says when."""
        self._put(0, ("learned", key, cache_root, shape))

    def snapshot(self, result: Result, path: str) -> None:
        self._put(0, ("snapshot", result, path))

    def _put(self, priority: int, job: tuple) -> None:
        self._jobs.put((priority, next(self._order), job))

    def run(self) -> None:
        lower_thread_priority(JOB_NICENESS)
        while not self.stopping:
            try:
                _, _, job = self._jobs.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if not self._wait_for_stylizer():
                return
            try:
                if job[0] == "style":
                    self._encode(job[1])
                elif job[0] == "learned":
                    self._prepare_learned(*job[1:])
                else:
                    self._snapshot(job[1], job[2])
            except Exception as exc:  # noqa: BLE001 - report, keep the thread alive
                traceback.print_exc()
                target = job[1] if job[0] in ("style", "learned") else job[2]
                if job[0] == "learned":
                    self.learned_ready.emit(target, f"{type(exc).__name__}: {exc}")
                elif job[0] == "style":
                    self.style_failed.emit(target, f"{target}: {type(exc).__name__}: {exc}")
                else:
                    self.snapshot_done.emit("", f"snapshot failed: {exc}")

    def _wait_for_stylizer(self) -> bool:
        while not self.box.ready.wait(POLL_S):
            if self.stopping:
                return False
        return not self.stopping

    def _encode(self, path: str) -> None:
        from engine.media.imageio import load_image_rgb
        from engine.runtime.style_cache import StyleCache, encode_style_file

        try:
            rgb = load_image_rgb(path)
        except InputError as exc:
            self.style_failed.emit(path, str(exc))
            return
        thumb = make_thumbnail(rgb, self.THUMB)
        from engine.runtime.learned import style_digest

        self.digests[path] = style_digest(rgb)
        st = self.box.stylizer
        if st is None:
            self.style_failed.emit(path, f"{Path(path).name}: cannot encode styles, {self.box.error}")
            return
        cache = StyleCache(st.encoder_id, st.style_side, self.cache_root)
        t0 = time.monotonic()
        stats, cached = encode_style_file(st, path, cache, rgb=rgb)
        if not cached:
            self.encode_intervals.append((t0, time.monotonic()))
        self.style_ready.emit(path, stats, thumb, cached)

    def _prepare_learned(self, key: str, cache_root: str, shape) -> None:
        from engine.runtime.learned import LearnedCache

        st = self.box.stylizer
        learned = LearnedCache(cache_root).get(key)
        if st is None or not hasattr(st, "prepare_learned"):
            self.learned_ready.emit(key, "no Real-time model loaded")
        elif learned is None:
            self.learned_ready.emit(key, "the cached network is missing or broken; it will be learned again")
        else:
            st.prepare_learned(learned, tuple(shape) if shape is not None else None)
            self.learned_ready.emit(key, "")

    def _snapshot(self, result: Result, path: str) -> None:
        from engine.media.imageio import save_image_rgb

        full, note = self._full_resolution(result)
        save_image_rgb(np.ascontiguousarray(full[:, :, ::-1]), path)
        h, w = full.shape[:2]
        self.snapshot_done.emit(path, f"snapshot saved: {path} ({w}x{h}{note})")

    def _full_resolution(self, result: Result) -> tuple[np.ndarray, str]:
        """The result's frame stylized again at the source's full resolution (BGR)."""
        import cv2

        src = result.source
        size = (src.shape[1], src.shape[0])
        st = self.box.stylizer
        if not result.styled or st is None:
            return src, ""
        work = processing_size(size[0], size[1], SNAPSHOT_MAX_SHORT_SIDE)
        frame = src if work == size else cv2.resize(src, work, interpolation=cv2.INTER_AREA)
        try:
            out = stylize_still(st, frame, result.controls, self._person_mask(frame, result.controls))
            note = "" if work == size else f", stylized at {work[0]}x{work[1]} and upscaled"
        except Exception as exc:  # noqa: BLE001 - fall back to the live result
            if not is_out_of_memory(exc):
                raise
            out, note = result.stylized, ", upscaled from the live view (out of memory at full size)"
        if (out.shape[1], out.shape[0]) != size:
            out = cv2.resize(out, size, interpolation=cv2.INTER_CUBIC)
        return out, note


    def _person_mask(self, frame_bgr: np.ndarray, controls: Controls) -> np.ndarray | None:
        """The snapshot frame's own person mask (``HxW``) in a person mode, else None."""
        if controls.person_mode == "all":
            return None
        from engine.runtime.person import SelfieSegmenter, person_mask

        if getattr(self, "_segmenter", None) is None:
            self._segmenter = SelfieSegmenter()  # this thread's own: interpreters are not shared
        return person_mask(self._segmenter, np.ascontiguousarray(frame_bgr[:, :, ::-1]))


def stylize_still(stylizer, frame_bgr: np.ndarray, controls: Controls,
                  person: np.ndarray | None = None) -> np.ndarray:
    """Stylize one frame with the stylizer's current styles, outside the live stream: BGR uint8
    in and out. The plan is passed as a copy because the stylizer feeds only frames of its *own*
    current plan to the temporal stabilizer, whose state belongs to the live stream. ``person``:
    the frame's person mask (``HxW``) in a person mode."""
    import dataclasses

    import torch

    from engine.runtime.person_style import composite, region_masks

    plan = stylizer.plan
    if plan is None:
        return frame_bgr
    with getattr(stylizer, "device_lock", None) or contextlib.nullcontext(), torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(frame_bgr)).to(stylizer.device)
        x = x.permute(2, 0, 1).unsqueeze(0).flip(1).to(stylizer.dtype).div_(255.0)
        x = x.contiguous(memory_format=getattr(stylizer, "memory_format", torch.contiguous_format))
        split = person is not None and controls.person_mode == "split"
        y = stylizer.stylize_tensor(x, alpha=controls.alpha, preserve_color=controls.preserve_color,
                                    plan=dataclasses.replace(plan), masks=region_masks(person) if split else None,
                                    palette=controls.palette)
        y = (y[0].flip(0).float() * 255.0).add_(0.5).clamp_(0, 255).to(torch.uint8)
        out = y.permute(1, 2, 0).contiguous().cpu().numpy()
    if person is None or controls.person_mode not in ("keep_person", "keep_background"):
        return out
    return composite(out, frame_bgr, person if controls.person_mode == "keep_person" else 1.0 - person)


def make_thumbnail(rgb: np.ndarray, side: int) -> np.ndarray:
    """Square centre crop scaled to ``side`` (``side x side x 3`` uint8 RGB)."""
    import cv2

    h, w = rgb.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    crop = rgb[y0:y0 + s, x0:x0 + s]
    interp = cv2.INTER_AREA if s > side else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(crop, (side, side), interpolation=interp))
