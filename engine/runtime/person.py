"""Person segmentation for person-aware styling: frame → soft person mask, live and offline.

The model is MediaPipe's *Selfie Segmentation* (Apache-2.0), run by LiteRT (``ai-edge-litert``).
The ``.tflite`` file is never committed: it is read from the installed ``mediapipe`` 0.10.14
wheel (installed with ``--no-deps``, see the README), located without importing ``mediapipe``
(whose import would need its own dependencies). :func:`unavailable_reason` says, in one line, why
segmentation cannot run here, or None.

- :class:`SelfieSegmenter`: ``HxWx3`` uint8 RGB → ``hxw`` float32 person probability at the
  model's resolution (256×256); :func:`resize_mask` brings a mask to any frame size.
- :class:`MaskSmoother`: temporal smoothing (motion-adaptive: still edges are averaged, moving
  parts follow at once) and feathering of the edge.
- :class:`PersonMasker`: runs segmenter + smoother on its own thread, so that a live frame's mask
  is computed while the network stylizes that frame.
"""
from __future__ import annotations

import importlib.util
import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from engine.media.native_stderr import drop_native_lines

MODELS = {"general": "selfie_segmentation.tflite", "landscape": "selfie_segmentation_landscape.tflite"}
MODEL_DIR = ("modules", "selfie_segmentation")
#: the one install line that brings the model file (README, .ci/run)
INSTALL_HINT = "pip install --no-deps mediapipe==0.10.14"
XNNPACK_NOTICE = "Created TensorFlow Lite XNNPACK delegate"
MODEL_ENV = "ADAIN_PERSON_MODEL"  # a .tflite path that replaces the installed one (tests, experiments)


class SegmentationUnavailable(RuntimeError):
    """Person segmentation cannot run here; ``str(exc)`` is one line saying why."""


def model_path(kind: str = "general") -> Path:
    """The installed selfie-segmentation ``.tflite`` (``general`` 256×256 or ``landscape``
    256×144), or the file named by ``$ADAIN_PERSON_MODEL``. Raises SegmentationUnavailable."""
    override = os.environ.get(MODEL_ENV)
    if override:
        path = Path(override)
        if not path.is_file():
            raise SegmentationUnavailable(f"{path}: person model not found (${MODEL_ENV})")
        return path
    spec = importlib.util.find_spec("mediapipe")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise SegmentationUnavailable(f"person segmentation needs its model: {INSTALL_HINT}")
    for root in spec.submodule_search_locations:
        path = Path(root, *MODEL_DIR, MODELS[kind])
        if path.is_file():
            return path
    raise SegmentationUnavailable(f"the installed mediapipe has no {MODELS[kind]}: {INSTALL_HINT}")


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise SegmentationUnavailable(f"person segmentation needs LiteRT: pip install ai-edge-litert ({exc})") \
            from None
    return Interpreter


def unavailable_reason() -> str | None:
    """None when a segmenter can be built and run here, else one line saying why not."""
    try:
        SelfieSegmenter()(np.zeros((32, 32, 3), np.uint8))
    except SegmentationUnavailable as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a broken runtime or model: report, never crash the app
        return f"person segmentation does not run: {type(exc).__name__}: {exc}"
    return None


class SelfieSegmenter:
    """``HxWx3`` uint8 RGB → ``hxw`` float32 person probability in [0, 1] at the model's size.

    Not thread-safe: one thread calls it (LiteRT interpreters keep per-call state). One CPU
    thread, so that it never competes with the network for more than one core.
    """

    def __init__(self, kind: str = "general", threads: int = 1):
        interpreter = _interpreter_class()
        path = model_path(kind)
        try:
            with drop_native_lines(XNNPACK_NOTICE):  # LiteRT's own notice, not for users (item 12)
                self._net = interpreter(model_path=str(path), num_threads=threads)
                self._net.allocate_tensors()
        except SegmentationUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged file or an incompatible runtime
            raise SegmentationUnavailable(f"{path}: cannot load the person model ({exc})") from None
        inp, out = self._net.get_input_details()[0], self._net.get_output_details()[0]
        self._in, self._out = inp["index"], out["index"]
        self.size = (int(inp["shape"][2]), int(inp["shape"][1]))  # (w, h)
        self.path = path

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 uint8 image, got {rgb.dtype} {rgb.shape}")
        x = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA).astype(np.float32)
        x *= 1.0 / 255.0  # the model takes RGB in [0, 1]
        self._net.set_tensor(self._in, x[None])
        self._net.invoke()
        return np.clip(self._net.get_tensor(self._out)[0, :, :, 0], 0.0, 1.0)


class MaskSmoother:
    """Temporal smoothing and edge feathering of raw masks at the model's resolution.

    Per pixel, the new mask moves towards the raw one by a rate that grows with the change:
    ``rate = clip(|raw − prev| / motion, min_rate, 1)``. The model's small frame-to-frame
    jitter on a still edge (|Δ| ≲ 0.15) is averaged over a few frames; a part that really moved
    (|Δ| ≥ ``motion``) is followed in the same frame. Then a Gaussian blur of ``feather`` model
    pixels softens the edge (≈ ``feather`` × frame side / 256 frame pixels).
    """

    def __init__(self, min_rate: float = 0.25, motion: float = 0.7, feather: float = 1.5):
        self.min_rate, self.motion, self.feather = min_rate, motion, feather
        self._prev: np.ndarray | None = None

    def reset(self) -> None:
        self._prev = None

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """``hxw`` float32 raw mask → ``hxw`` float32 smoothed, feathered mask in [0, 1]."""
        prev = self._prev
        if prev is None or prev.shape != raw.shape:
            state = raw.astype(np.float32, copy=True)
        else:
            delta = raw - prev
            rate = np.clip(np.abs(delta) * (1.0 / self.motion), self.min_rate, 1.0)
            state = prev + rate * delta
        self._prev = state
        return feather(state, self.feather)


def feather(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-soften a ``hxw`` float32 mask's edge (``sigma`` in mask pixels)."""
    if sigma <= 0:
        return mask
    return cv2.GaussianBlur(mask, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``hxw`` float32 mask → ``size`` = (W, H), bilinear, clipped to [0, 1]."""
    if (mask.shape[1], mask.shape[0]) == tuple(size):
        return mask
    return np.clip(cv2.resize(mask, tuple(size), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


def person_mask(segmenter: SelfieSegmenter, rgb: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """One still image (no temporal state): ``HxWx3`` uint8 RGB → ``HxW`` float32 soft mask."""
    return resize_mask(feather(segmenter(rgb), sigma), (rgb.shape[1], rgb.shape[0]))


class PersonMasker:
    """Segments live frames on its own thread: :meth:`submit` a frame as soon as it is taken,
    stylize it, then :meth:`mask` returns its (smoothed) mask, usually already done.

    Newest-frame slot: a frame submitted while the previous one is still being segmented
    replaces it; nothing queues. Frames are ``HxWx3`` uint8 BGR (the capture's order).
    """

    def __init__(self, segmenter=None, smoother: MaskSmoother | None = None):
        self._segmenter = segmenter
        self.smoother = smoother or MaskSmoother()
        self._cond = threading.Condition()
        self._pending: tuple[int, np.ndarray] | None = None
        self._done: tuple[int, np.ndarray] | None = None
        self._reset = False
        self._stop = False
        self.error: str | None = None
        self.last_ms: float | None = None  # the newest frame's segmentation + smoothing time
        self._thread = threading.Thread(target=self._run, name="person-mask", daemon=True)
        self._thread.start()

    def submit(self, frame_bgr: np.ndarray, index: int) -> None:
        with self._cond:
            self._pending = (index, frame_bgr)
            self._cond.notify_all()

    def mask(self, index: int, timeout: float = 1.0) -> np.ndarray | None:
        """The mask of frame ``index`` (model resolution), waiting up to ``timeout`` s for it;
        after that the newest mask there is (None when none yet or segmentation failed)."""
        with self._cond:
            self._cond.wait_for(lambda: self._done_for(index) or self._stop or self.error, timeout)
            return None if self._done is None else self._done[1]

    def reset(self) -> None:
        """Forget the temporal state (the source changed)."""
        with self._cond:
            self._reset = True

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _done_for(self, index: int) -> bool:
        return self._done is not None and self._done[0] >= index

    def _run(self) -> None:
        try:
            segmenter = self._segmenter or SelfieSegmenter()
        except Exception as exc:  # noqa: BLE001 - reported through .error, the stream goes on
            self._fail(str(exc))
            return
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._stop)
                if self._stop:
                    return
                (index, frame), self._pending = self._pending, None
                if self._reset:
                    self.smoother.reset()
                    self._reset = False
            t0 = time.perf_counter()
            try:
                mask = self.smoother(segmenter(np.ascontiguousarray(frame[:, :, ::-1])))
            except Exception as exc:  # noqa: BLE001
                self._fail(f"person segmentation failed: {type(exc).__name__}: {exc}")
                return
            with self._cond:
                self._done = (index, mask)
                self.last_ms = (time.perf_counter() - t0) * 1000.0
                self._cond.notify_all()

    def _fail(self, reason: str) -> None:
        with self._cond:
            self.error = reason
            self._cond.notify_all()
