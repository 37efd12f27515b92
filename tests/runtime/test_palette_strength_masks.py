"""The painting's palette follows α with masks too (issue #29, item 19, first bullet).

Every masked path — ``stylize --mask`` (:func:`stylize_image` with masks), the split person mode
live (:func:`stylize_with_person`) and in ``video`` (:class:`PersonFrames`, Stabilize on) — gives
each region its own style's palette *at strength α*: at α = 0 the picture keeps the original
colours (exactly what it is without the palette), at α = 1 a grey painting's region turns grey.
Applying the palette at full strength whatever α is (the breakage a mutation run found) fails
each test here. Real VGG encoder and the committed decoder, so α = 0 reconstructs the photo.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import smooth_image, stripes_image

H, W = 96, 128


@pytest.fixture(scope="module")
def committed():
    from engine import Stylizer

    return Stylizer(device="cpu", style_side=128)


@pytest.fixture(scope="module")
def scene():
    """(content RGB, grey painting RGB, colourful painting RGB, left-half mask HxW float)."""
    content = smooth_image(H, W, 4)
    grey = stripes_image(96, 96).mean(axis=2, keepdims=True).repeat(3, axis=2).astype(np.uint8)
    colour = stripes_image(96, 96, period=9)
    left = np.zeros((H, W), np.float32)
    left[:, : W // 2] = 1.0
    return content, grey, colour, left


def chroma(rgb: np.ndarray, region: np.ndarray) -> float:
    """Mean spread of the three channels inside ``region`` (0 for a grey picture)."""
    return float(rgb.astype(np.float64).std(axis=2)[region].mean())


def colour_offset(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    """Largest difference of the per-channel means inside ``region``, in grey levels."""
    return float(np.abs(a[region].astype(np.float64).mean(0) - b[region].astype(np.float64).mean(0)).max())


def max_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def check_alpha_zero_and_one(on0, off0, on1, off1, content, grey_region) -> None:
    """α = 0: the palette changes nothing (the network's reconstruction of the photo, whose
    colours stay as colourful as the photo's); α = 1: the grey painting's region is grey (so the
    palette really runs on this path)."""
    assert max_diff(on0, off0) <= 1, max_diff(on0, off0)
    assert colour_offset(on0, off0, grey_region) <= 0.5
    assert chroma(on0, grey_region) > 0.6 * chroma(content, grey_region)
    assert chroma(on1, grey_region) < 0.25 * chroma(off1, grey_region)


def test_stylize_with_masks_keeps_the_original_colours_at_alpha_zero(committed, scene):
    """What ``main.py stylize --mask`` runs."""
    from engine.runtime.stylizer import stylize_image

    content, grey, colour, left = scene
    masks = [left, 1.0 - left]
    outs = {}
    for alpha in (0.0, 1.0):
        for palette in (True, False):
            committed.match_palette = palette
            outs[alpha, palette] = stylize_image(committed, content, [grey, colour], alpha=alpha, masks=masks)
    committed.match_palette = True
    check_alpha_zero_and_one(outs[0.0, True], outs[0.0, False], outs[1.0, True], outs[1.0, False],
                             content, left > 0.5)


@pytest.mark.parametrize("stabilize", [False, True])
def test_split_person_mode_keeps_the_original_colours_at_alpha_zero(committed, scene, stabilize):
    """The window's and ``video``'s split mode: the person (mask) in the grey painting, the
    background in the colourful one; the mask arrives as a function, as from the mask thread."""
    from engine.runtime.person_style import set_split_styles, stylize_with_person

    content, grey, colour, left = scene
    bgr = np.ascontiguousarray(content[:, :, ::-1])
    set_split_styles(committed, committed.encode_style(grey), committed.encode_style(colour))
    committed.stabilize = stabilize
    outs = {}
    try:
        for alpha in (0.0, 1.0):
            for palette in (True, False):
                committed.match_palette = palette
                committed.reset()
                for _ in range(3 if stabilize else 1):  # the stabilized stream's third frame
                    out = stylize_with_person(committed, bgr, "split", lambda: left, alpha=alpha)
                outs[alpha, palette] = np.ascontiguousarray(out[:, :, ::-1])
    finally:
        committed.stabilize, committed.match_palette = False, True
    check_alpha_zero_and_one(outs[0.0, True], outs[0.0, False], outs[1.0, True], outs[1.0, False],
                             content, left > 0.5)


def test_video_person_frames_keep_the_original_colours_at_alpha_zero(committed, scene):
    """``main.py video --person-style``: :class:`PersonFrames` segments each frame (here a
    segmenter that finds the person in the left half) and styles it, Stabilize on."""
    from engine.runtime.person_style import PersonFrames, set_split_styles

    content, grey, colour, left = scene
    square = np.zeros((256, 256), np.float32)
    square[:, :128] = 1.0
    segment = lambda rgb: square  # noqa: E731 - the segmenter's 256x256 person probability
    set_split_styles(committed, committed.encode_style(grey), committed.encode_style(colour))
    frames = [np.ascontiguousarray(np.roll(content, 2 * i, axis=1)[:, :, ::-1]) for i in range(3)]
    outs = {}
    committed.stabilize = True
    try:
        for alpha in (0.0, 1.0):
            for palette in (True, False):
                committed.alpha, committed.match_palette = alpha, palette
                committed.reset()
                person = PersonFrames(committed, "split", segmenter=segment)
                outs[alpha, palette] = np.ascontiguousarray([person(f) for f in frames][-1][:, :, ::-1])
    finally:
        committed.stabilize, committed.alpha, committed.match_palette = False, 1.0, True
    inside = np.zeros((H, W), bool)
    inside[:, 8: W // 2 - 8] = True  # the person's half, away from the feathered edge
    check_alpha_zero_and_one(outs[0.0, True], outs[0.0, False], outs[1.0, True], outs[1.0, False],
                             np.roll(content, 4, axis=1), inside)
