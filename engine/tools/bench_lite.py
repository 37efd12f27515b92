"""Bench modes of the lite network (issue #19), used by :mod:`engine.tools.bench`.

- ``lite``: the app's path with the lite model, ``Stylizer(model="lite")(frame)`` — uint8 BGR in →
  out through OpenVINO on the CPU when it loads (:mod:`engine.nets.lite_openvino`, compiled for
  each size before timing), else as ``lite-torch``;
- ``lite-torch``: the same in eager torch through :class:`engine.nets.lite.LiteFrameNet` (FiLM
  folded, channels_last);
- ``lite-onnx``: the same frame graph (uint8 in, uint8 out, the style's FiLM folded in as
  constants) exported to ONNX once per frame size and run by ONNX Runtime's CPU provider with
  the same thread count. Needs the optional ``onnxruntime`` and ``onnx`` packages
  (``pip install -e ".[onnx]"``); it is measured, not used by the app.

Until trained weights ``models/lite.safetensors`` exist both run a seeded random lite network of
the default architecture: the speed is the architecture's, the pictures mean nothing.
"""
from __future__ import annotations

import io
import warnings
from contextlib import contextmanager

import numpy as np
import torch

from engine.errors import InputError
from engine.nets.lite import MARGIN, lite_weights, random_lite
from engine.nets.lite_macs import gmac, layer_macs

LITE_MODES = ("lite", "lite-torch", "lite-onnx")


def lite_stylizer(args, device: torch.device, style_rgb: np.ndarray):
    """(``Stylizer`` with the lite model and ``style_rgb`` set, a note on its weights)."""
    from engine.runtime.stylizer import Stylizer

    path = lite_weights(getattr(args, "lite", None))  # the adopted model, else the trained candidate
    if path is not None:
        st = Stylizer(device=device, model="lite", lite=path, style_side=args.style_size)
        note = f"lite weights: {path.name}, {st.decoder_meta.get('steps', '?')} training steps"
    else:
        st = Stylizer(device=device, lite_net=random_lite(), style_side=args.style_size)
        note = "lite weights: random (no trained lite model found): speed only"
    if getattr(args, "learn", True):  # a network learned for this style (main.py learn), when cached
        from engine.runtime.learned import LearnedCache

        st.learned_lookup = LearnedCache().get
    from engine.runtime.learned import style_digest

    # the style file's own digest: style_rgb was resized to the style side, which changes its pixels
    st.set_styles([style_rgb], digests=[style_digest(args.style)] if getattr(args, "style", None) else None)
    st.alpha = args.alpha
    if st.plan.learned is not None:
        note += f"; the network learned for this style ({st.plan.learned.learned.meta.get('steps', '?')} steps)"
    return st, note


def frame_runner(stylizer):
    """The LiteRunner that paints the current plan's frames (a learned network's, or the base one)."""
    plan = stylizer.plan
    return plan.learned.runner if plan is not None and plan.learned is not None else stylizer.lite


class OnnxLitePipeline:
    """``HxWx3`` uint8 BGR → the same through ONNX Runtime (a session per frame size)."""

    def __init__(self, stylizer, threads: int):
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise InputError(None, "bench mode lite-onnx needs onnxruntime and onnx "
                                   "(pip install -e \".[onnx]\")") from None
        self.stylizer, self.threads = stylizer, threads
        self.device = torch.device("cpu")
        self._sessions: dict[tuple, object] = {}

    def _session(self, shape: tuple):
        import onnxruntime as ort

        if shape not in self._sessions:
            runner, plan = self.stylizer.lite, self.stylizer.plan
            style, alpha = plan.blended, self.stylizer.alpha
            folded = runner.frame_net.fold(style, alpha)
            frame_net = runner.frame_net

            class Frame(torch.nn.Module):
                def forward(self, frame):
                    return frame_net.run(frame, style, alpha, folded).to(torch.uint8)

            buffer = io.BytesIO()
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(Frame(), (torch.zeros(shape, dtype=torch.uint8),), buffer, dynamo=False,
                                  opset_version=17, input_names=["frame"], output_names=["out"])
            options = ort.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = self.threads, 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            self._sessions[shape] = ort.InferenceSession(buffer.getvalue(), options,
                                                         providers=["CPUExecutionProvider"])
        return self._sessions[shape]

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return self._session(frame.shape).run(None, {"frame": np.ascontiguousarray(frame)})[0]


class LiteFrames:
    """The ``lite`` mode: ``stylizer(frame)``, its OpenVINO graph built for a size before that
    size's first frame (so no frame is timed in torch while it compiles)."""

    def __init__(self, stylizer):
        self.stylizer = stylizer
        self._sizes: set[tuple] = set()

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        if frame.shape not in self._sizes:
            frame_runner(self.stylizer).prepare_frames(frame.shape)
            self._sizes.add(frame.shape)
        return self.stylizer(frame)


@contextmanager
def torch_frame_path(stylizer):
    """Run the lite frame path in torch for a while (the FLOP counter sees only torch ops)."""
    runner = getattr(stylizer, "lite", None)
    if runner is None:
        yield
        return
    before, runner.use_openvino = runner.use_openvino, False
    try:
        yield
    finally:
        runner.use_openvino = before


def build_lite_pipelines(args, device: torch.device, style_rgb: np.ndarray) -> tuple[dict, list[str]]:
    """The requested lite modes as {mode: pipeline}, and lines to print about them."""
    modes = [m for m in LITE_MODES if m in args.modes]
    if not modes:
        return {}, []
    st, note = lite_stylizer(args, device, style_rgb)
    pipes = {"lite": LiteFrames(st)} if "lite" in modes else {}
    if "lite-torch" in modes:
        plain, _ = lite_stylizer(args, device, style_rgb)
        frame_runner(plain).use_openvino = False
        pipes["lite-torch"] = plain
    if "lite-onnx" in modes:
        if device.type != "cpu":
            raise InputError(None, "bench mode lite-onnx runs on the CPU only (use --device cpu)")
        pipes["lite-onnx"] = OnnxLitePipeline(st, torch.get_num_threads())
    notes = [note, f"lite frame path (mode lite): {frame_runner(st).backend}"]
    return pipes, [*notes, f"lite network: {gmac(st.lite.net.config):.3f} GMAC per 640×480 picture, "
                         f"{gmac(st.lite.net.config, 480 + 2 * MARGIN, 640 + 2 * MARGIN):.3f} with its "
                         f"{MARGIN}-px reflected margin "
                         f"(convs; {len(layer_macs(st.lite.net.config))} layers, table in models/MODEL_CARD.md)"]


__all__ = ["LITE_MODES", "LiteFrames", "build_lite_pipelines", "lite_stylizer", "OnnxLitePipeline",
           "torch_frame_path"]
