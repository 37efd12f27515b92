"""The inference thread: :class:`InferenceThread` owns the
:class:`~engine.runtime.stylizer.Stylizer` (and the handle on the recording thread,
:mod:`app.recording_worker`); it takes the newest frame and the
current :class:`~app.pipeline.Controls`, stylizes, and puts a :class:`~app.pipeline.Result` into
the results slot. :class:`StylizerBox` shares the stylizer it built with the jobs thread.
"""
from __future__ import annotations

import collections
import threading
import time
import traceback

import numpy as np
from PySide6.QtCore import Signal

from .pipeline import Controls, Frame, LatestSlot, Result, is_out_of_memory, lower_resolution, \
    processing_size
from .recording_worker import Recordings
from .threads import POLL_S, StoppableThread


class StylizerBox:
    """The stylizer, shared read-only with the job thread once the inference thread built it."""

    def __init__(self):
        self.stylizer = None
        self.error: str | None = None
        self.ready = threading.Event()

    def set(self, stylizer, error: str | None = None) -> None:
        self.stylizer, self.error = stylizer, error
        self.ready.set()


class InferenceThread(StoppableThread):
    """Stylizes the newest frame with the current controls; publishes the newest result.

    ``controls`` is replaced (never mutated) by the GUI; ``request_recording`` /
    ``stop_recording`` start and stop the recording thread at once; it ends with this thread.
    """

    result_ready = Signal()  # coalesced: at most one pending notification
    stylizer_ready = Signal(str)  # device summary
    message = Signal(str)
    resolution_lowered = Signal(int)
    recording_started = Signal(str)
    recording_finished = Signal(str, int, str)  # path ('' when nothing written), frames, error

    def __init__(self, frames: LatestSlot, results: LatestSlot, box: StylizerBox, stylizer_factory,
                 fallback_factory=None):
        super().__init__("inference")
        self.frames, self.results, self.box = frames, results, box
        self.stylizer_factory = stylizer_factory
        self.fallback_factory = fallback_factory  # builds a CPU stylizer when the GPU one fails
        self.stylizer = None
        self.controls = Controls()
        self.frames_done = 0
        self.done_times: collections.deque = collections.deque(maxlen=2000)  # t_done of recent results
        self._notify_pending = threading.Event()
        self._applied: tuple | None = None
        self.recordings = Recordings(results, self.recording_started, self.recording_finished)
        self._last_error = ""
        self._reset_requested = threading.Event()
        self._reload_requested = threading.Event()
        self._learned_refresh = threading.Event()
        self._stale_controls = None  # controls of the model before a reload: not used with the new one
        self.state = "loading the model…"  # why frames are not stylized now, for the status bar; "" when they are
        self.stylizers_built = 0  # a new one starts a new frame-rate measurement
        from engine.runtime.person_style import LivePerson

        self.person = LivePerson()  # person-aware styling: the mask thread, started on first use

    # GUI side ------------------------------------------------------------------------------
    def acknowledge(self) -> None:
        """The GUI consumed the notification: the next result may notify again."""
        self._notify_pending.clear()

    def request_recording(self, path: str, fps: float, size: tuple[int, int] | None = None) -> None:
        """Record the results into ``path`` at ``fps`` and ``size`` (w, h; None: the frames' own)."""
        self.recordings.start(path, fps, size)

    def stop_recording(self) -> None:
        self.recordings.stop()

    def request_reload(self) -> None:
        """Build the stylizer again (another model was chosen) before the next frame."""
        self._reload_requested.set()

    def request_learned_refresh(self) -> None:
        """A learned Real-time network was prepared: use it from the next frame (app/learning.py)."""
        self._learned_refresh.set()

    def reset_temporal_state(self) -> None:
        """The source changed: the stabilizer must not blend across the cut."""
        self._reset_requested.set()

    @property
    def recording(self) -> bool:
        return self.recordings.recording

    # thread side ---------------------------------------------------------------------------
    def run(self) -> None:
        self.stylizer = self._build_stylizer()
        seq = 0
        try:
            while not self.stopping:
                item = self.frames.wait_newer(seq, POLL_S)
                if self._reload_requested.is_set():
                    self._reload_requested.clear()
                    self.stylizer = self._build_stylizer()
                if item is None:
                    continue
                seq, frame = item
                try:
                    result = self._process(self.stylizer, frame)
                except Exception as exc:  # noqa: BLE001 - one bad frame must never end the stream
                    self._report_once(f"frame skipped: {type(exc).__name__}: {exc}")
                    traceback.print_exc()
                    continue
                self.results.put(result)
                self.frames_done += 1
                self.done_times.append(result.t_done)
                if not self._notify_pending.is_set():
                    self._notify_pending.set()
                    self.result_ready.emit()
        finally:
            self.recordings.close()  # the last frame is in: finalise a recording in progress
            self.person.close()

    def _build_stylizer(self):
        self.state = "loading the model…"
        self.stylizers_built += 1
        try:
            return self._load_stylizer()
        finally:
            self.state = ""

    def _load_stylizer(self):
        try:
            stylizer = self.stylizer_factory()
        except Exception as exc:  # noqa: BLE001 - any load failure leaves the app usable, unstyled
            if self._use_fallback(f"GPU unavailable ({_one_line(exc)})"):
                return self.stylizer
            msg = f"model not loaded: {exc}. Showing the source unstyled."
            self.box.set(None, msg)
            self.message.emit(msg)
            self.stylizer_ready.emit("no model")  # the status bar must not say "loading" forever
            return None
        self._publish(stylizer)
        return stylizer

    def _publish(self, stylizer) -> None:
        from engine.runtime.stylizer import stylizer_summary

        try:
            summary = stylizer_summary(stylizer)
        except Exception:  # noqa: BLE001 - a GPU that fails even to name itself still runs (or falls back)
            summary = f"{_device_type(stylizer).upper()} {'fp16' if getattr(stylizer, 'half', False) else 'fp32'}"
        old = self.box.stylizer
        if old is not None and getattr(old, "model", "vgg") != getattr(stylizer, "model", "vgg"):
            self._stale_controls = self.controls  # another model's styles: wait for re-encoded ones
        self._applied = None  # a new stylizer has no styles yet
        self.box.set(stylizer)
        self.stylizer_ready.emit(summary)

    def _use_fallback(self, why: str) -> bool:
        """Swap in the CPU stylizer (once) after a GPU failure; one line tells the user."""
        factory, self.fallback_factory = self.fallback_factory, None
        if factory is None:
            return False
        try:
            stylizer = factory()
        except Exception as exc:  # noqa: BLE001
            self.message.emit(f"{why}; the CPU model did not load either: {_one_line(exc)}")
            return False
        self.stylizer, self._applied = stylizer, None  # styles are applied again from the controls
        self._publish(stylizer)
        self.message.emit(f"{why}; running on the CPU instead")
        return True

    def _process(self, stylizer, frame: Frame) -> Result:
        import cv2

        controls = self.controls
        src = frame.image
        size = processing_size(src.shape[1], src.shape[0], controls.resolution)
        small = src if size == (src.shape[1], src.shape[0]) else cv2.resize(src, size, interpolation=cv2.INTER_AREA)
        out, styled = small, False
        stale = controls is self._stale_controls
        self.state = "encoding the styles for the new model…" if stale and stylizer is not None else ""
        if stylizer is not None and controls.style_keys and not stale:
            if controls.person_mode != "all":
                self.person.submit(src, frame.index)  # segmented on the captured frame, alongside the network
            out, styled = self._stylize(stylizer, small, controls, src.shape, frame.index)
        return Result(out, small, src, frame.index, frame.t_capture, time.monotonic(), controls, styled)

    def _stylize(self, stylizer, small: np.ndarray, controls: Controls, src_shape,
                 index: int = 0) -> tuple[np.ndarray, bool]:
        try:
            self._apply_styles(stylizer, controls)
            self._apply_learning(stylizer, controls)
            if self._reset_requested.is_set():
                self._reset_requested.clear()
                if callable(getattr(stylizer, "reset", None)):
                    stylizer.reset()  # forget temporal state: the source changed
                self.person.reset()
            stylizer.stabilize = controls.stabilize
            stylizer.match_palette = controls.palette
            out = self.person.stylize(stylizer, small, index, controls.person_mode, controls.alpha,
                                      controls.preserve_color)
            if self.person.error:
                self._report_once(self.person.error)
            else:
                self._last_error = ""
            return out, True
        except Exception as exc:  # noqa: BLE001 - a bad frame must never end the stream
            if is_out_of_memory(exc):
                self._on_out_of_memory(stylizer, controls, src_shape)
            elif _device_type(stylizer) == "cuda" and self._use_fallback(f"GPU failed ({_one_line(exc)})"):
                pass
            else:
                self._report_once(f"stylization failed: {type(exc).__name__}: {exc}")
                traceback.print_exc()
            return small, False

    def _apply_styles(self, stylizer, controls: Controls) -> None:
        split = controls.person_mode == "split" and controls.person_stats is not None
        key = (controls.style_keys, controls.weights, controls.person_key if split else None)
        if key == self._applied:
            return
        if split:  # style 0 on the person, the ticked blend on the background
            from engine.nets.adain import blend_stats
            from engine.runtime.person_style import set_split_styles

            set_split_styles(stylizer, controls.person_stats,
                             blend_stats(list(controls.style_stats), list(controls.weights)))
        elif self._applied is not None and self._applied[0] == controls.style_keys and self._applied[2] is None:
            stylizer.set_weights(list(controls.weights))
        else:
            digests = list(controls.style_digests) if len(controls.style_digests) == len(controls.style_keys) else None
            stylizer.set_styles(list(controls.style_stats), list(controls.weights), digests=digests)
        self._applied = key

    def _apply_learning(self, stylizer, controls: Controls) -> None:
        """Learned Real-time networks on or off, and one that became ready since the last frame."""
        if not hasattr(stylizer, "refresh_learned"):
            return
        changed = stylizer.use_learned != controls.learn
        stylizer.use_learned = controls.learn
        if changed or self._learned_refresh.is_set():
            self._learned_refresh.clear()
            stylizer.refresh_learned()

    def _on_out_of_memory(self, stylizer, controls: Controls, src_shape) -> None:
        try:
            import torch

            if stylizer.device.type == "cuda":
                torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001
            pass
        lower = lower_resolution(src_shape[1], src_shape[0], controls.resolution)
        if lower is None:
            self._report_once("out of memory even at the smallest resolution: showing the source unstyled")
            return
        self.controls = _replace(controls, resolution=lower)
        self.resolution_lowered.emit(lower)
        self.message.emit(f"out of {'GPU ' if stylizer.device.type == 'cuda' else ''}memory: "
                          f"processing resolution lowered to {lower} px")

    def _report_once(self, text: str) -> None:
        if text != self._last_error:
            self._last_error = text
            self.message.emit(text)


def cpu_fallback(device: str, model=lambda: "vgg"):
    """Factory of the CPU Stylizer that replaces a GPU one that fails; None where ``device``
    cannot mean a GPU (``cpu``, or ``auto`` on a machine without CUDA). ``model()``: the model
    choice (auto/lite/vgg) at build time."""
    import torch

    if str(device) == "cpu" or (str(device) == "auto" and not torch.cuda.is_available()):
        return None

    def build():
        from engine.runtime.stylizer import Stylizer

        return Stylizer(device="cpu", model=model())
    return build


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _device_type(stylizer) -> str:
    return getattr(getattr(stylizer, "device", None), "type", "cpu")


def _replace(controls: Controls, **changes) -> Controls:
    from dataclasses import replace

    return replace(controls, **changes)

