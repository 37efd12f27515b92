"""The "Share" group: the stylized video in other apps, through a virtual camera (Zoom, Meet,
Teams, OBS pick it like a webcam) and a stream on this computer (OBS, a browser, VLC open its URL).

The panel owns the engine outputs (:mod:`engine.media.outputs`) and :class:`OutputFeeder`, the
thread that offers each new result to them; each output sends from its own threads, so neither a
slow device nor a slow stream client ever reaches the capture, inference or GUI threads. A failure
(no v4l2loopback device, port in use) is shown in the panel and the status bar and the toggle goes
back off; nothing here ends the app. The outputs get the camera's true orientation: a mirrored
selfie view (the window's Mirror toggle) is flipped back, as call apps mirror only the self-view.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QCheckBox, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QToolButton, QVBoxLayout,
                               QWidget)

from engine.media.outputs.base import OutputError
from engine.media.outputs.mjpeg import MjpegServer
from engine.media.outputs.virtualcam import VirtualCamera

from .threads import POLL_S, StoppableThread
from .widgets import CommandRow

DEFAULT_PORT = 8765
PORT_TRIES = 10  # DEFAULT_PORT … DEFAULT_PORT + 9: the first free one


class OutputFeeder(StoppableThread):
    """Offers the stylized frame of every new result in ``results`` (a LatestSlot) to each output."""

    def __init__(self, results):
        super().__init__("outputs")
        self.results = results
        self.outputs: tuple = ()  # replaced, never mutated: the thread reads it without a lock
        self.unmirror = False  # the window mirrors a selfie camera: others must see it unmirrored

    def add(self, output) -> None:
        self.outputs = self.outputs + (output,)
        if not self.isRunning():
            self.start()

    def remove(self, output) -> None:
        self.outputs = tuple(o for o in self.outputs if o is not output)

    def run(self) -> None:
        seq = self.results.latest()[0]
        while not self.stopping:
            item = self.results.wait_newer(seq, POLL_S)
            if item is None:
                continue
            seq, result = item
            if result is None:
                continue
            frame = result.stylized
            if self.unmirror:  # call apps mirror the self-view themselves; the others see this
                frame = np.ascontiguousarray(frame[:, ::-1])
            for output in self.outputs:
                output.put(frame)


class OutputsPanel(QGroupBox):
    """"Virtual camera" and "Stream on localhost" toggles, the stream's URL with a copy button
    (shown while streaming), a line for errors and state, and a failure's fix command with its own
    copy button. ``message`` repeats each notice for the status bar, shortened to one line that
    points here when the full text holds a command."""

    message = Signal(str)
    _vcam_failed = Signal(object, str)  # (camera, one-line reason), emitted from the camera thread

    def __init__(self, results, parent=None, port: int = DEFAULT_PORT, vcam_backend: str | None = None):
        super().__init__("Share", parent)
        self.feeder = OutputFeeder(results)
        self.port, self.vcam_backend = port, vcam_backend
        self.fps = 30.0
        self.server: MjpegServer | None = None
        self.vcam: VirtualCamera | None = None
        self._build()
        self._vcam_failed.connect(self._on_vcam_failed)
        self._timer = QTimer(self, interval=1000, timeout=self._update_state)
        self._timer.start()

    def _build(self) -> None:
        v = QVBoxLayout(self)
        self.vcam_check = QCheckBox("Virtual camera")
        self.vcam_check.setToolTip("A webcam named adain-live for Zoom, Meet, Teams or OBS "
                                   "(Linux: v4l2loopback; Windows, macOS: OBS Studio's virtual camera)")
        self.stream_check = QCheckBox("Stream on localhost")
        self.stream_check.setToolTip("An MJPEG stream on this computer only (127.0.0.1): "
                                     "open the URL in OBS (Media Source), a browser or VLC")
        toggles = QHBoxLayout()
        toggles.addWidget(self.vcam_check)
        toggles.addWidget(self.stream_check)
        toggles.addStretch(1)
        v.addLayout(toggles)
        self.url_row = QWidget()
        url_row = QHBoxLayout(self.url_row)
        url_row.setContentsMargins(0, 0, 0, 0)
        self.url_field = QLineEdit(readOnly=True, placeholderText="stream off")
        self.url_field.setMinimumWidth(120)
        self.copy_button = QToolButton(text="Copy", enabled=False, toolTip="Copy the stream's URL")
        url_row.addWidget(self.url_field, 1)
        url_row.addWidget(self.copy_button)
        self.url_row.hide()  # shown while the stream is on
        v.addWidget(self.url_row)
        self.state_label = QLabel(objectName="hint", wordWrap=True)
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_label.hide()
        v.addWidget(self.state_label)
        self.error_label = QLabel(wordWrap=True, objectName="error")
        self.error_label.setStyleSheet("color: #ff8a80;")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        v.addWidget(self.error_label)
        self.fix_row = CommandRow()  # a failure's fix, when it is a command to run
        self.fix_row.hide()
        v.addWidget(self.fix_row)
        self.vcam_check.toggled.connect(self._on_vcam_toggled)
        self.stream_check.toggled.connect(self._on_stream_toggled)
        self.copy_button.clicked.connect(self.copy_url)
        self.fix_row.copied.connect(self.message)

    # --- the window's hooks -----------------------------------------------------------------
    def set_fps(self, fps: float) -> None:
        """The source's frame rate: the virtual camera sends at this rate."""
        self.fps = fps
        if self.vcam is not None:
            self.vcam.fps = fps

    def set_mirrored(self, mirrored: bool) -> None:
        """The window shows the camera mirrored (a selfie view): the outputs flip it back."""
        self.feeder.unmirror = bool(mirrored)

    def copy_url(self) -> None:
        QGuiApplication.clipboard().setText(self.url_field.text())
        self.message.emit("stream URL copied")

    def shutdown(self) -> None:
        """Stop the feeder and every output (the port and the device are released)."""
        self._timer.stop()
        self.feeder.stop(2000)
        if self.server is not None:
            self.server.stop()  # returns within the server's poll interval
        if self.vcam is not None:
            self.vcam.stop(timeout=0.5)  # a device stuck in a write is not waited for longer
        self.server = self.vcam = None

    # --- stream -----------------------------------------------------------------------------
    def _on_stream_toggled(self, on: bool) -> None:
        if not on:
            self._stop_stream()
            return
        try:
            self.server = _start_server(self.port)
        except OutputError as exc:
            self._fail(self.stream_check, str(exc))
            return
        self.feeder.add(self.server)
        self.url_field.setText(self.server.url)
        self.copy_button.setEnabled(True)
        self.url_row.show()
        self._clear_error()
        self.message.emit(f"streaming at {self.server.url}")

    def _stop_stream(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            self.feeder.remove(server)
            server.stop()
        self.url_field.clear()
        self.copy_button.setEnabled(False)
        self.url_row.hide()

    # --- virtual camera -----------------------------------------------------------------------
    def _on_vcam_toggled(self, on: bool) -> None:
        if not on:
            vcam, self.vcam = self.vcam, None
            if vcam is not None:
                self.feeder.remove(vcam)
                vcam.stop(timeout=0)  # its thread closes the device; the GUI never waits on it
            return
        vcam = VirtualCamera(self.fps, backend=self.vcam_backend,
                             on_error=lambda text: self._vcam_failed.emit(vcam, text))
        self.vcam = vcam
        vcam.start()  # opens the device in its own thread, at the first frame's size
        self.feeder.add(vcam)
        self._clear_error()

    def _on_vcam_failed(self, vcam, text: str) -> None:
        if vcam is not self.vcam:
            return  # an older camera, already switched off
        self.feeder.remove(vcam)
        self.vcam = None
        self._fail(self.vcam_check, text)

    # --- state --------------------------------------------------------------------------------
    def _update_state(self) -> None:
        parts = []
        vcam = self.vcam
        if vcam is not None and vcam.size is not None:
            parts.append(f"virtual camera {vcam.device_name}: {vcam.size[0]}×{vcam.size[1]} at {vcam.fps:.0f} fps"
                         + (f" ({vcam.note})" if vcam.note else ""))
        elif vcam is not None:
            parts.append("virtual camera: waiting for the first frame…")
        if self.server is not None:
            n = self.server.clients
            parts.append(f"stream: {n} viewer{'' if n == 1 else 's'}")
        self.state_label.setText(" · ".join(parts))
        self.state_label.setVisible(bool(parts))

    def _fail(self, check: QCheckBox, text: str) -> None:
        check.blockSignals(True)
        check.setChecked(False)
        check.blockSignals(False)
        reason, command = split_fix_command(text)
        self.error_label.setText(reason + (" Fix: run this command, then try again:" if command else ""))
        self.error_label.show()
        if command:
            self.fix_row.set_command(command)
        self.fix_row.setVisible(bool(command))
        self.message.emit(f"{reason.rstrip('.')} (the fix is in the Share group)" if command else text)

    def _clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()
        self.fix_row.hide()


#: How a failure's text names a command to run: "… Fix: <command>" or "… (pip install …)".
_COMMAND_STARTS = ("sudo ", "pip ", "python ")


def split_fix_command(text: str) -> tuple[str, str | None]:
    """(the reason, the command that fixes it) when ``text`` ends with a command to run
    ("… Fix: sudo modprobe …", "… (pip install pyvirtualcam)"); else (``text``, None)."""
    head, sep, fix = text.rpartition(" Fix: ")
    if sep and fix.startswith(_COMMAND_STARTS):
        return head.strip(), fix.strip()
    head, sep, fix = text.rpartition(" (")
    if sep and fix.endswith(")") and fix.startswith(_COMMAND_STARTS):
        return head.strip(), fix[:-1].strip()
    return text, None


def _start_server(port: int) -> MjpegServer:
    """A stream server on 127.0.0.1 at the first free port from ``port`` on."""
    error = None
    for candidate in range(port, port + PORT_TRIES) if port else (0,):
        try:
            return MjpegServer("127.0.0.1", candidate).start()
        except OutputError as exc:
            error = error or exc
    raise OutputError(f"{error} (and the next {PORT_TRIES - 1} ports)")
