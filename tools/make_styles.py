"""Generate the app's default style images, entirely by code.

The images in ``assets/styles/`` are the presets offered by the GUI for
arbitrary (AdaIN) style transfer.  AdaIN only looks at the channel-wise
mean/std of VGG features, so a good style image needs a rich, distinctive
colour palette and texture at several scales.  Every image here is painted
procedurally with numpy + OpenCV and saved with Pillow, from fixed seeds, so
the output is byte-for-byte reproducible and free of third-party copyright.

Run from the repository root::

    python tools/make_styles.py [--out assets/styles] [--only NAME ...]
                                [--preview DIR]

``--only`` regenerates a subset, ``--preview`` additionally writes PNG copies
(handy for eyeballing).  Files are written atomically (temp file +
``os.replace``) as JPEG quality 92.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

cv2.setNumThreads(1)  # small CPU footprint, fully deterministic

SIZE = 768
JPEG_QUALITY = 92
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "assets" / "styles"


# ----------------------------------------------------------------------------
# shared helpers (images are float32 in [0, 1], HxW or HxWx3 RGB)
# ----------------------------------------------------------------------------

def palette(*hex_colours: str) -> np.ndarray:
    """``palette("#ff0000", ...)`` -> (n, 3) float32 RGB array."""
    return np.array([[int(h.lstrip("#")[i:i + 2], 16) / 255.0 for i in (0, 2, 4)]
                     for h in hex_colours], np.float32)


def gradient_map(t: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Map scalar field ``t`` in [0, 1] through evenly spaced ``colours``."""
    stops = np.linspace(0.0, 1.0, len(colours))
    t = np.clip(t, 0.0, 1.0)
    return np.stack([np.interp(t, stops, colours[:, c]) for c in range(3)],
                    axis=-1).astype(np.float32)


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def to_uint8(img: np.ndarray) -> np.ndarray:
    return np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)


def normalise(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return ((a - lo) / max(hi - lo, 1e-8)).astype(np.float32)


def fbm(rng: np.random.Generator, size: int, cells: int, octaves: int = 4,
        gain: float = 0.5) -> np.ndarray:
    """Smooth fractal value noise in [0, 1]; ``cells`` = features per side."""
    out = np.zeros((size, size), np.float32)
    amp = 1.0
    for o in range(octaves):
        n = cells * 2 ** o + 1
        grid = rng.random((n, n), dtype=np.float32)
        out += amp * cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
        amp *= gain
    return normalise(out)


def paper_grain(rng: np.random.Generator, size: int, strength: float = 0.05,
                fibres: int = 0) -> np.ndarray:
    """Multiplicative paper texture around 1.0 (fine tooth + mottle + fibres)."""
    tooth = blur(rng.standard_normal((size, size)).astype(np.float32), 0.8)
    tooth /= tooth.std() + 1e-8
    mottle = fbm(rng, size, 6, 4) - 0.5
    grain = 0.5 * tooth + 1.5 * mottle
    if fibres:
        layer = np.zeros((size, size), np.float32)
        for _ in range(fibres):
            x, y = rng.uniform(0, size, 2)
            a = rng.uniform(0, math.pi)
            ln = rng.uniform(8, 40)
            p = np.array([[x, y], [x + ln * math.cos(a), y + ln * math.sin(a)]])
            cv2.polylines(layer, [np.round(p).astype(np.int32)], False,
                          float(rng.choice([-1.0, 1.0])), 1, cv2.LINE_8)
        grain += 0.6 * blur(layer, 0.7)
    return (1.0 + strength * grain).astype(np.float32)[..., None]


def voronoi(points: np.ndarray, size: int, tile: int = 32):
    """Exact Voronoi labels and approximate distance to the cell border.

    Returns ``(label, edge)``: index of the nearest seed per pixel and the
    distance (px) to the bisector with the second-nearest seed.
    """
    pts = np.asarray(points, np.float32)
    label = np.empty((size, size), np.int32)
    edge = np.empty((size, size), np.float32)
    for ty in range(0, size, tile):
        for tx in range(0, size, tile):
            h, w = min(tile, size - ty), min(tile, size - tx)
            centre = np.array([tx + w / 2, ty + h / 2], np.float32)
            dc = np.hypot(*(pts - centre).T)
            reach = np.partition(dc, 1)[1] + math.hypot(w, h)  # 2nd nearest + diag
            cand = np.nonzero(dc <= reach)[0]
            py, px = np.mgrid[ty:ty + h, tx:tx + w].astype(np.float32) + 0.5
            d2 = (px[..., None] - pts[cand, 0]) ** 2 + (py[..., None] - pts[cand, 1]) ** 2
            two = np.argsort(d2, axis=-1)[..., :2]
            i1, i2 = cand[two[..., 0]], cand[two[..., 1]]
            d1 = np.take_along_axis(d2, two[..., :1], -1)[..., 0]
            d2b = np.take_along_axis(d2, two[..., 1:], -1)[..., 0]
            sep = np.hypot(*(pts[i2] - pts[i1]).transpose(2, 0, 1))
            label[ty:ty + h, tx:tx + w] = i1
            edge[ty:ty + h, tx:tx + w] = (d2b - d1) / (2 * sep + 1e-6)
    return label, edge


def shade_from_height(height: np.ndarray, strength: float,
                      light=(-0.6, -0.8)) -> np.ndarray:
    """Lambert-ish relief shading factor (around 1.0) from a height map."""
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3)
    return (1.0 - strength * (gx * light[0] + gy * light[1]))[..., None]


def smooth1d(rng: np.random.Generator, n: int, knots: int) -> np.ndarray:
    """Smooth random curve of length ``n`` in [0, 1]."""
    return np.interp(np.linspace(0, knots - 1, n), np.arange(knots),
                     rng.random(knots)).astype(np.float32)


def bezier(p0, p1, bend: float, n: int = 64) -> np.ndarray:
    """Quadratic curve from p0 to p1, bowed sideways by ``bend`` * length."""
    p0, p1 = np.asarray(p0, np.float32), np.asarray(p1, np.float32)
    d = p1 - p0
    ctrl = (p0 + p1) / 2 + bend * np.array([-d[1], d[0]], np.float32)
    t = np.linspace(0, 1, n, dtype=np.float32)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * ctrl + t ** 2 * p1


def bristle_stroke(layer: np.ndarray, path: np.ndarray, width: float,
                   rng: np.random.Generator, bristles: int = 16,
                   dryness: float = 0.3, taper=(0.15, 0.35), streaks: float = 0.0,
                   edge_dark: float = 0.0) -> None:
    """Dry-brush stroke: ``bristles`` hairs along ``path`` drawn into uint8 ``layer``.

    Width swells with 'pressure' and tapers at both ends; hairs run out of
    ink towards the end of the stroke according to ``dryness``; ``streaks``
    adds dry gaps along the whole stroke, ``edge_dark`` makes the centre paler.
    """
    n = len(path)
    t = np.linspace(0, 1, n, dtype=np.float32)
    w = width * np.clip(np.minimum(t / taper[0], (1 - t) / taper[1]), 0, 1) ** 0.7 + 1
    tang = np.gradient(path, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True) + 1e-6
    normal = np.stack([-tang[:, 1], tang[:, 0]], 1)
    thick = max(1, int(round(2.2 * width / bristles)))
    for off in rng.uniform(-0.5, 0.5, bristles):
        pts = path + normal * (off * w)[:, None]
        ink = 1.0 - streaks * rng.random() - dryness * t ** 1.5 * rng.uniform(0.4, 1.6)
        keep = smooth1d(rng, n, max(4, n // 6)) < ink
        tone = rng.uniform(0.7, 1.0) * (1.0 - edge_dark * (1.0 - 2.0 * abs(off)))
        # split into runs of consecutive kept points
        idx = np.flatnonzero(np.diff(np.r_[0, keep.astype(np.int8), 0]))
        runs = [np.round(pts[a:b] * 16).astype(np.int32)
                for a, b in zip(idx[::2], idx[1::2]) if b - a > 1]
        if runs:
            cv2.polylines(layer, runs, False, int(255 * tone), thick,
                          cv2.LINE_AA, shift=4)


def halftone(coverage: np.ndarray, cell: float, angle_deg: float) -> np.ndarray:
    """Anti-aliased round halftone dots (0..1 ink) for a coverage map."""
    y, x = coords(coverage.shape[0])
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    u, v = x * c + y * s, -x * s + y * c  # screen coordinates
    cu = (np.floor(u / cell) + 0.5) * cell
    cv = (np.floor(v / cell) + 0.5) * cell
    src = blur(coverage.astype(np.float32), cell / 4)
    val = cv2.remap(src, cu * c - cv * s, cu * s + cv * c, cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REFLECT)
    radius = cell * np.sqrt(np.clip(val, 0, 1) / math.pi) * 1.08
    return np.clip((radius - np.hypot(u - cu, v - cv)) / 1.4 + 0.5, 0.0, 1.0)


def coords(size: int):
    """Pixel-centre coordinate grids ``(y, x)`` as float32."""
    return np.mgrid[0:size, 0:size].astype(np.float32) + 0.5


# ----------------------------------------------------------------------------
# styles: one function each, ``fn(rng, size) -> HxWx3 float32 RGB``
# ----------------------------------------------------------------------------

def style_mosaic(rng: np.random.Generator, size: int) -> np.ndarray:
    """Roman-style mosaic: wavy rows of tesserae, a sun over the sea."""
    spacing = size / 36
    n = int(size / spacing) + 4
    gy, gx = np.mgrid[-2:n - 2, -2:n - 2].astype(np.float32)
    # rows follow a smooth displacement field -> flowing 'opus vermiculatum'
    warp_y = (fbm(rng, n, 2, 2) - 0.5) * 3.0 + 0.8 * np.sin(gx * 0.35)
    warp_x = (fbm(rng, n, 2, 2) - 0.5) * 2.0
    px = (gx + 0.5 + warp_x + rng.uniform(-0.18, 0.18, gx.shape)) * spacing
    py = (gy + 0.5 + warp_y + rng.uniform(-0.18, 0.18, gy.shape)) * spacing
    pts = np.stack([px.ravel(), py.ravel()], -1)
    label, edge = voronoi(pts, size)

    # design sampled once per tile
    sea = palette("#0d2d4f", "#1b5f7a", "#2f8f8f", "#6cb8a8", "#e8dcc0")
    sky = palette("#e9d9b8", "#d9c39a", "#b9cfc9")
    sun = palette("#f6d36b", "#eaa53c", "#c8602e", "#8e2f22", "#f0e2c2")
    cx, cy, r_sun = 0.66 * size, 0.30 * size, 0.15 * size
    horizon = 0.52 * size
    colours = np.empty((len(pts), 3), np.float32)
    k768 = 768.0 / size  # wave frequencies below are tuned for 768 px
    for i, (x, y) in enumerate(pts):
        r = math.hypot(x - cx, y - cy)
        ang = math.atan2(y - cy, x - cx)
        if r < r_sun:
            c = sun[min(int(r / r_sun * 4), 3)] if r > 0.25 * r_sun else sun[0]
        elif r < 1.9 * r_sun and y < horizon and math.cos(12 * ang) > 0.35:
            c = sun[1 + int(r / r_sun * 3) % 3]
        elif y < horizon:
            c = sky[int((y / horizon) * 3 + 0.6 * math.sin(x * k768 * 0.02)) % 3]
        else:
            xk, yk = x * k768, y * k768
            t = 0.5 + 0.5 * math.sin(yk * 0.05 + 2.2 * math.sin(xk * 0.018 + yk * 0.004))
            k = int(t * 4.999)
            depth = (y - horizon) / (size - horizon)
            k = max(0, min(4, k - int(depth * 2)))
            c = sea[k]
        colours[i] = c * rng.uniform(0.86, 1.10) + rng.normal(0, 0.025, 3)
        if rng.random() < 0.015:  # occasional gold smalti glint
            colours[i] = palette("#e8c45a")[0] * rng.uniform(0.95, 1.15)
    img = colours[label]

    # tesserae relief: rounded edges, lit from the top-left, grainy surface
    height = np.minimum(edge, 4.0) / 4.0
    img *= shade_from_height(blur(height, 0.8), 0.35)
    img *= paper_grain(rng, size, 0.06)
    grout = palette("#3a332c")[0] * (0.75 + 0.5 * fbm(rng, size, 40, 2))[..., None]
    a = np.clip(edge - 1.3, 0.0, 1.0)[..., None]
    return img * a + grout * (1 - a)


def style_ink_strokes(rng: np.random.Generator, size: int) -> np.ndarray:
    """Sumi-e bamboo in mist: dry-brush stalks, tapered leaves, ink washes."""
    s = size / 768.0
    ink = np.zeros((size, size), np.float32)  # accumulated ink density

    def add(layer: np.ndarray, density: float) -> None:
        nonlocal ink
        a = layer.astype(np.float32) / 255.0 * density
        ink = 1.0 - (1.0 - ink) * (1.0 - a)

    # distant mountains / mist: pale graded washes
    for k, (base, amp, dens) in enumerate([(0.42, 0.16, 0.16), (0.60, 0.10, 0.22)]):
        x = np.linspace(0, 1, size)
        ridge = (base - amp * np.abs(np.sin(x * (2.3 + k) + k)) -
                 0.08 * (smooth1d(rng, size, 7) - 0.5)) * size
        y = np.arange(size, dtype=np.float32)[:, None]
        fade = np.clip(1.0 - (y - ridge[None, :]) / (0.35 * size), 0, 1)
        m = (y > ridge[None, :]) * fade * (0.7 + 0.45 * fbm(rng, size, 4, 3))
        add((255 * blur(m.astype(np.float32), 3 * s)).astype(np.uint8), dens)

    def stalk(x0: float, lean: float, width: float, dens: float) -> list:
        y, nodes = size * 1.02, []
        while y > -0.05 * size:
            seg = rng.uniform(0.13, 0.2) * size
            p0 = (x0 + lean * (size - y), y)
            p1 = (x0 + lean * (size - y + seg), y - seg)
            layer = np.zeros((size, size), np.uint8)
            bristle_stroke(layer, bezier(p0, p1, rng.uniform(-0.03, 0.03), 48),
                           width, rng, 30, 0.45, (0.04, 0.06), 0.35, 0.45)
            add(layer, dens)
            nodes.append(p1)
            y -= seg + 5 * s
        layer = np.zeros((size, size), np.uint8)
        for nx, ny in nodes:  # node marks
            bristle_stroke(layer, bezier((nx - 0.7 * width, ny + 4 * s),
                                         (nx + 0.7 * width, ny + 2 * s), 0.25, 16),
                           6 * s, rng, 6, 0.1)
        add(layer, min(1.0, dens + 0.25))
        return nodes

    def leaves(x: float, y: float, count: int, dens: float, length: float) -> None:
        layer = np.zeros((size, size), np.uint8)
        side = rng.choice([-1.0, 1.0])
        base = math.pi / 2 + side * rng.uniform(0.5, 1.1)  # roughly hanging down
        twig = (x + side * 0.5 * length, y + rng.uniform(-0.2, 0.2) * length)
        bristle_stroke(layer, bezier((x, y), twig, 0.1 * side, 24), 3 * s, rng, 3, 0.2)
        for _ in range(count):
            a = base + rng.normal(0, 0.45)
            ln = length * rng.uniform(0.7, 1.3)
            tip = (twig[0] + ln * math.cos(a), twig[1] + ln * math.sin(a))
            bristle_stroke(layer, bezier(twig, tip, rng.uniform(-0.18, 0.18), 40),
                           rng.uniform(0.15, 0.22) * ln, rng, 18, 0.3, (0.25, 0.7), 0.1)
        add(layer, dens)

    far = stalk(0.18 * size, 0.04, 22 * s, 0.35)
    near = stalk(0.62 * size, -0.07, 34 * s, 1.0)
    mid = stalk(0.40 * size, 0.02, 26 * s, 0.6)
    for nodes, dens, ln in [(far, 0.4, 110 * s), (mid, 0.65, 140 * s), (near, 1.0, 170 * s)]:
        for nx, ny in nodes[1:-1]:
            if rng.random() < 0.6:
                leaves(nx, ny, int(rng.integers(3, 6)), dens, ln)

    # grass sweeps along the bottom
    layer = np.zeros((size, size), np.uint8)
    for _ in range(11):
        x0 = rng.uniform(0.0, 1.0) * size
        tip = (x0 + rng.uniform(-0.35, 0.35) * size, size * rng.uniform(0.66, 0.85))
        bristle_stroke(layer, bezier((x0, size * 1.01), tip, rng.uniform(-0.3, 0.3), 60),
                       rng.uniform(5, 14) * s, rng, 10, 0.6, (0.05, 0.8), 0.2)
    add(layer, 0.8)
    # ink splatter
    layer = np.zeros((size, size), np.uint8)
    for _ in range(40):
        c = rng.normal([0.55 * size, 0.5 * size], 0.2 * size)
        cv2.circle(layer, tuple(int(v) for v in c), int(rng.integers(1, 4)), 255, -1,
                   cv2.LINE_AA)
    add(layer, 0.7)

    # absorbent paper: ink feathers a little
    ink = np.maximum(ink, 0.6 * blur(ink, 1.5 * s))
    paper = palette("#f1e9d6")[0] * paper_grain(rng, size, 0.05, fibres=900)
    ink_col = palette("#151517")[0]
    img = paper * (1 - ink[..., None]) + ink_col * ink[..., None]

    # red seal, bottom right
    seal = np.zeros((size, size), np.uint8)
    x0, y0, w = int(0.86 * size), int(0.84 * size), int(44 * s)
    cv2.rectangle(seal, (x0, y0), (x0 + w, y0 + int(1.4 * w)), 255, -1)
    for _ in range(7):  # carved glyph lines
        if rng.random() < 0.5:
            a = (x0 + int(rng.integers(6, w - 6)), y0 + 6)
            b = (a[0], y0 + int(1.4 * w) - 6)
        else:
            a = (x0 + 6, y0 + int(rng.integers(6, int(1.4 * w) - 6)))
            b = (x0 + w - 6, a[1])
        cv2.line(seal, a, b, 0, max(2, int(3 * s)))
    sm = seal.astype(np.float32)[..., None] / 255.0
    sm *= (fbm(rng, size, 60, 2) > 0.25)[..., None] * 0.85
    red = palette("#b3261e")[0]
    return img * (1 - sm) + red * sm


def style_halftone(rng: np.random.Generator, size: int) -> np.ndarray:
    """Pop-art comic panel: CMYK-screened sky, flat bold shapes, Ben-Day dots."""
    s = size / 768.0
    y, x = coords(size)
    ex, ey = 0.42 * size, 0.58 * size  # explosion centre
    r = np.hypot(x - ex, y - ey) / size
    ang = np.arctan2(y - ey, x - ex)
    paper = palette("#fbf6e6")[0]

    def inked(dots: np.ndarray, colour: str, base=None) -> np.ndarray:
        base = paper if base is None else base
        return base * (1.0 - dots[..., None] * (1.0 - palette(colour)[0]))

    def star(cx, cy, r_in, r_out, spikes) -> np.ndarray:
        a = np.linspace(0, 2 * math.pi, 2 * spikes, endpoint=False) + rng.uniform(0, 1)
        rad = np.where(np.arange(2 * spikes) % 2 == 0,
                       r_out * rng.uniform(0.75, 1.15, 2 * spikes),
                       r_in * rng.uniform(0.85, 1.1, 2 * spikes))
        return np.stack([cx + rad * np.cos(a), cy + rad * np.sin(a)], 1).astype(np.int32)

    def mask_of(draw) -> np.ndarray:
        m = np.zeros((size, size), np.uint8)
        draw(m)
        return (m / 255.0).astype(np.float32)[..., None]

    # continuous-tone background (sky, speed rays, stripes), screened in CMYK
    bg = gradient_map(np.clip(r * 1.6, 0, 1), palette("#fff4b0", "#8fd3f0", "#1e6fc0"))
    rays = ((np.cos(ang * 18) > 0.55) & (r > 0.12))[..., None]
    bg = np.where(rays, palette("#2a4fb0")[0] * (1.0 - 0.4 * np.clip(r, 0, 1))[..., None], bg)
    stripes = (((x + y) % (40 * s) < 16 * s) & (y > 0.8 * size) & (x < 0.55 * size))[..., None]
    bg = np.where(stripes, palette("#ff4fa0")[0], bg)
    k = 0.8 * (1.0 - bg.max(-1))
    cmy = (1.0 - bg - k[..., None]) / (1.0 - k[..., None] + 1e-6)
    cell = 9 * s
    out = paper * np.ones((size, size, 3), np.float32)
    for cov, angle, colour, shift in [(cmy[..., 0], 15, "#00a3e0", (0, 1)),
                                      (cmy[..., 1], 75, "#e6007e", (1, 0)),
                                      (cmy[..., 2], 0, "#ffe500", (0, 0)),
                                      (k, 45, "#1a1a1a", (0, 0))]:
        dots = np.roll(halftone(cov, cell, angle), shift, (0, 1))
        out = inked(dots, colour, out)

    # bold flat shapes on top
    tx, ty, tr = int(0.80 * size), int(0.20 * size), 0.2 * size
    rings = ["#e8202a", "#fbf6e6", "#1f4fbf", "#ffe23a", "#e8202a", "#fbf6e6"]
    for i, col in enumerate(rings):
        m = mask_of(lambda im: cv2.circle(im, (tx, ty), int(tr * (1 - i / 6.2)), 255, -1,
                                          cv2.LINE_AA))
        fill = palette(col)[0]
        if i == 3:  # one ring in Ben-Day dots
            fill = inked(halftone(np.full((size, size), 0.3, np.float32), 12 * s, 45),
                         "#e8202a", fill)
        out = out * (1 - m) + fill * m
    stars = [star(ex, ey, 0.2 * size, 0.34 * size, 15), star(ex, ey, 0.11 * size, 0.21 * size, 11),
             star(ex, ey, 0.05 * size, 0.10 * size, 9)]
    fills = [palette("#ffd21f")[0],
             inked(halftone(np.full((size, size), 0.35, np.float32), 14 * s, 30), "#c8004f",
                   palette("#ff5a1f")[0]),
             palette("#fffbe8")[0]]
    for poly, fill in zip(stars, fills):
        m = mask_of(lambda im: cv2.fillPoly(im, [poly], 255, cv2.LINE_AA))
        out = out * (1 - m) + fill * m

    # speech balloon with big red Ben-Day dots
    bx, by = int(0.24 * size), int(0.17 * size)
    tail = np.array([[bx + 0.05 * size, by + 0.08 * size], [bx + 0.16 * size, by + 0.3 * size],
                     [bx + 0.13 * size, by + 0.06 * size]], np.int32)

    def balloon(im):
        cv2.ellipse(im, (bx, by), (int(0.2 * size), int(0.12 * size)), -6, 0, 360, 255, -1,
                    cv2.LINE_AA)
        cv2.fillPoly(im, [tail], 255, cv2.LINE_AA)

    bm = mask_of(balloon)
    dots = halftone(np.full((size, size), 0.22, np.float32), 24 * s, 45)
    out = out * (1 - bm) + inked(dots, "#ff2b3a", palette("#fffdf4")[0]) * bm

    # black ink outlines
    width = max(2, int(7 * s))
    contours, _ = cv2.findContours((bm[..., 0] > 0.5).astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)

    def outlines(im):
        cv2.polylines(im, stars[:2], True, 255, width, cv2.LINE_AA)
        cv2.circle(im, (tx, ty), int(tr), 255, width, cv2.LINE_AA)
        cv2.drawContours(im, contours, -1, 255, width, cv2.LINE_AA)

    lm = mask_of(outlines)
    out = out * (1 - lm) + palette("#111111")[0] * lm
    return out * paper_grain(rng, size, 0.015)


def style_watercolour(rng: np.random.Generator, size: int) -> np.ndarray:
    """Loose watercolour landscape: glazed washes, dark pigment edges, blooms."""
    s = size / 768.0
    y, x = coords(size)
    texture = fbm(rng, size, 96, 2)  # cold-press paper tooth, catches pigment
    img = palette("#fbf8f0")[0] * np.ones((size, size, 3), np.float32)

    def wash(mask, colour: str, strength: float, grade=1.0, edge: float = 1.0,
             bloom: bool = False) -> None:
        """Glaze one translucent wash of ``colour`` over ``mask`` (0/1 shape).

        ``grade`` scales the pigment load (graded washes); the shape gets a
        ragged edge where pigment pools and dries darker.
        """
        nonlocal img
        mask = mask.astype(np.float32)
        wobble = blur(rng.standard_normal((size, size)).astype(np.float32), 3 * s)
        m = np.clip((blur(mask, 2.5 * s) - 0.5 + 0.35 * wobble) * 6, 0, 1)  # ragged edge
        m = blur(m, 1.2 * s)
        rim = np.clip(m - blur(m, 5 * s), 0, 1)  # pigment pools at the drying edge
        d = (m * (0.55 + 0.6 * fbm(rng, size, 3, 3)) + 1.2 * edge * rim) * grade
        if bloom:  # cauliflower backrun: pigment pushed out of a blob
            b = blur((fbm(rng, size, 5, 3) > 0.62).astype(np.float32), 6 * s)
            d = d * (1 - 0.6 * b) + 0.8 * np.clip(b - blur(b, 3 * s), 0, 1) * m
        d *= strength * (0.75 + 0.5 * texture)  # granulation in the paper tooth
        img = img * palette(colour)[0] ** d[..., None]  # transparent glaze

    def ridge(base: float, amp: float, knots: int) -> np.ndarray:
        line = np.zeros(size, np.float32)
        for o, w in enumerate([1.0, 0.35, 0.12]):
            k = knots * 2 ** o
            line += w * cv2.resize(rng.random((1, k), dtype=np.float32), (size, 1),
                                   interpolation=cv2.INTER_CUBIC)[0]
        return ((base + amp * (line / 1.47 - 0.5)) * size)[None, :]  # 1.47: weight sum

    sun = np.hypot(x - 0.72 * size, y - 0.2 * size) < 0.075 * size
    # sky: graded blue, reserved sun, warm glow at the horizon
    wash(~sun, "#4f86d8", 0.9, grade=np.clip(1.0 - y / (0.5 * size), 0, 1) ** 1.3, edge=0.5)
    wash(~sun & (fbm(rng, size, 3, 3) > 0.55), "#7a6fb8", 0.5, edge=1.5, bloom=True)
    wash(np.ones_like(y), "#f09a7a", 0.7, grade=np.exp(-np.abs(y - 0.4 * size) / (0.1 * size)))
    wash(sun, "#f4b93a", 0.9, edge=1.6)
    # hills and fields, back to front, each graded lighter towards the bottom
    for base, amp, knots, depth, colour, strength, bloom in [
            (0.36, 0.22, 4, 0.25, "#8a7cc0", 0.8, False),
            (0.48, 0.16, 6, 0.22, "#3f8f8a", 0.8, True),
            (0.58, 0.22, 3, 0.25, "#e0b04a", 0.8, False),
            (0.68, 0.14, 7, 0.12, "#3e7d3e", 0.9, True),
            (0.82, 0.10, 5, 0.25, "#b5653a", 0.6, False)]:
        top = ridge(base, amp, knots)
        wash(y > top, colour, strength, bloom=bloom,
             grade=np.exp(-np.clip(y - top, 0, None) / (depth * size)))
    # flowers: small loose dabs, one glaze per pigment
    for colour in ["#d6284b", "#f08a24", "#c43c8f", "#f2d12e"]:
        m = np.zeros((size, size), np.float32)
        for _ in range(18):
            cx, cy = rng.uniform(0, size), rng.uniform(0.74 * size, size)
            rad = rng.uniform(5, 14) * s
            cv2.ellipse(m, (int(cx), int(cy)), (int(rad), int(rad * rng.uniform(0.6, 1))),
                        float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        wash(m, colour, 1.0)
    # splatter
    m = np.zeros((size, size), np.float32)
    for _ in range(50):
        cv2.circle(m, (int(rng.uniform(0, size)), int(rng.uniform(0.3, 1) * size)),
                   int(rng.integers(1, 5)), 1.0, -1)
    wash(m, "#3d5a8a", 0.8)
    return img * paper_grain(rng, size, 0.035)


def style_stained_glass(rng: np.random.Generator, size: int) -> np.ndarray:
    """Gothic rose window: jewel-toned glass cells, thick lead, glowing light."""
    s = size / 768.0
    y, x = coords(size)
    c = size / 2
    big_r = 0.45 * size
    # seeds: concentric rings with rotational symmetry, quarries outside
    pts, ring_of = [[c, c]], [0]
    for i, (rad, count, phase) in enumerate([(0.075, 6, 0.0), (0.15, 12, 0.5), (0.225, 12, 0.0),
                                             (0.305, 24, 0.5), (0.39, 24, 0.0)], start=1):
        a = (np.arange(count) + phase) * 2 * math.pi / count
        pts += list(zip(c + rad * size * np.cos(a), c + rad * size * np.sin(a)))
        ring_of += [i] * count
    step = 0.085 * size
    for gy in np.arange(-step / 2, size + step, step):
        for gx in np.arange(-step / 2, size + step, step):
            p = np.array([gx, gy]) + rng.uniform(-0.3, 0.3, 2) * step
            if math.hypot(p[0] - c, p[1] - c) > big_r + 0.04 * size:
                pts.append(list(p))
                ring_of.append(-1)
    pts = np.array(pts, np.float32)
    label, edge = voronoi(pts, size)

    jewels = palette("#b0101e", "#0d3aa8", "#0e8a4a", "#f0a010", "#6a1f8f", "#0a8fa8", "#e0d060")
    schemes = {0: (6, 6), 1: (0, 3), 2: (1, 5), 3: (3, 0), 4: (2, 4), 5: (1, 0), -1: (1, 1)}
    colours = np.empty((len(pts), 3), np.float32)
    for i, ring in enumerate(ring_of):
        a, b = schemes[ring]
        ang = math.atan2(pts[i, 1] - c, pts[i, 0] - c)
        pick = a if (ring < 0 or round(ang / (2 * math.pi) * 24) % 2 == 0) else b
        if ring < 0 and rng.random() < 0.18:
            pick = int(rng.choice([0, 3, 2]))
        colours[i] = jewels[pick] * rng.uniform(0.8, 1.15) + rng.normal(0, 0.03, 3)
    glass = colours[label]

    # glass body: mottling, streaks, seeds (bubbles), brighter cell centres
    mottle = fbm(rng, size, 14, 3)
    streak = cv2.resize(rng.random((size // 24, size // 3), dtype=np.float32), (size, size),
                        interpolation=cv2.INTER_CUBIC)
    glass *= (0.7 + 0.45 * mottle + 0.15 * (streak - 0.5))[..., None]
    glass *= (0.7 + 0.4 * np.clip(edge / (14 * s), 0, 1))[..., None]
    r = np.hypot(x - c, y - c)
    glass *= (1.15 - 0.35 * np.clip(r / (0.7 * size), 0, 1))[..., None]  # light behind centre
    bubbles = np.zeros((size, size), np.float32)
    for _ in range(160):
        cv2.circle(bubbles, (int(rng.uniform(0, size)), int(rng.uniform(0, size))),
                   int(rng.integers(1, 3)), 1.0, -1, cv2.LINE_AA)
    glass = glass + 0.25 * blur(bubbles, 0.8)[..., None]

    # lead: cell borders plus concentric tracery rings; a stone frame
    lead_d = edge - 3.6 * s
    for rad, half in [(0.11, 5), (0.265, 6)]:
        lead_d = np.minimum(lead_d, np.abs(r - rad * size) - half * s)
    stone_d = np.abs(r - 0.45 * size) - 0.018 * size
    lead_d = np.minimum(lead_d, stone_d + 0.012 * size)  # lead lines either side
    glass_a = np.clip(lead_d, 0, 1)[..., None]
    sheen = 1 + 1.5 * np.exp(-((lead_d + 3 * s) / (1.2 * s)) ** 2)  # rounded came
    came = palette("#0b0b0d")[0] * sheen[..., None]
    out = glass * glass_a + came * (1 - glass_a)
    stone = palette("#4a4038")[0] * (0.6 + 0.6 * fbm(rng, size, 48, 3))[..., None]
    stone_a = np.clip(-stone_d, 0, 1)[..., None]
    out = out * (1 - stone_a) + stone * stone_a

    # glow: light from the glass bleeds softly over the lead (screen blend)
    lit = glass * glass_a * (1 - stone_a)
    glow = np.clip(0.5 * blur(lit, 5 * s) + 0.3 * blur(lit, 20 * s), 0, 1)
    return 1 - (1 - out) * (1 - glow * (0.2 + 0.25 * glass_a))


def style_impasto(rng: np.random.Generator, size: int) -> np.ndarray:
    """Van-Gogh-like night: thick short dabs swirling along a flow field."""
    s = size / 768.0
    y, x = coords(size)
    horizon = (0.70 + 0.05 * np.sin(x / size * 5.0 + 1.0)) * size
    warp = (fbm(rng, size, 3, 3) - 0.5) * 60 * s

    # flow field: wavy horizontal wind + vortices; cypress flames rise vertically
    fx = np.ones_like(x)
    fy = 0.55 * np.sin(x / (95 * s) + y / (70 * s) + warp / (30 * s))
    vortices = [(0.46, 0.36, 0.17, 1.0), (0.16, 0.13, 0.07, -1.0), (0.80, 0.18, 0.09, 1.0),
                (0.66, 0.56, 0.06, -1.0), (0.30, 0.58, 0.05, 1.0)]
    for vx, vy, vr, spin in vortices:
        dx, dy = x - vx * size, y - vy * size
        rr = np.hypot(dx, dy) + 1e-3
        w = 3.5 * np.exp(-(rr / (1.3 * vr * size)) ** 2)
        fx += w * spin * -dy / rr
        fy += w * spin * dx / rr
    cyp_x = (0.17 + 0.035 * np.sin(y / (40 * s))) * size
    cyp_w = np.clip((y - 0.12 * size) / size, 0, None) * 0.11 * size
    cypress = np.abs(x - cyp_x) < cyp_w
    fx = np.where(cypress, 0.25 * np.sin(y / (25 * s)), fx)
    fy = np.where(cypress, -1.0, fy)
    ground = y > horizon
    fy = np.where(ground & ~cypress, 0.15 * np.cos(x / (60 * s)), fy)
    angle = np.arctan2(fy, fx)

    # colour field the dabs sample from
    bands = 0.5 + 0.5 * np.sin((y + warp) / (22 * s) + 0.8 * np.sin(x / (110 * s)))
    col = gradient_map(bands, palette("#0c2461", "#1e4fa0", "#3d7cc9", "#86b7e3", "#1a3f8a"))
    for vx, vy, vr, spin in vortices:
        rr = np.hypot(x - vx * size, y - vy * size) / (vr * size)
        ring = gradient_map((rr * 3.0) % 1.0, palette("#f6e27a", "#9cc8e8", "#e9f2f0", "#3d7cc9"))
        core = gradient_map(np.clip(rr * 2.2, 0, 1), palette("#fff6c8", "#f7d13a", "#e89a2a"))
        col = np.where((rr < 0.45)[..., None], core, np.where((rr < 1.1)[..., None], ring, col))
    gband = 0.5 + 0.5 * np.sin((y - horizon) / (18 * s) + x / (80 * s))
    col = np.where(ground[..., None],
                   gradient_map(gband, palette("#13283f", "#2c4f6e", "#3f6b3a", "#1c3350")), col)
    col = np.where(cypress[..., None],
                   gradient_map(fbm(rng, size, 8, 2), palette("#0b140c", "#1c2e18", "#2f4420",
                                                              "#4a3a1c")), col)
    canvas = to_uint8(blur(col, 6 * s))  # thin underpainting
    height = np.zeros((size, size), np.uint8)

    for count, length, width in [(3000, 36, 12), (7000, 22, 8), (7000, 13, 5)]:
        n = int(count * s * s)
        p = rng.uniform(0, size, (n, 2)).astype(np.float32)
        path = [p]
        for _ in range(3):  # integrate the flow field
            ix = np.clip(path[-1].astype(np.int32), 0, size - 1)
            a = angle[ix[:, 1], ix[:, 0]]
            path.append(path[-1] + (length * s / 3) * np.stack([np.cos(a), np.sin(a)], 1))
        path = np.stack(path, 1)  # (n, 4, 2)
        ix = np.clip(p.astype(np.int32), 0, size - 1)
        base = col[ix[:, 1], ix[:, 0]] * rng.uniform(0.85, 1.12, (n, 1))
        base += rng.normal(0, 0.04, (n, 3))
        ix_sky = ~(ground | cypress)[ix[:, 1], ix[:, 0]]
        accent = (rng.random(n) < 0.008) & ix_sky  # a few stray warm dabs in the sky
        base[accent] = palette("#f2c230", "#e07a2a")[rng.integers(0, 2, accent.sum())]
        d = path[:, -1] - path[:, 0]
        normal = np.stack([-d[:, 1], d[:, 0]], 1)
        normal /= np.linalg.norm(d, axis=1, keepdims=True) + 1e-6
        w = width * s
        thick = max(1, int(round(w / 2.5)))
        offsets = np.array([-0.33, 0.0, 0.33], np.float32)
        for i in range(n):
            for j, off in enumerate(offsets):
                pts = np.round((path[i] + normal[i] * off * w) * 16).astype(np.int32)
                shade = 1.0 + 0.1 * (j - 1) + rng.normal(0, 0.04)
                cv2.polylines(canvas, [pts], False,
                              tuple(float(v) for v in np.clip(base[i] * shade * 255, 0, 255)),
                              thick, cv2.LINE_AA, shift=4)
                cv2.polylines(height, [pts], False, int(rng.integers(90, 256)), thick,
                              cv2.LINE_AA, shift=4)

    img = canvas.astype(np.float32) / 255.0
    h = blur(height.astype(np.float32) / 255.0, 1.0 * s)
    light = shade_from_height(h, 0.3)
    spec = np.clip(light - 1.0, 0, None) ** 2 * 1.5
    return img * light + spec


def style_cubist(rng: np.random.Generator, size: int) -> np.ndarray:
    """Analytic-cubist still life: shaded angular facets in ochres and greys."""
    s = size / 768.0
    y, x = coords(size)
    colours = palette("#c49a4a", "#6b4e2e", "#8c8a82", "#5c6670", "#e3d6b4", "#a0603a",
                      "#7d8060", "#b8b4a6", "#3a3026")
    weights = np.array([3, 2, 3, 2, 2, 1.5, 1, 2, 1]) / 17.5

    def shaded(mask_ids, n, light_jitter=0.45):
        """Per-region colour with a linear light-to-dark ramp across each region."""
        pick = rng.choice(len(colours), n, p=weights)
        base = colours[pick] * rng.uniform(0.85, 1.1, (n, 1))
        theta = rng.uniform(0, 2 * math.pi, n)
        cnt = np.bincount(mask_ids.ravel(), minlength=n) + 1e-6
        cx = np.bincount(mask_ids.ravel(), x.ravel(), n) / cnt
        cy = np.bincount(mask_ids.ravel(), y.ravel(), n) / cnt
        scale = np.sqrt(cnt) * 0.6 + 1
        proj = ((x - cx[mask_ids]) * np.cos(theta)[mask_ids] +
                (y - cy[mask_ids]) * np.sin(theta)[mask_ids]) / scale[mask_ids]
        ramp = 0.95 + light_jitter * np.clip(proj, -1, 1)
        return base[mask_ids] * ramp[..., None]

    # facets: cells of an arrangement of random lines (bit pattern of sides)
    code = np.zeros((size, size), np.int64)
    lines = []
    for i in range(13):
        px, py = rng.normal(0.5, 0.2, 2) * size
        if i % 2:  # every other line near-vertical/horizontal: a loose grid
            a = rng.uniform(0, math.pi)
        else:
            a = rng.choice([0, 0.5 * math.pi]) + rng.normal(0, 0.15)
        lines.append((px, py, a))
        side = (x - px) * math.sin(a) - (y - py) * math.cos(a) > 0
        code |= side.astype(np.int64) << i
    _, ids = np.unique(code, return_inverse=True)
    ids = ids.reshape(size, size)
    img = shaded(ids, int(ids.max()) + 1)

    # overlapping translucent planes
    for _ in range(16):
        cx, cy = rng.uniform(0.1, 0.9, 2) * size
        k = int(rng.integers(3, 5))
        ang = np.sort(rng.uniform(0, 2 * math.pi, k))
        rad = rng.uniform(0.08, 0.3, k) * size
        poly = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).astype(np.int32)
        m = np.zeros((size, size), np.uint8)
        cv2.fillPoly(m, [poly], 1)
        plane = shaded(m.astype(np.int64), 2, 0.6)
        a = (m.astype(np.float32) * rng.uniform(0.3, 0.6))[..., None]
        img = img * (1 - a) + plane * a

    # 'passage': short parallel brush dabs, kept inside their own facet
    canvas = to_uint8(img)
    dabbed, dab_id = canvas.copy(), np.full((size, size), -1, np.int32)
    dab_angle = rng.uniform(0, math.pi, int(ids.max()) + 1)
    for _ in range(int(3500 * s * s)):
        px, py = rng.integers(0, size, 2)
        a = dab_angle[ids[py, px]]
        ln = rng.uniform(4, 10) * s
        c = canvas[py, px].astype(np.float32) * rng.uniform(0.88, 1.12)
        p0 = (int(px - ln * math.cos(a)), int(py - ln * math.sin(a)))
        p1 = (int(px + ln * math.cos(a)), int(py + ln * math.sin(a)))
        thick = max(1, int(3 * s))
        cv2.line(dabbed, p0, p1, tuple(float(v) for v in np.clip(c, 0, 255)), thick)
        cv2.line(dab_id, p0, p1, int(ids[py, px]), thick)
    img = np.where((dab_id == ids)[..., None], dabbed, canvas).astype(np.float32) / 255.0

    # drawing: broken dark contour lines and a few curves (bottle, guitar)
    ink = np.zeros((size, size), np.uint8)
    for px, py, a in lines:
        t0, t1 = np.sort(rng.uniform(-0.7, 0.7, 2)) * size
        d = np.array([math.cos(a), math.sin(a)])
        p0, p1 = np.array([px, py]) + t0 * d, np.array([px, py]) + t1 * d
        bristle_stroke(ink, bezier(p0, p1, 0.0, 40), rng.uniform(4, 10) * s, rng, 6, 0.5,
                       (0.05, 0.2), 0.15)
    for _ in range(3):
        cx, cy = rng.uniform(0.25, 0.75, 2) * size
        rx, ry = rng.uniform(0.12, 0.22, 2) * size
        a0 = rng.uniform(0, 2 * math.pi)
        t = np.linspace(a0, a0 + rng.uniform(2.0, 4.5), 60)
        arc = np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1).astype(np.float32)
        bristle_stroke(ink, arc, rng.uniform(5, 9) * s, rng, 6, 0.4, (0.05, 0.2), 0.15)
    a = (ink.astype(np.float32) / 255.0 * 0.85)[..., None]
    img = img * (1 - a) + palette("#231a12")[0] * a
    canvas_weave = 1 + 0.04 * (np.sin(x * 1.9) * np.sin(y * 1.9))[..., None]
    return img * canvas_weave * paper_grain(rng, size, 0.04)


STYLES = {
    # name: (painter, seed)
    "mosaic": (style_mosaic, 1101),
    "ink_strokes": (style_ink_strokes, 2202),
    "halftone": (style_halftone, 3303),
    "watercolour": (style_watercolour, 4404),
    "stained_glass": (style_stained_glass, 5505),
    "impasto": (style_impasto, 6606),
    "cubist": (style_cubist, 7707),
}


# ----------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------

def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def encode(img: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    pil = Image.fromarray(to_uint8(img), "RGB")
    if fmt == "JPEG":
        pil.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        pil.save(buf, fmt)
    return buf.getvalue()


def render(name: str, size: int = SIZE) -> np.ndarray:
    painter, seed = STYLES[name]
    img = painter(np.random.default_rng(seed), size)
    assert img.shape == (size, size, 3), img.shape
    return img


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help="output folder (default: assets/styles)")
    ap.add_argument("--only", nargs="+", choices=sorted(STYLES), metavar="NAME",
                    help=f"only these styles: {', '.join(STYLES)}")
    ap.add_argument("--size", type=int, default=SIZE, help="edge length in px")
    ap.add_argument("--preview", type=Path, help="also write PNG copies here")
    args = ap.parse_args(argv)

    for name in args.only or list(STYLES):
        img = render(name, args.size)
        path = args.out / f"{name}.jpg"
        atomic_write(path, encode(img, "JPEG"))
        if args.preview:
            atomic_write(args.preview / f"{name}.png", encode(img, "PNG"))
        print(f"{path}  {path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
