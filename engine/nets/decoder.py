"""The AdaIN decoder g: a mirror of the encoder up to relu4_1.

Nearest up-sampling instead of pooling, reflection padding, no normalisation layers. Layout
matches pytorch-AdaIN's ``decoder`` ``nn.Sequential`` (indices 0..28), so its ``decoder.pth``
loads directly.

Shapes: ``[N, 512, h, w]`` relu4_1 features → ``[N, 3, 8h, 8w]`` RGB (nominally in [0, 1];
clamp for display).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from .weights import check_state_dict, load_state_dict_file, save_safetensors_atomic

DEFAULT_DECODER = Path(__file__).resolve().parents[2] / "models" / "decoder.safetensors"


def build_decoder_layers() -> nn.Sequential:
    pad = lambda: nn.ReflectionPad2d((1, 1, 1, 1))  # noqa: E731
    up = lambda: nn.Upsample(scale_factor=2, mode="nearest")  # noqa: E731
    conv = lambda cin, cout: nn.Conv2d(cin, cout, (3, 3))  # noqa: E731
    return nn.Sequential(
        pad(), conv(512, 256), nn.ReLU(),
        up(),
        pad(), conv(256, 256), nn.ReLU(),
        pad(), conv(256, 256), nn.ReLU(),
        pad(), conv(256, 256), nn.ReLU(),
        pad(), conv(256, 128), nn.ReLU(),
        up(),
        pad(), conv(128, 128), nn.ReLU(),
        pad(), conv(128, 64), nn.ReLU(),
        up(),
        pad(), conv(64, 64), nn.ReLU(),
        pad(), conv(64, 3),
    )


class Decoder(nn.Module):
    def __init__(self, state_dict: dict[str, torch.Tensor] | None = None):
        super().__init__()
        self.layers = build_decoder_layers()
        if state_dict is not None:
            self.layers.load_state_dict(state_dict)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """``[N,512,h,w]`` → ``[N,3,8h,8w]``."""
        return self.layers(t)


def load_decoder(path: str | os.PathLike | None = None) -> tuple[Decoder, dict[str, str]]:
    """Decoder from safetensors (ours) or a pytorch-AdaIN ``decoder.pth``; returns (model, metadata).

    With no path, the project's trained default ``models/decoder.safetensors``.
    """
    path = Path(path) if path is not None else DEFAULT_DECODER
    sd = load_state_dict_file(path)
    sd = check_state_dict(sd, build_decoder_layers().state_dict(), path)
    return Decoder(sd), read_metadata(path)


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            return dict(fh.metadata() or {})
    except Exception:  # noqa: BLE001 - .pth files have no metadata
        return {}


def save_decoder(decoder: Decoder, path: str | os.PathLike, metadata: dict | None = None,
                 half: bool = True) -> None:
    """Write decoder weights (fp16 by default, ~7 MB) with string metadata, atomically."""
    sd = {k: (v.half() if half else v.float()) for k, v in decoder.layers.state_dict().items()}
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
    save_safetensors_atomic(sd, path, meta)
