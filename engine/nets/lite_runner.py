"""What :class:`engine.runtime.stylizer.Stylizer` runs for the lite model (:mod:`engine.nets.lite`):
style encoding and blending, tensors through the eager :class:`~engine.nets.lite.LiteNet`, and uint8
frames through OpenVINO on the CPU (:mod:`engine.nets.lite_openvino`) or
:class:`~engine.nets.lite.LiteFrameNet` in torch."""
from __future__ import annotations

import torch
from torch import nn

from .lite import STRIDE, LiteFrameNet, LiteNet, LiteStyle, _pad_to, blend_lite
from .lite_openvino import try_openvino


class LiteRunner:
    """What :class:`engine.runtime.stylizer.Stylizer` needs from the lite model: encode a style,
    blend styles, stylize a tensor (masks too) and a uint8 frame (the fast path)."""

    def __init__(self, net: LiteNet, device: torch.device, dtype: torch.dtype = torch.float32,
                 meta: dict | None = None, memory_format=torch.channels_last, backend: str = "auto"):
        """``backend`` of the uint8 frame path: ``auto`` (OpenVINO on the CPU when it loads, it
        measured faster; else torch), ``torch`` or ``openvino`` (as auto, but says so when it
        cannot). Tensors (masks, the stabilizer, training) always go through torch."""
        if backend not in ("auto", "torch", "openvino"):
            raise ValueError(f"backend must be auto, torch or openvino, got {backend!r}")
        self.device, self.dtype, self.memory_format = device, dtype, memory_format
        self.meta = dict(meta or {})
        self.frame_net = LiteFrameNet(net, device, dtype, memory_format)
        self.openvino = None
        self.use_openvino = True  # False: the torch frame path even where OpenVINO is ready (bench, FLOP counts)
        if backend != "torch":
            self.openvino = try_openvino(self.frame_net, torch.device(device))
            if self.openvino is None and backend == "openvino":
                raise RuntimeError("the OpenVINO backend needs the openvino package and a CPU fp32 model")
        self.net = net.eval().requires_grad_(False).to(device=device, dtype=dtype, memory_format=memory_format)
        self.weights_id = _weights_digest(net)
        self._folded: tuple[tuple, list] | None = None
        self._cuda_frame = None

    @torch.inference_mode()
    def encode_style(self, rgb) -> LiteStyle:
        """``HxWx3`` uint8 RGB (already resized) → :class:`LiteStyle` (batch 1, fp32, on device)."""
        import numpy as np

        rgb = np.require(rgb, np.uint8, ("C_CONTIGUOUS", "WRITEABLE"))  # torch warns on read-only arrays
        x = torch.as_tensor(rgb).to(self.device).permute(2, 0, 1).unsqueeze(0).to(self.dtype) / 255.0
        x = _pad_to(x, 2 * STRIDE).contiguous(memory_format=self.memory_format)
        return self.net.encode_style(x).map(lambda t: t.float())

    @staticmethod
    def blend(styles: list[LiteStyle], weights) -> LiteStyle:
        return blend_lite(styles, weights)

    @torch.inference_mode()
    def stylize_tensor(self, x: torch.Tensor, styles: list[LiteStyle], blended: LiteStyle, alpha: float,
                       masks: torch.Tensor | None = None) -> torch.Tensor:
        """``[1,3,H,W]`` RGB in [0,1] (H, W multiples of 8) → same shape, unclamped.
        With ``masks [K,H,W]`` (content size) region k takes ``styles[k]``."""
        x = x.to(self.dtype).contiguous(memory_format=self.memory_format)
        if masks is not None:
            return self.net.stylize(x, styles, alpha, masks)
        return self.net.stylize(x, blended, alpha)

    def cuda_frame_net(self):
        """The frame path with the style as inputs, for the CUDA graph runner (made once)."""
        from .lite_cuda import LiteCudaFrame

        if self._cuda_frame is None:
            self._cuda_frame = LiteCudaFrame(self.frame_net)
        return self._cuda_frame

    @property
    def backend(self) -> str:
        """What runs the uint8 frame path: ``openvino`` or ``torch``."""
        ready = self.openvino is not None and self.use_openvino and self.openvino.error is None
        return "openvino" if ready else "torch"

    def prepare_frames(self, shape: tuple[int, int, int]) -> None:
        """Build the frame path for ``(H, W, 3)`` frames now (otherwise the first frames of a new
        size run in torch while OpenVINO compiles in the background)."""
        if self.openvino is not None:
            self.openvino.prepare(tuple(shape))

    def close(self, timeout: float = 5.0) -> bool:
        """Wait for a frame-path compile in the background to end (before the process exits);
        True when none is left running."""
        return self.openvino.close(timeout) if self.openvino is not None else True

    @torch.inference_mode()
    def frame(self, frame_bgr, style: LiteStyle, alpha: float):
        """``HxWx3`` uint8 BGR numpy → the same, stylized: through OpenVINO when it is ready for
        this size, else in torch (FiLM folded once per style and α)."""
        import numpy as np

        if self.openvino is not None and self.use_openvino:
            out = self.openvino(frame_bgr, style, alpha)
            if out is not None:
                return out
        key = (id(style), float(alpha))
        if self._folded is None or self._folded[0] != key or self._folded[2] is not style:
            self._folded = (key, self.frame_net.fold(style, alpha), style)
        out = torch.empty(frame_bgr.shape, dtype=torch.uint8, device=self.device)
        # a read-only frame (the app's shared slots hand them out) is copied: torch.from_numpy
        # would print its "non-writable NumPy array" UserWarning to the user's terminal
        frame = np.require(frame_bgr, np.uint8, ("C_CONTIGUOUS", "WRITEABLE"))
        self.frame_net.stylize_frame(torch.from_numpy(frame), style, alpha, self._folded[1], out)
        return out.cpu().numpy()


def _weights_digest(net: nn.Module) -> str:
    import hashlib

    h = hashlib.sha1()
    for k, v in sorted(net.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


__all__ = ["LiteRunner"]
