"""The model choice next to the resolution (issue #19): Auto / Real-time (the lite network) /
Quality (the VGG model), remembered in the settings; the status bar names the model in use.

A change reloads the model in the inference thread (:meth:`InferenceThread.request_reload`); once
the new one is ready, every gallery style is encoded again for it (each model has its own style
representation, and its own entries in the style cache), and styles encoded for the other model
are ignored. Auto means Real-time on a CPU only once ``models/lite.safetensors`` is adopted; until
then Real-time runs the trained candidate as a preview (its status-bar name says so), and without
any lite weights it cannot be picked. What the engine notes for developers (file paths, weight
files) reaches the status bar in plain words (:func:`user_note`).
"""
from __future__ import annotations

from PySide6.QtWidgets import QLabel

from engine.nets.lite import CANDIDATE_LITE, LiteStyle, lite_weights

CHOICES = (("auto", "Auto"), ("lite", "Real-time"), ("vgg", "Quality"))


class ModelChoice:
    """Owns ``window.toolbar.model_combo`` and a status-bar label; ``requested`` is what the
    stylizer factory builds (a plain string, read by the inference thread)."""

    def __init__(self, window, model: str | None = None):
        self.window, self.combo = window, window.toolbar.model_combo
        self.label = QLabel()
        self.label.setObjectName("model_label")
        window.statusBar().addPermanentWidget(self.label)
        weights = lite_weights()
        trained = weights is not None
        for value, text in CHOICES:
            self.combo.addItem(text, value)
        item = self.combo.model().item(1)
        item.setEnabled(trained)
        item.setToolTip("no trained lite model yet (models/lite.safetensors)" if not trained else
                        "preview: the trained candidate lite network (the painting's colours and fine "
                        "texture, not yet its strokes)" if weights == CANDIDATE_LITE else "the lite network for CPUs")
        saved = model or str(window.settings.value("model", "auto"))  # --model wins over the setting
        self.requested = saved if saved in dict(CHOICES) and (saved != "lite" or trained) else "auto"
        window.settings.setValue("model", self.requested)  # a choice that no longer works is dropped
        if saved == "lite" and not trained:
            window.show_message("Real-time needs a trained lite model, which this copy does not have yet: using Auto")
        self.combo.setCurrentIndex(self.combo.findData(self.requested))
        self.combo.setToolTip("Real-time: the lite network (fast on a CPU). Quality: the VGG model. "
                              "Auto: Real-time on a CPU, Quality on a GPU" + ("" if trained else
                              " (Quality until a trained lite model exists)"))
        self.combo.currentIndexChanged.connect(self._on_chosen)
        window.inference.stylizer_ready.connect(self._on_ready)
        self._model = None  # the model of the loaded stylizer

    def _on_chosen(self, *_) -> None:
        self.requested = str(self.combo.currentData())
        self.window.settings.setValue("model", self.requested)
        self.label.setText("loading model…")
        self.window.inference.request_reload()

    def _on_ready(self, *_) -> None:
        stylizer = self.window.box.stylizer
        model = getattr(stylizer, "model", "vgg")
        from engine.runtime.stylizer import MODEL_LABELS, model_label

        self.label.setText(model_label(stylizer) if model in MODEL_LABELS else model)
        note = user_note(stylizer, self.requested)
        if note:
            self.window.show_message(note)
        changed = self._model is not None and model != self._model
        self._model = model
        if changed:
            self._encode_gallery_again()
        self.window.forget_pushed_styles() if changed else self.window._push_controls()  # fresh controls

    def _encode_gallery_again(self) -> None:
        window = self.window
        for path, entry in window.gallery.entries.items():
            entry.stats = None
            window.jobs.add_style(path, urgent=window.gallery.is_checked(path))
        window.show_message("encoding the styles for the new model…")

    def stale(self, stats) -> bool:
        """Whether ``stats`` were encoded for the other model (a job queued before the switch)."""
        return self._model is not None and isinstance(stats, LiteStyle) != (self._model == "lite")

    def factory_model(self) -> str:
        """The model the stylizer factory should build (Real-time falls back to Auto if its
        weights went missing)."""
        return self.requested if self.requested != "lite" or lite_weights() is not None else "auto"


#: The status bar's words for the preview of the Real-time model (the engine's note names files).
PREVIEW_WORDS = "Real-time is a preview: it gives the painting's colours and fine texture, not yet its brush strokes"


def user_note(stylizer, requested: str) -> str | None:
    """The stylizer's ``model_note`` in words for the person at the window (no file paths), or
    None when there is nothing to say."""
    if getattr(stylizer, "lite_preview", False):
        return PREVIEW_WORDS
    note = getattr(stylizer, "model_note", None)
    if not note:
        return None
    if requested == "auto" and getattr(stylizer, "model", "vgg") == "vgg":  # no adopted lite model
        return ("Quality model, slow without a GPU: Real-time is not finished"
                + ("; its preview is in the model menu" if lite_weights() is not None else ""))
    return note
