"""The style gallery (thumbnails; tick to use, several to blend) and the blend-weight panel.

The gallery holds one :class:`StyleEntry` per style file. An entry is *pending* until the job
thread has encoded it (then ``stats`` is set); only ticked, ready entries reach the engine.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QGridLayout, QLabel, QListView, QListWidget, QListWidgetItem,
                               QSlider, QVBoxLayout, QWidget)

from .widgets import wheel_only_when_focused

ICON = 64
PATH_ROLE = Qt.ItemDataRole.UserRole
DEFAULT_WEIGHT = 50


@dataclass
class StyleEntry:
    path: str
    stats: object = None  # StyleStats once encoded
    weight: int = DEFAULT_WEIGHT  # slider value 0..100 (normalised over ticked styles)
    thumb: QPixmap | None = None
    progress: float | None = None  # learning for the Real-time model (app/learning.py), 0..1

    @property
    def ready(self) -> bool:
        return self.stats is not None

    @property
    def name(self) -> str:
        return Path(self.path).stem


def rgb_pixmap(rgb: np.ndarray) -> QPixmap:
    """Deep-copied pixmap of an ``HxWx3`` uint8 RGB array (safe to drop the array after)."""
    arr = np.ascontiguousarray(rgb)
    h, w = arr.shape[:2]
    return QPixmap.fromImage(QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888).copy())


def placeholder_pixmap(side: int = ICON) -> QPixmap:
    pm = QPixmap(side, side)
    pm.fill(QColor(60, 62, 68))
    p = QPainter(pm)
    font = p.font()
    font.setPointSizeF(7.5)
    p.setFont(font)
    p.setPen(QColor(170, 170, 175))
    p.drawText(pm.rect(), Qt.AlignmentFlag.AlignCenter, "encoding")
    p.end()
    return pm


def progress_pixmap(thumb: QPixmap, progress: float) -> QPixmap:
    """``thumb`` with a learning-progress bar (``progress`` in [0, 1]) along its foot."""
    pm = QPixmap(thumb)
    p = QPainter(pm)
    h = max(4, pm.height() // 10)
    p.fillRect(0, pm.height() - h, pm.width(), h, QColor(20, 20, 24, 200))
    p.fillRect(0, pm.height() - h, round(pm.width() * min(max(progress, 0.0), 1.0)), h, QColor(90, 200, 120))
    p.end()
    return pm


class StyleGallery(QWidget):
    """Thumbnail grid with tick boxes. Emits ``changed`` when ticks, weights or readiness change
    and ``remove_requested`` never: removal is immediate via :meth:`remove_selected`."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.entries: dict[str, StyleEntry] = {}
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(ICON, ICON))
        self.list.setGridSize(QSize(ICON + 22, ICON + 30))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWordWrap(False)
        self.list.setUniformItemSizes(True)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.NoDragDrop)
        self.list.setAcceptDrops(False)
        self.list.viewport().setAcceptDrops(False)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setMinimumHeight(2 * (ICON + 30) + 8)
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.itemDoubleClicked.connect(self._solo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        self._updating = False

    # entries -----------------------------------------------------------------------------------
    def add_pending(self, path: str, checked: bool = False, weight: int = DEFAULT_WEIGHT) -> bool:
        """Add a style being encoded; False when it is already in the gallery."""
        if path in self.entries:
            return False
        entry = StyleEntry(path, weight=weight)
        self.entries[path] = entry
        item = QListWidgetItem(QIcon(placeholder_pixmap()), _short(entry.name))
        item.setData(PATH_ROLE, path)
        item.setToolTip(f"{path}\nencoding…")
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self._updating = True
        self.list.addItem(item)
        self._updating = False
        return True

    def set_ready(self, path: str, stats, thumb_rgb: np.ndarray | None) -> None:
        entry = self.entries.get(path)
        if entry is None:  # removed while encoding
            return
        entry.stats = stats
        item = self._item(path)
        if thumb_rgb is not None:
            entry.thumb = rgb_pixmap(thumb_rgb)
            item.setIcon(QIcon(entry.thumb))
        item.setToolTip(f"{path}\nTick to use; tick several to blend. Double-click: use only this one.")
        self.changed.emit()

    def remove(self, path: str) -> None:
        if self.entries.pop(path, None) is None:
            return
        self.list.takeItem(self.list.row(self._item(path)))
        self.changed.emit()

    def remove_selected(self) -> list[str]:
        paths = [item.data(PATH_ROLE) for item in self.list.selectedItems()]
        for path in paths:
            self.entries.pop(path, None)
            self.list.takeItem(self.list.row(self._item(path)))
        if paths:
            self.changed.emit()
        return paths

    def paths(self) -> list[str]:
        return [self.list.item(i).data(PATH_ROLE) for i in range(self.list.count())]

    def is_checked(self, path: str) -> bool:
        return self._item(path).checkState() == Qt.CheckState.Checked

    def set_checked(self, path: str, checked: bool) -> None:
        self._item(path).setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def check_only(self, paths: list[str]) -> None:
        self._updating = True
        for p in self.paths():
            self.set_checked(p, p in paths)
        self._updating = False
        self.changed.emit()

    def checked_entries(self, ready_only: bool = True) -> list[StyleEntry]:
        out = [self.entries[p] for p in self.paths() if self.is_checked(p)]
        return [e for e in out if e.ready] if ready_only else out

    def set_weight(self, path: str, weight: int) -> None:
        self.entries[path].weight = int(weight)
        self.changed.emit()

    def normalised_weights(self) -> dict[str, float]:
        """Weights of the ticked, ready styles, summing to 1 (equal when all sliders are at 0)."""
        entries = self.checked_entries()
        total = sum(e.weight for e in entries)
        if total <= 0:
            return {e.path: 1.0 / len(entries) for e in entries}
        return {e.path: e.weight / total for e in entries}

    def set_progress(self, path: str, progress: float | None) -> None:
        """Show learning progress (0..1) on a style's thumbnail (a bar along its foot and the
        percentage before its name); None takes it away."""
        entry = self.entries.get(path)
        if entry is None or entry.thumb is None or getattr(entry, "progress", None) == progress:
            return
        entry.progress = progress
        item = self._item(path)
        self._updating = True  # not a tick change
        if progress is None:
            item.setIcon(QIcon(entry.thumb))
            item.setText(_short(entry.name))
        else:
            item.setIcon(QIcon(progress_pixmap(entry.thumb, progress)))
            item.setText(f"{100 * progress:.0f}% {_short(entry.name, 7)}")
        self._updating = False

    # internals ---------------------------------------------------------------------------------
    def _item(self, path: str) -> QListWidgetItem:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(PATH_ROLE) == path:
                return item
        raise KeyError(path)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if not self._updating:
            self.changed.emit()

    def _solo(self, item: QListWidgetItem) -> None:
        self.check_only([item.data(PATH_ROLE)])


class BlendPanel(QWidget):
    """One weight slider per ticked style, each with the normalised share in %, once two or more
    ticked styles are ready; otherwise one line says what to do (or that the style is encoding),
    so the group is never empty and never shows a slider that does nothing."""

    def __init__(self, gallery: StyleGallery, parent=None):
        super().__init__(parent)
        self.gallery = gallery
        self.sliders: dict[str, QSlider] = {}
        self.percent_labels: dict[str, QLabel] = {}
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(8)
        self._grid.setVerticalSpacing(4)
        self._grid.setColumnStretch(2, 1)
        self.hint = QLabel(objectName="hint", wordWrap=True)
        self._keys: tuple = ()
        self._grid.addWidget(self.hint, 0, 0, 1, 4)
        gallery.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        ticked = self.gallery.checked_entries(ready_only=False)
        entries = [e for e in ticked if e.ready]
        keys = tuple(e.path for e in entries) if len(entries) > 1 else ()
        if keys != self._keys:
            self._rebuild([self.gallery.entries[p] for p in keys])
            self._keys = keys
        shares = self.gallery.normalised_weights() if keys else {}
        for path, label in self.percent_labels.items():
            label.setText(f"{100 * shares.get(path, 0):.0f}%")
        self.hint.setText(_blend_hint(entries, len(ticked) - len(entries)))
        self.hint.setVisible(bool(self.hint.text()))

    def _rebuild(self, entries: list[StyleEntry]) -> None:
        for slider in self.sliders.values():
            slider.blockSignals(True)
        for i in reversed(range(self._grid.count())):
            w = self._grid.itemAt(i).widget()
            if w is not None and w is not self.hint:
                self._grid.removeWidget(w)
                w.deleteLater()
        self.sliders.clear()
        self.percent_labels.clear()
        for row, entry in enumerate(entries):
            icon = QLabel()
            if entry.thumb is not None:
                icon.setPixmap(entry.thumb.scaled(24, 24, Qt.AspectRatioMode.KeepAspectRatio,
                                                  Qt.TransformationMode.SmoothTransformation))
            name = QLabel(_short(entry.name, 14))
            name.setToolTip(entry.path)
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, 100)
            slider.setValue(entry.weight)
            slider.setToolTip(f"{entry.name}: its weight in the blend")
            slider.valueChanged.connect(lambda v, p=entry.path: self.gallery.set_weight(p, v))
            wheel_only_when_focused(slider)
            pct = QLabel()
            pct.setMinimumWidth(36)
            pct.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for col, w in enumerate((icon, name, slider, pct)):
                self._grid.addWidget(w, row, col)
            self.sliders[entry.path] = slider
            self.percent_labels[entry.path] = pct
        self._grid.removeWidget(self.hint)
        self._grid.addWidget(self.hint, len(entries), 0, 1, 4)


def _blend_hint(ready: list[StyleEntry], encoding: int) -> str:
    """The Blend group's line: what is ticked and what to do to blend ("" once blending)."""
    waiting = f"Encoding {encoding} ticked style{'s' if encoding > 1 else ''}…" if encoding else ""
    if len(ready) > 1:
        return waiting
    if len(ready) == 1:
        text = f"{ready[0].name} alone. Tick another style to blend them."
    else:
        text = "" if encoding else "Tick a style in the gallery to use it; tick two or more to blend them."
    return " ".join(t for t in (waiting, text) if t)


def _short(name: str, limit: int = 11) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


__all__ = ["StyleGallery", "BlendPanel", "StyleEntry"]
