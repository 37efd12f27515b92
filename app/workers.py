"""The app's worker threads. Each stage has one owner:

- :class:`CaptureThread` owns the frame source; it writes each frame into the frames slot.
- :class:`InferenceThread` owns the :class:`~engine.runtime.stylizer.Stylizer` and the recorder; it
  takes the newest frame and the current :class:`~app.pipeline.Controls`, stylizes, and puts a
  :class:`~app.pipeline.Result` into the results slot.
- :class:`JobThread` does the slow one-off work off the frame path: encoding added styles
  (through the on-disk style cache) and full-resolution snapshots.

Threads stop with a flag, then ``quit()``/``wait()``; never ``terminate()``. The GUI thread
never waits on the camera: a capture thread that is replaced or closed is :func:`retire`-d (flag
set, kept referenced until it has finished, since a QThread destroyed while running aborts the
process) and :func:`wait_retired` joins it later, off the GUI's event handling.
"""
from __future__ import annotations

import collections
import contextlib
import functools
import inspect
import itertools
import os
import queue
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThread, Signal

from engine.errors import InputError

from .pipeline import Controls, Frame, LatestSlot, Result, is_out_of_memory, lower_resolution, \
    processing_size

POLL_S = 0.1  # how often a waiting thread looks at its stop flag
RECONNECT_EVERY_S = 1.0
PERMISSION_WAIT_S = 120.0  # macOS: how long to keep retrying while the camera permission prompt is up
SNAPSHOT_MAX_SHORT_SIDE = 1080  # larger sources are stylized at this size and upscaled
JOB_NICENESS = 10  # style encoding and snapshots must not slow the live video down


class StoppableThread(QThread):
    """A QThread with a stop flag; :meth:`stop` sets it and waits for ``run`` to return."""

    def __init__(self, name: str):
        super().__init__()
        self.setObjectName(name)
        self._stop_event = threading.Event()

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    def sleep_unless_stopped(self, seconds: float) -> bool:
        """Sleep; True when woken by :meth:`stop`."""
        return self._stop_event.wait(seconds)

    def request_stop(self) -> None:
        """Set the stop flag and return at once; ``run`` returns when its current call does."""
        self._stop_event.set()
        self.quit()

    def stop(self, timeout_ms: int = 10_000) -> bool:
        """Stop and wait. Not for a thread that may be blocked in a device: :func:`retire` it."""
        self.request_stop()
        return self.wait(timeout_ms)


_retiring: list[QThread] = []
_retiring_lock = threading.Lock()


def retire(thread: StoppableThread) -> None:
    """Tell ``thread`` to stop without waiting (a camera read or open can block for 10–20 s) and
    keep it referenced until it has finished."""
    thread.request_stop()
    with _retiring_lock:
        _retiring[:] = [t for t in _retiring if t.isRunning()]  # Qt waits itself for one inside finish()
        if thread.isRunning():
            _retiring.append(thread)


def retiring() -> list[QThread]:
    """Retired threads that are still running."""
    with _retiring_lock:
        _retiring[:] = [t for t in _retiring if t.isRunning()]
        return list(_retiring)


def leave_when_retired(code: int, timeout_s: float = 30.0) -> int:
    """At exit, after the window is gone: wait for retired threads; if one is still blocked in a
    driver after ``timeout_s``, end the process now (destroying a running QThread aborts it)."""
    if wait_retired(timeout_s):
        return code
    print(f"a camera driver has not returned after {timeout_s:.0f} s; exiting without waiting for it",
          file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def wait_retired(timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for every retired thread to finish (at exit, after the window is
    gone, or in tests); True when none is left running."""
    deadline = time.monotonic() + timeout_s
    for thread in retiring():
        thread.wait(max(0, int(1000 * (deadline - time.monotonic()))))
    return not retiring()


class StylizerBox:
    """The stylizer, shared read-only with the job thread once the inference thread built it."""

    def __init__(self):
        self.stylizer = None
        self.error: str | None = None
        self.ready = threading.Event()

    def set(self, stylizer, error: str | None = None) -> None:
        self.stylizer, self.error = stylizer, error
        self.ready.set()


# --- capture ----------------------------------------------------------------------------------

class CaptureThread(StoppableThread):
    """Opens the source (in this thread: cameras can be slow) and feeds the frames slot.

    ``predecessor``: a retired capture thread of the same device; this one opens only after it
    has let go of the device. ``mirror`` (settable any time) flips selfie cameras left–right
    here, on the capture thread. ``camera``: the :class:`~engine.media.camera.CameraRequest`.
    """

    opened = Signal(str, int, int, float)  # description, width, height, fps
    failed = Signal(str)  # the source could not be opened: one-line reason
    message = Signal(str)

    def __init__(self, spec, frames: LatestSlot, opener=None, camera=None, predecessor: QThread | None = None,
                 mirror: bool = False):
        super().__init__("capture")
        from engine.media.sources import open_source

        self.spec = spec
        self.frames = frames
        self.opener = opener or functools.partial(open_source, camera=camera)
        self.predecessor = predecessor
        self.mirror = mirror
        self.source = None
        self.frames_read = 0

    def run(self) -> None:
        while self.predecessor is not None and not self.predecessor.wait(int(1000 * POLL_S)):
            if self.stopping:
                return
        self.predecessor = None
        src = self._open()
        if src is None:
            return
        self.source = src
        self.opened.emit(src.description, src.size[0], src.size[1], float(src.fps))
        try:
            self._loop(src)
        finally:
            src.close()

    def _open(self):
        """The opened source, or None (reported through ``failed``). Retries while the OS may
        still be asking the user for camera permission (macOS)."""
        from engine.media.camera import CameraUnavailable

        start, reported = time.monotonic(), False
        while not self.stopping:
            try:
                return self._call_opener()
            except CameraUnavailable as exc:
                if not exc.waiting or time.monotonic() - start > PERMISSION_WAIT_S:
                    self.failed.emit(str(exc))
                    return None
                if not reported:
                    self.failed.emit(str(exc))
                    reported = True
                self.sleep_unless_stopped(RECONNECT_EVERY_S)
            except InputError as exc:
                self.failed.emit(str(exc))
                return None
            except Exception as exc:  # noqa: BLE001 - any driver failure is reported, not raised
                self.failed.emit(f"{self.spec}: cannot open ({type(exc).__name__}: {exc})")
                return None
        return None

    def _call_opener(self):
        """``opener(spec)``, passing the stop flag where the opener takes one."""
        try:
            params = inspect.signature(self.opener).parameters.values()
            takes_stop = any(p.name == "stop" or p.kind is p.VAR_KEYWORD for p in params)
        except (TypeError, ValueError):
            takes_stop = False
        return self.opener(self.spec, stop=self._stop_event) if takes_stop else self.opener(self.spec)

    def _loop(self, src) -> None:
        import cv2

        from engine.media.sources import SourceLost

        while not self.stopping:
            try:
                image = src.read()
            except SourceLost as exc:
                if self.stopping or not self._reconnect(src, str(exc)):
                    return
                continue
            except Exception as exc:  # noqa: BLE001 - keep the app alive, report once per failure
                self.message.emit(f"{src.description}: read failed ({exc}); retrying")
                self.sleep_unless_stopped(RECONNECT_EVERY_S)
                continue
            if self.stopping:
                return  # a frame that arrived after the switch belongs to no one
            if self.mirror and getattr(src, "selfie", False):
                image = cv2.flip(image, 1)
            self.frames.put(Frame(image, time.monotonic(), self.frames_read))
            self.frames_read += 1

    def _reconnect(self, src, reason: str) -> bool:
        if not hasattr(src, "reconnect"):
            self.message.emit(f"{reason}; no more frames")
            return False
        self.message.emit(f"{reason}: camera lost, reconnecting…")
        attempts = 0
        while not self.stopping:
            attempts += 1
            if src.reconnect():
                self.message.emit(f"{src.description}: reconnected")
                return True
            if attempts == 1 or attempts % 10 == 0:
                self.message.emit(f"{src.description}: still lost, retrying every {RECONNECT_EVERY_S:.0f} s "
                                  f"(attempt {attempts})")
            self.sleep_unless_stopped(RECONNECT_EVERY_S)
        return False


# --- inference --------------------------------------------------------------------------------

class InferenceThread(StoppableThread):
    """Stylizes the newest frame with the current controls; publishes the newest result.

    ``controls`` is replaced (never mutated) by the GUI; ``request_recording`` /
    ``stop_recording`` are picked up at the next frame.
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
        self._record_request: tuple | None = None  # ("start", path, fps) | ("stop",)
        self._recorder = None
        self._last_error = ""
        self._reset_requested = threading.Event()
        self._reload_requested = threading.Event()
        self._stale_controls = None  # controls of the model before a reload: not used with the new one
        from engine.runtime.person_style import LivePerson

        self.person = LivePerson()  # person-aware styling: the mask thread, started on first use

    # GUI side ------------------------------------------------------------------------------
    def acknowledge(self) -> None:
        """The GUI consumed the notification: the next result may notify again."""
        self._notify_pending.clear()

    def request_recording(self, path: str, fps: float) -> None:
        self._record_request = ("start", path, fps)

    def stop_recording(self) -> None:
        self._record_request = ("stop",)

    def request_reload(self) -> None:
        """Build the stylizer again (another model was chosen) before the next frame."""
        self._reload_requested.set()

    def reset_temporal_state(self) -> None:
        """The source changed: the stabilizer must not blend across the cut."""
        self._reset_requested.set()

    @property
    def recording(self) -> bool:
        return self._recorder is not None

    # thread side ---------------------------------------------------------------------------
    def run(self) -> None:
        self.stylizer = self._build_stylizer()
        seq = 0
        try:
            while not self.stopping:
                item = self.frames.wait_newer(seq, POLL_S)
                self._service_recording()
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
                self._record(result)
                if not self._notify_pending.is_set():
                    self._notify_pending.set()
                    self.result_ready.emit()
        finally:
            self._finish_recording()
            self.person.close()

    def _build_stylizer(self):
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
        if stylizer is not None and controls.style_keys and controls is not self._stale_controls:
            if controls.person_mode != "all":
                self.person.submit(src, frame.index)  # segmented on the captured frame, alongside the network
            out, styled = self._stylize(stylizer, small, controls, src.shape, frame.index)
        return Result(out, small, src, frame.index, frame.t_capture, time.monotonic(), controls, styled)

    def _stylize(self, stylizer, small: np.ndarray, controls: Controls, src_shape,
                 index: int = 0) -> tuple[np.ndarray, bool]:
        try:
            self._apply_styles(stylizer, controls)
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
            stylizer.set_styles(list(controls.style_stats), list(controls.weights))
        self._applied = key

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

    # recording -------------------------------------------------------------------------------
    def _service_recording(self) -> None:
        request, self._record_request = self._record_request, None
        if request is None:
            return
        if request[0] == "stop":
            self._finish_recording()
            return
        self._finish_recording()
        from .recorder import Recorder

        try:
            self._recorder = Recorder(request[1], request[2])
        except (InputError, OSError) as exc:
            self.recording_finished.emit("", 0, str(exc))
            return
        self.recording_started.emit(request[1])

    def _record(self, result: Result) -> None:
        if self._recorder is None:
            return
        try:
            self._recorder.write(result.stylized, result.t_done)
        except (InputError, OSError) as exc:
            self._recorder.abort()
            self._recorder = None
            self.recording_finished.emit("", 0, str(exc))

    def _finish_recording(self) -> None:
        rec, self._recorder = self._recorder, None
        if rec is None:
            return
        try:
            path = rec.finish()
            self.recording_finished.emit(str(path) if path else "", rec.frames_written,
                                         "" if path else "nothing was recorded")
        except OSError as exc:
            rec.abort()
            self.recording_finished.emit("", 0, f"{rec.path}: cannot save ({exc})")


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


# --- one-off jobs: style encoding, snapshots ----------------------------------------------------

class JobThread(StoppableThread):
    """Encodes added styles and renders snapshots, one job at a time, off the frame path."""

    style_ready = Signal(str, object, object, bool)  # path, StyleStats (CPU), thumbnail RGB, cached
    style_failed = Signal(str, str)  # path, one-line reason
    snapshot_done = Signal(str, str)  # path ('' on failure), message
    THUMB = 96

    def __init__(self, box: StylizerBox, cache_root=None):
        super().__init__("jobs")
        self.box = box
        self.cache_root = cache_root
        self._jobs: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()  # FIFO within a priority
        self.encode_intervals: list[tuple[float, float]] = []  # (start, end) of each real encode

    def add_style(self, path: str, urgent: bool = False) -> None:
        """Queue a style for encoding; ``urgent`` ones (ticked by the user) go first."""
        self._put(0 if urgent else 1, ("style", path))

    def snapshot(self, result: Result, path: str) -> None:
        self._put(0, ("snapshot", result, path))

    def _put(self, priority: int, job: tuple) -> None:
        self._jobs.put((priority, next(self._order), job))

    def run(self) -> None:
        lower_thread_priority(JOB_NICENESS)
        while not self.stopping:
            try:
                _, _, job = self._jobs.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if not self._wait_for_stylizer():
                return
            try:
                if job[0] == "style":
                    self._encode(job[1])
                else:
                    self._snapshot(job[1], job[2])
            except Exception as exc:  # noqa: BLE001 - report, keep the thread alive
                traceback.print_exc()
                target = job[1] if job[0] == "style" else job[2]
                if job[0] == "style":
                    self.style_failed.emit(target, f"{target}: {type(exc).__name__}: {exc}")
                else:
                    self.snapshot_done.emit("", f"snapshot failed: {exc}")

    def _wait_for_stylizer(self) -> bool:
        while not self.box.ready.wait(POLL_S):
            if self.stopping:
                return False
        return not self.stopping

    def _encode(self, path: str) -> None:
        from engine.media.imageio import load_image_rgb
        from engine.runtime.style_cache import StyleCache, encode_style_file

        try:
            rgb = load_image_rgb(path)
        except InputError as exc:
            self.style_failed.emit(path, str(exc))
            return
        thumb = make_thumbnail(rgb, self.THUMB)
        st = self.box.stylizer
        if st is None:
            self.style_failed.emit(path, f"{Path(path).name}: cannot encode styles, {self.box.error}")
            return
        cache = StyleCache(st.encoder_id, st.style_side, self.cache_root)
        t0 = time.monotonic()
        stats, cached = encode_style_file(st, path, cache, rgb=rgb)
        if not cached:
            self.encode_intervals.append((t0, time.monotonic()))
        self.style_ready.emit(path, stats, thumb, cached)

    def _snapshot(self, result: Result, path: str) -> None:
        from engine.media.imageio import save_image_rgb

        full, note = self._full_resolution(result)
        save_image_rgb(np.ascontiguousarray(full[:, :, ::-1]), path)
        h, w = full.shape[:2]
        self.snapshot_done.emit(path, f"snapshot saved: {path} ({w}x{h}{note})")

    def _full_resolution(self, result: Result) -> tuple[np.ndarray, str]:
        """The result's frame stylized again at the source's full resolution (BGR)."""
        import cv2

        src = result.source
        size = (src.shape[1], src.shape[0])
        st = self.box.stylizer
        if not result.styled or st is None:
            return src, ""
        work = processing_size(size[0], size[1], SNAPSHOT_MAX_SHORT_SIDE)
        frame = src if work == size else cv2.resize(src, work, interpolation=cv2.INTER_AREA)
        try:
            out = stylize_still(st, frame, result.controls, self._person_mask(frame, result.controls))
            note = "" if work == size else f", stylized at {work[0]}x{work[1]} and upscaled"
        except Exception as exc:  # noqa: BLE001 - fall back to the live result
            if not is_out_of_memory(exc):
                raise
            out, note = result.stylized, ", upscaled from the live view (out of memory at full size)"
        if (out.shape[1], out.shape[0]) != size:
            out = cv2.resize(out, size, interpolation=cv2.INTER_CUBIC)
        return out, note


    def _person_mask(self, frame_bgr: np.ndarray, controls: Controls) -> np.ndarray | None:
        """The snapshot frame's own person mask (``HxW``) in a person mode, else None."""
        if controls.person_mode == "all":
            return None
        from engine.runtime.person import SelfieSegmenter, person_mask

        if getattr(self, "_segmenter", None) is None:
            self._segmenter = SelfieSegmenter()  # this thread's own: interpreters are not shared
        return person_mask(self._segmenter, np.ascontiguousarray(frame_bgr[:, :, ::-1]))


def lower_thread_priority(niceness: int) -> None:
    """Make the calling thread (and the worker threads it creates from now on, e.g. its
    OpenMP team) yield the CPU to the frame path. Linux only; elsewhere a no-op."""
    if not hasattr(os, "setpriority") or sys.platform != "linux":
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
    except OSError:
        pass


def stylize_still(stylizer, frame_bgr: np.ndarray, controls: Controls,
                  person: np.ndarray | None = None) -> np.ndarray:
    """Stylize one frame with the stylizer's current styles, outside the live stream: BGR uint8
    in and out. The plan is passed as a copy because the stylizer feeds only frames of its *own*
    current plan to the temporal stabilizer, whose state belongs to the live stream. ``person``:
    the frame's person mask (``HxW``) in a person mode."""
    import dataclasses

    import torch

    from engine.runtime.person_style import composite, region_masks

    plan = stylizer.plan
    if plan is None:
        return frame_bgr
    with getattr(stylizer, "device_lock", None) or contextlib.nullcontext(), torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(frame_bgr)).to(stylizer.device)
        x = x.permute(2, 0, 1).unsqueeze(0).flip(1).to(stylizer.dtype).div_(255.0)
        x = x.contiguous(memory_format=getattr(stylizer, "memory_format", torch.contiguous_format))
        split = person is not None and controls.person_mode == "split"
        y = stylizer.stylize_tensor(x, alpha=controls.alpha, preserve_color=controls.preserve_color,
                                    plan=dataclasses.replace(plan), masks=region_masks(person) if split else None,
                                    palette=controls.palette)
        y = (y[0].flip(0).float() * 255.0).add_(0.5).clamp_(0, 255).to(torch.uint8)
        out = y.permute(1, 2, 0).contiguous().cpu().numpy()
    if person is None or controls.person_mode not in ("keep_person", "keep_background"):
        return out
    return composite(out, frame_bgr, person if controls.person_mode == "keep_person" else 1.0 - person)


def make_thumbnail(rgb: np.ndarray, side: int) -> np.ndarray:
    """Square centre crop scaled to ``side`` (``side x side x 3`` uint8 RGB)."""
    import cv2

    h, w = rgb.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    crop = rgb[y0:y0 + s, x0:x0 + s]
    interp = cv2.INTER_AREA if s > side else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(crop, (side, side), interpolation=interp))
