"""Multiply-accumulates of the lite network (:mod:`engine.nets.lite`) per layer and in all: the
MODEL_CARD table and the benchmark's FLOP counts."""
from __future__ import annotations

from torch import nn

from .lite import LiteConfig, LiteNet


def layer_macs(config: LiteConfig = LiteConfig(), height: int = 480, width: int = 640) -> list[tuple[str, str, int]]:
    """Per-frame multiply-accumulates of each layer at ``height × width``:
    ``[(layer, output shape, MACs)]`` (convs only; AdaIN, FiLM and up-sampling are per-element)."""
    net = LiteNet(config)
    sizes = {"stem": 2, "down2": 4, "down3": 8, "block": 8, "up2": 8, "up2_": 4, "up1": 4, "up1_": 2, "head": 2}
    rows = []

    def add(name: str, conv: nn.Conv2d, scale: int):
        h, w = height // scale, width // scale
        k = conv.weight[0].numel()  # C_in/groups · kh · kw
        rows.append((name, f"{conv.out_channels}×{h}×{w}", conv.out_channels * h * w * k))

    add("stem 3×3/2", net.stem, sizes["stem"])
    add("down2 dw 3×3/2", net.down2_dw, sizes["down2"])
    add("down2 pw 1×1", net.down2_pw, sizes["down2"])
    add("down3 dw 3×3/2", net.down3_dw, sizes["down3"])
    add("down3 pw 1×1", net.down3_pw, sizes["down3"])
    for i, conv in enumerate(net.blocks):
        add(f"block{i // 2 + 1}.conv{i % 2 + 1} 3×3", conv, sizes["block"])
    add("up2 pw 1×1 (at ⅛)", net.up2, sizes["up2"])
    add("up2 dw 3×3", net.up2_dw, sizes["up2_"])
    add("up2 pw 1×1", net.up2_pw, sizes["up2_"])
    for i, conv in enumerate(net.up_blocks):
        add(f"up-block{i // 2 + 1}.conv{i % 2 + 1} 3×3", conv, sizes["up2_"])
    add("up1 pw 1×1 (at ¼)", net.up1, sizes["up1"])
    add("up1 dw 3×3", net.up1_dw, sizes["up1_"])
    add("up1 pw 1×1", net.up1_pw, sizes["up1_"])
    for i, conv in enumerate(net.half_blocks):
        add(f"half-block{i // 2 + 1}.conv{i % 2 + 1} 3×3", conv, sizes["up1_"])
    add("head 3×3 → 12, depth-to-space", net.head, sizes["head"])
    return rows


def gmac(config: LiteConfig = LiteConfig(), height: int = 480, width: int = 640) -> float:
    return sum(r[2] for r in layer_macs(config, height, width)) / 1e9


__all__ = ["gmac", "layer_macs"]
