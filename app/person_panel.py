"""The Style panel's *Person* control: which style goes on the person and which on the background.

Four modes (:data:`engine.runtime.person_style.MODES`): style everything · keep me, style the
background · style me, keep the background · me in one style (chosen here from the gallery),
the background in the ticked blend. Disabled, with a tooltip saying why, when person
segmentation cannot run on this machine. Remembered in the settings.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QWidget

from engine.runtime.person import unavailable_reason
from engine.runtime.person_style import MODE_LABELS, MODES

TIP = ("Person-aware styling (on-device person segmentation, every frame): keep yourself as filmed and "
       "paint the room, or the reverse, or wear one style on a background of another")


class PersonControl(QWidget):
    """Mode and person-style combos; :meth:`fields` gives the :class:`~app.pipeline.Controls` fields."""

    changed = Signal()

    def __init__(self, gallery, parent=None):
        super().__init__(parent)
        self.gallery = gallery
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Person"), 0, 0)
        self.mode_combo = QComboBox()
        for mode in MODES:
            self.mode_combo.addItem(MODE_LABELS[mode], mode)
        grid.addWidget(self.mode_combo, 0, 1)
        self.style_label = QLabel("My style")
        grid.addWidget(self.style_label, 1, 0)
        self.style_combo = QComboBox()
        self.style_combo.setToolTip("The person's style; the background takes the ticked styles")
        grid.addWidget(self.style_combo, 1, 1)
        grid.setColumnStretch(1, 1)
        for combo in (self.mode_combo, self.style_combo):  # long names must not widen the panel
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        self.reason: str | None = None
        self._wanted_style = ""  # a remembered person style not in the gallery (yet)
        self.mode_combo.currentIndexChanged.connect(self._on_changed)
        self.style_combo.currentIndexChanged.connect(self._on_style_chosen)
        gallery.changed.connect(self.refresh_styles)
        self.refresh_styles()
        self.set_unavailable(unavailable_reason())

    def set_unavailable(self, reason: str | None) -> None:
        """``reason`` (one line) disables the control and becomes its tooltip; None enables it."""
        self.reason = reason
        self.mode_combo.setEnabled(reason is None)
        self.mode_combo.setToolTip(f"Unavailable: {reason}" if reason else TIP)
        if reason:
            self.mode_combo.setCurrentIndex(0)
        self._update_style_row()

    @property
    def mode(self) -> str:
        return "all" if self.reason else self.mode_combo.currentData()

    def refresh_styles(self) -> None:
        """The person-style choices follow the gallery's encoded styles."""
        current = self._wanted_style or self.style_combo.currentData()
        ready = [e for e in self.gallery.entries.values() if e.ready]
        self.style_combo.blockSignals(True)
        self.style_combo.clear()
        for entry in ready:
            self.style_combo.addItem(entry.name, entry.path)
        index = self.style_combo.findData(current)
        if index >= 0:
            self._wanted_style = ""
        self.style_combo.setCurrentIndex(max(index, 0) if ready else -1)
        self.style_combo.blockSignals(False)
        self._on_changed()

    def fields(self) -> dict:
        """``person_mode``, ``person_key``, ``person_stats`` for the inference thread; ``split``
        without an encoded person style styles everything."""
        mode = self.mode
        if mode != "split":
            return {"person_mode": mode}
        entry = self.gallery.entries.get(self.style_combo.currentData() or "")
        if entry is None or not entry.ready:
            return {"person_mode": "all"}
        return {"person_mode": "split", "person_key": entry.path, "person_stats": entry.stats}

    def restore(self, settings) -> None:
        mode = str(settings.value("person_mode", "all"))
        self._wanted_style = str(settings.value("person_style", ""))
        self.refresh_styles()
        if not self.reason:
            self.mode_combo.setCurrentIndex(MODES.index(mode) if mode in MODES else 0)

    def save(self, settings) -> None:
        if not self.reason:  # where it cannot run, the choice made elsewhere is kept
            settings.setValue("person_mode", self.mode_combo.currentData())
        settings.setValue("person_style", self._wanted_style or self.style_combo.currentData() or "")

    def _on_style_chosen(self, *_) -> None:
        self._wanted_style = ""
        self._on_changed()

    def _on_changed(self, *_) -> None:
        self._update_style_row()
        self.changed.emit()

    def _update_style_row(self) -> None:
        split = self.mode == "split"
        self.style_label.setVisible(split)
        self.style_combo.setVisible(split)
