"""The lite network's per-frame path through OpenVINO on the CPU (issue #19, item 5).

Measured on this project's 2-core CPU (docs/PERF.md): the same frame graph runs in OpenVINO's
CPU plugin faster than eager torch, with the same output (fp32; ±1 grey level from rounding), so
the Real-time model uses it on the CPU when the ``openvino`` package loads. Otherwise, or if a
graph fails to build, :class:`engine.nets.lite.LiteFrameNet` in torch does the work.

:class:`LiteGraph` is the network part of :meth:`LiteFrameNet.run` as one module whose inputs
are the padded frame **and the style** (per-level AdaIN statistics, FiLM scale and shift, α), so
a new style, blend or α is only new input values: nothing is built again (sliders react at
once). FiLM is applied after the block convs instead of folded into them (per-channel work at ⅛
resolution). It is exported to ONNX once, with free height and width; each frame size gets its
own static copy compiled on a helper thread (~0.2 s), torch serving the frames meanwhile, so a
new resolution never stalls the video. The helper thread is never a daemon (see
:meth:`OpenVinoLiteFrame.close`). Padding (the reflected margin, then to the stride) and
depth-to-space + crop are numpy/OpenCV work around the graph, exactly as the torch path pads.

Graph inputs: ``frame [Hp,Wp,3]`` uint8 BGR, padded; ``mean_l``/``std_l`` ``[1,c_l]`` fp32 for the
levels ½, ¼, ⅛; ``film_scale``/``film_shift`` ``[1,2·blocks,c3]`` fp32; ``alpha [1,1]`` fp32 in
[0,1]. Output: ``[1,12,Hp/2,Wp/2]`` uint8, the head's ``255·BGR + 0.5`` per sub-pixel phase.
"""
from __future__ import annotations

import sys
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from .lite import MARGIN, STRIDE, LiteFrameNet, LiteStyle, style_tensors

INPUT_NAMES = ("frame", "mean0", "std0", "mean1", "std1", "mean2", "std2", "film_scale", "film_shift", "alpha")


def input_names(levels: int) -> list[str]:
    """The graph's input names for a network with ``levels`` AdaIN levels (3, or 5 with up-norms)."""
    stats = [name for i in range(levels) for name in (f"mean{i}", f"std{i}")]
    return ["frame", *stats, "film_scale", "film_shift", "alpha"]
CACHED_SIZES = 3


def openvino_available() -> bool:
    """Whether the ``openvino`` package loads (a dependency, but a platform may lack a wheel)."""
    try:
        import_openvino()
    except Exception:  # noqa: BLE001 - any failure to load the runtime means: use torch
        return False
    return True


def import_openvino():
    """``import openvino`` with its telemetry off (issue #29, item 16).

    Importing ``openvino`` starts its usage telemetry, which, unless a consent file exists,
    counts as consent and writes a client id and counters to ``~/intel`` (``openvino_ga_cid``,
    ``stats``). The official opt-out writes a consent file there too, so instead the consent check
    of ``openvino_telemetry`` answers "declined" for this process: nothing is written or sent.
    Every import of OpenVINO in this project goes through here."""
    _decline_openvino_telemetry()
    import openvino

    return openvino


def _decline_openvino_telemetry() -> None:
    try:
        from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker
    except Exception:  # noqa: BLE001 - no telemetry package (or a new layout): nothing to turn off here
        return
    OptInChecker.check = lambda self, *args, **kwargs: ConsentCheckResult.DECLINED


class LiteGraph(torch.nn.Module):
    """:meth:`LiteFrameNet.body` with the style as inputs, FiLM unfolded (for export)."""

    def __init__(self, frame_net: LiteFrameNet):
        super().__init__()
        self.net = frame_net

    def forward(self, frame, *style):
        """``frame`` then the style inputs in :func:`input_names` order."""
        net = self.net
        adain, block = net.input_modulation(list(style), net.block_params)
        x = frame.permute(2, 0, 1).unsqueeze(0).float()
        return net.body(x, adain, block).clamp(0, 255).to(torch.uint8)  # [1,12,Hp/2,Wp/2], (i, j, BGR)


def style_inputs(style: LiteStyle, alpha: float) -> list[np.ndarray]:
    """The graph's style inputs (after ``frame``) for ``style`` (batch 1) at ``alpha``."""
    return [np.ascontiguousarray(t.cpu().numpy()) for t in style_tensors(style, alpha)]


def pad_frame(frame: np.ndarray) -> tuple[np.ndarray, int]:
    """``[H,W,3]`` uint8 → (the frame with the reflected margin and padded to the stride, the
    margin), the same pixels as the torch path's two reflection pads."""
    import cv2

    h, w = frame.shape[:2]
    m = MARGIN if min(h, w) > MARGIN else 0
    if m:
        frame = cv2.copyMakeBorder(frame, m, m, m, m, cv2.BORDER_REFLECT_101)
    ph, pw = (-frame.shape[0]) % STRIDE, (-frame.shape[1]) % STRIDE
    if ph or pw:
        frame = cv2.copyMakeBorder(frame, 0, ph, 0, pw, cv2.BORDER_REFLECT_101)
    return np.ascontiguousarray(frame), m


def unshuffle(head: np.ndarray, margin: int, size: tuple[int, int]) -> np.ndarray:
    """The graph's ``[1,12,h2,w2]`` (channel = phase·3 + BGR, phase = 2i + j) → the ``[H,W,3]`` frame."""
    _, _, h2, w2 = head.shape
    frame = head[0].reshape(2, 2, 3, h2, w2).transpose(3, 0, 4, 1, 2).reshape(2 * h2, 2 * w2, 3)
    return np.ascontiguousarray(frame[margin:margin + size[0], margin:margin + size[1]])


class OpenVinoLiteFrame:
    """uint8 BGR frame → stylized uint8 BGR frame through OpenVINO.

    :meth:`__call__` returns ``None`` while the graph for a new frame size is being compiled on
    a helper thread (the caller uses torch for that frame); :meth:`prepare` builds and waits
    (benchmarks, tests). A size that fails to build stays on torch; the reason is in :attr:`error`.
    The first call exports the network to ONNX (~1 s on 2 cores, once per model)."""

    def __init__(self, frame_net: LiteFrameNet, threads: int | None = None):
        ov = import_openvino()
        self.core = ov.Core()
        self.frame_net = frame_net
        self.threads = threads or torch.get_num_threads()
        self.error: str | None = None
        self._model = None  # the exported graph, free height and width
        self._compiled: OrderedDict[tuple, tuple] = OrderedDict()
        self._building: dict[tuple, threading.Thread] = {}
        self._failed: set[tuple] = set()
        self._closed = False
        self._lock = threading.Lock()

    def prepare(self, shape: tuple[int, int, int]) -> bool:
        """Build the graph for frames of ``shape`` ``(H, W, 3)`` now; whether it is usable."""
        padded = pad_frame(np.zeros(shape, np.uint8))[0].shape
        with self._lock:
            worker = self._building.get(padded)
        if worker is not None:
            worker.join()
        elif not self._ready(padded) and self._exported():
            self._build(padded)
        return self._ready(padded)

    def __call__(self, frame_bgr: np.ndarray, style: LiteStyle, alpha: float) -> np.ndarray | None:
        """The stylized frame, or ``None`` while this size's graph is being built (use torch)."""
        frame, margin = pad_frame(np.ascontiguousarray(frame_bgr, dtype=np.uint8))
        shape = frame.shape
        if not self._exported():
            return None
        with self._lock:
            entry = self._compiled.get(shape)
            if entry is None:
                if shape not in self._failed and shape not in self._building and not self._closed:
                    # daemon=False on purpose: a thread inherits its creator's daemon flag (the live
                    # inference thread, a QThread) and a daemon thread still inside compile_model
                    # when the interpreter finalizes is ended by CPython as it re-takes the GIL; that
                    # forced unwind meets OpenVINO's C++ frames and aborts the whole process
                    # ("terminate called without an active exception", exit 134). Non-daemon, the
                    # interpreter waits for it at exit (a compile takes ~0.5 s).
                    worker = threading.Thread(target=self._build, args=(shape,), name="openvino-compile",
                                              daemon=False)
                    self._building[shape] = worker
                    worker.start()
                return None
            self._compiled.move_to_end(shape)
            request, output = entry
            head = request.infer([frame, *style_inputs(style, alpha)])[output]
        return unshuffle(head, margin, frame_bgr.shape[:2])

    def close(self, timeout: float = 5.0) -> bool:
        """Start no more compiles and wait up to ``timeout`` s for the running ones (a compile
        cannot be cancelled; it takes ~0.5 s); True when none is left running. Frames still work
        afterwards with the sizes already built (others stay on torch)."""
        with self._lock:
            self._closed = True
            workers = list(self._building.values())
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        return not any(worker.is_alive() for worker in workers)

    def _ready(self, shape) -> bool:
        with self._lock:
            return shape in self._compiled

    def _exported(self) -> bool:
        """Export the graph once (in the caller's thread: torch's tracer is not for helper threads)."""
        if self._model is None and self.error is None:
            try:
                self._model = self._export()
            except Exception as exc:  # noqa: BLE001 - the torch path stays
                self.error = f"OpenVINO could not read the lite graph: {exc}"
                print(self.error + "; using torch", file=sys.stderr)
        return self._model is not None

    def _export(self):
        example = (torch.zeros((64, 64, 3), dtype=torch.uint8),
                   *map(torch.from_numpy, style_inputs(_zero_style(self.frame_net), 1.0)))
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            path = Path(tmp) / "lite.onnx"
            torch.onnx.export(LiteGraph(self.frame_net), example, str(path), dynamo=False, opset_version=17,
                              input_names=input_names(len(self.frame_net.level_widths)), output_names=["out"],
                              dynamic_axes={"frame": {0: "height", 1: "width"}})
            return self.core.read_model(str(path))

    def _build(self, shape: tuple[int, int, int]) -> None:
        try:
            model = self._model.clone()
            model.reshape({"frame": list(shape)})
            compiled = self.core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": self.threads,
                                                              "PERFORMANCE_HINT": "LATENCY",
                                                              "INFERENCE_PRECISION_HINT": "f32"})
            entry = (compiled.create_infer_request(), compiled.output(0))
        except Exception as exc:  # noqa: BLE001 - this size stays on torch
            with self._lock:
                self._failed.add(shape)
                self._building.pop(shape, None)
            self.error = f"OpenVINO could not build the lite graph for {shape[1]}×{shape[0]} frames: {exc}"
            print(self.error + "; using torch", file=sys.stderr)
            return
        with self._lock:
            self._compiled[shape] = entry
            self._building.pop(shape, None)
            while len(self._compiled) > CACHED_SIZES:
                self._compiled.popitem(last=False)


def _zero_style(frame_net: LiteFrameNet) -> LiteStyle:
    """A placeholder style of the right shapes (its values do not matter for export)."""
    widths = list(frame_net.level_widths)
    rows = len(frame_net.block_params)
    return LiteStyle(tuple(torch.zeros(1, c) for c in widths), tuple(torch.ones(1, c) for c in widths),
                     torch.zeros(1, rows, widths[2]), torch.zeros(1, rows, widths[2]))


def try_openvino(frame_net: LiteFrameNet, device: torch.device) -> OpenVinoLiteFrame | None:
    """:class:`OpenVinoLiteFrame` for a CPU fp32 frame net when OpenVINO loads, else ``None``."""
    if device.type != "cpu" or frame_net.dtype != torch.float32 or not openvino_available():
        return None
    try:
        return OpenVinoLiteFrame(frame_net)
    except Exception as exc:  # noqa: BLE001 - the torch path always works
        print(f"OpenVINO unavailable for the lite model ({exc}); using torch", file=sys.stderr)
        return None


__all__ = ["LiteGraph", "OpenVinoLiteFrame", "import_openvino", "openvino_available", "pad_frame", "style_inputs",
           "try_openvino", "unshuffle"]
