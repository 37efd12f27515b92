"""The stabilizer study's measurement (engine.tools.stabilizer_study.compare) on a tiny clip."""
from __future__ import annotations

import pytest

from engine.tools import stabilizer_study as study
from engine.tools.synthetic import pattern_image, synthetic_clip


def test_rows_carry_squared_and_absolute_warping_error(stylizer):
    frames = synthetic_clip(pattern_image(120, 160, seed=4), 6, (64, 48), seed=4)
    style = pattern_image(64, 64, seed=8)
    stylizer.set_styles([style])
    default = [c for c in study.DEFAULT_CANDIDATES if "(default)" in c["name"]]
    rows, per_frame = study.compare(stylizer, frames, style, default, log=lambda row: None)
    assert [r["name"] for r in rows] == ["per-frame", default[0]["name"]] and len(per_frame) == 6
    base, stable = rows
    assert base["warp_ratio"] == base["abs_ratio"] == 1.0
    assert 0 < stable["abs_warping_error"] < base["abs_warping_error"]  # the stage steadies the picture
    assert stable["abs_ratio"] == pytest.approx(stable["abs_warping_error"] / base["abs_warping_error"])
    table = study.format_rows(rows)
    assert "| absolute | × per-frame |" in table and f"{stable['abs_ratio']:.2f}" in table
