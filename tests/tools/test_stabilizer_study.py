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


def test_the_lite_model_is_measured_with_a_vgg_encoder_of_its_own():
    from conftest import styled_net
    from engine.runtime.stylizer import Stylizer

    lite = Stylizer(device="cpu", lite_net=styled_net(seed=2))
    assert lite.encoder is None
    frames = synthetic_clip(pattern_image(120, 160, seed=5), 5, (64, 48), seed=5)
    style = pattern_image(64, 64, seed=9)
    lite.set_styles([style])
    rows, _ = study.compare(lite, frames, style, [], log=lambda row: None)
    assert rows[0]["style_loss"] > 0 and rows[0]["abs_warping_error"] > 0
