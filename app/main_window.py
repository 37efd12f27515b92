"""The main window: assembles the live view, toolbar, controls panel and gallery (entry point: :mod:`app.launch`).

The GUI thread only shows and controls. Frames go capture thread → frames slot → inference
thread → results slot → :class:`~app.view.VideoView` (see :mod:`app.threads`). Every control
change builds a new :class:`~app.pipeline.Controls` and swaps it into the inference thread, which
uses it from the next frame on.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QStackedWidget, QStyle, QWidget

from engine.media.imageio import IMAGE_SUFFIXES
from engine.media.sources import VIDEO_SUFFIXES

from .model_choice import ModelChoice
from .outputs_view import OutputsPanel
from .panels import ControlsPanel, NoSourcePage
from .source_control import SourceControl
from .style_library import StyleLibrary
from .saving import Saving, default_output_dir
from .toolbar import FILE_ITEM, MainToolbar
from .pipeline import Controls, LatestSlot
from .readout import FrameRateReadout
from .view import MODES, VideoView
from .widgets import ElidedLabel, wheel_only_when_focused
from .capture_worker import CaptureThread
from .inference_worker import InferenceThread, StylizerBox, cpu_fallback
from .job_worker import JobThread
from .learning import StyleLearning

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STYLES_DIR = ROOT / "assets" / "styles"
MESSAGE_MS = 8000


class MainWindow(QMainWindow):
    """The app window. ``stylizer_factory`` (a callable returning a Stylizer) lets tests inject a
    small model; by default the Stylizer is built with ``device`` in the inference thread (and
    rebuilt on the CPU if the GPU fails). ``opener``, ``camera_lister``, ``camera``: see
    :class:`~app.source_control.SourceControl`."""

    def __init__(self, source=None, styles=None, device: str = "auto", settings: QSettings | None = None,
                 stylizer_factory=None, output_dir=None, style_cache_dir=None,
                 default_styles_dir: str | os.PathLike = DEFAULT_STYLES_DIR, opener=None, camera_lister=None,
                 camera=None, model: str | None = None, learned_cache_dir=None):
        super().__init__()
        self.settings = settings or QSettings("adain-live", "adain-live")
        self.messages: list[str] = []  # everything shown in the status bar, newest last
        self.frames = LatestSlot()
        self.results = LatestSlot()
        self.box = StylizerBox()
        self.device_summary = ""
        self.source_info = ""
        self.readout = FrameRateReadout(self)  # the status bar's rate of stylized frames (app/readout.py)
        self.results_shown = 0  # stylized frames that reached the view (tools/app_fps.py)
        self._pushed_styles: tuple = ((), (), ())
        self._closed = False
        self.setWindowTitle("adain-live — live style transfer")
        self.setAcceptDrops(True)

        self._build_ui()
        self.saving = Saving(self, output_dir or self.settings.value("output_dir", "") or default_output_dir())
        self._restore_settings()
        self.inference = InferenceThread(self.frames, self.results, self.box,
                                         stylizer_factory or _default_factory(device, self._model),
                                         None if stylizer_factory else cpu_fallback(device, self._model))
        self.jobs = JobThread(self.box, style_cache_dir)
        self.models = ModelChoice(self, model)  # Real-time / Quality; read by the stylizer factories
        self.sources = SourceControl(self, opener, camera_lister, camera)
        self._connect_threads()
        self._push_controls()
        self.inference.start()
        self.jobs.start()
        self.learning = StyleLearning(self, learned_cache_dir)  # issue #28: learns the ticked style
        self.learning.status_changed.connect(self.learning_label.setText)
        self.learn_check.toggled.connect(self.learning.set_enabled)
        self.learning.set_enabled(self.learn_check.isChecked())
        self.jobs.learned_ready.connect(self.learning.on_learned_ready)
        self.inference.stylizer_ready.connect(lambda *_: self.learning.forget_ready())
        self.library = StyleLibrary(self.gallery, self.jobs, self.settings, self.show_message)
        self.library.load(styles, Path(default_styles_dir))
        self.set_source(source if source is not None else self.settings.value("source", "0"))
        self._readout_timer = QTimer(self, interval=500, timeout=self._update_readout)
        self._readout_timer.start()

    # --- UI construction ------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.view = VideoView()
        self.view.set_overlay("Loading the model…")
        self.no_source = NoSourcePage()
        self.no_source_label = self.no_source.detail
        self.no_source.pattern_button.clicked.connect(lambda: self.set_source("pattern"))
        self.no_source.file_button.clicked.connect(self._open_file_dialog)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.no_source)
        self.setCentralWidget(self.stack)
        self._build_toolbar()
        self._build_panel()
        self._build_status_bar()
        self.resize(1180, 720)

    def _build_toolbar(self) -> None:
        tb = self.toolbar = MainToolbar(self)
        self.addToolBar(tb)
        self.source_combo, self.resolution_combo = tb.source_combo, tb.resolution_combo
        self.mode_group, self.record_button = tb.mode_group, tb.record_button
        wheel_only_when_focused(self.source_combo, self.resolution_combo, tb.model_combo)
        self.source_combo.activated.connect(self._on_source_chosen)
        self.resolution_combo.currentIndexChanged.connect(self._on_resolution_chosen)
        self.mode_group.idClicked.connect(lambda i: self.set_view_mode(MODES[i]))
        tb.snapshot_action.triggered.connect(lambda: self.take_snapshot())
        self.record_button.clicked.connect(lambda: self.toggle_recording())
        tb.output_action.triggered.connect(lambda: self.saving.choose_output_dir())
        self.addAction(QAction(self, shortcut=QKeySequence("R"), triggered=self.record_button.click))
        self.addAction(QAction(self, shortcut=QKeySequence("V"), triggered=self._cycle_view))
        self.addAction(QAction(self, shortcut=QKeySequence("F11"), triggered=self._toggle_full_screen))

    def _build_panel(self) -> None:
        self.panel = ControlsPanel()
        p = self.panel
        self.alpha_slider, self.alpha_value = p.alpha_slider, p.alpha_value
        self.preserve_check, self.stabilize_check = p.preserve_check, p.stabilize_check
        self.palette_check, self.learn_check = p.palette_check, p.learn_check
        self.gallery, self.blend_panel, self.person_control = p.gallery, p.blend_panel, p.person
        self.person_control.changed.connect(self._on_person_changed)
        self.alpha_slider.valueChanged.connect(self._on_alpha)
        for check, key in ((self.preserve_check, "preserve_color"), (self.palette_check, "palette"),
                           (self.stabilize_check, "stabilize"), (self.learn_check, "learn")):  # remembered at once
            check.toggled.connect(lambda on, key=key: self._remember(key, bool(on)))
            check.toggled.connect(self._push_controls)
        self.gallery.changed.connect(self._on_gallery_changed)
        p.add_button.clicked.connect(self._add_styles_dialog)
        p.remove_button.clicked.connect(self._remove_selected)
        self.outputs = OutputsPanel(self.results)  # "Share": virtual camera, local stream
        self.outputs.message.connect(self.show_message)
        p.layout().addWidget(self.outputs)
        self.addAction(QAction(self, shortcut=QKeySequence.StandardKey.Delete, triggered=self._remove_selected))
        dock = QDockWidget("Controls", self)
        dock.setObjectName("controls")
        dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        dock.setTitleBarWidget(QWidget())
        dock.setWidget(p.scroll_area())
        dock.setMinimumWidth(p.preferred_width() + p.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent))
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.message_label = ElidedLabel()  # the newest message; elided with its full text as tooltip
        self.message_label.setObjectName("message")
        bar.addWidget(self.message_label, 1)
        self._message_timer = QTimer(self, singleShot=True, interval=MESSAGE_MS,
                                     timeout=lambda: self.message_label.setText(""))
        self.record_label = QLabel()
        self.record_label.setStyleSheet("color: #ff6b6b; font-weight: bold;")
        self.source_label = QLabel()
        self.device_label = QLabel("loading model…")
        self.learning_label = ElidedLabel()  # "Learning Starry Night for Real-time — 40 %, about 1 min left"
        self.learning_label.setObjectName("learning")
        bar.addWidget(self.learning_label, 1)
        self.fps_label = QLabel("– fps")
        for w in (self.record_label, self.source_label, self.device_label, self.fps_label):
            bar.addPermanentWidget(w)

    # --- threads ----------------------------------------------------------------------------
    def _connect_threads(self) -> None:
        inf = self.inference
        inf.result_ready.connect(self._on_result)
        inf.stylizer_ready.connect(self._on_stylizer_ready)
        inf.message.connect(self.show_message)
        inf.resolution_lowered.connect(self._on_resolution_lowered)
        inf.recording_started.connect(self.saving.on_recording_started)
        inf.recording_finished.connect(self.saving.on_recording_finished)
        self.jobs.style_ready.connect(self._on_style_ready)
        self.jobs.style_failed.connect(self._on_style_failed)
        self.jobs.snapshot_done.connect(lambda path, message: self.show_message(message))

    def set_source(self, spec) -> None:
        """Switch to another source (camera index, 'pattern', file path); never waits for the old one."""
        self.sources.set_source(spec)

    @property
    def capture(self) -> CaptureThread | None:
        return self.sources.capture

    def _on_stylizer_ready(self, summary: str) -> None:
        self.device_summary = summary
        self.device_label.setText(summary)
        cuda = self.box.stylizer is not None and self.box.stylizer.device.type == "cuda"
        if self._auto_resolution and cuda:  # first run on a GPU: more detail by default
            self._set_resolution(512)
            self._raised_for_gpu = True
        elif not cuda and getattr(self, "_raised_for_gpu", False):  # the GPU failed: back to the CPU's size
            self._raised_for_gpu = False
            if self.resolution_combo.currentData() == 512:
                self._set_resolution(256)
        self._push_controls()

    def _on_result(self) -> None:
        self.inference.acknowledge()
        _, result = self.results.latest()
        if result is None or self._closed:
            return
        self.view.set_result(result)
        self.results_shown += 1
        self.readout.add(result)
        self.view.set_overlay(self._overlay_text(result))

    def _overlay_text(self, result) -> str:
        if result.styled or self.view.mode == "original":
            return ""
        if not self.box.ready.is_set():
            return "Loading the model…"
        if self.box.stylizer is None:
            return "No model loaded: showing the camera unstyled"
        if any(not e.ready for e in self.gallery.checked_entries(ready_only=False)):
            return "Encoding the style…"
        if not self.gallery.checked_entries():
            return ("Drop a painting on the window to start" if not self.gallery.entries
                    else "Tick a style in the gallery")
        return ""

    def _update_readout(self) -> None:
        self.fps_label.setText(self.readout.text())
        if self.inference.recording:
            self.record_label.setText(self.saving.recording_label())

    # --- controls -----------------------------------------------------------------------------
    def current_controls(self) -> Controls:
        styles = self._pushed_styles
        ticked = self.gallery.checked_entries(ready_only=False)
        if all(e.ready for e in ticked):  # while a ticked style is encoding, keep the previous styles
            shares = self.gallery.normalised_weights() if ticked else {}
            styles = (tuple(e.path for e in ticked), tuple(e.stats for e in ticked),
                      tuple(shares[e.path] for e in ticked))
            self._pushed_styles = styles
        return Controls(alpha=self.alpha_slider.value() / 100.0, preserve_color=self.preserve_check.isChecked(),
                        palette=self.palette_check.isChecked(),
                        resolution=int(self.resolution_combo.currentData()), style_keys=styles[0],
                        style_stats=styles[1], weights=styles[2], stabilize=self.stabilize_check.isChecked(),
                        style_digests=tuple(self.jobs.digests.get(p, "") for p in styles[0])
                        if hasattr(self, "jobs") else (), learn=self.learn_check.isChecked(),
                        **self.person_control.fields())

    def _on_resolution_chosen(self, *_) -> None:
        self._auto_resolution = False
        self._remember("resolution", int(self.resolution_combo.currentData()))
        self._push_controls()

    def _on_person_changed(self) -> None:
        if hasattr(self, "library"):  # not while the saved choice is being restored
            self.person_control.save(self.settings)
        self._push_controls()

    def _remember(self, key: str, value) -> None:
        """Store a control's value at once (QSettings writes it to disk from the event loop), so
        every control survives a restart, even one after a crash or a killed process."""
        self.settings.setValue(key, value)

    def _push_controls(self, *_) -> None:
        if hasattr(self, "inference"):
            self.inference.controls = self.current_controls()

    def _on_alpha(self, value: int) -> None:
        self.alpha_value.setText(f"{value}%")
        self._remember("alpha", int(value))
        self._push_controls()

    def _set_resolution(self, side: int) -> None:
        self.toolbar.set_resolution(side)

    def _on_resolution_lowered(self, side: int) -> None:
        self._set_resolution(side)

    def set_view_mode(self, mode: str) -> None:
        self.mode_group.button(MODES.index(mode)).setChecked(True)
        self.view.set_mode(mode)
        self._remember("view_mode", mode)

    def _cycle_view(self) -> None:
        self.set_view_mode(MODES[(MODES.index(self.view.mode) + 1) % len(MODES)])

    def _toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    # --- gallery --------------------------------------------------------------------------------
    def add_style_paths(self, paths, select_first_new: bool = True) -> list[str]:
        """Add image files and folders to the gallery; refused items are reported in the status bar.
        Returns the paths queued for encoding."""
        return self.library.add_paths(paths, select_first_new)

    def _on_style_ready(self, path: str, stats, thumb, cached: bool) -> None:
        if not self.models.stale(stats):  # encoded for the model before a switch: it comes again
            self.gallery.set_ready(path, stats, thumb)

    def forget_pushed_styles(self) -> None:
        self._pushed_styles = ((), (), ())
        self._push_controls()

    def _model(self) -> str:  # read by the stylizer factories in the inference thread (a str)
        return self.models.factory_model()

    def _on_style_failed(self, path: str, reason: str) -> None:
        self.gallery.remove(path)
        self.show_message(f"refused: {reason}")

    def _on_gallery_changed(self) -> None:
        self._push_controls()
        self.library.save()

    def _remove_selected(self) -> None:
        removed = self.gallery.remove_selected()
        if removed:
            self.show_message(f"removed {len(removed)} style{'s' if len(removed) > 1 else ''}")

    def _add_styles_dialog(self) -> None:
        exts = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(self, "Add style images", "", f"Images ({exts})")
        if files:
            self.add_style_paths(files)

    # --- drag and drop --------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        paths = [u.toLocalFile() for u in urls if u.isLocalFile()]
        if not paths:
            self.show_message("refused: only local image files or folders can be dropped")
            event.ignore()
            return
        event.acceptProposedAction()
        videos = [p for p in paths if Path(p).suffix.lower() in VIDEO_SUFFIXES and Path(p).is_file()]
        if len(videos) == 1 and len(paths) == 1:  # a dropped video becomes the source
            self.set_source(videos[0])
            return
        self.add_style_paths(paths)

    # --- snapshot and recording (app/saving.py) ---------------------------------------------------
    def take_snapshot(self) -> str | None:
        """Queue a full-resolution PNG of the newest frame; returns its path (saved asynchronously)."""
        return self.saving.snapshot()

    def toggle_recording(self) -> str | None:
        """Start (returns the target path) or stop recording the stylized video."""
        return self.saving.toggle_recording()

    @property
    def last_recording(self) -> tuple[str, int, str] | None:
        return self.saving.last_recording

    @property
    def output_dir(self) -> Path:
        return self.saving.output_dir

    # --- source chooser ---------------------------------------------------------------------------
    def _on_source_chosen(self, index: int) -> None:
        data = self.source_combo.itemData(index)
        if data == FILE_ITEM:
            self._open_file_dialog()
        else:
            self.set_source(data)

    def _open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video or image", "",
                                              "Videos and images (*.mp4 *.mov *.avi *.mkv *.webm *.m4v "
                                              + " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES)) + ");;All files (*)")
        if path:
            self.set_source(path)
        else:
            self._select_source_item(str(self.settings.value("source", "0")))

    def _select_source_item(self, spec: str) -> None:
        self.toolbar.select_source(spec)

    # --- messages, settings, shutdown --------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """Show ``text`` in the status bar for a few seconds (shortened with "…" and whole in its
        tooltip when it does not fit); ``messages`` keeps every one."""
        self.messages.append(text)
        self.message_label.setText(text)
        self._message_timer.start()

    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.alpha_slider.setValue(_int(s.value("alpha", 100), 100))
        self.preserve_check.setChecked(_bool(s.value("preserve_color", False)))
        self.palette_check.setChecked(_bool(s.value("palette", True)))
        self.stabilize_check.setChecked(_bool(s.value("stabilize", True)))  # on unless turned off
        self.learn_check.setChecked(_bool(s.value("learn", True)))
        auto_resolution = not s.contains("resolution")  # until the user picks one
        self._set_resolution(_int(s.value("resolution", 256), 256))
        self.person_control.restore(s)
        self._auto_resolution = auto_resolution
        if auto_resolution:
            s.remove("resolution")  # set above only by restoring the default
        mode = str(s.value("view_mode", "stylized"))
        self.set_view_mode(mode if mode in MODES else "stylized")

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("alpha", self.alpha_slider.value())
        s.setValue("preserve_color", self.preserve_check.isChecked())
        s.setValue("palette", self.palette_check.isChecked())
        s.setValue("stabilize", self.stabilize_check.isChecked())
        s.setValue("learn", self.learn_check.isChecked())
        s.setValue("resolution", int(self.resolution_combo.currentData()))
        s.setValue("view_mode", self.view.mode)
        s.setValue("mirror", self.sources.mirror)
        self.person_control.save(s)
        self.library.save()
        s.sync()

    def threads(self) -> list:
        return [t for t in (self.capture, self.inference, self.jobs) if t is not None]

    def shutdown(self) -> None:
        """Save settings and stop every thread (a recording in progress is finalised). The capture
        thread is retired, not waited for (see :mod:`app.threads`)."""
        if self._closed:
            return
        self._closed = True
        self._readout_timer.stop()
        self.learning.shutdown()
        self._save_settings()
        self.outputs.shutdown()
        capture = self.capture
        self.sources.shutdown()
        self.inference.stop()
        self.jobs.stop()
        self.stopped_threads = [t for t in (capture, self.inference, self.jobs) if t is not None]

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)


# --- helpers -----------------------------------------------------------------------------------

def _default_factory(device: str, model):
    """The Stylizer on ``device`` with the chosen ``model()``; if that fails on a GPU, the
    inference thread falls back to :func:`~app.inference_worker.cpu_fallback` with a one-line notice."""
    def build():
        from engine.runtime.stylizer import Stylizer

        return Stylizer(device=device, model=model())
    return build


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _bool(value) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")
