"""The window's video source: which capture thread feeds the frames slot, the camera list, the
mirror toggle, and the "no source" page. The GUI thread never waits on a camera here:

- :meth:`SourceControl.set_source` starts a new :class:`~app.capture_worker.CaptureThread` and
  :func:`~app.threads.retire`-s the old one (its stop flag is set; a read or open stuck in the
  driver for seconds finishes on that thread's own time). A new capture of the same device waits
  for the retired one to let go of it — on its own thread.
- Cameras are listed with their names on a background thread
  (:func:`engine.media.camera.list_cameras`) and fill the toolbar's source list.
- "Mirror" (on by default, remembered in the settings) flips selfie cameras left–right on the
  capture thread; files and the test pattern are never flipped.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from .capture_worker import CaptureThread
from .threads import StoppableThread, retire, retiring


class CameraLister(StoppableThread):
    """Runs ``lister()`` (→ list of :class:`~engine.media.camera.CameraInfo`) once, off the GUI."""

    listed = Signal(object)

    def __init__(self, lister):
        super().__init__("camera list")
        self.lister = lister

    def run(self) -> None:
        try:
            cameras = list(self.lister())
        except Exception:  # noqa: BLE001 - no list: the fixed choices stay
            return
        if not self.stopping:
            self.listed.emit(cameras)


class SourceControl(QObject):
    """Owns the window's capture thread. ``opener`` (``spec -> FrameSource``), ``camera_lister``
    and ``camera`` (a :class:`~engine.media.camera.CameraRequest`) are for tests and options."""

    def __init__(self, window, opener=None, camera_lister=None, camera=None):
        super().__init__(window)
        from engine.media.camera import list_cameras

        self.window, self.opener, self.camera = window, opener, camera
        self.capture: CaptureThread | None = None
        self.cameras: list = []
        self.last_camera = "0"  # what "Try camera … again" retries
        self.size: tuple[int, int] | None = None  # the open source's frame size (w, h) …
        self.fps = 0.0  # … and frame rate; None / 0 until it has opened
        self.mirror = _bool(window.settings.value("mirror", True))
        window.toolbar.mirror_button.setChecked(self.mirror)
        window.toolbar.mirror_button.toggled.connect(self.set_mirror)
        window.no_source.camera_button.clicked.connect(lambda: self.set_source(self.last_camera))
        self.lister = CameraLister(camera_lister or list_cameras)
        self.lister.listed.connect(self._on_cameras_listed)
        self.lister.start()

    def set_source(self, spec) -> None:
        """Switch to another source (camera index, 'pattern', file path); returns at once."""
        spec = str(spec)
        self.stop()
        self.size, self.fps = None, 0.0
        w = self.window
        w.frames.clear()
        w.inference.reset_temporal_state()
        holding = [t for t in retiring() if getattr(t, "spec", None) == spec]  # same device, not let go yet
        thread = CaptureThread(spec, w.frames, opener=self.opener, camera=self.camera,
                               predecessor=holding[-1] if holding else None, mirror=self.mirror)
        thread.opened.connect(self._on_opened)
        thread.failed.connect(self._on_failed)
        thread.message.connect(w.show_message)
        self.capture = thread
        thread.start()
        if _is_camera(spec):
            self.last_camera = spec
            w.no_source.camera_button.setText(f"Try {self._camera_label(spec)} again")
        w.settings.setValue("source", spec)
        w.toolbar.select_source(spec)

    def stop(self) -> None:
        """Retire the capture thread: its stop flag is set, nothing waits for it here."""
        if self.capture is not None:
            for sig in (self.capture.opened, self.capture.failed, self.capture.message):
                sig.disconnect()
            retire(self.capture)
            self.capture = None

    def shutdown(self) -> None:
        self.stop()
        retire(self.lister)

    def set_mirror(self, on: bool) -> None:
        self.mirror = bool(on)
        self.window.settings.setValue("mirror", self.mirror)
        if self.capture is not None:
            self.capture.mirror = self.mirror  # read per frame by the capture thread
        self._tell_outputs()

    def _tell_outputs(self) -> None:
        """The Share outputs flip a mirrored selfie view back (others see the true orientation)."""
        source = getattr(self.capture, "source", None)
        self.window.outputs.set_mirrored(self.mirror and bool(getattr(source, "selfie", False)))

    def _on_opened(self, description: str, w: int, h: int, fps: float) -> None:
        win = self.window
        details = getattr(self.capture.source, "details", "") if self.capture is not None else ""
        win.source_info = f"{description} {w}×{h}"
        self.size, self.fps = (w, h), fps
        win.saving.show_recording_format()
        win.source_label.setText(win.source_info)
        win.outputs.set_fps(fps)  # the virtual camera runs at the source's rate
        self._tell_outputs()
        win.stack.setCurrentWidget(win.view)
        win.show_message(f"source: {description} ({details or f'{w}×{h}, {fps:.0f} fps'})")

    def _on_failed(self, reason: str) -> None:
        win = self.window
        win.no_source_label.setText(f"{reason}\n\nChoose another source, or plug a camera in and try again:")
        win.stack.setCurrentWidget(win.no_source)
        win.source_label.setText("no source")
        win.show_message(reason)

    def _on_cameras_listed(self, cameras: list) -> None:
        self.cameras = cameras
        self.window.toolbar.set_cameras([(str(c.index), c.name) for c in cameras])
        if self.capture is not None:
            self.window.toolbar.select_source(self.capture.spec)

    def _camera_label(self, spec: str) -> str:
        named = [c.name for c in self.cameras if str(c.index) == spec]
        return f"camera {spec} ({named[0]})" if named else f"camera {spec}"


def _is_camera(spec: str) -> bool:
    return spec.isdigit() or spec.startswith("/dev/video")


def _bool(value) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")
