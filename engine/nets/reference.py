"""The straightforward per-frame pipeline the fast path is measured against.

:class:`ReferencePipeline` does per video frame what pytorch-AdaIN's ``test.py`` does per
image: fp32, eager modules in the default (contiguous) layout, host-side pre-processing (the
frame becomes a PIL image, then a float tensor through torchvision's ``ToTensor`` recipe),
the **style image re-encoded every frame**, the output copied back to the host and converted
with ``save_image``'s recipe (``mul(255).add_(0.5).clamp_(0, 255)`` → uint8). With
``cache_style=True`` the style statistics are computed once ("cached" mode); nothing else
changes.

Frames are ``HxWx3`` uint8 BGR (OpenCV order) in and out.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from .adain import adain, mix_alpha, style_stats
from .decoder import Decoder
from .encoder import Encoder


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """torchvision ``ToTensor`` for an RGB PIL image: ``[3,H,W]`` float32 in [0,1]."""
    arr = np.array(img, copy=True)
    t = torch.from_numpy(arr).view(img.size[1], img.size[0], 3)
    return t.permute(2, 0, 1).contiguous().float().div(255)


def tensor_to_uint8(t: torch.Tensor) -> np.ndarray:
    """``save_image``'s conversion of ``[3,H,W]`` float in [0,1] → ``HxWx3`` uint8 (host)."""
    return t.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu", torch.uint8).numpy()


class ReferencePipeline:
    """``pipe(frame_bgr) -> frame_bgr``: the public implementation's per-frame work (see module doc)."""

    def __init__(self, encoder: Encoder, decoder: Decoder, style_rgb: np.ndarray,
                 device: torch.device | str = "cpu", cache_style: bool = False, alpha: float = 1.0):
        self.device = torch.device(device)
        self.encoder = encoder.to(self.device, torch.float32).eval()
        self.decoder = decoder.to(self.device, torch.float32).eval()
        self.style_image = Image.fromarray(np.ascontiguousarray(style_rgb))
        self.alpha = alpha
        self.cached = self._style_stats() if cache_style else None

    @torch.no_grad()
    def _style_stats(self):
        style = pil_to_tensor(self.style_image).unsqueeze(0).to(self.device)
        return style_stats(self.encoder(style))

    @torch.no_grad()
    def __call__(self, frame_bgr: np.ndarray) -> np.ndarray:
        h, w = frame_bgr.shape[:2]
        content = pil_to_tensor(Image.fromarray(frame_bgr[:, :, ::-1])).unsqueeze(0).to(self.device)
        stats = self.cached if self.cached is not None else self._style_stats()
        feat = self.encoder(content)
        target = mix_alpha(feat, adain(feat, stats), self.alpha)
        out = self.decoder(target)[0, :, :h, :w].cpu()
        return np.ascontiguousarray(tensor_to_uint8(out)[:, :, ::-1])


__all__ = ["ReferencePipeline", "pil_to_tensor", "tensor_to_uint8"]
