"""Snapshots and recordings: where they go, their file names, and the record button's state.

The GUI thread only queues work: snapshots are written by the jobs thread, recordings by the
recording thread (``app.recording_worker``), both atomically. A recording holds what the view
shows: at the size the frame is drawn (never above the source's own size) and at the source's
frame rate; the record button's tooltip and the REC label say which.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog

DEFAULT_FPS = 30.0  # for a source that does not say its frame rate
RECORD_TIP = "Record what the view shows to MP4 (R)"


def default_output_dir() -> Path:
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(pictures or Path.home()) / "adain-live"


class Saving:
    """Snapshot and recording actions of ``window`` (its results slot, jobs and inference threads,
    record button and label, settings and messages)."""

    def __init__(self, window, output_dir):
        self.window = window
        self.output_dir = Path(output_dir)
        self.last_recording: tuple[str, int, str] | None = None
        self._record_started = 0.0
        self._recording = False  # asked for and not stopped: the recording thread may not know yet
        self._format = ""  # "640×480, 30 fps" of the recording in progress
        window.view.resized.connect(self.show_recording_format)

    def snapshot(self) -> str | None:
        w = self.window
        _, result = w.results.latest()
        if result is None:
            w.show_message("snapshot: no frame yet")
            return None
        path = unique_path(self.output_dir, "snapshot", ".png")
        w.jobs.snapshot(result, str(path))
        w.show_message(f"saving snapshot {path.name}…")
        return str(path)

    def toggle_recording(self) -> str | None:
        w = self.window
        if self._recording or w.inference.recording:
            self._recording = False
            w.inference.stop_recording()  # also cancels a start the thread has not seen yet
            w.record_button.setChecked(False)
            return None
        path = unique_path(self.output_dir, "recording", ".mp4")
        size, fps = self.recording_format()
        self._format = format_text(size, fps)
        self._recording = True
        w.inference.request_recording(str(path), fps, size)
        w.record_button.setChecked(True)
        return str(path)

    def recording_format(self) -> tuple[tuple[int, int] | None, float]:
        """The size (w, h; None: the frames' own, no source open yet) and frame rate a recording
        started now gets: the size the view draws the source at, at most the source's size (an
        upscale adds no detail), and the source's frame rate (1–60)."""
        sources = getattr(self.window, "sources", None)
        source_size = getattr(sources, "size", None)
        fps = float(getattr(sources, "fps", 0.0) or 0.0)
        fps = min(fps, 60.0) if fps >= 1.0 else DEFAULT_FPS
        if source_size is None:
            return None, fps
        shown = self.window.view.shown_size(source_size)
        return (shown if shown[0] < source_size[0] else tuple(source_size)), fps

    def show_recording_format(self) -> None:
        """Say on the record button at what size and rate a recording would be made now."""
        size, fps = self.recording_format()
        self.window.record_button.setToolTip(f"{RECORD_TIP}: {format_text(size, fps)}")

    def recording_label(self) -> str:
        secs = int(time.monotonic() - self._record_started)
        return f"● REC {secs // 60:02d}:{secs % 60:02d} · {self._format}"

    def on_recording_started(self, path: str) -> None:
        w = self.window
        self._record_started = time.monotonic()
        w.record_label.setText(f"● REC 00:00 · {self._format}")
        w.record_button.setChecked(True)
        w.show_message(f"recording to {path} ({self._format})")

    def on_recording_finished(self, path: str, frames: int, error: str) -> None:
        w = self.window
        self._recording = False
        w.record_label.setText("")
        w.record_button.setChecked(False)
        self.last_recording = (path, frames, error)
        w.show_message(f"recording saved: {path} ({frames} frames)" if path else f"recording: {error}")

    def choose_output_dir(self) -> None:
        w = self.window
        folder = QFileDialog.getExistingDirectory(w, "Save snapshots and recordings in", str(self.output_dir))
        if folder:
            self.output_dir = Path(folder)
            w.settings.setValue("output_dir", folder)
            w.show_message(f"saving to {folder}")


def format_text(size: tuple[int, int] | None, fps: float) -> str:
    """"640×480, 30 fps" (sizes made even, as the file will be)."""
    from .recorder import even_size

    rate = f"{fps:.0f}" if abs(fps - round(fps)) < 0.01 else f"{fps:.2f}"
    return f"{'×'.join(map(str, even_size(*size))) if size else 'the frames’ size'}, {rate} fps"


def unique_path(folder: Path, prefix: str, suffix: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"{prefix}-{stamp}{suffix}"
    n = 2
    while path.exists():
        path = folder / f"{prefix}-{stamp}-{n}{suffix}"
        n += 1
    return path
