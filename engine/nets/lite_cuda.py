"""The lite network's uint8 frame path on CUDA as one captured graph (issue #19, item 5).

:class:`LiteCudaFrame` gives :class:`engine.nets.fast_cuda.CudaFrameRunner` what it replays: a
``stylize_frame(frame, *inputs, out)`` whose style enters only through input tensors (the
AdaIN statistics of the levels ½, ¼, ⅛, the FiLM scale and shift, α; :func:`graph_inputs`), so a
new style, blend or slider value is new values in the same device buffers and never a new
capture — as the VGG path's statistics are. FiLM is applied after the block convs (per-channel
work at ⅛) instead of folded into their weights, which would change the graph's weights per
style. Shapes: ``frame``/``out`` ``[H,W,3]`` uint8 BGR on the device; ``mean_l``/``std_l``
``[1,c_l]``, ``film_scale``/``film_shift`` ``[1,2·blocks,c3]``, ``alpha`` 0-d, all fp32.
"""
from __future__ import annotations

import torch

from .lite import LiteFrameNet, LiteStyle


def graph_inputs(style: LiteStyle, alpha: float) -> list[torch.Tensor]:
    """The runner's inputs for ``style`` (batch 1) at ``alpha`` (clamped to [0, 1])."""
    tensors = [t for pair in zip(style.means, style.stds) for t in pair]
    a = torch.tensor(min(max(float(alpha), 0.0), 1.0))
    return [t.float() for t in tensors] + [style.film_scale.float(), style.film_shift.float(), a]


class LiteCudaFrame:
    """:class:`LiteFrameNet` (fp16 on CUDA) with the style as inputs, for ``CudaFrameRunner``."""

    def __init__(self, frame_net: LiteFrameNet):
        self.net = frame_net
        self.blocks = [(frame_net._put(w), frame_net._put(b)) for w, b in frame_net.block_params]

    def stylize_frame(self, frame: torch.Tensor, *inputs_and_out: torch.Tensor) -> torch.Tensor:
        """``frame [H,W,3]`` uint8, then :func:`graph_inputs`' tensors, then ``out [H,W,3]`` uint8
        (written; returned)."""
        *inputs, out = inputs_and_out
        net, levels = self.net, (len(inputs) - 3) // 2
        means, stds = inputs[0:2 * levels:2], inputs[1:2 * levels:2]
        film_scale, film_shift, alpha = inputs[2 * levels:]
        a = alpha.reshape(1, 1)
        gamma = (1 + a[..., None] * film_scale).to(net.dtype)  # [1, 2·blocks, c3]
        beta = (a[..., None] * film_shift).to(net.dtype)

        def film(y, index):
            return y.mul_(gamma[:, index, :, None, None]).add_(beta[:, index, :, None, None])

        def block(i, b):
            y = film(net._conv(b, self.blocks[2 * i]), 2 * i).relu_()
            return b + film(net._conv(y, self.blocks[2 * i + 1]), 2 * i + 1)

        y = net.run_with(frame, lambda level, f: net._adain(f, means[level], stds[level], a), block)
        return out.copy_(y)


__all__ = ["LiteCudaFrame", "graph_inputs"]
