"""The fast per-frame path (engine/fast.py) against the plain network and the reference pipeline,
and the benchmark command (engine/bench.py). Real VGG weights and the committed decoder."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import ROOT, random_decoder_state, smooth_image
from engine.nets.adain import StyleStats, adain, mix_alpha
from engine.tools.bench import count_gflop, parse_size
from engine.errors import InputError
from engine.nets.fast import FastNet, adain_mix, fold_preprocess, last_conv_bgr255, subpixel_weight
from engine.nets.reference import ReferencePipeline
from engine.tools.synthetic import synthetic_frames
from engine.runtime.stylizer import Stylizer

DECODER = ROOT / "models" / "decoder.safetensors"
needs_decoder = pytest.mark.skipif(not DECODER.is_file(), reason="models/decoder.safetensors not committed yet")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small frames: one thread is as fast and does not stall on a busy 2-core machine (PERF.md)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


@pytest.fixture(scope="module")
def trained():
    """Stylizer with the committed decoder, style images encoded at 128 px (keeps the test quick)."""
    if not DECODER.is_file():
        pytest.skip("models/decoder.safetensors not committed yet")
    st = Stylizer(device="cpu", style_side=128)
    st.match_palette = False  # the network's own output: FastNet against the reference
    return st


@pytest.fixture(scope="module")
def random_net():
    st = Stylizer(device="cpu", decoder_state=random_decoder_state(3), style_side=64)
    st.match_palette = False  # the network's own output
    return st


# --- exact algebra of the weight transforms -------------------------------------------------

def test_subpixel_conv_equals_upsample_reflect_pad_conv():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 5, 6, 7, generator=gen, dtype=torch.float64)
    w = torch.randn(4, 5, 3, 3, generator=gen, dtype=torch.float64)
    want = F.conv2d(F.pad(F.interpolate(x, scale_factor=2, mode="nearest"), (1, 1, 1, 1), mode="reflect"), w)
    full = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), subpixel_weight(w).double())  # [1,16,7,8]
    got = torch.empty_like(want)
    for a in (0, 1):
        for b in (0, 1):
            p = 2 * a + b
            got[:, :, a::2, b::2] = full[:, 4 * p:4 * p + 4, a:a + 6, b:b + 7]
    assert torch.allclose(got, want, atol=1e-5)  # subpixel_weight returns fp32: 1e-7 relative
    assert subpixel_weight(w).shape == (16, 5, 2, 2)


def test_folded_preprocessing_equals_1x1_then_reflect_pad_then_conv():
    gen = torch.Generator().manual_seed(1)
    pre_w, pre_b = torch.randn(3, 3, 1, 1, generator=gen), torch.randn(3, generator=gen)
    w, b = torch.randn(8, 3, 3, 3, generator=gen), torch.randn(8, generator=gen)
    x_rgb = torch.rand(1, 3, 9, 10, generator=gen)
    want = F.conv2d(F.pad(F.conv2d(x_rgb, pre_w, pre_b), (1, 1, 1, 1), mode="reflect"), w, b)
    fw, fb = fold_preprocess(pre_w, pre_b, w, b)
    assert torch.allclose(F.conv2d(F.pad(x_rgb, (1, 1, 1, 1), mode="reflect"), fw, fb), want, atol=1e-4)
    x_bgr255 = x_rgb.flip(1) * 255
    fw, fb = fold_preprocess(pre_w, pre_b, w, b, 1 / 255, reverse_channels=True)
    assert torch.allclose(F.conv2d(F.pad(x_bgr255, (1, 1, 1, 1), mode="reflect"), fw, fb), want, atol=1e-4)


def test_last_conv_outputs_bgr_times_255_plus_half():
    gen = torch.Generator().manual_seed(2)
    w, b, x = torch.randn(3, 4, 3, 3, generator=gen), torch.randn(3, generator=gen), torch.randn(1, 4, 5, 5, generator=gen)
    w2, b2 = last_conv_bgr255(w, b)
    assert torch.allclose(F.conv2d(x, w2, b2), F.conv2d(x, w, b).flip(1) * 255 + 0.5, atol=1e-3)


@pytest.mark.parametrize("alpha", [0.0, 0.35, 1.0, 1.7, -0.2])
def test_adain_mix_is_adain_then_alpha_blend(alpha):
    gen = torch.Generator().manual_seed(4)
    feat = torch.rand(1, 512, 6, 5, generator=gen) * 3
    style = StyleStats(torch.rand(512, generator=gen), torch.rand(512, generator=gen) + 0.1)
    want = mix_alpha(feat, adain(feat, style), min(max(alpha, 0.0), 1.0))
    assert torch.allclose(adain_mix(feat, style.mean, style.std, alpha), want, atol=1e-4)
    assert torch.allclose(adain_mix(feat, style.mean, style.std, torch.tensor(alpha)), want, atol=1e-4)


# --- FastNet against the plain modules ------------------------------------------------------

@pytest.mark.parametrize("pad_mode", ["copy", "fix"])
@pytest.mark.parametrize("fused", [None, False])
def test_fastnet_matches_encoder_and_decoder(random_net, pad_mode, fused):
    net = FastNet(random_net.encoder, random_net.decoder, pad_mode=pad_mode, fused=fused)
    x = torch.from_numpy(smooth_image(40, 56, 5)).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        feat = random_net.encoder(x)
        out = random_net.decoder(feat)
        feat_fast, out_fast = net.encode(x), net.decode(feat)
        feat_bgr = net.encode(x.flip(1) * 255, bgr255=True)
        out_bgr = net.decode(feat, bgr255=True)
    scale = feat.abs().max()
    assert (feat_fast - feat).abs().max() < 1e-4 * scale
    assert (feat_bgr - feat).abs().max() < 1e-4 * scale
    assert (out_fast - out).abs().max() < 1e-4 * out.abs().max()
    assert ((out_bgr - 0.5) / 255 - out.flip(1)).abs().max() < 1e-4 * out.abs().max()


def test_fast_path_does_fewer_flops_than_plain(random_net, images):
    random_net.set_styles([images["style_a"]])
    frame = smooth_image(64, 64, 6)
    random_net.fast = False
    try:
        plain = count_gflop(random_net, frame)
    finally:
        random_net.fast = True
    fast = count_gflop(random_net, frame)
    # Sub-pixel up-sampling removes ~56 % of the FLOPs of 3 of the 9 decoder convs.
    assert 0.80 * plain < fast < 0.92 * plain


def test_weights_edited_in_place_rebuild_the_fast_net(random_net, images):
    st = random_net
    st.set_styles([images["style_a"]])
    frame = smooth_image(48, 48, 7)
    before = st(frame)
    bias = st.decoder.layers[-1].bias
    try:
        with torch.no_grad():
            bias.add_(0.3)  # brighter output
        after = st(frame)
        st.fast = False
        plain = st(frame)
    finally:
        st.fast = True
        with torch.no_grad():
            bias.sub_(0.3)
    assert after.astype(int).mean() > before.astype(int).mean() + 20
    assert psnr(after, plain) > 50
    assert psnr(st(frame), before) > 50  # and back


# --- correctness against the fp32 reference (the acceptance criterion: PSNR >= 40 dB) ------

@needs_decoder
def test_fast_frame_vs_reference_pipeline_psnr(trained):
    style = smooth_image(128, 160, 8)
    frames = synthetic_frames(96, 128, count=2, seed=3)
    trained.set_styles([style])
    reference = ReferencePipeline(trained.encoder.__class__(trained.encoder.layers.state_dict()),
                                  trained.decoder.__class__(trained.decoder.layers.state_dict()),
                                  style, cache_style=True, alpha=0.8)
    for frame in frames:
        fast = trained(frame, alpha=0.8)
        value = psnr(fast, reference(frame))
        assert value >= 40, f"PSNR {value:.1f} dB"
    assert psnr(fast, frame) < 30  # and it is stylized, not the input passed through


@needs_decoder
@pytest.mark.parametrize("size", [(70, 90), (33, 200)])
def test_fast_frame_vs_plain_stylizer_on_odd_sizes(trained, size):
    trained.set_styles([smooth_image(128, 128, 9), smooth_image(140, 128, 10)], weights=[0.7, 0.3])
    frame = smooth_image(*size, 11)[:, :, ::-1].copy()
    fast = trained(frame, alpha=0.6)
    trained.fast = False
    try:
        plain = trained(frame, alpha=0.6)
    finally:
        trained.fast = True
    assert fast.shape == frame.shape and fast.dtype == np.uint8
    assert psnr(fast, plain) >= 45


@needs_decoder
def test_other_controls_go_through_fastnet_too(trained):
    """Colour preservation and masks take the tensor path, which also runs on FastNet."""
    a, b = smooth_image(128, 128, 12), smooth_image(128, 128, 13)
    mask = np.zeros((48, 64), np.float32)
    mask[:, :32] = 1
    frame = smooth_image(48, 64, 14)
    results = {}
    for fast in (True, False):
        trained.fast = fast
        trained.set_styles([a, b], masks=[mask, 1 - mask])
        masked = trained(frame)
        trained.set_styles([a])
        results[fast] = (masked, trained(frame, preserve_color=True))
    trained.fast = True
    for got, want in zip(results[True], results[False]):
        assert psnr(got, want) >= 45


# --- the benchmark command --------------------------------------------------------------------

def test_parse_size():
    assert parse_size("720p") == (720, 1280)
    assert parse_size("1080p") == (1080, 1920)
    assert parse_size("256") == (256, 256)
    assert parse_size("640x480") == (480, 640)
    for bad in ("abc", "10", "0x5", "99999"):
        with pytest.raises(InputError):
            parse_size(bad)


@needs_decoder
def test_bench_command_writes_table_and_json(tmp_path, capsys):
    import main

    out = tmp_path / "bench.json"
    code = main.main(["bench", "--device", "cpu", "--sizes", "48", "64x40", "--modes", "cached", "fast",
                      "stabilized", "--frames", "2", "--warmup", "0", "--style-size", "64", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "GFLOP/f" in printed and "fp32 peak" in printed and "stage ms" in printed
    data = json.loads(out.read_text())
    rows = {(r["size"], r["mode"]): r for r in data["results"]}
    assert set(rows) == {(s, m) for s in ("48", "64x40") for m in ("cached", "fast", "stabilized")}
    for r in rows.values():
        assert r["fps"] > 0 and r["p95_ms"] >= r["p50_ms"] > 0 and len(r["latencies_ms"]) == 2
        assert r["gflop_per_frame"] > 0 and r["tflops"] > 0 and r["speedup_vs_reference"] is None
        # the stabilizer's own cost per frame is reported, and only for its mode
        assert (0 < r["stage_ms"] < r["p50_ms"]) if r["mode"] == "stabilized" else r["stage_ms"] is None
    # counted, not typed in: the frame with more pixels costs more, the fast path costs less
    assert rows[("64x40", "cached")]["gflop_per_frame"] > rows[("48", "cached")]["gflop_per_frame"]
    assert rows[("48", "fast")]["gflop_per_frame"] < rows[("48", "cached")]["gflop_per_frame"]
    assert data["environment"]["torch"] == torch.__version__


def test_bench_rejects_bad_size(capsys):
    import main

    assert main.main(["bench", "--device", "cpu", "--sizes", "huge"]) == 2
    assert "bad size" in capsys.readouterr().err


# --- CUDA (skipped without a GPU) -----------------------------------------------------------

@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
@needs_decoder
def test_cuda_fp16_graph_vs_cpu_fp32_reference():
    gpu = Stylizer(device="cuda", style_side=128)
    cpu = Stylizer(device="cpu", style_side=128)
    cpu.fast = False  # plain fp32 eager: the reference
    style = smooth_image(128, 160, 15)
    gpu.set_styles([style])
    cpu.set_styles([style])
    assert gpu.half and gpu.dtype == torch.float16
    for size in [(96, 128), (72, 104), (96, 128)]:  # new size → new graph; back → recaptured
        frame = synthetic_frames(*size, count=1, seed=size[1])[0]
        for alpha in (1.0, 0.5):  # α lives in a device tensor: no re-capture
            value = psnr(gpu(frame, alpha=alpha), cpu(frame, alpha=alpha))
            assert value >= 40, f"{size} alpha={alpha}: PSNR {value:.1f} dB"
    runner = gpu._cuda_runner
    assert runner is not None and runner.graph is not None and not runner.graph_failed
