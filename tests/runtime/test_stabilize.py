"""The causal anti-flicker stage: less flicker, no ghosting after cuts, reset, Stylizer toggle."""
from __future__ import annotations

import threading
from contextlib import nullcontext

import numpy as np
import pytest
import torch

from engine.runtime import flow
from engine.tools import flicker
from engine.media.imageio import to_tensor, to_uint8
from engine.runtime.stabilize import Stabilizer, gaussian_blur
from engine.tools.synthetic import pattern_image, synthetic_clip
from conftest import flickering

W, H, N = 96, 72, 14


@pytest.fixture(scope="module")
def clip():
    return synthetic_clip(pattern_image(160, 200, seed=4), N, (W, H), seed=4, noise=3.0, drift=0.1)


def run(stab: Stabilizer, contents, stylized):
    return [to_uint8(stab(to_tensor(c), to_tensor(s))) for c, s in zip(contents, stylized)]


def mean_abs(a, b) -> float:
    return float(np.abs(a.astype(np.float64) - b).mean())


def test_flicker_is_reduced_towards_the_consistent_result(clip):
    ideal, noisy = flickering(clip, 0.0), flickering(clip, 12.0)
    out = run(Stabilizer(), clip, noisy)
    flows = flicker.original_flows(clip)
    before, after = flicker.warping_error(noisy, flows), flicker.warping_error(out, flows)
    floor = flicker.warping_error(ideal, flows)
    assert after - floor < 0.4 * (before - floor)
    # closer to the flicker-free stylization than the per-frame result, not just blurred
    assert np.mean([mean_abs(o, i) for o, i in zip(out[4:], ideal[4:])]) < \
        0.85 * np.mean([mean_abs(n, i) for n, i in zip(noisy[4:], ideal[4:])])
    assert np.array_equal(out[0], noisy[0])  # nothing to blend with on the first frame


@pytest.mark.parametrize("motion, bar", [(dict(pan=(0.0, 0.0), zoom=(1.0, 1.0)), 0.75),  # webcam on a desk
                                         (dict(pan=(0.03, 0.02), zoom=(1.0, 1.02)), 0.9)])  # slow pan
def test_prefilter_denoises_the_network_input(motion, bar):
    """The network sees the frame averaged along the motion: less sensor noise, same picture."""
    base = pattern_image(160, 200, seed=4)
    clean = synthetic_clip(base, N, (W, H), seed=4, noise=0.0, drift=0.1, **motion)
    noisy = synthetic_clip(base, N, (W, H), seed=4, noise=8.0, drift=0.1, **motion)  # same motion
    stab, plain = Stabilizer(), Stabilizer(prefilter=0.0)
    before, after = [], []
    for t, (c, n) in enumerate(zip(clean, noisy)):
        x = to_tensor(n)
        frame = stab.prepare(x)
        stab.finish(frame, x)
        assert plain.prepare(x).content is x
        if t == 0:
            assert torch.equal(frame.content, x)  # nothing to average with yet
        elif t >= 4:
            before.append(mean_abs(n, c))
            after.append(mean_abs(to_uint8(frame.content), c))
    assert np.mean(after) < bar * np.mean(before)
    assert stab.last_stage_ms > 0


def test_coarse_flicker_is_held_back_more_than_texture(clip):
    """Two bands: a brightness flicker (coarse) is damped strongly, fine texture less so."""
    frame = clip[3]
    styled = to_tensor(flickering([frame], 0.0)[0])
    torch.manual_seed(0)
    stab = Stabilizer(prefilter=0.0, detail=0.0)
    coarse, fine, prev_in, prev_out = [], [], None, None
    for t in range(8):
        offset = 0.06 if t % 2 else -0.06  # the whole frame pumps
        grain = 0.06 * torch.sign(torch.randn(1, 1, H, W))  # per-pixel texture that changes
        per_frame = (styled + offset + grain).clamp(0, 1)
        out = stab(to_tensor(frame), per_frame)
        if t >= 2:
            d_in, d_out = per_frame - prev_in, out - prev_out
            coarse.append(abs(float(d_out.mean())) / abs(float(d_in.mean())))
            fine.append(float((d_out - d_out.mean()).abs().mean()) / float((d_in - d_in.mean()).abs().mean()))
        prev_in, prev_out = per_frame, out
    assert np.mean(coarse) < 0.3 and 0.35 < np.mean(fine) < 0.8


def test_shimmer_is_held_back_more_than_a_new_stroke(clip):
    """Fine band: a small redraw of the texture (shimmer) is averaged away far more than the
    fixed fine-band weight does, while a new high-contrast stroke comes through as with it."""
    frame = clip[3]
    styled = to_tensor(flickering([frame], 0.0)[0])
    stroke = torch.zeros(1, 1, H, W)
    stroke[..., H // 2: H // 2 + 2, 10: W - 10] = 0.4  # a thin new line, mostly fine band

    def run_stage(stab):
        torch.manual_seed(0)
        shimmer, prev_in, prev_out, line = [], None, None, stroke[0, 0] > 0
        for t in range(10):
            per_frame = (styled + 0.02 * torch.sign(torch.randn(1, 1, H, W))).clamp(0, 1)
            if t == 9:
                per_frame = (per_frame + stroke).clamp(0, 1)
            out = stab(to_tensor(frame), per_frame)
            d_out, d_in = out - prev_out if t else None, per_frame - prev_in if t else None
            if 2 <= t < 9:
                shimmer.append(float(d_out.abs().mean() / d_in.abs().mean()))
            prev_in, prev_out = per_frame, out
        return np.mean(shimmer), float(d_out[0, :, line].mean() / d_in[0, :, line].mean())

    shimmer, line = run_stage(Stabilizer(prefilter=0.0, detail=0.0))
    fixed_shimmer, fixed_line = run_stage(Stabilizer(prefilter=0.0, detail=0.0, fine_max=0.0))
    assert shimmer < 0.5 * fixed_shimmer
    assert line > 0.9 * fixed_line and line > 0.4


def test_a_cut_or_a_reset_falls_back_to_per_frame(clip):
    stab = Stabilizer()
    noisy = flickering(clip, 12.0)
    run(stab, clip[:5], noisy[:5])
    other = synthetic_clip(pattern_image(160, 200, seed=11), 1, (W, H), seed=5)[0]
    styled_other = flickering([other], 12.0, seed=3)[0]
    after_cut = run(stab, [other], [styled_other])[0]
    assert stab.last_reliable_fraction < 0.25
    assert mean_abs(after_cut, styled_other) < 1.5  # no ghost of the previous scene
    stab.reset()
    assert np.array_equal(run(stab, clip[5:6], noisy[5:6])[0], noisy[5])
    # a new frame size starts afresh as well
    small = [c[: H // 2, : W // 2] for c in clip[6:7]]
    small_styled = [s[: H // 2, : W // 2] for s in noisy[6:7]]
    assert np.array_equal(run(stab, small, small_styled)[0], small_styled[0])


def test_static_scene_is_left_alone(clip):
    """Identical frames with identical stylization come out unchanged (no drift, no blur)."""
    frame = clip[3]
    styled = flickering([frame], 0.0)[0]
    out = run(Stabilizer(), [frame] * 4, [styled] * 4)
    assert max(mean_abs(o, styled) for o in out) < 0.6


def test_reset_from_another_thread_is_safe(clip):
    stab = Stabilizer()
    noisy = flickering(clip, 12.0)
    stop = threading.Event()

    def resetter():
        while not stop.is_set():
            stab.reset()

    thread = threading.Thread(target=resetter)
    thread.start()
    try:
        outs = run(stab, clip * 2, noisy * 2)
    finally:
        stop.set()
        thread.join()
    assert len(outs) == 2 * N and all(o.shape == (H, W, 3) for o in outs)


@pytest.fixture
def small_styles(stylizer):
    """The shared stylizer, encoding styles at 64 px for speed (restored afterwards)."""
    saved = stylizer.style_side
    stylizer.style_side = 64
    yield stylizer
    stylizer.style_side = saved


# the plain frames take the uint8 fast path, where the palette step rounds a second time
ROUNDING = 2


def test_stylizer_toggle(small_styles, clip):
    stylizer = small_styles
    stylizer.set_styles([pattern_image(64, 64, seed=5)])
    frames = [np.ascontiguousarray(f[:48, :64, ::-1]) for f in clip[:6]]
    assert stylizer.stabilize is False
    plain = [stylizer(f) for f in frames]
    stylizer.stabilize = True
    try:
        assert stylizer.stabilize is True and isinstance(stylizer.stabilizer, Stabilizer)
        stable = [stylizer(f) for f in frames]
        assert np.abs(stable[0].astype(int) - plain[0]).max() <= ROUNDING
        assert max(mean_abs(s, p) for s, p in zip(stable[1:], plain[1:])) > 0.05
        stylizer.reset()
        assert np.abs(stylizer(frames[3]).astype(int) - plain[3]).max() <= ROUNDING
        # another plan (e.g. a gallery thumbnail) is not part of the stream
        other = stylizer.plan
        stylizer.set_styles([pattern_image(64, 64, seed=6)])
        x = to_tensor(clip[4][:48, :64]).to(stylizer.dtype)
        before = stylizer.stabilizer._state
        stylizer.stylize_tensor(x, plan=other)
        assert stylizer.stabilizer._state is before
    finally:
        stylizer.stabilize = False
    assert stylizer.stabilize is False
    assert np.abs(stylizer(frames[5]).astype(int) - stylizer(frames[5])).max() == 0


def test_a_new_style_or_alpha_shows_at_once(small_styles, clip):
    """No slow fade when the look changes: the first frame after it is the per-frame result."""
    stylizer = small_styles
    frames = [np.ascontiguousarray(f[:48, :64, ::-1]) for f in clip[:8]]
    first, second = pattern_image(64, 64, seed=5), pattern_image(64, 64, seed=9)
    stylizer.set_styles([first])
    stylizer.stabilize = True
    try:
        for f in frames[:3]:
            stylizer(f)
        stylizer.set_styles([second])
        switched = stylizer(frames[3])
        stylizer(frames[4])
        halved = stylizer(frames[5], alpha=0.5)
        held = stylizer(frames[6], alpha=0.5)
    finally:
        stylizer.stabilize = False
    assert np.abs(switched.astype(int) - stylizer(frames[3])).max() <= ROUNDING
    assert np.abs(halved.astype(int) - stylizer(frames[5], alpha=0.5)).max() <= ROUNDING
    assert mean_abs(held, stylizer(frames[6], alpha=0.5)) > 0.05  # then it stabilizes again


@pytest.mark.parametrize("option", ["blend_low", "blend_high", "prefilter", "fine_max"])
def test_bad_weights_are_refused(option):
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match=option):
            Stabilizer(**{option: bad})
    assert torch.is_tensor(Stabilizer(**{option: 0.0})(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)))


@pytest.mark.parametrize("h, w", [(1, 1), (8, 8), (16, 300), (300, 16), (31, 500), (32, 1024)])
def test_tiny_and_thin_frames_pass_through_safely(h, w):
    """OpenCV's DIS segfaults on thin images (e.g. 16x300): those frames skip the flow."""
    stab = Stabilizer()
    x, y = torch.rand(1, 3, h, w), torch.rand(1, 3, h, w)
    for _ in range(3):
        out = stab(x, y)
    assert out.shape == y.shape
    if min(h, w) < 32:
        assert torch.equal(out, y)
    with pytest.raises(ValueError, match="optical flow needs") if min(h, w) < 32 else nullcontext():
        flow.dis_flow(np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8))



def test_restore_detail_gives_back_the_texture_contrast():
    from engine.runtime.stabilize import gaussian_blur, restore_detail

    torch.manual_seed(0)
    per_frame = torch.rand(1, 3, 40, 48)
    soft = 0.5 * per_frame + 0.5 * gaussian_blur(per_frame, 1.0)  # as averaging misaligned texture
    full = torch.ones(1, 1, 40, 48)

    def detail(x):
        return (x - gaussian_blur(x, 1.0)).std().item()

    restored = restore_detail(soft, per_frame, full)
    assert 0.5 * detail(per_frame) < detail(soft) < 0.8 * detail(per_frame)
    assert detail(restored) == pytest.approx(detail(per_frame), rel=0.1)
    # where nothing was blended (mask 0) nothing changes; a sharp input is never softened
    assert torch.allclose(restore_detail(soft, per_frame, torch.zeros_like(full)), soft.clamp(0, 1))
    assert torch.allclose(restore_detail(per_frame, soft, full), per_frame, atol=1e-6)


def test_restore_detail_in_bands_gives_back_coarser_texture():
    from engine.runtime.stabilize import gaussian_blur, restore_detail

    torch.manual_seed(1)
    per_frame = gaussian_blur(torch.rand(1, 3, 64, 64), 1.5) * 3 - 1  # texture a few pixels wide
    soft = 0.4 * per_frame + 0.6 * gaussian_blur(per_frame, 3.0)
    full = torch.ones(1, 1, 64, 64)

    def coarse(x):  # the band between σ 1 and σ 3
        return (gaussian_blur(x, 1.0) - gaussian_blur(x, 3.0)).std().item()

    one_band = restore_detail(soft, per_frame.clamp(0, 1), full, sigmas=(1.0,))
    two_bands = restore_detail(soft, per_frame.clamp(0, 1), full, sigmas=(1.0, 3.0))
    target = coarse(per_frame.clamp(0, 1))
    assert abs(coarse(two_bands) - target) < 0.5 * abs(coarse(one_band) - target)


@pytest.mark.parametrize("sigma", [1.0, 3.0, 4.0])
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_opencv_blur_equals_the_separable_convolution(sigma, memory_format):
    """The CPU fp32 path (OpenCV, per plane or on the HWC layout) gives the same blur, edges
    included, as the conv path (fp64 here)."""
    x = torch.rand(1, 3, 37, 53).contiguous(memory_format=memory_format)
    fast, exact = gaussian_blur(x, sigma), gaussian_blur(x.double(), sigma)
    assert fast.dtype == torch.float32 and fast.shape == x.shape
    assert float((fast.double() - exact).abs().max()) < 1e-6


def test_cpu_warp_and_grey_copy_equal_the_tensor_path():
    """On the CPU the stage warps with OpenCV's remap and makes its grey copy with OpenCV; both
    equal the grid_sample / tensor path (the one CUDA takes) up to remap's 1/32-pixel steps."""
    from engine.runtime.stabilize import PreparedFrame, _maps_and_mask

    h, w = 72, 96
    yy, xx = np.mgrid[0:h // 2, 0:w // 2].astype(np.float32)
    small_flow = np.stack([1.7 + 0.8 * np.sin(yy / 5), -2.3 + 0.6 * np.cos(xx / 7)], axis=2).astype(np.float32)
    small_mask = (0.5 + 0.5 * np.sin(xx / 3) * np.cos(yy / 4)).astype(np.float32)
    image = gaussian_blur(torch.rand(1, 3, h, w), 1.5).contiguous(memory_format=torch.channels_last)
    stab = Stabilizer()
    grid, mask = stab._grid_and_mask(small_flow, small_mask, (h, w), torch.device("cpu"))
    maps, cpu_mask = _maps_and_mask(small_flow, small_mask, (h, w))
    assert torch.allclose(cpu_mask, mask, atol=1e-5)
    for interpolation in ("bicubic", "bilinear"):
        stab.interpolation = interpolation
        exact = stab._warp(image, PreparedFrame(image, None, grid, mask, 0))
        fast = stab._warp(image, PreparedFrame(image, None, None, cpu_mask, 0, maps=maps))
        inside = (slice(None), slice(None), slice(4, -4), slice(4, -4))  # borders: different edge rules
        err = (fast - exact)[inside].abs()
        assert fast.shape == exact.shape and float(err.mean()) < 2e-3 and float(err.max()) < 0.02
    # the grey copy: the same area average where the sides divide evenly (480×636 → 160×212) ...
    content = torch.rand(1, 3, 480, 636)
    assert np.abs(stab._small_gray(content).astype(int) - stab._small_gray(content.double())).max() <= 1
    # ... and where they do not (640 → 213) the exact fractional-area average, which the tensor
    # path's adaptive pooling only approximates
    picture = pattern_image(480, 640, seed=3)
    rows = (picture.astype(np.float64) @ np.array([0.299, 0.587, 0.114])).reshape(160, 3, 640).mean(1)
    edges = np.arange(214) * 640 / 213
    area = np.clip(np.minimum(edges[1:, None], np.arange(1, 641)) - np.maximum(edges[:-1, None], np.arange(640)), 0, None)
    exact = rows @ (area / area.sum(1, keepdims=True)).T
    assert np.abs(stab._small_gray(to_tensor(picture)) - exact).max() <= 0.5 + 1e-3
