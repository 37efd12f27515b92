"""Issue #15's eye bar, in numbers, on the shipped decoder: the styles that used to come out tame.

A black-and-white engraving must give a (near-)monochrome picture, a flat-colour poster must
bring its flat colours, a dark night sky its darkness (not "a bluish photo"). The styles are
generated (engine.tools.synthetic), the content is the generated test scene.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.tools.synthetic import POSTER_COLOURS, engraving_style, night_sky_style, pattern_image, poster_style

DECODER = Path(__file__).resolve().parents[2] / "models" / "decoder.safetensors"


@pytest.fixture(scope="module")
def stylize():
    if not DECODER.is_file():
        pytest.skip("models/decoder.safetensors missing")
    from engine.runtime.stylizer import Stylizer

    st = Stylizer(device="cpu", style_side=256)
    content = np.ascontiguousarray(pattern_image(144, 192, seed=2)[:, :, ::-1])

    def run(style: np.ndarray) -> np.ndarray:
        st.set_styles([style])
        return st(content)[:, :, ::-1]  # RGB
    return run


def chroma(rgb: np.ndarray) -> float:
    """Mean spread of a pixel's R, G, B (0 for grey), in grey levels."""
    return float(rgb.astype(float).std(axis=2).mean())


def share_near(rgb: np.ndarray, colours, radius: float = 60) -> float:
    """Fraction of pixels within ``radius`` (RGB distance) of one of ``colours``."""
    x = rgb.reshape(-1, 3).astype(float)
    return float((np.min([np.linalg.norm(x - np.array(c), axis=1) for c in colours], axis=0) < radius).mean())


def test_a_monochrome_engraving_gives_a_monochrome_picture(stylize):
    assert chroma(pattern_image(144, 192, seed=2)) > 20  # a colourful scene
    assert chroma(stylize(engraving_style())) < 2.5


def test_a_dark_night_sky_gives_a_dark_picture(stylize):
    style = night_sky_style()
    out = stylize(style)
    assert np.abs(out.reshape(-1, 3).mean(0) - style.reshape(-1, 3).mean(0)).max() < 10
    assert out[..., 2].mean() > out[..., 0].mean() + 40  # blue, as the painting


def test_a_flat_colour_poster_brings_its_colours(stylize):
    palette = list(POSTER_COLOURS) + [(10, 10, 10)]
    content = pattern_image(144, 192, seed=2)
    out = stylize(poster_style())
    assert share_near(out, palette) > 0.4 > 3 * share_near(content, palette)
