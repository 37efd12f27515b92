"""Generated test material: photo-like scenes, camera-move clips, tones, benchmark frames.

Used by the tests, the benchmark and the studies; nothing at run time imports it.
Images are ``HxWx3`` uint8 RGB; tones ``[channels, samples]`` float32.
"""
from __future__ import annotations

import math

import numpy as np


def pattern_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A generated photo-like ``HxWx3`` uint8 RGB scene: sky, sun, layered hills, houses and
    trees, with texture at several scales (every seed gives another scene)."""
    import cv2

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xx / w, yy / h
    top, bottom = rng.uniform(0.35, 0.7, 3), rng.uniform(0.75, 1.0, 3)
    img = (top + (bottom - top) * v[..., None]).astype(np.float32)  # sky gradient
    sun = (rng.uniform(0.15, 0.85) * w, rng.uniform(0.1, 0.3) * h)
    cv2.circle(img, (int(sun[0]), int(sun[1])), int(0.07 * min(h, w) + 2), (1.0, 0.92, 0.6), -1, cv2.LINE_AA)
    for layer in range(3):  # hills, far to near: darker and more saturated
        base = 0.35 + 0.15 * layer + rng.uniform(-0.05, 0.05)
        ridge = base + sum(rng.uniform(0.02, 0.06) * np.sin(2 * np.pi * (k + 1) * u[0] + rng.uniform(0, 6))
                           for k in range(3))
        colour = rng.uniform(0.1, 0.6, 3) * (1 - 0.2 * layer)
        below = v >= ridge[None, :]
        img[below] = colour + 0.1 * (v[below, None] - 0.5)
        for _ in range(3 + 2 * layer):  # houses and trees standing on this hill
            x0 = int(rng.uniform(0.05, 0.95) * w)
            y0 = int(ridge[min(w - 1, x0)] * h) + 2
            size = int((0.03 + 0.025 * layer) * min(h, w) * rng.uniform(0.8, 1.6)) + 2
            if rng.random() < 0.5:
                wall = tuple(float(c) for c in rng.uniform(0.4, 1.0, 3))
                cv2.rectangle(img, (x0 - size, y0 - size), (x0 + size, y0), wall, -1, cv2.LINE_AA)
                roof = np.array([[x0 - size - 2, y0 - size], [x0 + size + 2, y0 - size], [x0, y0 - 2 * size]])
                cv2.fillPoly(img, [roof.astype(np.int32)], (0.55, 0.15, 0.1), cv2.LINE_AA)
                cv2.rectangle(img, (x0 - size // 3, y0 - size // 2), (x0 + size // 3, y0), (0.2, 0.15, 0.1), -1)
            else:
                cv2.line(img, (x0, y0), (x0, y0 - size), (0.3, 0.2, 0.1), max(1, size // 4), cv2.LINE_AA)
                leaves = tuple(float(c) for c in (rng.uniform(0.05, 0.3), rng.uniform(0.3, 0.6), rng.uniform(0.05, 0.2)))
                cv2.circle(img, (x0, y0 - size - size // 2), size, leaves, -1, cv2.LINE_AA)
    for sigma, amount in ((0.8, 0.035), (3.0, 0.05), (12.0, 0.06)):
        texture = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), sigma)
        img += amount * texture[..., None] / (texture.std() + 1e-6)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def synthetic_clip(base_rgb: np.ndarray, n_frames: int, size: tuple[int, int], seed: int = 0,
                   pan: tuple[float, float] = (0.2, 0.08), zoom: tuple[float, float] = (1.0, 1.15),
                   rotate_deg: float = 0.0, noise: float = 3.0, drift: float = 0.12) -> list[np.ndarray]:
    """Frames of a simulated camera move over ``base_rgb``: ``n_frames`` ``HxWx3`` uint8 RGB.

    ``size`` is ``(width, height)``. The view pans by ``pan`` (fractions of the base image,
    x and y) and zooms from ``zoom[0]`` to ``zoom[1]``, rotating by ``rotate_deg`` overall;
    each frame gets Gaussian sensor noise (``noise``, in 0..255 units, brighter pixels
    noisier) and a slow lighting drift (gain up to ``1 + drift`` with a warming colour cast).
    """
    import cv2

    rng = np.random.default_rng(seed)
    bh, bw = base_rgb.shape[:2]
    w, h = size
    # The widest view (zoom[0]) spans this fraction of the base, leaving room for the pan.
    fit = min((1 - abs(pan[0])) * bw / w, (1 - abs(pan[1])) * bh / h) / (1.0 + abs(rotate_deg) / 45)
    base = base_rgb.astype(np.float32)
    frames = []
    for t in range(n_frames):
        u = t / max(1, n_frames - 1)
        ease = 0.5 - 0.5 * math.cos(math.pi * u)
        scale = fit / (zoom[0] + (zoom[1] - zoom[0]) * ease)  # base pixels per output pixel
        cx = bw / 2 + (ease - 0.5) * pan[0] * bw
        cy = bh / 2 + (ease - 0.5) * pan[1] * bh
        angle = math.radians(rotate_deg * (ease - 0.5))
        cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
        # output (x, y) → base coordinates
        m = np.array([[cos, -sin, cx - cos * w / 2 + sin * h / 2],
                      [sin, cos, cy - sin * w / 2 - cos * h / 2]], np.float32)
        view = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REFLECT)
        gain = 1.0 + drift * math.sin(math.pi * u)
        cast = np.array([1 + 0.3 * drift * u, 1.0, 1 - 0.3 * drift * u], np.float32)
        view = view * gain * cast
        sigma = noise * np.sqrt(np.clip(view, 1, 255) / 128.0)
        view = view + rng.normal(0, 1, view.shape).astype(np.float32) * sigma
        frames.append((np.clip(view, 0, 255) + 0.5).astype(np.uint8))
    return frames


def tone(seconds: float, rate: int = 44100, freq: float = 440.0, channels: int = 2) -> np.ndarray:
    """A sine tone: ``[channels, samples]`` float32 in [-0.5, 0.5]."""
    t = np.arange(int(round(seconds * rate))) / rate
    wave = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(wave[None], channels, axis=0)


def synthetic_frames(h: int, w: int, count: int = 4, seed: int = 0) -> list[np.ndarray]:
    """``count`` video-like ``HxWx3`` uint8 BGR frames: smooth colour gradients, a few soft
    shapes that move a little from frame to frame, and sensor-like noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy /= max(h, w)
    xx /= max(h, w)
    base = np.empty((h, w, 3), np.float32)
    for c in range(3):
        a, b, p = rng.uniform(-3, 3, 3)
        base[..., c] = 0.5 + 0.3 * np.sin(a * xx * 3 + b * yy * 3 + p)
    shapes = [(rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.9), rng.uniform(0.05, 0.2), rng.uniform(0, 1, 3))
              for _ in range(4)]
    frames = []
    for i in range(count):
        img = base.copy()
        for cy, cx, r, colour in shapes:
            d2 = (yy - cy - 0.01 * i) ** 2 + (xx - cx - 0.015 * i) ** 2
            soft = np.clip((r * r - d2) / (0.2 * r * r), 0, 1)[..., None]
            img = img * (1 - soft) + colour.astype(np.float32) * soft
        img += rng.normal(0, 0.02, img.shape).astype(np.float32)
        frames.append((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))
    return frames


def synthetic_style(h: int = 512, w: int = 640, seed: int = 1) -> np.ndarray:
    """A painting-like ``HxWx3`` uint8 RGB image: a palette of oriented brush-stroke textures."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for _ in range(6):
        angle, freq, phase = rng.uniform(0, np.pi), rng.uniform(0.05, 0.3), rng.uniform(0, 6.3)
        wave = np.sin(freq * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
        blob = np.exp(-(((yy - rng.uniform(0, h)) / (0.4 * h)) ** 2 + ((xx - rng.uniform(0, w)) / (0.4 * w)) ** 2))
        img += (0.5 + 0.5 * wave)[..., None] * blob[..., None] * rng.uniform(0, 1, 3).astype(np.float32)
    img = img / img.max() + rng.normal(0, 0.04, img.shape).astype(np.float32)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


# --- the hard styles of issue #15: a monochrome print, a flat-colour poster, a dark night sky ---

def engraving_style(h: int = 512, w: int = 640, seed: int = 3) -> np.ndarray:
    """A black-and-white engraving: bundles of dark cross-hatching on white paper (grey only)."""
    import cv2

    rng = np.random.default_rng(seed)
    paper = np.full((h, w), 235, np.uint8)
    for _ in range(h * w // 800):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        angle, length = rng.choice([0.6, 2.2]), int(rng.integers(20, 90))
        dx, dy = int(length * np.cos(angle)), int(length * np.sin(angle))
        for k in range(int(rng.integers(3, 9))):
            cv2.line(paper, (x + 4 * k, y), (x + 4 * k + dx, y + dy), int(rng.integers(0, 60)), 1, cv2.LINE_AA)
    return np.repeat(paper[..., None], 3, axis=2)


POSTER_COLOURS = ((220, 30, 30), (250, 210, 0), (240, 240, 240))  # RGB: red, yellow, white


def poster_style(h: int = 512, w: int = 640, seed: int = 3) -> np.ndarray:
    """A flat-colour poster: red, yellow and white polygons with thick black outlines."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = POSTER_COLOURS[1]
    for i in range(14):
        points = rng.integers(0, [w, h], size=(5, 2)).astype(np.int32)
        cv2.fillPoly(img, [points], POSTER_COLOURS[(0, 2, 0, 1)[i % 4]])
        cv2.polylines(img, [points], True, (10, 10, 10), 6)
    return img


def night_sky_style(h: int = 512, w: int = 640, seed: int = 3) -> np.ndarray:
    """A dark-blue night sky: deep blue bands with pale rings of stars."""
    import cv2

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([15 + 10 * np.cos(xx / 50), 40 + 15 * np.sin(yy / 35),
                    90 + 30 * np.sin(xx / 40 + yy / 70)], -1)
    for _ in range(25):
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h // 2)))
        cv2.circle(img, centre, int(rng.integers(10, 50)), (230, 220, 200), 3, cv2.LINE_AA)
    return np.clip(img, 0, 255).astype(np.uint8)
