"""Small pieces ``evaluate`` and ``evaluate_lite`` share: where things are kept, file identities,
and the product's last step on every method's output."""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from engine.nets.palette import match_palette, palette_of

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = ROOT / "runs" / "evaluate_cache"


def file_sha1(path: Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def rel_to_root(path: Path) -> str:
    """``path`` relative to the repository when inside it (reports stay machine-independent)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def with_palette(out: torch.Tensor, style: torch.Tensor, alpha: float, on: bool) -> torch.Tensor:
    """The product's last step: the output ``[1,3,S,S]`` clamped and, when ``on``, given the
    style's palette."""
    out = out.clamp(0, 1)
    return match_palette(out, palette_of(style), alpha) if on else out
