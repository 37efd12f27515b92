"""The window's toolbar: source, mirror, processing resolution, model, view mode, snapshot, record, output folder.

Only widgets; the window connects their signals.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import QButtonGroup, QComboBox, QLabel, QSizePolicy, QToolBar, QToolButton, QWidget

from .pipeline import RESOLUTIONS, resolution_label
from .view import MODES

CAMERA_CHOICES = (0, 1, 2)
FILE_ITEM = "__file__"  # the source combo's "Video or image file…" entry


class MainToolbar(QToolBar):
    """``source_combo`` (data: source spec or :data:`FILE_ITEM`), ``mirror_button`` (checkable),
    ``resolution_combo`` (data:
    shorter side), ``mode_group`` (ids index :data:`~app.view.MODES`), ``snapshot_action``,
    ``record_button`` (checkable), ``output_action``."""

    def __init__(self, parent=None):
        super().__init__("Main", parent)
        self.setObjectName("toolbar")
        self.setMovable(False)
        self.setIconSize(QSize(12, 12))
        self._add_source_and_resolution()
        self.addSeparator()
        self._add_view_modes()
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        self._add_outputs()

    def _add_source_and_resolution(self) -> None:
        self.addWidget(QLabel("Source"))
        self.source_combo = QComboBox()
        self.source_combo.setMinimumWidth(150)
        for index in CAMERA_CHOICES:
            self.source_combo.addItem(f"Camera {index}", str(index))
        self.source_combo.addItem("Test pattern", "pattern")
        self.source_combo.addItem("Video or image file…", FILE_ITEM)
        self.addWidget(self.source_combo)
        self.mirror_button = QToolButton(text="Mirror", checkable=True)
        self.mirror_button.setToolTip("Flip the camera left–right, like a mirror (cameras only)")
        self.addWidget(self.mirror_button)
        self.addWidget(QLabel("Resolution"))
        self.resolution_combo = QComboBox()
        for side in RESOLUTIONS:
            self.resolution_combo.addItem(resolution_label(side), side)
        self.resolution_combo.setToolTip("Processing size (shorter side). Lower is faster.")
        self.addWidget(self.resolution_combo)
        self.model_combo = QComboBox(objectName="model")  # filled by app.model_choice
        self.addWidget(self.model_combo)

    def _add_view_modes(self) -> None:
        self.mode_group = QButtonGroup(self)
        for i, (mode, text) in enumerate(zip(MODES, ("Stylized", "Split", "Original"))):
            button = QToolButton(text=text, checkable=True)
            button.setToolTip({"split": "Original left, stylized right; drag the divider",
                               "original": "Show the camera as it is"}.get(mode, "Show the stylized video"))
            self.mode_group.addButton(button, i)
            self.addWidget(button)
        self.mode_group.button(0).setChecked(True)

    def _add_outputs(self) -> None:
        self.snapshot_action = QAction("Snapshot", self, shortcut=QKeySequence("S"),
                                       toolTip="Save a full-resolution PNG (S)")
        self.addAction(self.snapshot_action)
        self.record_button = QToolButton(text="Record", checkable=True, objectName="record")
        self.record_button.setIcon(dot_icon(QColor(220, 60, 60)))
        self.record_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.record_button.setToolTip("Record the stylized video to MP4 (R)")
        self.addWidget(self.record_button)
        self.output_action = QAction("Output folder…", self, toolTip="Where snapshots and recordings are saved")
        self.addAction(self.output_action)

    def select_source(self, spec: str) -> None:
        """Show ``spec`` as the current source, adding an item for a file or another camera."""
        from pathlib import Path

        index = self.source_combo.findData(spec)
        if index < 0:
            label = ("Test pattern" if spec.startswith("pattern") else f"Camera {spec}" if spec.isdigit()
                     else Path(spec).name or spec)
            index = self.source_combo.count() - 1
            self.source_combo.insertItem(index, label, spec)
        self.source_combo.setCurrentIndex(index)

    def set_cameras(self, cameras: list[tuple[str, str]]) -> None:
        """Replace the camera items by ``(spec, name)`` pairs, listed first."""
        for i in reversed(range(self.source_combo.count())):
            if str(self.source_combo.itemData(i)).isdigit():
                self.source_combo.removeItem(i)
        for i, (spec, name) in enumerate(cameras):
            self.source_combo.insertItem(i, name if len(name) <= 32 else name[:31] + "…", spec)
            self.source_combo.setItemData(i, f"camera {spec}: {name}", Qt.ItemDataRole.ToolTipRole)

    def set_resolution(self, side: int) -> None:
        index = self.resolution_combo.findData(side)
        if index < 0:
            self.resolution_combo.addItem(resolution_label(side), side)
            index = self.resolution_combo.count() - 1
        self.resolution_combo.setCurrentIndex(index)


def dot_icon(colour: QColor) -> QIcon:
    pm = QPixmap(14, 14)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(colour)
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(1, 1, 12, 12)
    p.end()
    return QIcon(pm)
