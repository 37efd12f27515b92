"""``main.py evaluate``: the metrics with numbers, the L-BFGS baseline, the CLI on a tiny dataset."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import random_decoder_state, smooth_image
from engine.training import evaluate as ev
from engine.training import report
from engine.media.imageio import to_tensor


@pytest.fixture(scope="module")
def encoder():
    from engine.nets.encoder import load_encoder

    return load_encoder()


@pytest.fixture(scope="module")
def photo_and_painting():
    return to_tensor(smooth_image(64, 64, 11)), to_tensor(smooth_image(64, 64, 12))


# --- structure --------------------------------------------------------------------------------

def test_structure_of_content_with_itself_is_one_and_ignores_affine_changes(encoder, photo_and_painting):
    with torch.no_grad():
        fc = encoder(photo_and_painting[0])
    assert ev.structure(fc, fc) == pytest.approx(1.0, abs=1e-9)
    assert ev.structure(3.0 * fc + 2.0, fc) == pytest.approx(1.0, abs=1e-9)


def test_structure_averages_per_channel_correlations_and_skips_flat_channels():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, 8, 8, generator=g)
    ref = x.clone()
    out = x.clone()
    out[0, 1] = -x[0, 1]  # channel 1: correlation −1
    out[0, 2] = 5.0  # channel 2: flat in the output → left out
    assert ev.structure(out, ref) == pytest.approx(0.0, abs=1e-9)
    out[0, 1] = x[0, 1]
    assert ev.structure(out, ref) == pytest.approx(1.0, abs=1e-9)  # 2 of 2 counted, not 2 / 3
    half = x.clone()
    half[0, 0] = x[0, 0] + torch.randn(8, 8, generator=g)  # partly correlated
    r0 = torch.corrcoef(torch.stack([half[0, 0].flatten(), x[0, 0].flatten()]))[0, 1].item()
    assert ev.structure(half, ref) == pytest.approx((r0 + 1.0 + 1.0) / 3, abs=1e-6)


def test_structure_of_a_flat_image_is_zero(encoder, photo_and_painting):
    flat = torch.full((1, 3, 64, 64), 0.5)
    with torch.no_grad():
        f_flat, fc = encoder(flat), encoder(photo_and_painting[0])
    assert ev.structure(f_flat, fc) == 0.0
    assert ev.structure(fc, f_flat) == 0.0


# --- losses -----------------------------------------------------------------------------------

def test_style_loss_is_zero_for_an_image_against_itself_and_matches_hand_numbers(encoder, photo_and_painting):
    from engine.training.train import style_loss

    with torch.no_grad():
        taps = encoder.taps(photo_and_painting[1])
        other = encoder.taps(photo_and_painting[0])
    assert float(style_loss(taps, taps)) == 0.0
    assert float(style_loss(other, taps)) > 0.0
    # One layer, constant features 1 vs 3: means differ by 2 (MSE 4), stds are equal (MSE 0).
    ones, threes = torch.ones(1, 4, 5, 5), torch.full((1, 4, 5, 5), 3.0)
    assert float(style_loss([ones], [threes])) == pytest.approx(4.0, rel=1e-6)
    # Zero mean, ±2 checkerboard vs zeros: only the stds differ, σ = sqrt(var + eps).
    checker = ((torch.arange(36).view(1, 1, 6, 6) % 2) * 4.0 - 2.0).expand(1, 4, 6, 6)
    eps = 1e-5
    expected = (math.sqrt(4.0 + eps) - math.sqrt(eps)) ** 2
    assert float(style_loss([checker], [torch.zeros(1, 4, 6, 6)])) == pytest.approx(expected, rel=1e-5)


def test_content_loss_is_the_mse_to_the_adain_target(encoder, photo_and_painting):
    c, s = photo_and_painting
    pair = ev.prepare_pair(encoder, c, s, alpha=1.0)
    assert ev.content_loss(pair.target, pair.target) == 0.0
    assert ev.content_loss(pair.target + 0.5, pair.target) == pytest.approx(0.25, rel=1e-6)
    m = ev.image_metrics(encoder, c, pair)  # the unstylized content image
    with torch.no_grad():
        expected = torch.nn.functional.mse_loss(encoder(c), pair.target).item()
    assert m["content_loss"] == pytest.approx(expected, rel=1e-6)
    assert m["structure"] == pytest.approx(1.0, abs=1e-9)
    # alpha 0: the target is f(c) itself, so the content image has content loss 0.
    assert ev.image_metrics(encoder, c, ev.prepare_pair(encoder, c, s, alpha=0.0))["content_loss"] == 0.0


# --- L-BFGS baseline --------------------------------------------------------------------------

def test_lbfgs_reduces_the_total_loss_and_snapshots_each_count(encoder, photo_and_painting):
    c, s = photo_and_painting
    pair = ev.prepare_pair(encoder, c, s, alpha=1.0)
    snaps, losses = ev.lbfgs_transfer(encoder, c, pair, [3, 6], style_weight=10.0)
    assert sorted(snaps) == [3, 6] and len(losses) == 7
    assert losses[0] == pytest.approx(float(ev.total_loss(encoder, c, pair, 10.0)), rel=1e-5)
    assert losses[-1] < 0.7 * losses[0]
    assert not torch.equal(snaps[3], snaps[6])
    before = ev.image_metrics(encoder, c, pair)["style_loss"]
    after = ev.image_metrics(encoder, ev.quantise(snaps[6]), pair)["style_loss"]
    assert after < before


# --- pairs and summary ------------------------------------------------------------------------

def test_pairs_are_seeded_distinct_and_spread_over_images():
    contents, styles = [f"c{i}" for i in range(7)], [f"s{i}" for i in range(4)]
    pairs = ev.select_pairs(contents, styles, 10, seed=0)
    assert pairs == ev.select_pairs(contents, styles, 10, seed=0)
    assert pairs != ev.select_pairs(contents, styles, 10, seed=1)
    assert len(set(pairs)) == 10
    first = pairs[:4]  # min(#contents, #styles) pairs share no image
    assert len({c for c, _ in first}) == 4 and len({s for _, s in first}) == 4
    assert len(ev.select_pairs(contents, styles, 1000, seed=0)) == 28  # all pairs, no more


def test_geometric_mean():
    assert ev.geometric_mean([1.0, 4.0]) == pytest.approx(2.0)
    assert ev.geometric_mean([0.5, 0.0, 3.0]) == 0.0
    assert math.isnan(ev.geometric_mean([]))


# --- the CLI on a tiny generated dataset ------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("evaldata")
    (root / "content" / "sub").mkdir(parents=True)
    (root / "style").mkdir()
    for i in range(4):  # c3 exists but is not held out: it must never be used
        folder = root / "content" / ("sub" if i == 1 else "")
        Image.fromarray(smooth_image(72 + 8 * i, 96, 100 + i)).save(folder / f"c{i}.png")
    for i in range(3):
        Image.fromarray(smooth_image(80, 64 + 8 * i, 200 + i)).save(root / "style" / f"s{i}.jpg")
    split = {"rule": "test", "seed": 0, "content": ["c0.png", "c1.png", "c2.png"],
             "style": ["s0.jpg", "s1.jpg"]}
    (root / "split.json").write_text(json.dumps(split))
    save_file({k: v.contiguous() for k, v in random_decoder_state(3).items()}, str(root / "dec.safetensors"))
    return root


def _evaluate(root, out, extra=()):
    from main import main

    argv = ["evaluate", "--decoder", str(root / "dec.safetensors"), "--content", str(root / "content"),
            "--style", str(root / "style"), "--split", str(root / "split.json"), "--pairs", "3",
            "--size", "64", "--baseline-iters", "2", "4", "--baseline-pairs", "2", "1",
            "--baseline-cache", str(root / "cache"), "--threads", "1", "--json", str(out), *extra]
    return main(argv)


def test_cli_writes_json_markdown_and_grid_and_reuses_cached_baselines(tiny_data, tmp_path, capsys):
    out1 = tmp_path / "eval.json"
    md = tmp_path / "table.md"
    grid = tmp_path / "grid.png"
    assert _evaluate(tiny_data, out1, ["--markdown", str(md), "--grid", str(grid), "--grid-rows", "2"]) == 0
    stdout = capsys.readouterr().out
    result = json.loads(out1.read_text())
    pairs = result["pairs"]
    assert len(pairs) == 3 and len({(p["content"], p["style"]) for p in pairs}) == 3
    assert {p["content"] for p in pairs} <= {"c0.png", "c1.png", "c2.png"}
    ours = "ours: dec.safetensors"
    for p in pairs:
        m = p["methods"]
        assert m["content image"]["structure"] == pytest.approx(1.0, abs=1e-9)
        assert m["style image"]["style_loss"] == 0.0
        for name in (ours, "content image", "style image"):
            assert all(math.isfinite(m[name][k]) for k in ("content_loss", "style_loss", "structure"))
    assert [("L-BFGS 2" in p["methods"], "L-BFGS 4" in p["methods"]) for p in pairs] == \
        [(True, True), (True, False), (False, False)]
    s = result["summary"]
    assert s["content image"]["style_ratio_gmean"] == pytest.approx(1.0)
    assert s["L-BFGS 4"]["pairs"] == 1 and s["L-BFGS 2"]["pairs"] == 2
    assert s[ours]["structure_ratio_pairs"] == 2 and s["L-BFGS 2"]["structure_ratio_gmean"] == pytest.approx(1.0)
    # The summary's ratio is the geometric mean of the per-pair ratios.
    per_pair = [p["methods"][ours]["style_loss"] / p["methods"]["content image"]["style_loss"] for p in pairs]
    assert s[ours]["style_ratio_gmean"] == pytest.approx(float(np.exp(np.mean(np.log(per_pair)))), rel=1e-9)
    bar = result["bars"][0]
    assert bar["method"] == ours and bar["style"]["pass"] == (s[ours]["style_ratio_gmean"] <= 0.35)
    assert bar["structure"]["reference"] == "L-BFGS 2"  # no 100-iteration run: the smallest count
    assert ("PASS" in stdout) or ("FAIL" in stdout)
    table = md.read_text()
    assert "| method | pairs |" in table and f"| {ours} | 3 |" in table and "--baseline-pairs 2 1" in table
    assert np.asarray(Image.open(grid)).shape == (report.GRID_LABEL_HEIGHT + 2 * 192, 3 * 192, 3)  # ours, L-BFGS 2, 4

    out2 = tmp_path / "again.json"
    assert _evaluate(tiny_data, out2) == 0
    again = json.loads(out2.read_text())
    for p1, p2 in zip(pairs, again["pairs"]):
        for name, m in p2["methods"].items():
            if name.startswith("L-BFGS"):
                assert m["cached"] is True and p1["methods"][name]["cached"] is False
            assert m["style_loss"] == pytest.approx(p1["methods"][name]["style_loss"], rel=1e-9)
            assert m["structure"] == pytest.approx(p1["methods"][name]["structure"], abs=1e-12)


def test_cli_reports_missing_held_out_images_and_bad_settings(tiny_data, tmp_path, capsys):
    split = json.loads((tiny_data / "split.json").read_text())
    split["style"].append("gone.jpg")
    bad = tmp_path / "split.json"
    bad.write_text(json.dumps(split))
    assert _evaluate(tiny_data, tmp_path / "x.json", ["--split", str(bad)]) == 2
    assert "gone.jpg: held-out image listed in the split is missing" in capsys.readouterr().err
    assert _evaluate(tiny_data, tmp_path / "x.json", ["--size", "100"]) == 2
    assert "--size must be a multiple of 8" in capsys.readouterr().err
    assert _evaluate(tiny_data, tmp_path / "x.json", ["--decoder", str(tmp_path / "none.safetensors")]) == 2
    assert "none.safetensors: no such file" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
