"""CUDA frame runner: one captured CUDA graph per frame size, pinned host buffers.

Per frame (``HxWx3`` uint8 BGR numpy → same): copy the frame into a pinned host buffer,
upload it with a non-blocking copy (3 bytes per pixel instead of 12 for fp32), replay the
graph — uint8 → fp16 conversion, :meth:`FastNet.stylize_frame` (encoder, AdaIN + α, decoder),
clamp and uint8 conversion, all on the device — and download the uint8 result into a second
pinned buffer. The style statistics and α live in device tensors that the graph reads, so
changing styles or sliders never re-captures; a new frame size captures a new graph (the old
one is released first). If capture fails, the same buffers run eagerly (``graph=False``).

Only used when the stylizer's device is CUDA; importing this module is safe anywhere.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from .fast import FastNet


class CudaFrameRunner:
    """``runner(frame_bgr, mean, std, alpha, graph=True) -> HxWx3 uint8 BGR`` for one FastNet."""

    def __init__(self, net: FastNet, device: torch.device | str = "cuda", warmup: int = 3):
        self.net = net
        self.device = torch.device(device)
        self.warmup = warmup
        self.size: tuple[int, int] | None = None
        self.graph: torch.cuda.CUDAGraph | None = None
        self.graph_failed = False
        torch.backends.cudnn.benchmark = True  # fixed sizes: let cuDNN pick the fastest kernels

    @torch.inference_mode()
    def __call__(self, frame_bgr: np.ndarray, mean: torch.Tensor, std: torch.Tensor, alpha: float,
                 graph: bool = True) -> np.ndarray:
        h, w = frame_bgr.shape[:2]
        if self.size != (h, w):
            self._allocate(h, w)
        np.copyto(self.in_host.numpy(), frame_bgr)
        self.in_dev.copy_(self.in_host, non_blocking=True)
        self.mean.copy_(mean, non_blocking=True)
        self.std.copy_(std, non_blocking=True)
        self.alpha.fill_(min(max(float(alpha), 0.0), 1.0))
        if graph and not self.graph_failed:
            if self.graph is None:
                self._capture()
        if graph and self.graph is not None:
            self.graph.replay()
        else:
            self._step()
        self.out_host.copy_(self.out_dev, non_blocking=True)
        self.done.record()
        self.done.synchronize()
        return self.out_host.numpy().copy()  # the pinned buffer is reused by the next frame

    def _allocate(self, h: int, w: int) -> None:
        """Buffers for frames of ``h``×``w``; drops the graph captured for the previous size."""
        self.graph = None
        dev = self.device
        self.in_host = torch.empty((h, w, 3), dtype=torch.uint8, pin_memory=True)
        self.out_host = torch.empty((h, w, 3), dtype=torch.uint8, pin_memory=True)
        self.in_dev = torch.empty((h, w, 3), dtype=torch.uint8, device=dev)
        self.out_dev = torch.empty((h, w, 3), dtype=torch.uint8, device=dev)
        self.mean = torch.zeros(512, dtype=torch.float32, device=dev)
        self.std = torch.ones(512, dtype=torch.float32, device=dev)
        self.alpha = torch.ones((), dtype=torch.float32, device=dev)
        self.done = torch.cuda.Event()
        self.size = (h, w)

    def _step(self) -> None:
        self.net.stylize_frame(self.in_dev, self.mean, self.std, self.alpha, self.out_dev)

    def _capture(self) -> None:
        """Warm up on a side stream (cuDNN autotuning, lazy init), then capture one frame."""
        try:
            side = torch.cuda.Stream(device=self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                for _ in range(self.warmup):
                    self._step()
            torch.cuda.current_stream(self.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self._step()
            self.graph = graph
        except Exception as exc:  # noqa: BLE001 - fall back to eager frames, same buffers
            self.graph, self.graph_failed = None, True
            torch.cuda.synchronize(self.device)
            warnings.warn(f"CUDA graph capture failed ({type(exc).__name__}: {exc}); running eagerly",
                          RuntimeWarning, stacklevel=3)


__all__ = ["CudaFrameRunner"]
