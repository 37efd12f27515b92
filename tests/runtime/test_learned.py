"""Learned Real-time networks (issue #28): the up-path normalise-then-modulate levels in every
frame path, the file format and the cache (key, atomic writes, LRU cap, broken entries)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.nets.lite import LiteConfig, LiteNet, LiteStyle, random_lite
from engine.nets.lite_runner import LiteRunner
from engine.runtime.learned import LearnedCache, LearnedNet, learned_key, load_learned, save_learned, style_digest
from engine.tools.synthetic import pattern_image
from conftest import styled_net


def learned_net(seed: int = 0) -> LearnedNet:
    """A random network with up-norms and a 5-level style whose up levels are far from identity."""
    base = styled_net(seed=seed, up_blocks=2, half_blocks=1)
    net = LiteNet(LiteConfig(up_blocks=2, up_norms=True, half_blocks=1))
    net.load_state_dict(base.state_dict())
    g = torch.Generator().manual_seed(seed + 7)
    x = torch.from_numpy(pattern_image(64, 96, seed=seed)).permute(2, 0, 1)[None].float() / 255
    style = base.encode_style(x)
    ups = [(torch.rand(1, c, generator=g), torch.rand(1, c, generator=g) * 2 + 0.2) for c in (32, 16)]
    style = LiteStyle(style.means + tuple(m for m, _ in ups), style.stds + tuple(s for _, s in ups),
                      style.film_scale, style.film_shift)
    return LearnedNet(net.eval(), style, {"key": f"k{seed}", "label": "test"})


def frame_of(h, w, seed=0):
    return np.ascontiguousarray(pattern_image(h, w, seed=seed)[:, :, ::-1])


def eager(net: LiteNet, style: LiteStyle, frame: np.ndarray, alpha: float) -> np.ndarray:
    x = torch.from_numpy(frame[:, :, ::-1].copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        y = net.stylize(x, style, alpha).clamp(0, 1)
    return (y[0].permute(1, 2, 0).numpy()[:, :, ::-1] * 255 + 0.5).astype(np.uint8)


@pytest.mark.parametrize("alpha", [1.0, 0.6])
def test_up_norms_run_the_same_in_every_frame_path(alpha):
    learned = learned_net()
    frame = frame_of(61, 83)
    want = eager(learned.net, learned.style, frame, alpha)
    torch_runner = LiteRunner(learned.net, torch.device("cpu"), backend="torch")
    got = torch_runner.frame(frame, learned.style, alpha)
    assert np.abs(got.astype(int) - want).max() <= 1
    pytest.importorskip("openvino")
    ov_runner = LiteRunner(learned.net, torch.device("cpu"), backend="openvino")
    ov_runner.prepare_frames(frame.shape)
    got_ov = ov_runner.frame(frame, learned.style, alpha)
    assert np.abs(got_ov.astype(int) - want).max() <= 1
    # the up levels are really used: other up statistics give another picture
    other = LiteStyle(learned.style.means[:3] + (learned.style.means[3] + 1, learned.style.means[4]),
                      learned.style.stds, learned.style.film_scale, learned.style.film_shift)
    assert np.abs(ov_runner.frame(frame, other, alpha).astype(int) - got_ov).mean() > 1


def test_alpha_zero_is_the_base_networks_identity_modulation():
    """α = 0 makes every AdaIN level (the up-norms too) the identity, as for the base network."""
    learned = learned_net()
    plain = LiteNet(LiteConfig(up_blocks=2, half_blocks=1))
    plain.load_state_dict(learned.net.state_dict())
    frame = frame_of(40, 56)
    three = LiteStyle(learned.style.means[:3], learned.style.stds[:3], learned.style.film_scale,
                      learned.style.film_shift)
    assert np.abs(eager(learned.net, learned.style, frame, 0.0).astype(int)
                  - eager(plain.eval(), three, frame, 0.0)).max() <= 1


def test_file_round_trip_and_checks(tmp_path):
    learned = learned_net(seed=2)
    path = tmp_path / "a.safetensors"
    save_learned(learned, path)
    back = load_learned(path)
    assert back.key == "k2" and back.net.config.up_norms
    frame = frame_of(40, 56)
    assert np.array_equal(eager(back.net, back.style, frame, 1.0), eager(learned.net, learned.style, frame, 1.0))
    bad = LearnedNet(learned.net, LiteStyle(learned.style.means[:3], learned.style.stds[:3],
                                            learned.style.film_scale, learned.style.film_shift), {"key": "x"})
    save_learned(bad, tmp_path / "bad.safetensors")
    with pytest.raises(ValueError, match="style levels"):
        load_learned(tmp_path / "bad.safetensors")


def test_key_depends_on_everything_it_should():
    base = learned_key(["s1"], [1.0], "base", "teacher", "r1")
    assert learned_key(["s1"], None, "base", "teacher", "r1") == base
    assert learned_key(["s1", "s2"], [1, 1], "base", "teacher", "r1") == learned_key(["s2", "s1"], [2, 2], "base",
                                                                                        "teacher", "r1")
    others = {learned_key(["s2"], [1.0], "base", "teacher", "r1"),
              learned_key(["s1", "s2"], [0.3, 0.7], "base", "teacher", "r1"),
              learned_key(["s1", "s2"], [0.7, 0.3], "base", "teacher", "r1"),
              learned_key(["s1"], [1.0], "base2", "teacher", "r1"),
              learned_key(["s1"], [1.0], "base", "teacher2", "r1"),
              learned_key(["s1"], [1.0], "base", "teacher", "r2")}
    assert base not in others and len(others) == 6


def test_style_digest_follows_content_not_name(tmp_path):
    from engine.media.imageio import load_image_rgb, save_image_rgb

    img = pattern_image(20, 30)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    save_image_rgb(img, a)
    save_image_rgb(img, b)
    assert style_digest(a) == style_digest(b) == style_digest(load_image_rgb(a)) == style_digest(img)
    save_image_rgb(pattern_image(20, 30, seed=1), b)
    assert style_digest(a) != style_digest(b)
    assert style_digest(img) == style_digest(img.copy()) != style_digest(pattern_image(20, 30, seed=1))


def test_cache_hits_evicts_least_recently_used_and_relearns_broken_entries(tmp_path):
    cache = LearnedCache(tmp_path / "learned")
    first = learned_net(seed=0)
    path = cache.put(first)
    size = path.stat().st_size
    assert cache.get("k0") is not None and cache.get("missing") is None
    cache.max_bytes = int(size * 2.5)  # room for two
    import os
    import time

    os.utime(path, (time.time() - 100, time.time() - 100))
    cache.put(learned_net(seed=1))
    cache.get("k0")  # k0 used again: k1 is now the least recently used
    os.utime(cache.path("k1"), (time.time() - 50, time.time() - 50))
    cache.put(learned_net(seed=2))
    assert cache.has("k0") and cache.has("k2") and not cache.has("k1")
    # a truncated (broken) entry is a miss and is removed, never an exception
    data = cache.path("k2").read_bytes()
    cache.path("k2").write_bytes(data[: len(data) // 2])
    assert cache.get("k2") is None and not cache.has("k2")
    assert not list((tmp_path / "learned").glob("*.tmp*"))  # atomic writes leave no temporary files


def test_runner_output_differs_from_base_network():
    """A learned network is not the base network under another name."""
    learned = learned_net()
    base = random_lite(LiteConfig(up_blocks=2), seed=0)
    frame = frame_of(40, 56)
    style3 = LiteStyle(learned.style.means[:3], learned.style.stds[:3], learned.style.film_scale,
                       learned.style.film_shift)
    assert np.abs(eager(learned.net, learned.style, frame, 1.0).astype(int)
                  - eager(base.eval(), style3, frame, 1.0)).mean() > 1
