"""The video view: paints the newest :class:`~app.pipeline.Result` scaled to fit.

Images are wrapped as BGR888 ``QImage`` over the result's numpy arrays (no copy); the view keeps
the result, and so the arrays, alive while the images are in use. Modes: stylized, original, or
a split with a draggable divider (original left, stylized right).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

MODES = ("stylized", "split", "original")


def bgr_qimage(arr: np.ndarray) -> QImage:
    """Zero-copy ``QImage`` over an ``HxWx3`` uint8 BGR array; the caller keeps ``arr`` alive."""
    if not arr.flags["C_CONTIGUOUS"]:
        raise ValueError("array must be C-contiguous")
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_BGR888)


class VideoView(QWidget):
    """Shows results; ``set_result`` is cheap (no pixel copies), painting scales on the fly.
    ``resized`` tells the recording controls that the size a frame is shown at changed."""

    resized = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.setMouseTracking(True)
        self.result = None
        self.mode = "stylized"
        self.split = 0.5
        self.overlay = ""  # a centred message (loading, no style ticked…)
        self.frames_painted = 0
        self._images: tuple[QImage, QImage] | None = None
        self._dragging = False

    def sizeHint(self) -> QSize:
        return QSize(800, 600)

    def set_result(self, result) -> None:
        self.result = result
        self._images = (bgr_qimage(result.stylized), bgr_qimage(result.original))
        self.update()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown view mode {mode!r}")
        self.mode = mode
        self.update()

    def set_overlay(self, text: str) -> None:
        if text != self.overlay:
            self.overlay = text
            self.update()

    # geometry ----------------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the frame is drawn: aspect-preserving fit, centred."""
        if self._images is None:
            return QRectF()
        img = self._images[0]
        scale = min(self.width() / img.width(), self.height() / img.height())
        w, h = img.width() * scale, img.height() * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def shown_size(self, frame_size: tuple[int, int]) -> tuple[int, int]:
        """The size, in screen pixels, at which a ``frame_size`` (w, h) frame is drawn (fitted, the
        aspect kept)."""
        ratio = self.devicePixelRatioF()
        scale = min(self.width() * ratio / frame_size[0], self.height() * ratio / frame_size[1])
        return max(1, round(frame_size[0] * scale)), max(1, round(frame_size[1] * scale))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    # painting ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(18, 18, 20))
        if self._images is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            self._paint_frame(p)
            self.frames_painted += 1
        if self.overlay:
            self._paint_overlay(p)
        p.end()

    def _paint_frame(self, p: QPainter) -> None:
        stylized, original = self._images
        target = self.image_rect()
        if self.mode == "stylized":
            p.drawImage(target, stylized)
        elif self.mode == "original":
            p.drawImage(target, original)
        else:
            self._paint_split(p, target, stylized, original)

    def _paint_split(self, p: QPainter, target: QRectF, stylized: QImage, original: QImage) -> None:
        cut = self.split
        left_t = QRectF(target.x(), target.y(), target.width() * cut, target.height())
        right_t = QRectF(left_t.right(), target.y(), target.width() - left_t.width(), target.height())
        p.drawImage(left_t, original, QRectF(0, 0, original.width() * cut, original.height()))
        p.drawImage(right_t, stylized, QRectF(stylized.width() * cut, 0, stylized.width() * (1 - cut),
                                              stylized.height()))
        x = left_t.right()
        p.setPen(QPen(QColor(255, 255, 255, 220), 2))
        p.drawLine(QPointF(x, target.top()), QPointF(x, target.bottom()))
        p.setBrush(QColor(255, 255, 255, 230))
        p.drawEllipse(QPointF(x, target.center().y()), 7, 7)
        self._tag(p, QPointF(target.left() + 10, target.top() + 10), "Original")
        self._tag(p, QPointF(target.right() - 10, target.top() + 10), "Stylized", right=True)

    @staticmethod
    def _tag(p: QPainter, at: QPointF, text: str, right: bool = False) -> None:
        font = QFont(p.font())
        font.setPointSizeF(max(8.0, font.pointSizeF() * 0.9))
        font.setBold(True)
        p.setFont(font)
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 14, fm.height() + 6
        box = QRectF(at.x() - w if right else at.x(), at.y(), w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(box, 4, 4)
        p.setPen(QColor(240, 240, 240))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_overlay(self, p: QPainter) -> None:
        fm = p.fontMetrics()
        lines = self.overlay.splitlines()
        w = max(fm.horizontalAdvance(line) for line in lines) + 32
        h = fm.height() * len(lines) + 20
        box = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(box, 8, 8)
        p.setPen(QColor(235, 235, 235))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, self.overlay)

    # split divider dragging --------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if self.mode == "split" and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self._move_split(event.position().x())

    def mouseMoveEvent(self, event) -> None:
        if self._dragging:
            self._move_split(event.position().x())
        elif self.mode == "split":
            rect = self.image_rect()
            near = abs(event.position().x() - (rect.x() + rect.width() * self.split)) < 10
            self.setCursor(Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.ArrowCursor)

    def mouseReleaseEvent(self, event) -> None:
        self._dragging = False

    def _move_split(self, x: float) -> None:
        rect = self.image_rect()
        if rect.width() > 0:
            self.split = float(min(max((x - rect.x()) / rect.width(), 0.0), 1.0))
            self.update()
