"""The app's Qt-free parts: the on-disk style cache, the MP4 recorder, the newest-frame slot and
the processing-resolution rules."""
from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from app.pipeline import LatestSlot, is_out_of_memory, lower_resolution, processing_size
from app.recorder import Recorder
from engine.nets.adain import StyleStats
from engine.nets.palette import Palette
from engine.runtime.style_cache import StyleCache, encode_style_file, file_digest

from conftest import smooth_image


def stats(seed: int) -> StyleStats:
    g = torch.Generator().manual_seed(seed)
    palette = Palette(torch.rand(3, generator=g), torch.eye(3) * 0.01 * (1 + seed))
    return StyleStats(torch.rand(512, generator=g), torch.rand(512, generator=g) + 0.1, palette)


def same(a: StyleStats, b: StyleStats) -> bool:
    return (torch.equal(a.mean, b.mean) and torch.equal(a.std, b.std)
            and torch.equal(a.palette.mean, b.palette.mean) and torch.equal(a.palette.cov, b.palette.cov))


GOOD_PALETTE = {"palette_mean": torch.full((3,), 0.5), "palette_cov": torch.eye(3) * 0.01}


# --- style cache ---------------------------------------------------------------------------------

def test_cache_is_keyed_by_content_encoder_and_side(tmp_path):
    style = tmp_path / "a.png"
    Image.fromarray(smooth_image(40, 40, 1)).save(style)
    cache = StyleCache("enc-1", 512, tmp_path / "cache")
    assert cache.get(style) is None
    cache.put(style, stats(1))
    assert same(cache.get(style), stats(1))
    renamed = tmp_path / "renamed.png"
    style.rename(renamed)
    assert same(cache.get(renamed), stats(1))  # same bytes, other name: hit
    assert StyleCache("enc-2", 512, tmp_path / "cache").get(renamed) is None
    assert StyleCache("enc-1", 256, tmp_path / "cache").get(renamed) is None
    Image.fromarray(smooth_image(40, 40, 2)).save(renamed)  # edited file: miss
    assert cache.get(renamed) is None
    files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(files) == 1 and files[0].endswith(".safetensors")  # no temp files left behind
    assert (tmp_path / "cache" / files[0]).stat().st_size < 8000


@pytest.mark.parametrize("damage", ["garbage", "truncate", "nan", "wrong_shape"])
def test_corrupt_entries_are_ignored_and_rebuilt(tmp_path, damage):
    from safetensors.torch import save_file

    style = tmp_path / "a.png"
    Image.fromarray(smooth_image(40, 40, 1)).save(style)
    cache = StyleCache("enc-1", 512, tmp_path)
    cache.put(style, stats(1))
    entry = cache.entry_path(file_digest(style))
    meta = {"file_sha1": file_digest(style), "encoder_id": "enc-1", "style_side": "512"}
    if damage == "garbage":
        entry.write_bytes(b"\x00\x01 not safetensors" * 10)
    elif damage == "truncate":
        entry.write_bytes(entry.read_bytes()[:100])
    elif damage == "nan":
        save_file({"mean": torch.full((512,), float("nan")), "std": torch.ones(512), **GOOD_PALETTE}, str(entry), meta)
    else:
        save_file({"mean": torch.zeros(64), "std": torch.ones(64), **GOOD_PALETTE}, str(entry), meta)
    assert cache.get(style) is None
    calls = []
    result, cached = cache.get_or_compute(style, lambda p: calls.append(p) or stats(2))
    assert not cached and calls == [style] and same(result, stats(2))
    result, cached = cache.get_or_compute(style, lambda p: calls.append(p) or stats(3))
    assert cached and len(calls) == 1 and same(result, stats(2))


@pytest.fixture(scope="module")
def small_stylizer():
    from engine import Stylizer

    from conftest import random_decoder_state

    return Stylizer(device="cpu", decoder_state=random_decoder_state(), style_side=64)


def test_encode_style_file_matches_the_stylizer_and_hits_on_restart(tmp_path, small_stylizer):
    stylizer = small_stylizer
    style = tmp_path / "style.jpg"
    Image.fromarray(smooth_image(64, 96, 5)).save(style, quality=95)
    cache = StyleCache(stylizer.encoder_id, stylizer.style_side, tmp_path / "styles")
    first, cached = encode_style_file(stylizer, style, cache)
    assert not cached
    direct = stylizer.encode_style(str(style))
    assert torch.allclose(first.mean, direct.mean.cpu()) and torch.allclose(first.std, direct.std.cpu())
    again, cached = encode_style_file(stylizer, style, StyleCache(stylizer.encoder_id, stylizer.style_side,
                                                                  tmp_path / "styles"))
    assert cached and same(again, first)


def test_unreadable_style_file_is_an_input_error(tmp_path, small_stylizer):
    from engine.errors import InputError

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope" * 100)
    with pytest.raises(InputError, match="bad.jpg"):
        encode_style_file(small_stylizer, bad, StyleCache("x", 512, tmp_path / "c"))
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").iterdir())


# --- recorder ------------------------------------------------------------------------------------

def count_frames(path) -> tuple[int, tuple[int, int]]:
    cap = cv2.VideoCapture(str(path))
    n, size = 0, None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        n, size = n + 1, (frame.shape[1], frame.shape[0])
    cap.release()
    return n, size


def test_recorder_keeps_wall_clock_time_and_finalises_atomically(tmp_path):
    rec = Recorder(tmp_path / "out.mp4", fps=10)
    t = 100.0
    for k in range(8):  # frames arrive every 0.25 s: each fills 2-3 slots at 10 fps
        rec.write(np.full((51, 67, 3), 30 * k, np.uint8), t)
        t += 0.25
    rec.write(np.zeros((51, 67, 3), np.uint8), t - 0.24)  # arrives too early: skipped
    assert not (tmp_path / "out.mp4").exists() and rec.tmp_path.exists()  # not final yet
    assert rec.finish() == tmp_path / "out.mp4"
    assert rec.frames_written == int(7 * 0.25 * 10) + 1 == 18
    assert not rec.tmp_path.exists()
    assert count_frames(tmp_path / "out.mp4") == (18, (66, 50))  # sizes made even
    assert rec.finish() is None  # second call is harmless


def test_recorder_resizes_odd_frames_and_drops_empty_recordings(tmp_path):
    rec = Recorder(tmp_path / "a.mp4", fps=5)
    rec.write(np.zeros((40, 60, 3), np.uint8), 0.0)
    rec.write(np.zeros((80, 30, 3), np.uint8), 0.2)  # other size: resized to the first
    rec.finish()
    assert count_frames(tmp_path / "a.mp4") == (2, (60, 40))
    empty = Recorder(tmp_path / "b.mp4", fps=5)
    assert empty.finish() is None and not (tmp_path / "b.mp4").exists()


# --- slot and resolution rules ---------------------------------------------------------------------

def test_latest_slot_keeps_only_the_newest_value():
    slot = LatestSlot()
    assert slot.wait_newer(0, timeout=0.01) is None
    for k in range(5):
        slot.put(k)
    assert slot.wait_newer(0, timeout=0.01) == (5, 4)  # older values were dropped, not queued
    assert slot.wait_newer(5, timeout=0.01) is None
    got = []
    waiter = threading.Thread(target=lambda: got.append(slot.wait_newer(5, timeout=5)))
    waiter.start()
    slot.put("x")
    waiter.join(5)
    assert got == [(6, "x")]


def test_processing_size_and_out_of_memory_fallback():
    assert processing_size(640, 480, 256) == (341, 256)
    assert processing_size(480, 640, 256) == (256, 341)
    assert processing_size(640, 480, 0) == (640, 480)
    assert processing_size(320, 240, 512) == (320, 240)  # never upscaled
    assert lower_resolution(1920, 1080, 0) == 720
    assert lower_resolution(1920, 1080, 720) == 512
    assert lower_resolution(640, 480, 0) == 384
    assert lower_resolution(640, 480, 256) == 192
    assert lower_resolution(640, 480, 128) == 96
    assert lower_resolution(640, 480, 64) is None
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 9 GB"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
