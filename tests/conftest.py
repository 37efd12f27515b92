"""Shared fixtures: a Stylizer with a seeded fresh decoder, small generated images on disk."""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never read or write the user's caches: a network learned or statistics cached there by the
# app would change what a test sees, and a test's would land in the user's folder. One folder for
# the whole run (subprocesses inherit it); tests that need their own set ADAIN_CACHE_DIR themselves.
_TEST_CACHE = tempfile.mkdtemp(prefix="adain-tests-cache-")
os.environ["ADAIN_CACHE_DIR"] = _TEST_CACHE
atexit.register(shutil.rmtree, _TEST_CACHE, ignore_errors=True)
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def random_decoder_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A freshly initialised decoder whose output spans [0,1] (default init gives ~0 ± 0.02)."""
    from engine.nets.decoder import Decoder

    torch.manual_seed(seed)
    sd = Decoder().layers.state_dict()
    sd["28.weight"] = sd["28.weight"] * 12.0
    sd["28.bias"] = torch.full_like(sd["28.bias"], 0.5)
    return sd


def smooth_image(h: int, w: int, seed: int) -> np.ndarray:
    """A photo-like HxWx3 uint8 RGB image: smooth colour gradients plus shapes and mild noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.zeros((h, w, 3))
    for c in range(3):
        a, b, p = rng.uniform(-3, 3, 3)
        img[..., c] = 0.5 + 0.35 * np.sin(a * xx * 3 + b * yy * 3 + p)
    cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.25)
    disk = (yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2
    img[disk] = rng.uniform(0, 1, 3)
    img += rng.normal(0, 0.03, img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


@pytest.fixture(scope="session")
def stylizer():
    from engine import Stylizer

    return Stylizer(device="cpu", decoder_state=random_decoder_state())


def stripes_image(h: int, w: int, period: int = 6) -> np.ndarray:
    """High-contrast diagonal stripes in yellow and dark blue: a 'style' far from any photo."""
    yy, xx = np.mgrid[0:h, 0:w]
    band = ((xx + yy) // period) % 2 == 0
    img = np.where(band[..., None], [240, 200, 30], [20, 30, 120])
    return img.astype(np.uint8)


def noise_image(h: int, w: int, seed: int) -> np.ndarray:
    """Coarse red/magenta colour noise."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 1, (h // 4 + 1, w // 4 + 1, 3)) * [255, 60, 200]
    return np.kron(small, np.ones((4, 4, 1)))[:h, :w].astype(np.uint8)


@pytest.fixture(scope="session")
def images():
    return {"content": smooth_image(64, 80, 1), "style_a": stripes_image(72, 72),
            "style_b": noise_image(60, 90, 3)}


def random_features(seed: int, shape=(1, 512, 9, 11), scale=1.0, shift=0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g) * scale + shift).relu()


def colour_distance(img: torch.Tensor, ref: torch.Tensor) -> float:
    a, b = img[0].flatten(1), ref[0].flatten(1)
    return float((a.mean(1) - b.mean(1)).norm() + (torch.cov(a) - torch.cov(b)).norm())


def flickering(frames, strength: float, seed: int = 0):
    """A 'stylization' that is consistent (colour inversion) plus per-frame random blotches."""
    import cv2

    rng = np.random.default_rng(seed)
    out = []
    for f in frames:
        blotches = cv2.GaussianBlur(rng.normal(0, 1, f.shape[:2]).astype(np.float32), (0, 0), 2.0)
        blotches = blotches / (blotches.std() + 1e-6) * strength
        out.append(np.clip(255.0 - f + blotches[..., None], 0, 255).astype(np.uint8))
    return out


def styled_net(seed: int = 0, up_blocks: int = 0, half_blocks: int = 0):
    """A random lite network whose FiLM and up-path blocks are not the identity (a fresh one
    starts at identity)."""
    from engine.nets.lite import LiteConfig, random_lite

    net = random_lite(LiteConfig(up_blocks=up_blocks, half_blocks=half_blocks), seed=seed)
    with torch.no_grad():
        g = torch.Generator().manual_seed(seed + 1)
        for conv in [*net.up_blocks[1::2], *net.half_blocks[1::2]]:
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * 0.05)
        net.mlp[-1].bias.copy_(torch.randn(net.mlp[-1].bias.shape, generator=g) * 0.3)
        net.mlp[-1].weight.copy_(torch.randn(net.mlp[-1].weight.shape, generator=g) * 0.01)
        net.head.weight.mul_(10.0)  # outputs spanning [0, 1], as a trained network's
        net.head.bias.fill_(0.5)
    return net.eval()
