"""A dark Fusion theme: the video is the brightest thing on screen."""
from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = QColor(233, 140, 60)

STYLESHEET = """
QMainWindow, QDockWidget { background: #1e1f23; }
QDockWidget::title { padding: 6px; background: #1e1f23; }
QToolBar { background: #26272c; border: none; border-bottom: 1px solid #34353b; spacing: 6px; padding: 4px 8px; }
QToolBar QLabel { color: #a9abb3; padding-left: 6px; }
QGroupBox { border: 1px solid #34353b; border-radius: 6px; margin-top: 14px; padding: 10px 8px 8px 8px;
            font-weight: bold; color: #d8d9de; }
QGroupBox::title { subcontrol-origin: margin; left: 10px; padding: 0 4px; }
QListWidget { background: #17181b; border: 1px solid #34353b; border-radius: 4px; }
QListWidget::item { color: #c9cad0; border-radius: 4px; padding: 2px; }
QListWidget::item:selected { background: #3a3b42; }
QLabel#hint { color: #8d8f98; font-size: 11px; }
QLabel#value { color: #e9e9ec; min-width: 38px; }
QLabel#command { color: #e4e5ea; background: #17181b; border: 1px solid #34353b; border-radius: 4px; padding: 3px 5px; }
QStatusBar { background: #26272c; color: #c9cad0; border-top: 1px solid #34353b; }
QStatusBar QLabel { color: #a9abb3; padding: 0 8px; }
QPushButton, QToolButton { background: #33343a; border: 1px solid #44454c; border-radius: 4px; padding: 4px 10px;
                           color: #e4e5ea; }
QPushButton:hover, QToolButton:hover { background: #3d3e45; }
QToolButton:checked { background: #e98c3c; color: #17181b; border-color: #e98c3c; }
QToolButton#record:checked { background: #d43c3c; color: white; border-color: #d43c3c; }
QCheckBox::indicator, QListWidget::indicator { width: 13px; height: 13px; border: 1px solid #9a9ca4;
                                               border-radius: 3px; background: #2a2b30; }
QCheckBox::indicator:hover, QListWidget::indicator:hover { border-color: #e98c3c; }
QCheckBox::indicator:checked, QListWidget::indicator:checked { background: #e98c3c; border: 3px solid #5a3413;
                                                               width: 9px; height: 9px; }  /* same outer size */
QSlider::groove:horizontal { height: 4px; background: #44454c; border-radius: 2px; }
QSlider::sub-page:horizontal { background: #e98c3c; border-radius: 2px; }
QSlider::sub-page:horizontal:disabled { background: #6b6c72; }
QSlider::handle:horizontal { background: #f2f2f4; width: 14px; margin: -6px 0; border-radius: 7px; }
QCheckBox { color: #d8d9de; spacing: 8px; }
QWidget#noSource QLabel { color: #d8d9de; font-size: 15px; }
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: QColor(30, 31, 35),
        QPalette.ColorRole.WindowText: QColor(220, 221, 226),
        QPalette.ColorRole.Base: QColor(23, 24, 27),
        QPalette.ColorRole.AlternateBase: QColor(38, 39, 44),
        QPalette.ColorRole.Text: QColor(220, 221, 226),
        QPalette.ColorRole.Button: QColor(51, 52, 58),
        QPalette.ColorRole.ButtonText: QColor(228, 229, 234),
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: QColor(23, 24, 27),
        QPalette.ColorRole.ToolTipBase: QColor(45, 46, 52),
        QPalette.ColorRole.ToolTipText: QColor(230, 230, 235),
        QPalette.ColorRole.PlaceholderText: QColor(130, 132, 140),
    }
    for role, colour in roles.items():
        pal.setColor(role, colour)
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(110, 111, 118))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(110, 111, 118))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(110, 111, 118))
    app.setPalette(pal)
    app.setStyleSheet(STYLESHEET)
