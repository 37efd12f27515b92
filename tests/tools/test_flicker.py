"""Temporal metrics: forward-backward check, warping error, frame-difference ratio, style loss."""
from __future__ import annotations

import json

import numpy as np
import pytest

import main
from engine.runtime import flow
from engine.tools import flicker
from conftest import flickering
from engine.media.video import write_video
from engine.tools.synthetic import pattern_image, synthetic_clip

W, H, N = 96, 72, 10


@pytest.fixture(scope="module")
def clip():
    """A clean pan (no noise, no lighting drift) so the only inconsistency is what a test adds."""
    return synthetic_clip(pattern_image(160, 200, seed=3), N, (W, H), seed=3, noise=0.0, drift=0.0)


def test_consistency_mask_accepts_a_shift_and_rejects_contradictions():
    h, w = 40, 50
    back = np.zeros((h, w, 2), np.float32)
    back[..., 0], back[..., 1] = -3.0, -2.0  # each pixel came from 3 px left, 2 px up
    fwd = -back
    mask = flow.consistency_mask(back, fwd)
    assert mask[2:, 3:].all()  # lands inside the frame and the loop closes
    assert not mask[:2, :].any() and not mask[:, :3].any()  # lands outside the frame
    assert not flow.consistency_mask(back, back).any()  # forward flow contradicts backward
    occluded = fwd.copy()
    occluded[10:20, 10:20] = (8.0, 0.0)
    m = flow.consistency_mask(back, occluded)
    assert not m[12:22, 13:23].any() and m[30:, 30:].all()


def test_flow_follows_the_pan(clip):
    pf = flicker.pair_flow(clip[4], clip[5])
    assert pf.mask.mean() > 0.8
    warped = flow.warp(clip[4], pf.flow).astype(float)
    before = np.abs(clip[5].astype(float) - clip[4])[pf.mask].mean()
    after = np.abs(clip[5].astype(float) - warped)[pf.mask].mean()
    assert after < 0.3 * before


def test_warping_error_ranks_flicker(clip):
    flows = flicker.original_flows(clip)
    assert len(flows) == N - 1
    consistent = flicker.warping_error(flickering(clip, 0.0), flows)
    mild = flicker.warping_error(flickering(clip, 6.0), flows)
    strong = flicker.warping_error(flickering(clip, 20.0), flows)
    # independent per-frame noise of std s adds 2·s² to the mean squared difference
    assert mild - consistent == pytest.approx(2 * (6 / 255) ** 2, rel=0.25)
    assert strong - consistent == pytest.approx(2 * (20 / 255) ** 2, rel=0.25)
    # consistent output: as good as the original itself
    assert consistent == pytest.approx(flicker.warping_error(clip, flows), rel=0.2, abs=2e-5)


def sparse_flicker(frames, share: float, jump: float, seed: int = 0):
    """Each frame: a random ``share`` of its pixels pushed by ±``jump`` grey levels (few large changes)."""
    rng = np.random.default_rng(seed)
    out = []
    for f in frames:
        hit = rng.random(f.shape[:2]) < share
        sign = rng.choice([-1.0, 1.0], size=f.shape[:2])
        out.append(np.clip(f + (hit * sign * jump)[..., None], 0, 255).astype(np.uint8))
    return out


def test_absolute_error_sees_the_shimmer_a_squared_error_weighs_little(clip):
    flows = flicker.original_flows(clip)
    shimmer = flickering(clip, 6.0)  # every pixel, a few levels: what a viewer sees as shimmer
    sparse = sparse_flicker(clip, 0.01, 85.0)  # 1 % of the pixels, large jumps: the same squared error
    base_sq, base_abs = flicker.warping_error(clip, flows), flicker.warping_error(clip, flows, absolute=True)
    sq = [flicker.warping_error(x, flows) - base_sq for x in (shimmer, sparse)]
    ab = [flicker.warping_error(x, flows, absolute=True) - base_abs for x in (shimmer, sparse)]
    assert sq[1] == pytest.approx(sq[0], rel=0.5)  # squared: about the same
    assert ab[0] > 3 * ab[1]  # absolute: the shimmer is far worse
    # independent noise of std s: |N(0, 2s²)| has mean 2s/√π
    strong = flicker.warping_error(flickering(clip, 20.0), flows, absolute=True)
    assert strong == pytest.approx(2 * 20 / 255 / np.sqrt(np.pi), rel=0.2)
    report = flicker.flicker_report(clip, shimmer)
    assert report.abs_warping_error == pytest.approx(ab[0] + base_abs, rel=0.05)
    assert report.original_abs_warping_error == pytest.approx(base_abs, rel=0.05)


def test_report_streams_both_metrics(clip):
    report = flicker.flicker_report(clip, flickering(clip, 0.0))
    assert report.frames == N
    assert report.frame_difference_ratio == pytest.approx(1.0, abs=0.05)
    assert report.reliable_fraction > 0.8
    noisy = flicker.flicker_report(clip, flickering(clip, 20.0))
    assert noisy.frame_difference_ratio > 1.15 * report.frame_difference_ratio
    assert noisy.warping_error > 10 * report.warping_error
    with pytest.raises(ValueError, match="frame counts differ"):
        flicker.flicker_report(clip, clip[:-2])


def test_report_on_other_size_resizes_the_original(clip):
    import cv2

    half = [cv2.resize(f, (W // 2, H // 2), interpolation=cv2.INTER_AREA) for f in clip]
    report = flicker.flicker_report(clip, half)
    assert report.frame_difference_ratio == pytest.approx(1.0, abs=0.05)


def test_cli_on_video_files(clip, tmp_path, capsys):
    write_video(tmp_path / "orig.mp4", clip, fps=10)
    write_video(tmp_path / "flicker.mp4", flickering(clip, 20.0), fps=10)
    write_video(tmp_path / "short.mp4", clip[:5], fps=10)
    assert main.main(["flicker", str(tmp_path / "orig.mp4"), str(tmp_path / "flicker.mp4"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == N and report["warping_error"] > 5 * report["original_warping_error"]
    assert main.main(["flicker", str(tmp_path / "orig.mp4"), str(tmp_path / "orig.mp4")]) == 0
    text = capsys.readouterr().out
    assert "warping error, stylized" in text and "frame-difference ratio:   1.000" in text
    assert "absolute warping error, stylized" in text
    assert main.main(["flicker", str(tmp_path / "orig.mp4"), str(tmp_path / "short.mp4")]) == 2
    assert "frame counts differ" in capsys.readouterr().err
    (tmp_path / "bad.mp4").write_text("not a video")
    assert main.main(["flicker", str(tmp_path / "orig.mp4"), str(tmp_path / "bad.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {tmp_path / 'bad.mp4'}: ") and "\n" not in err


def test_style_loss_is_zero_for_the_style_itself(stylizer):
    style = pattern_image(64, 64, seed=8)
    taps = flicker.tap_stats(stylizer.encoder, style)
    assert [len(m) for m, _ in taps] == [64, 128, 256, 512]
    assert flicker.style_loss(stylizer.encoder, style, taps) == pytest.approx(0.0, abs=1e-6)
    other = pattern_image(64, 64, seed=9)
    near = np.clip(style.astype(int) + 8, 0, 255).astype(np.uint8)
    assert flicker.style_loss(stylizer.encoder, other, taps) > flicker.style_loss(stylizer.encoder, near, taps) > 0
