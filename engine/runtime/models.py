"""Which network a :class:`~engine.runtime.stylizer.Stylizer` runs, and how it is named for people:
the device, the ``auto``/``lite``/``vgg`` choice (:func:`resolve_model`) and the labels."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from engine.errors import InputError
from engine.nets.lite import CANDIDATE_LITE, DEFAULT_LITE, lite_available, lite_weights


def pick_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(None, "CUDA was requested but no CUDA GPU is available")
    return dev


MODELS = ("auto", "lite", "vgg")
MODEL_LABELS = {"lite": "Real-time (lite)", "vgg": "Quality (VGG)"}
PREVIEW_LABEL = "Real-time (lite preview)"
PREVIEW_NOTE = ("Real-time runs the trained candidate lite model (models/lite_candidate.safetensors), "
                "a preview: the painting's colours and fine texture, not yet its brush strokes")


def resolve_model(model: str, device: torch.device, lite: str | os.PathLike | None = None,
                  custom_vgg: bool = False) -> tuple[str, str | None]:
    """``"auto"|"lite"|"vgg"`` → (``"lite"`` or ``"vgg"``, a note for the user or None).

    ``auto``: lite on a CPU when trained lite weights exist and no VGG weights were given, else
    VGG. An explicit ``lite`` without weights is an :class:`InputError` naming the file."""
    if model not in MODELS:
        raise InputError(None, f"unknown model {model!r}: use one of {', '.join(MODELS)}")
    path = Path(lite) if lite is not None else DEFAULT_LITE
    if model == "lite":
        chosen = lite_weights(lite)
        if chosen is None:
            raise InputError(path, "no trained lite model yet (train one: main.py train --model lite); "
                                   "use --model vgg")
        return model, PREVIEW_NOTE if _is_preview(lite, chosen) else None
    if model != "auto":
        return model, None
    if device.type != "cpu":
        return "vgg", None
    if custom_vgg:
        return "vgg", "auto model: VGG, because VGG weights were given"
    if not lite_available(path):
        return "vgg", f"auto model: VGG — no trained lite model at {path} yet"
    return "lite", None


def _is_preview(lite: str | os.PathLike | None, chosen: Path | None) -> bool:
    """Whether an explicit lite choice without ``--lite`` fell back to the candidate."""
    return lite is None and chosen == CANDIDATE_LITE


def stylizer_summary(st) -> str:
    """Device and precision for the status bar, e.g. "CPU fp32" (", OpenVINO" when the lite
    model's frames run through it)."""
    name = torch.cuda.get_device_name(st.device) if st.device.type == "cuda" else "CPU"
    lite = getattr(st, "lite", None)
    backend = ", OpenVINO" if lite is not None and lite.backend == "openvino" else ""
    return f"{name} {'fp16' if st.half else 'fp32'}{backend}"


def model_label(st) -> str:
    """The model a stylizer runs, for people: "Real-time (lite)" (or its preview) or "Quality (VGG)"."""
    if getattr(st, "lite_preview", False):
        return PREVIEW_LABEL
    return MODEL_LABELS[getattr(st, "model", "vgg")]


__all__ = ["MODELS", "MODEL_LABELS", "PREVIEW_LABEL", "PREVIEW_NOTE", "model_label", "pick_device", "resolve_model",
           "stylizer_summary"]
