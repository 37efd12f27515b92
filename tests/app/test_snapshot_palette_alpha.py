"""Snapshots in the split person mode take the painting's palette at strength α (issue #29,
item 19, first bullet): at α = 0 the full-resolution PNG keeps the original colours; applying
the palette at full strength whatever α is fails here. Real VGG encoder, committed decoder, the
jobs thread's own render function (:func:`app.job_worker.stylize_still`)."""
from __future__ import annotations

import numpy as np

from conftest import smooth_image, stripes_image


def test_split_snapshot_keeps_the_original_colours_at_alpha_zero():
    from app.job_worker import stylize_still
    from app.pipeline import Controls
    from engine import Stylizer
    from engine.runtime.person_style import set_split_styles

    stylizer = Stylizer(device="cpu", style_side=128)
    h, w = 120, 160  # the full-resolution frame a snapshot renders
    frame = np.ascontiguousarray(smooth_image(h, w, 9)[:, :, ::-1])
    grey = stripes_image(96, 96).mean(axis=2, keepdims=True).repeat(3, axis=2).astype(np.uint8)
    set_split_styles(stylizer, stylizer.encode_style(grey), stylizer.encode_style(stripes_image(96, 96, 9)))
    person = np.zeros((h, w), np.float32)
    person[:, : w // 2] = 1.0  # the person (grey painting) on the left
    shots = {(alpha, palette): stylize_still(stylizer, frame, Controls(alpha=alpha, palette=palette,
                                                                       person_mode="split"), person)
             for alpha in (0.0, 1.0) for palette in (True, False)}
    left = person > 0.5
    spread = lambda img: float(img.astype(np.float64).std(axis=2)[left].mean())  # noqa: E731 - 0 = grey
    diff = np.abs(shots[0.0, True].astype(np.int16) - shots[0.0, False].astype(np.int16))
    assert int(diff.max()) <= 1  # α = 0: the palette changes nothing
    assert spread(shots[0.0, True]) > 0.6 * spread(frame)  # the photo's colours, not the grey painting's
    assert spread(shots[1.0, True]) < 0.25 * spread(shots[1.0, False])  # α = 1: the person is grey
