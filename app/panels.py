"""Static parts of the window: the controls panel (strength, toggles, gallery, blend) and the
page shown when no source could be opened. They hold widgets only; the main window wires them."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSlider, QVBoxLayout, QWidget)

from .gallery import ICON, BlendPanel, StyleGallery
from .person_panel import PersonControl
from .widgets import wheel_only_when_focused

#: Gallery thumbnails per row the panel is wide enough for (the default styles fit in two rows).
THUMBS_PER_ROW = 4


class ControlsPanel(QWidget):
    """Style strength α, preserve-colour and stabilize toggles, the Person control, the gallery and
    the blend sliders (the window adds the Share group below them).

    It is laid out to fit its scroll area's width (never a horizontal scrollbar: long texts wrap or
    are elided with a tooltip) and, at the default 1180×720 window, to show every group down to
    the Share toggles without scrolling. Its sliders and combo boxes take the mouse wheel only
    when focused, so scrolling the panel never changes a control."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 10)
        layout.setSpacing(10)
        layout.addWidget(self._strength_group())
        layout.addWidget(self._gallery_group(), 1)
        self.person = PersonControl(self.gallery)  # in the Style group; needs the gallery
        self._style_layout.addWidget(self.person)
        blend = QGroupBox("Blend")
        self.blend_panel = BlendPanel(self.gallery)
        QVBoxLayout(blend).addWidget(self.blend_panel)
        layout.addWidget(blend)
        wheel_only_when_focused(self.alpha_slider, self.person.mode_combo, self.person.style_combo)

    def scroll_area(self) -> QScrollArea:
        """The panel in a vertical-only scroll area."""
        scroll = QScrollArea()
        scroll.setWidget(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        return scroll

    @staticmethod
    def preferred_width() -> int:
        """The panel's width for :data:`THUMBS_PER_ROW` thumbnails a row (scrollbar not included)."""
        return THUMBS_PER_ROW * (ICON + 22) + 62

    def _strength_group(self) -> QGroupBox:
        group = QGroupBox("Style")
        v = self._style_layout = QVBoxLayout(group)
        row = QHBoxLayout()
        row.addWidget(QLabel("Strength α"))
        self.alpha_slider = QSlider(Qt.Orientation.Horizontal)
        self.alpha_slider.setRange(0, 100)
        self.alpha_slider.setValue(100)
        self.alpha_slider.setToolTip("Content–style trade-off: 0 = the camera, 100% = full style")
        self.alpha_value = QLabel("100%", objectName="value")
        self.alpha_value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.alpha_slider, 1)
        row.addWidget(self.alpha_value)
        v.addLayout(row)
        self.preserve_check = QCheckBox("Preserve colours")
        self.preserve_check.setToolTip("Keep the camera's colours; take only the painting's texture")
        self.palette_check = QCheckBox("Painting's palette")
        self.palette_check.setChecked(True)
        self.palette_check.setToolTip("Give the picture the painting's colour distribution "
                                      "(a black-and-white print gives a black-and-white picture)")
        self.stabilize_check = QCheckBox("Stabilize (less flicker)")
        self.stabilize_check.setToolTip("Smooths each frame along the motion with the previous ones: "
                                        "less flicker for a few percent of the frame rate")
        self.learn_check = QCheckBox("Learn styles for Real-time")
        self.learn_check.setChecked(True)
        self.learn_check.setToolTip("With the Real-time model on a CPU, learn the ticked style in the background "
                                    "(a few minutes, once per style) so the fast model paints like the painting")
        checks = QGridLayout()  # two columns: one row of three would widen the panel
        checks.setContentsMargins(0, 0, 0, 0)
        checks.setVerticalSpacing(4)
        checks.addWidget(self.preserve_check, 0, 0)
        checks.addWidget(self.palette_check, 0, 1)
        checks.addWidget(self.stabilize_check, 1, 0, 1, 2)
        checks.addWidget(self.learn_check, 2, 0, 1, 2)
        checks.setColumnStretch(2, 1)
        v.addLayout(checks)
        return group

    def _gallery_group(self) -> QGroupBox:
        group = QGroupBox("Styles")
        v = QVBoxLayout(group)
        self.gallery = StyleGallery()
        v.addWidget(self.gallery, 1)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Add style images to the gallery")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected styles from the gallery (Delete)")
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        v.addLayout(buttons)
        hint = QLabel("Drop paintings or folders anywhere on the window.", objectName="hint")
        hint.setWordWrap(True)
        v.addWidget(hint)
        return group


class NoSourcePage(QWidget):
    """Shown instead of the video when the source cannot be opened (e.g. no camera)."""

    def __init__(self, parent=None):
        super().__init__(parent, objectName="noSource")
        v = QVBoxLayout(self)
        v.addStretch(1)
        title = QLabel("No video source", alignment=Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet("font-size: 20px; font-weight: bold; color: #ececf0;")
        v.addWidget(title)
        self.detail = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        v.addWidget(self.detail)
        row = QHBoxLayout()
        row.addStretch(1)
        self.pattern_button = QPushButton("Use the test pattern")
        self.file_button = QPushButton("Open a video or image…")
        self.camera_button = QPushButton("Try camera 0 again")
        for button in (self.pattern_button, self.file_button, self.camera_button):
            row.addWidget(button)
        row.addStretch(1)
        v.addLayout(row)
        v.addStretch(1)
