"""Person-aware styling: which style goes on the person and which on the background.

Modes (:data:`MODES`):

- ``all`` — style everything (the plain stylizer);
- ``keep_person`` — the person stays as filmed, the background is painted;
- ``keep_background`` — the person is painted, the room stays as filmed;
- ``split`` — the person in one style, the background in another (each may be a blend).

Method. The two *keep* modes stylize the whole frame (the stylizer's fast path) and composite it
with the original through the soft person mask: a kept region must stay within a few grey levels
of the camera, which a decoded image never is (the decoder's reconstruction is not exact), and
the per-region AdaIN alternative — the kept side's features left as they are, the painted side
normalised with its own statistics — measured the same within 1–3 grey levels at the edge, paints
the background less close to the person and forgoes the fast path (docs/QUALITY.md).
``split`` uses the paper's spatial control (per-region AdaIN, :func:`engine.nets.adain.masked_adain`)
with the person mask and its complement: one network pass instead of two.

No person in view → the mask is empty and the background's rule applies to the whole frame;
several people → all are in the mask.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from engine.nets.adain import StyleStats, blend_stats

from .person import resize_mask

MODES = ("all", "keep_person", "keep_background", "split")
#: shown in the app and accepted by the CLI
MODE_LABELS = {"all": "Style everything", "keep_person": "Keep me, style the background",
               "keep_background": "Style me, keep the background",
               "split": "Two styles: me / background"}


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"unknown person mode {mode!r}; expected one of {', '.join(MODES)}")
    return mode


def composite(stylized: np.ndarray, original: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``HxWx3`` uint8 ×2 + ``HxW`` float32 ``keep`` in [0,1] (1 = the original) → ``HxWx3`` uint8."""
    k = keep[..., None]
    out = stylized.astype(np.float32) * (1.0 - k) + original.astype(np.float32) * k
    return (out + 0.5).astype(np.uint8)


def region_masks(person: np.ndarray) -> torch.Tensor:
    """``HxW`` float32 person mask → ``[2,H,W]`` masks for (person style, background style)."""
    m = torch.from_numpy(np.ascontiguousarray(person, dtype=np.float32))
    return torch.stack([m, 1.0 - m])


def set_split_styles(stylizer, person: StyleStats, background: StyleStats):
    """The stylizer's plan for ``split``: style 0 on the person, style 1 on the background (each
    a single style's or a blend's statistics, e.g. :func:`engine.nets.adain.blend_stats`)."""
    return stylizer.set_styles([person, background], [1.0, 1.0])


def stylize_with_person(stylizer, frame_bgr: np.ndarray, mode: str,
                        person_mask: Callable[[], np.ndarray] | np.ndarray,
                        alpha: float | None = None, preserve_color: bool | None = None) -> np.ndarray:
    """``HxWx3`` uint8 BGR → same, styled by ``mode``.

    ``person_mask``: the frame's soft person mask (any size; resized here), or a function that
    returns it — called only once the network has started on the frame, so a mask computed on
    another thread overlaps the network instead of adding its time. ``split`` needs the plan of
    :func:`set_split_styles`; the other modes use the stylizer's current plan.
    """
    check_mode(mode)
    size = (frame_bgr.shape[1], frame_bgr.shape[0])
    get = person_mask if callable(person_mask) else (lambda: person_mask)
    if mode == "all":
        return stylizer(frame_bgr, alpha=alpha, preserve_color=preserve_color)
    if mode == "split":
        return stylizer(frame_bgr, alpha=alpha, preserve_color=preserve_color,
                        masks=lambda: region_masks(resize_mask(get(), size)))
    styled = stylizer(frame_bgr, alpha=alpha, preserve_color=preserve_color)
    person = resize_mask(get(), size)
    keep = person if mode == "keep_person" else 1.0 - person
    return composite(styled, frame_bgr, keep)


# --- whole images and video files (CLI) --------------------------------------------------------

def stylize_image_with_person(stylizer, content: np.ndarray, person: np.ndarray, mode: str,
                              styles: list, weights: list[float] | None = None, person_styles: list = (),
                              alpha: float = 1.0, preserve_color: bool = False) -> np.ndarray:
    """``HxWx3`` uint8 RGB content + its ``HxW`` person mask → stylized RGB of the same size.

    ``styles`` (with ``weights``) go on the background in ``split`` and on the painted side in
    the keep modes; ``person_styles`` (blended equally) go on the person in ``split``.
    """
    from .stylizer import stylize_image

    check_mode(mode)
    if mode != "split":
        out = stylize_image(stylizer, content, styles, weights, alpha, preserve_color)
        if mode == "all":
            return out
        return composite(out, content, person if mode == "keep_person" else 1.0 - person)
    if not person_styles:
        raise ValueError("the split mode needs a style for the person")
    if preserve_color:
        styles, person_styles = _colour_matched(styles, content), _colour_matched(person_styles, content)
    background = _blend(stylizer, styles, weights)
    stylizer.set_styles([_blend(stylizer, person_styles, None), background], [1.0, 1.0],
                        masks=[person, 1.0 - person])
    bgr = np.ascontiguousarray(content[:, :, ::-1])
    return np.ascontiguousarray(stylizer(bgr, alpha=alpha, preserve_color=False)[:, :, ::-1])


def _blend(stylizer, styles: list, weights: list[float] | None) -> StyleStats:
    stats = [stylizer.encode_style(s) for s in styles]
    return blend_stats(stats, [1.0] * len(stats) if weights is None else weights)


def _colour_matched(styles: list, content: np.ndarray) -> list:
    """The paper's colour preservation for images: each style image takes the content's colours."""
    from engine.media.imageio import load_image_rgb, to_tensor, to_uint8
    from engine.nets.adain import match_color

    c = to_tensor(content)
    return [to_uint8(match_color(to_tensor(load_image_rgb(s) if not isinstance(s, np.ndarray) else s), c))
            for s in styles]


class PersonFrames:
    """A frame function for :func:`engine.media.video.stylize_video`: each ``HxWx3`` uint8 BGR
    frame is segmented, its mask smoothed over time, and the frame styled by ``mode`` (the
    stylizer's plan must match the mode, see :func:`set_split_styles`)."""

    def __init__(self, stylizer, mode: str, segmenter=None):
        from .person import MaskSmoother, SelfieSegmenter

        self.stylizer, self.mode = stylizer, check_mode(mode)
        self.segmenter = segmenter or SelfieSegmenter()
        self.smoother = MaskSmoother()

    def __call__(self, frame_bgr: np.ndarray) -> np.ndarray:
        mask = self.smoother(self.segmenter(np.ascontiguousarray(frame_bgr[:, :, ::-1])))
        return stylize_with_person(self.stylizer, frame_bgr, self.mode, mask)


class LivePerson:
    """Person styling of a live stream, for the thread that owns the stylizer.

    :meth:`submit` the captured frame (full size, before any resizing) as soon as it is taken: its
    mask is made on the mask thread (:class:`~engine.runtime.person.PersonMasker`, started on first
    use) while the network works; :meth:`stylize` then uses it. When segmentation fails the frame
    counts as having no person (the background's rule everywhere) and :attr:`error` says why.
    """

    def __init__(self, masker_factory=None, timeout: float = 1.0):
        self._factory = masker_factory
        self._masker = None
        self.timeout = timeout

    @property
    def error(self) -> str | None:
        return None if self._masker is None else self._masker.error

    @property
    def last_mask_ms(self) -> float | None:
        """The mask thread's time for the newest frame (overlapped with the network)."""
        return None if self._masker is None else self._masker.last_ms

    def submit(self, frame_bgr: np.ndarray, index: int) -> None:
        if self._masker is None:
            from .person import PersonMasker

            self._masker = (self._factory or PersonMasker)()
        self._masker.submit(frame_bgr, index)

    def stylize(self, stylizer, frame_bgr: np.ndarray, index: int, mode: str,
                alpha: float | None = None, preserve_color: bool | None = None) -> np.ndarray:
        """Frame ``index`` (``HxWx3`` uint8 BGR, any size) styled by ``mode``."""
        if mode == "all" or self._masker is None:
            return stylize_with_person(stylizer, frame_bgr, "all", None, alpha, preserve_color)
        return stylize_with_person(stylizer, frame_bgr, mode, lambda: self.mask(index, frame_bgr.shape[:2]),
                                   alpha, preserve_color)

    def mask(self, index: int, shape: tuple[int, int]) -> np.ndarray:
        """The person mask of frame ``index`` (model resolution), or an empty ``shape`` mask."""
        m = self._masker.mask(index, self.timeout) if self._masker is not None else None
        return np.zeros(shape, np.float32) if m is None else m

    def reset(self) -> None:
        if self._masker is not None:
            self._masker.reset()

    def close(self) -> None:
        if self._masker is not None:
            self._masker.close()
            self._masker = None
