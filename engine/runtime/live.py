"""The window-less live mode: a source, the stylizer, and the outputs that other apps read.

``run_live(options, stop)`` opens the source, starts the outputs (the MJPEG stream server, the
virtual camera), loads the stylizer and runs until ``stop`` is set, printing a status line every
``status_every`` seconds. Threads, one owner each:

- **capture** owns the :class:`~engine.media.sources.FrameSource` and writes each frame into a
  newest-frame slot (older frames are dropped, never queued); it reconnects a lost camera;
- **inference** owns the :class:`~engine.runtime.stylizer.Stylizer`: it takes the newest frame,
  resizes it to the processing size, stylizes it and offers the result to every output, whose
  own threads send it (``put`` never blocks, so a slow client or device never slows inference);
- the caller's thread waits for ``stop`` and prints the status.

On ``stop`` the outputs close first (port and virtual camera released at once), then capture
(the source is closed) and inference end, the latter after the frame in flight.
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from engine.media.outputs.base import OutputError
from engine.slots import NewestSlot
from engine.media.outputs.mjpeg import MjpegServer
from engine.media.outputs.virtualcam import VirtualCamera

STATUS_EVERY_S = 5.0
POLL_S = 0.1
RECONNECT_EVERY_S = 1.0
JOIN_TIMEOUT_S = 3.0


@dataclass
class LiveOptions:
    """What ``main.py live`` was asked for (plain values; parsing is the CLI's job)."""

    source: str = "0"
    camera: object = None  # engine.media.camera.CameraRequest for a camera (None: the default mode)
    styles: list = field(default_factory=list)  # image paths or HxWx3 uint8 RGB arrays
    weights: list[float] | None = None
    alpha: float = 1.0
    palette: bool = True  # the painting's colour distribution (engine.nets.palette)
    stabilize: bool = True
    size: int | None = None  # processing size (shorter side); None: 256 on CPU, 512 on CUDA
    serve: tuple[str, int] | None = None  # (host, port) of the stream server
    token: str | None = None
    virtual_cam: bool = False
    vcam_backend: str | None = None  # pyvirtualcam backend name (None: the platform's)
    device: str = "auto"
    decoder: str | None = None
    encoder: str | None = None
    model: str = "auto"  # auto | lite | vgg (engine.runtime.stylizer.resolve_model)
    lite: str | None = None  # lite weights (None: models/lite.safetensors, else the candidate)
    status_every: float = STATUS_EVERY_S


def processing_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(w, h) with the shorter side ``short_side`` and even sides (video devices want 4:2:0
    friendly sizes); never upscaled."""
    scale = min(1.0, short_side / min(width, height))
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


class LiveRun:
    """The threads of one live run. Build, :meth:`start`, then :meth:`stop` (idempotent)."""

    def __init__(self, source, stylizer, out_size: tuple[int, int], outputs: list, log=print, companion=None):
        self.source, self.stylizer, self.out_size = source, stylizer, out_size
        self.outputs = outputs
        self.companion = companion  # sees each processed frame (e.g. learning the style, issue #28)
        self.log = log
        self.frames = NewestSlot()
        self.frames_read = 0
        self.frames_done = 0
        self.last_error = ""
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._capture_loop, name="capture", daemon=True),
                         threading.Thread(target=self._inference_loop, name="inference", daemon=True)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def request_stop(self) -> None:
        """Ask both threads to end (returns at once)."""
        self._stop.set()
        self.frames.close()

    def stop(self) -> bool:
        """Stop capture and inference (the source is closed by its thread); True when both ended."""
        self.request_stop()
        for thread in self._threads:
            if thread.ident is not None:
                thread.join(JOIN_TIMEOUT_S)
        return not any(t.is_alive() for t in self._threads)

    @property
    def alive(self) -> bool:
        return all(t.is_alive() for t in self._threads)

    # --- capture thread ---------------------------------------------------------------------
    def _capture_loop(self) -> None:
        from engine.media.sources import SourceLost

        src = self.source
        try:
            while not self._stop.is_set():
                try:
                    frame = src.read()
                except SourceLost as exc:
                    if not self._reconnect(src, str(exc)):
                        return
                    continue
                self.frames.put(frame)
                self.frames_read += 1
        except Exception as exc:  # noqa: BLE001 - reported; the status line shows the stall
            self.last_error = f"{src.description}: read failed: {type(exc).__name__}: {exc}"
            self.log(self.last_error)
        finally:
            src.close()

    def _reconnect(self, src, reason: str) -> bool:
        if self._stop.is_set():
            return False
        if not hasattr(src, "reconnect"):
            self.log(f"{reason}; no more frames")
            return False
        self.log(f"{reason}: reconnecting every {RECONNECT_EVERY_S:.0f} s…")
        while not self._stop.wait(RECONNECT_EVERY_S):
            if src.reconnect():
                self.log(f"{src.description}: reconnected")
                return True
        return False

    # --- inference thread -------------------------------------------------------------------
    def _inference_loop(self) -> None:
        import cv2

        seq = 0
        while not self._stop.is_set():
            item = self.frames.wait_newer(seq, POLL_S)
            if item is None:
                continue
            seq, frame = item
            if (frame.shape[1], frame.shape[0]) != self.out_size:
                frame = cv2.resize(frame, self.out_size, interpolation=cv2.INTER_AREA)
            out = self._stylize(frame)
            for output in self.outputs:
                output.put(out)
            self.frames_done += 1
            if self.companion is not None:
                self.companion.on_frame(frame)

    def _stylize(self, frame: np.ndarray) -> np.ndarray:
        try:
            out = self.stylizer(frame)
            self.last_error = ""
            return out
        except Exception as exc:  # noqa: BLE001 - a bad frame must never end the stream
            text = f"stylization failed: {type(exc).__name__}: {exc}; sending the frame unstyled"
            if text != self.last_error:
                self.last_error = text
                self.log(text)
            return frame


def run_live(options: LiveOptions, stop: threading.Event, stylizer_factory=None, out=None,
             opener=None, companion=None) -> int:
    """Run until ``stop`` is set; returns the exit code (0 after a clean stop).

    Raises :class:`~engine.errors.InputError` (bad source or style) and
    :class:`~engine.media.outputs.base.OutputError` (port in use, no virtual camera device) before
    anything runs. ``stylizer_factory(device)`` builds the stylizer and ``opener(spec, camera=,
    stop=)`` opens the source (default :func:`~engine.media.sources.open_source`; tests pass fakes).
    ``companion``: runs beside the stream (``start(stylizer)``, ``on_frame(bgr)`` from the inference
    thread, ``tick(log)`` from this thread twice a second, ``close()`` at the stop), e.g.
    :class:`engine.learn.live.LiveLearning`, which learns the style in the background.
    """
    from engine.media.sources import open_source
    from engine.runtime.stylizer import pick_device

    out = out or sys.stdout

    def log(text: str) -> None:
        print(text, file=out, flush=True)

    device = pick_device(options.device)
    source = (opener or open_source)(options.source, camera=options.camera, stop=stop)  # stop cuts retries
    outputs: list = []
    run = None
    try:
        width, height = source.size
        short = options.size or (512 if device.type == "cuda" else 256)
        size = processing_size(width, height, short)
        outputs = _start_outputs(options, size, float(source.fps), log)
        stylizer = (stylizer_factory or _default_factory(options))(device)
        stylizer.set_styles(list(options.styles), options.weights)
        stylizer.alpha = options.alpha
        stylizer.match_palette = options.palette
        stylizer.stabilize = options.stabilize
        if stop.is_set():
            return 0
        log(f"live: {source.description} {width}x{height} at {source.fps:.0f} fps → stylized at "
            f"{size[0]}x{size[1]}; Ctrl-C stops")
        run = LiveRun(source, stylizer, size, outputs, log, companion)
        source = None  # the capture thread owns and closes it now
        if companion is not None:
            companion.start(stylizer)
        run.start()
        try:
            code = _wait_and_report(run, outputs, stop, options.status_every, log, companion)
        finally:  # also when the caller's signal handler raised (engine/cli/signals.py)
            run.request_stop()
            if companion is not None:
                companion.close()  # a learning process ends within a second
            close_background = getattr(getattr(stylizer, "lite", None), "close", None)
            if close_background is not None:
                close_background(0)  # no new OpenVINO compile from now on (waited for below)
            for output in outputs:  # port and device first: a frame in flight may take a while
                output.stop()
            run.stop()
            if close_background is not None:
                close_background(JOIN_TIMEOUT_S)
            log(f"live: stopped after {run.frames_done} frames")
        return code
    finally:
        for output in outputs:
            output.stop()
        if source is not None:
            source.close()
        if run is None and stop.is_set():
            log("live: stopped before the first frame")


def _start_outputs(options: LiveOptions, size: tuple[int, int], fps: float, log) -> list:
    outputs = []
    try:
        if options.serve is not None:
            server = MjpegServer(*options.serve, token=options.token).start()
            outputs.append(server)
            log(f"stream: {server.url}  (OBS, VLC, OpenCV: {server.stream_url()})")
        if options.virtual_cam:
            vcam = VirtualCamera(fps, backend=options.vcam_backend,
                                 on_error=lambda msg: log(f"{msg} (virtual camera stopped)"))
            device = vcam.open(*size)
            vcam.start()
            outputs.append(vcam)
            log(f"virtual camera: {device} {size[0]}x{size[1]} at {vcam.fps:.0f} fps")
    except OutputError:
        for output in outputs:
            output.stop()
        raise
    return outputs


def _wait_and_report(run: LiveRun, outputs: list, stop: threading.Event, every: float, log,
                     companion=None) -> int:
    """Print the status every ``every`` s until ``stop`` (→ 0) or the source ends (→ 1)."""
    started = last_t = time.monotonic()
    last_done = 0
    while not stop.wait(min(every, 0.5)):
        if companion is not None:
            companion.tick(log)
        if not run.alive:
            log("live: the source stopped delivering frames")
            return 1
        now = time.monotonic()
        if now - last_t >= every:
            fps = (run.frames_done - last_done) / (now - last_t)
            last_t, last_done = now, run.frames_done
            log(status_line(fps, run, outputs, now - started))
    return 0


def status_line(fps: float, run: LiveRun, outputs: list, uptime: float) -> str:
    """One line: FPS, processing size, stream clients, virtual camera, uptime."""
    parts = [f"live: {fps:.2f} FPS", f"{run.out_size[0]}x{run.out_size[1]}"]
    for output in outputs:
        if isinstance(output, MjpegServer):
            n = output.clients
            parts.append(f"stream {n} client{'' if n == 1 else 's'}")
        elif isinstance(output, VirtualCamera):
            parts.append("virtual camera " + (f"{output.frames_sent} frames sent" if output.error is None
                                              else "stopped"))
    parts.append(f"up {int(uptime) // 60}:{int(uptime) % 60:02d}")
    if run.last_error:
        parts.append(run.last_error)
    return " · ".join(parts)


def _default_factory(options: LiveOptions):
    def build(device):
        from engine.runtime.stylizer import Stylizer

        return Stylizer(device=device, decoder=options.decoder, encoder=options.encoder, model=options.model,
                        lite=options.lite)
    return build
