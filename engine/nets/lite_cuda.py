"""The lite network's uint8 frame path on CUDA as one captured graph (issue #19, item 5).

:class:`LiteCudaFrame` gives :class:`engine.nets.fast_cuda.CudaFrameRunner` what it replays: a
``stylize_frame(frame, *inputs, out)`` whose style enters only through input tensors
(:func:`engine.nets.lite.style_tensors`: the AdaIN statistics of the levels ½, ¼, ⅛, the FiLM
scale and shift, α — the OpenVINO graph's inputs too), so a new style, blend or slider value is
new values in the same device buffers and never a new capture, as the VGG path's statistics
are. FiLM is applied after the block convs (:meth:`LiteFrameNet.input_modulation`) instead of
folded into their weights, which would change the graph's weights per style. ``frame``/``out``
are ``[H,W,3]`` uint8 BGR on the device.
"""
from __future__ import annotations

import torch

from .lite import LiteFrameNet


class LiteCudaFrame:
    """:class:`LiteFrameNet` (fp16 on CUDA) with the style as inputs, for ``CudaFrameRunner``."""

    def __init__(self, frame_net: LiteFrameNet):
        self.net = frame_net
        self.blocks = [(frame_net._put(w), frame_net._put(b)) for w, b in frame_net.block_params]

    def stylize_frame(self, frame: torch.Tensor, *inputs_and_out: torch.Tensor) -> torch.Tensor:
        """``frame [H,W,3]`` uint8, then :func:`~engine.nets.lite.style_tensors`, then ``out [H,W,3]`` uint8
        (written; returned)."""
        *inputs, out = inputs_and_out
        adain, block = self.net.input_modulation(inputs, self.blocks)
        return out.copy_(self.net.run_with(frame, adain, block))


__all__ = ["LiteCudaFrame"]
