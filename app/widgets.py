"""Small widgets and widget rules the window's panels share (issue #29, items 9 and 10).

- :func:`wheel_only_when_focused`: sliders and combo boxes take the mouse wheel only once the user
  has clicked or tabbed into them; otherwise the wheel scrolls the panel under the pointer (a blend
  slider passing under the pointer no longer changes the blend).
- :class:`ElidedLabel`: one line of text that never widens its parent; when it does not fit it is
  shortened with "…" in the middle (the start says what happened, the end names the file) and the
  whole text becomes its tooltip.
- :class:`CommandRow`: a command the user should run (the virtual camera's fix), shown whole
  (wrapped at its spaces) with a *Copy* button, instead of a label the panel's edge cuts off.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QWheelEvent
from PySide6.QtWidgets import (QAbstractScrollArea, QApplication, QHBoxLayout, QLabel, QSizePolicy, QToolButton,
                               QWidget)


class _WheelGuard(QObject):
    """Event filter: a wheel event on an unfocused widget goes to the scroll area around it
    (or nowhere), never to the widget."""

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Type.Wheel or watched.hasFocus():
            return False
        area = _scroll_area_of(watched)
        if area is not None:
            viewport = area.viewport()
            QApplication.sendEvent(viewport, QWheelEvent(
                viewport.mapFromGlobal(event.globalPosition()), event.globalPosition(), event.pixelDelta(),
                event.angleDelta(), event.buttons(), event.modifiers(), event.phase(), event.inverted()))
        event.accept()  # handled here: the widget's own wheelEvent never runs
        return True


_guard: _WheelGuard | None = None


def wheel_only_when_focused(*widgets: QWidget) -> None:
    """Let ``widgets`` (sliders, combo boxes) take the wheel only while they have the focus; they
    still take it by click or Tab (not by the wheel itself)."""
    global _guard
    if _guard is None:
        _guard = _WheelGuard()
    for widget in widgets:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        widget.installEventFilter(_guard)


def _scroll_area_of(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


class ElidedLabel(QLabel):
    """A one-line label shortened with "…" to its width, the full text in its tooltip when shortened.

    :meth:`full_text` is what was set; ``text()`` is what is shown. Empty, it hides itself, so two
    of them side by side in a status bar leave all the room to the one that has something to say."""

    def __init__(self, text: str = "", mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle, parent=None):
        super().__init__(parent)
        self._full = ""
        self._mode = mode
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._full = str(text)
        self.setVisible(bool(self._full))
        self._refresh()

    def full_text(self) -> str:
        return self._full

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - never widens the parent
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802
        margins = self.contentsMargins()
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + margins.left() + margins.right() + 2,
                     super().sizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._refresh()

    def _refresh(self) -> None:
        width = max(self.contentsRect().width(), 0)
        shown = self.fontMetrics().elidedText(self._full, self._mode, width) if self._full else ""
        QLabel.setText(self, shown)
        self.setToolTip(self._full if shown != self._full else "")


class CommandRow(QWidget):
    """A command the user should run, whole (wrapped at its spaces, selectable, in a fixed-width
    font), and a *Copy* button that puts it on the clipboard. ``copied`` carries a line for the
    status bar."""

    copied = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.field = QLabel(objectName="command", wordWrap=True)
        self.field.setTextFormat(Qt.TextFormat.PlainText)
        self.field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.field.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.field.setMinimumWidth(60)
        self.copy_button = QToolButton(text="Copy", toolTip="Copy the command to the clipboard")
        row.addWidget(self.field, 1)
        row.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        self.copy_button.clicked.connect(self.copy)

    def set_command(self, command: str) -> None:
        self.field.setText(command)

    def command(self) -> str:
        return self.field.text()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.field.text())
        self.copied.emit("command copied: paste it in a terminal")


__all__ = ["wheel_only_when_focused", "ElidedLabel", "CommandRow"]
