"""Snapshots and recordings: where they go, their file names, and the record button's state.

The GUI thread only queues work: snapshots are written by the jobs thread, recordings by the
inference thread (``app.recorder``), both atomically.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog


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
        self._recording = False  # asked for and not stopped: the inference thread may not know yet

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
        fps = min(max(round(w.fps) if w.fps else 15, 5), 30)
        self._recording = True
        w.inference.request_recording(str(path), fps)
        w.record_button.setChecked(True)
        return str(path)

    def recording_label(self) -> str:
        secs = int(time.monotonic() - self._record_started)
        return f"● REC {secs // 60:02d}:{secs % 60:02d}"

    def on_recording_started(self, path: str) -> None:
        w = self.window
        self._record_started = time.monotonic()
        w.record_label.setText("● REC 00:00")
        w.record_button.setChecked(True)
        w.show_message(f"recording to {path}")

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


def unique_path(folder: Path, prefix: str, suffix: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"{prefix}-{stamp}{suffix}"
    n = 2
    while path.exists():
        path = folder / f"{prefix}-{stamp}-{n}{suffix}"
        n += 1
    return path
