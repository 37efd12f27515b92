"""Disk cache of style statistics, so a restart does not re-encode the gallery.

One small safetensors file per style (``mean`` and ``std``, ``[512]`` fp32 each, ~4 KB, plus the
style's colour ``palette_mean`` ``[3]`` and ``palette_cov`` ``[3,3]``; an entry without them is a miss) in
``cache_dir()/styles/``. The file name is a hash of the style file's *content*, the encoder id
and the style side, so a renamed file still hits, an edited file misses, and a different encoder
or style size never sees stale statistics. Writes are atomic; an unreadable or malformed entry
is ignored (and overwritten by the next save).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from engine.nets.adain import StyleStats
from engine.nets.lite import LiteStyle
from engine.nets.palette import Palette
from engine.nets.encoder import cache_dir
from engine.errors import InputError
from engine.nets.weights import save_safetensors_atomic

FEATURE_CHANNELS = 512  # relu4_1
CHUNK = 1 << 20


def file_digest(path: str | os.PathLike) -> str:
    """SHA-1 of a file's bytes (hex). Raises InputError when the file cannot be read."""
    h = hashlib.sha1()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                h.update(chunk)
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc})") from None
    return h.hexdigest()


class StyleCache:
    """``get(path)`` / ``put(path, stats)`` / ``get_or_compute(path, compute)`` keyed by content."""

    def __init__(self, encoder_id: str, style_side: int, root: str | os.PathLike | None = None):
        self.encoder_id = encoder_id
        self.style_side = int(style_side)
        self.root = Path(root) if root is not None else cache_dir() / "styles"

    def key(self, digest: str) -> str:
        """Entry name for a style file with content hash ``digest``."""
        return hashlib.sha1(f"{digest}|{self.encoder_id}|{self.style_side}".encode()).hexdigest()

    def entry_path(self, digest: str) -> Path:
        return self.root / f"{self.key(digest)}.safetensors"

    def get(self, path: str | os.PathLike, digest: str | None = None) -> StyleStats | None:
        """Cached statistics of the style file at ``path`` (CPU fp32), or None on a miss."""
        digest = digest or file_digest(path)
        return self._read(self.entry_path(digest), digest)

    def put(self, path: str | os.PathLike, stats: StyleStats, digest: str | None = None) -> None:
        """Store statistics for the style file at ``path``. A read-only cache dir is not an error."""
        digest = digest or file_digest(path)
        if isinstance(stats, LiteStyle):  # the lite model's representation (its own encoder_id)
            tensors = {k: v.detach().float().cpu() for k, v in stats.tensors().items()}
        else:
            tensors = {"mean": stats.mean.detach().float().cpu(), "std": stats.std.detach().float().cpu()}
        if stats.palette is not None:
            tensors["palette_mean"] = stats.palette.mean.detach().float().cpu()
            tensors["palette_cov"] = stats.palette.cov.detach().float().cpu()
        meta = {"file_sha1": digest, "encoder_id": self.encoder_id, "style_side": str(self.style_side),
                "name": Path(path).name}
        try:
            save_safetensors_atomic(tensors, self.entry_path(digest), meta)
        except OSError:
            pass

    def get_or_compute(self, path: str | os.PathLike, compute) -> tuple[StyleStats, bool]:
        """(stats, was_cached). ``compute(path)`` → StyleStats runs on a miss and is stored."""
        digest = file_digest(path)
        stats = self.get(path, digest)
        if stats is not None:
            return stats, True
        stats = compute(path)
        self.put(path, stats, digest)
        return stats, False

    def _read(self, entry: Path, digest: str) -> StyleStats | None:
        if not entry.is_file():
            return None
        try:
            from safetensors import safe_open

            with safe_open(str(entry), framework="pt") as fh:
                meta = fh.metadata() or {}
                tensors = {k: fh.get_tensor(k) for k in fh.keys()}
            palette = _palette(tensors)
            if palette is None:  # an entry from before palettes (or a damaged one): recompute
                return None
            if "film_scale" in tensors:
                style = self._lite(meta, digest, tensors)
                return None if style is None else replace(style, palette=palette)
            mean, std = tensors["mean"], tensors["std"]
        except Exception:  # noqa: BLE001 - corrupt entry: treat as a miss, it gets rewritten
            return None
        if (meta.get("file_sha1") != digest or meta.get("encoder_id") != self.encoder_id
                or meta.get("style_side") != str(self.style_side)):
            return None
        if not _valid(mean) or not _valid(std) or bool((std <= 0).any()):
            return None
        return StyleStats(mean.float(), std.float(), palette)

    def _lite(self, meta: dict, digest: str, tensors: dict) -> LiteStyle | None:
        if (meta.get("file_sha1") != digest or meta.get("encoder_id") != self.encoder_id
                or meta.get("style_side") != str(self.style_side)):
            return None
        if not all(t.is_floating_point() and bool(torch.isfinite(t).all()) for t in tensors.values()):
            return None
        try:
            style = LiteStyle.from_tensors({k: v.float() for k, v in tensors.items()})
        except KeyError:
            return None
        return style if all(bool((s > 0).all()) for s in style.stds) else None


def _palette(tensors: dict[str, torch.Tensor]) -> Palette | None:
    """The entry's palette (popped from ``tensors``), or None when missing or not finite."""
    mean, cov = tensors.pop("palette_mean", None), tensors.pop("palette_cov", None)
    if mean is None or cov is None or mean.shape != (3,) or cov.shape != (3, 3):
        return None
    if not (bool(torch.isfinite(mean).all()) and bool(torch.isfinite(cov).all())):
        return None
    return Palette(mean.float(), cov.float())


def _valid(t: torch.Tensor) -> bool:
    return (t.dim() == 1 and t.numel() == FEATURE_CHANNELS and t.is_floating_point()
            and bool(torch.isfinite(t).all()))


def encode_style_file(stylizer, path: str | os.PathLike, cache: StyleCache | None = None,
                      rgb: np.ndarray | None = None) -> tuple[StyleStats, bool]:
    """Statistics of a style image file through ``cache`` (default: the stylizer's disk cache).

    Returns (stats on CPU fp32, was_cached). ``rgb`` may pass the already-decoded image.
    Raises InputError for unreadable files.
    """
    from engine.media.imageio import load_image_rgb

    cache = cache or StyleCache(stylizer.encoder_id, stylizer.style_side)

    def compute(p):
        image = rgb if rgb is not None else load_image_rgb(p)
        with getattr(stylizer, "device_lock", None) or contextlib.nullcontext():  # the copy is device work too
            return stylizer.encode_style(image).to("cpu")

    return cache.get_or_compute(path, compute)


__all__ = ["StyleCache", "file_digest", "encode_style_file"]
