"""CUDA frame runner: one captured CUDA graph per frame size, pinned host buffers.

Per frame (``HxWx3`` uint8 BGR numpy → same): copy the frame into a pinned host buffer,
upload it with a non-blocking copy (3 bytes per pixel instead of 12 for fp32), replay the
graph — uint8 → fp16 conversion, the network's ``stylize_frame`` (:meth:`FastNet.stylize_frame`:
encoder, AdaIN + α, decoder; or the lite network's, :mod:`engine.nets.lite_cuda`), clamp and
uint8 conversion, all on the device — and download the uint8 result into a second pinned buffer.
The style's tensors and α (the call's ``inputs``) live in device tensors that the graph reads, so
changing styles or sliders never re-captures; a new frame size (or input shape) captures a new
graph (the old one is released first). If capture fails, the same buffers run eagerly (``graph=False``) until
the size changes; running out of memory during capture is raised, so the caller can lower the
resolution.

Threads: every call holds ``lock`` (the Stylizer's device lock, also held by style encoding and
snapshots on other threads), so no other CUDA work of the app runs during warm-up or capture;
capture uses ``capture_error_mode="thread_local"``. cuDNN autotuning (``cudnn.benchmark``) is
on only inside these calls: the fixed live sizes are tuned once, a snapshot's odd size on the
jobs thread is not.

``cuda`` is the ``torch.cuda`` module; tests pass a fake that records the calls. Only used when
the stylizer's device is CUDA; importing this module is safe anywhere.
"""
from __future__ import annotations

import contextlib
import threading
import warnings

import numpy as np
import torch



class CudaFrameRunner:
    """``runner(frame_bgr, *inputs, graph=True) -> HxWx3 uint8 BGR`` for one network whose
    ``stylize_frame(frame_dev, *inputs_dev, out_dev)`` writes ``out_dev``; ``inputs`` are
    tensors or floats (0-d), e.g. FastNet's ``mean [512], std [512], alpha``."""

    def __init__(self, net, device: torch.device | str = "cuda", warmup: int = 3,
                 lock: threading.RLock | None = None, cuda=None):
        self.net = net
        self.device = torch.device(device)
        self.warmup = warmup
        self.lock = lock or threading.RLock()
        self.cuda = cuda or torch.cuda
        self.size: tuple[int, int] | None = None
        self.input_shapes: list[tuple] | None = None
        self.graph = None
        self.graph_failed = False  # for the current size only

    def __call__(self, frame_bgr: np.ndarray, *inputs, graph: bool = True) -> np.ndarray:
        with self.lock, cudnn_benchmark(), torch.inference_mode():
            return self._run(frame_bgr, [torch.as_tensor(v, dtype=torch.float32) for v in inputs], graph)

    def _run(self, frame_bgr, inputs: list[torch.Tensor], graph: bool) -> np.ndarray:
        h, w = frame_bgr.shape[:2]
        if self.size != (h, w) or self.input_shapes != [tuple(v.shape) for v in inputs]:
            self._allocate(h, w, inputs)
        np.copyto(self.in_host.numpy(), frame_bgr)
        self.in_dev.copy_(self.in_host, non_blocking=True)
        for buffer, value in zip(self.inputs, inputs):
            buffer.copy_(value, non_blocking=True)
        if graph and self.graph is None and not self.graph_failed:
            self._capture()
        if graph and self.graph is not None:
            self.graph.replay()
        else:
            self._step()
        self.out_host.copy_(self.out_dev, non_blocking=True)
        self.done.record()
        self.done.synchronize()
        return self.out_host.numpy().copy()  # the pinned buffer is reused by the next frame

    def _allocate(self, h: int, w: int, inputs: list[torch.Tensor]) -> None:
        """Buffers for frames of ``h``×``w`` and inputs of these shapes; drops the graph of the
        previous ones and its failure."""
        self.graph, self.graph_failed = None, False
        dev, pin = self.device, self.device.type == "cuda"
        self.in_host = torch.empty((h, w, 3), dtype=torch.uint8, pin_memory=pin)
        self.out_host = torch.empty((h, w, 3), dtype=torch.uint8, pin_memory=pin)
        self.in_dev = torch.empty((h, w, 3), dtype=torch.uint8, device=dev)
        self.out_dev = torch.empty((h, w, 3), dtype=torch.uint8, device=dev)
        self.inputs = [torch.empty(v.shape, dtype=torch.float32, device=dev) for v in inputs]
        self.input_shapes = [tuple(v.shape) for v in inputs]
        self.done = self.cuda.Event()
        self.size = (h, w)

    def _step(self) -> None:
        self.net.stylize_frame(self.in_dev, *self.inputs, self.out_dev)

    def _capture(self) -> None:
        """Warm up on a side stream (cuDNN autotuning, lazy init), then capture one frame. The
        current stream is restored whatever fails; out of memory is raised, other failures
        leave this size eager."""
        cuda, dev = self.cuda, self.device
        try:
            side = cuda.Stream(device=dev)
            side.wait_stream(cuda.current_stream(dev))
            with cuda.stream(side):
                for _ in range(self.warmup):
                    self._step()
            cuda.current_stream(dev).wait_stream(side)
            cuda.synchronize(dev)
            graph = cuda.CUDAGraph()
            with cuda.stream(cuda.Stream(device=dev)):  # restores the current stream on any exit
                graph.capture_begin(capture_error_mode="thread_local")
                try:
                    self._step()
                finally:
                    graph.capture_end()
            self.graph = graph
        except Exception as exc:  # noqa: BLE001 - fall back to eager frames, same buffers
            self.graph, self.graph_failed = None, True
            with contextlib.suppress(Exception):
                cuda.synchronize(dev)
            if _out_of_memory(exc):
                with contextlib.suppress(Exception):
                    cuda.empty_cache()
                raise
            warnings.warn(f"CUDA graph capture failed ({type(exc).__name__}: {exc}); running eagerly "
                          f"at {self.size[1]}x{self.size[0]}", RuntimeWarning, stacklevel=4)


@contextlib.contextmanager
def cudnn_benchmark():
    """``torch.backends.cudnn.benchmark`` on inside the block only (a process-wide flag: hold
    the device lock around it)."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


__all__ = ["CudaFrameRunner", "cudnn_benchmark"]
