"""Learned Real-time networks (issue #28): one lite network learned for one style (or one blend of
styles with its weights) by :mod:`engine.learn`, and their on-disk cache.

A :class:`LearnedNet` is a :class:`~engine.nets.lite.LiteNet` (usually with ``up_norms``) plus the
:class:`~engine.nets.lite.LiteStyle` it was learned with (5 AdaIN levels); it runs through the
same :class:`~engine.nets.lite_runner.LiteRunner` (OpenVINO on the CPU, uint8 frame path) as the
base Real-time network, so α and the painting's palette work unchanged. It paints only its own
style: a different style, blend or a per-region split (masks) runs on the base network.

**Files**: one safetensors file per entry in ``cache_dir()/learned/`` (next to ``styles/``), the
network's tensors under ``net.``, the style's under ``style.``, metadata strings (``config``,
``key``, ``base_id``, ``teacher_id``, ``recipe``, ``styles``, ``weights``, ``steps``, ``seconds``).
The file name is :func:`learned_key` of what it depends on: the style files' content hashes, the
blend weights, the base network's and the teacher's identities and the recipe version. Writes are
atomic (temporary file, then rename); an entry that does not load is deleted and reported as a
miss, so it is learned again instead of crashing. The cache keeps at most ``max_bytes``; the
least recently used entries go first (a hit refreshes the file's time).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.nets.encoder import cache_dir
from engine.nets.lite import LiteConfig, LiteNet, LiteStyle
from engine.nets.weights import load_state_dict_file, save_safetensors_atomic

DEFAULT_MAX_BYTES = 256 << 20  # ~80 learned styles (~3 MB each)
RECIPE_VERSION = "learn-v1"  # engine.learn's recipe; part of every key (bump when the recipe changes)


def style_digest(style) -> str:
    """Content hash of a style: its decoded pixels and shape (an ``HxWx3`` uint8 array, or an image
    file, decoded), so a file and the same picture handed over as an array share their networks."""
    if isinstance(style, (str, os.PathLike)):
        from engine.media.imageio import load_image_rgb

        style = load_image_rgb(style)
    arr = np.ascontiguousarray(style)
    h = hashlib.sha1(arr.tobytes())
    h.update(str(arr.shape).encode())
    return h.hexdigest()


def learned_key(digests: list[str], weights, base_id: str, teacher_id: str, recipe: str) -> str:
    """The cache key: what a learned network depends on. Weights are normalised to sum 1 and
    rounded to 1e-3 (a blend 1:1 and 2:2 is the same blend); a single style's weight is 1."""
    w = np.asarray(list(weights) if weights is not None else [1.0] * len(digests), dtype=np.float64)
    w = w / w.sum() if w.sum() > 0 else np.full(len(digests), 1.0 / len(digests))
    parts = [f"{d}:{wk:.3f}" for d, wk in sorted(zip(digests, w.tolist()))]
    text = "|".join(parts) + f"|base={base_id}|teacher={teacher_id}|recipe={recipe}"
    return hashlib.sha1(text.encode()).hexdigest()


def teacher_id(decoder: str | os.PathLike | None = None) -> str:
    """Identity of the teacher (the VGG decoder file's content hash, 16 hex digits). Hashed once
    per file version (path, size, modification time): every ``set_styles``/``set_weights`` of the
    Real-time model asks for it, and the file is 7 MB."""
    from engine.nets.decoder import DEFAULT_DECODER

    path = Path(decoder if decoder is not None else DEFAULT_DECODER)
    st = path.stat()
    return _teacher_digest(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _teacher_digest(path: str, size: int, mtime_ns: int) -> str:  # noqa: ARG001 - size/mtime key the cache
    from .style_cache import file_digest

    return file_digest(path)[:16]


@dataclass
class LearnedNet:
    """A network learned for one style: ``net`` (eval mode), ``style`` (its LiteStyle, batch 1,
    fp32) and ``meta`` (strings, see the module docstring)."""

    net: LiteNet
    style: LiteStyle
    meta: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.meta.get("key", "")

    @property
    def label(self) -> str:
        return self.meta.get("label", "learned style")


def save_learned(learned: LearnedNet, path: str | os.PathLike) -> None:
    """Write ``learned`` atomically (a reader never sees half a file)."""
    tensors = {f"net.{k}": v.detach().float().cpu().contiguous() for k, v in learned.net.state_dict().items()}
    tensors.update({f"style.{k}": v.detach().float().cpu().contiguous() for k, v in learned.style.tensors().items()})
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in learned.meta.items()}
    meta["config"] = learned.net.config.to_json()
    save_safetensors_atomic(tensors, path, meta)


def load_learned(path: str | os.PathLike) -> LearnedNet:
    """A :class:`LearnedNet` from :func:`save_learned`'s file. Raises InputError (unreadable) or
    KeyError/RuntimeError/ValueError (wrong contents)."""
    from engine.nets.decoder import read_metadata

    sd = load_state_dict_file(path)
    meta = read_metadata(path)
    config = LiteConfig.from_json(meta["config"])
    net = LiteNet(config)
    net.load_state_dict({k[4:]: v for k, v in sd.items() if k.startswith("net.")})
    style = LiteStyle.from_tensors({k[6:]: v for k, v in sd.items() if k.startswith("style.")})
    if len(style.means) != config.levels():
        raise ValueError(f"{len(style.means)} style levels for a network with {config.levels()}")
    for level, width in enumerate(config.level_widths()):
        if style.means[level].shape != (1, width) or style.stds[level].shape != (1, width):
            raise ValueError(f"style level {level} has shape {tuple(style.means[level].shape)}, expected (1, {width})")
    return LearnedNet(net.eval().requires_grad_(False), style, meta)


@dataclass(frozen=True)
class LearnedRun:
    """A learned network ready to run: its :class:`LearnedNet` and the
    :class:`~engine.nets.lite_runner.LiteRunner` that runs it (OpenVINO graph built)."""

    learned: LearnedNet
    runner: object

    @property
    def style(self) -> LiteStyle:
        return self.learned.style


class LearnedCache:
    """``get(key)`` / ``put(learned)`` on disk, least recently used entries evicted past ``max_bytes``."""

    def __init__(self, root: str | os.PathLike | None = None, max_bytes: int = DEFAULT_MAX_BYTES):
        self.root = Path(root) if root is not None else cache_dir() / "learned"
        self.max_bytes = int(max_bytes)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.safetensors"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str) -> LearnedNet | None:
        """The cached network for ``key``, or None (missing, or broken: then the file is removed)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            learned = load_learned(path)
        except Exception:  # noqa: BLE001 - a broken entry is a miss: it is learned again
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # most recently used
        return learned

    def put(self, learned: LearnedNet) -> Path:
        """Store ``learned`` under its ``meta['key']`` (atomic), then evict past the size cap."""
        key = learned.key
        if not key:
            raise ValueError("a learned network needs meta['key'] to be cached")
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        save_learned(learned, path)
        self.evict(keep=path)
        return path

    def evict(self, keep: Path | None = None) -> list[Path]:
        """Remove least recently used entries until the total is within ``max_bytes``."""
        entries = []
        for p in self.root.glob("*.safetensors"):
            with contextlib.suppress(OSError):
                st = p.stat()
                entries.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in entries)
        removed = []
        for _, size, p in sorted(entries):
            if total <= self.max_bytes:
                break
            if keep is not None and p == keep:
                continue
            with contextlib.suppress(OSError):
                p.unlink()
                total -= size
                removed.append(p)
        return removed


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())


__all__ = ["DEFAULT_MAX_BYTES", "RECIPE_VERSION", "LearnedCache", "LearnedNet", "LearnedRun", "teacher_id", "learned_key", "load_learned", "save_learned",
           "style_digest"]
