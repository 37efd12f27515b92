"""The window's model choice (Auto / Real-time / Quality, issue #19): remembered, a change reloads
the model and re-encodes the gallery for it, the status bar names the model; Real-time cannot be
picked while no trained lite weights exist."""
from __future__ import annotations

import time

import pytest
import torch
from PIL import Image
from PySide6.QtCore import QSettings

from conftest import random_decoder_state, smooth_image
from engine.nets.lite import DEFAULT_LITE
from window_kit import WAIT_MS, WindowFactory


@pytest.fixture(scope="module")
def stylizers():
    from engine import Stylizer
    from engine.nets.lite import random_lite

    net = random_lite(seed=1)
    with torch.no_grad():
        net.head.weight.mul_(10.0)
        net.head.bias.fill_(0.5)
    return {"vgg": Stylizer(device="cpu", decoder_state=random_decoder_state(), style_side=64),
            "lite": Stylizer(device="cpu", lite_net=net, style_side=64)}


@pytest.fixture
def make_window(qtbot, tmp_path, stylizers):
    styles = tmp_path / "styles"
    styles.mkdir(exist_ok=True)
    for k in range(2):
        Image.fromarray(smooth_image(72, 80, 30 + k)).save(styles / f"s{k}.png")
    factory = WindowFactory(qtbot, tmp_path)

    def chosen():  # the window's own factory builds Stylizer(model=…) from the choice the window saves
        saved = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat).value("model")
        return stylizers["lite" if saved == "lite" else "vgg"]

    yield lambda: factory(chosen, defaults=styles)
    factory.close_all()


def styled_by(qtbot, win, model: str) -> None:
    """Wait for a stylized frame, captured from now on, made by ``model``'s stylizer."""
    after = time.monotonic()

    def done():
        _, r = win.results.latest()
        return (r is not None and r.styled and r.t_capture > after
                and getattr(win.box.stylizer, "model", None) == model)
    qtbot.waitUntil(done, timeout=WAIT_MS)


def test_switching_to_real_time_reloads_and_reencodes(qtbot, make_window, monkeypatch):
    from engine.nets.adain import StyleStats
    from engine.nets.lite import LiteStyle

    monkeypatch.setattr("app.model_choice.lite_weights", lambda *a: DEFAULT_LITE)
    win = make_window()
    combo = win.toolbar.model_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["Auto", "Real-time", "Quality"]
    assert combo.currentData() == "auto"
    styled_by(qtbot, win, "vgg")
    assert win.models.label.text() == "Quality (VGG)"
    qtbot.waitUntil(lambda: all(isinstance(e.stats, StyleStats) for e in win.gallery.entries.values()),
                    timeout=WAIT_MS)
    combo.setCurrentIndex(combo.findData("lite"))
    styled_by(qtbot, win, "lite")
    assert win.models.label.text() == "Real-time (lite)"
    qtbot.waitUntil(lambda: all(isinstance(e.stats, LiteStyle) for e in win.gallery.entries.values()),
                    timeout=WAIT_MS)
    assert not [m for m in win.messages if "failed" in m]  # VGG statistics never reach the lite model
    win.close()
    again = make_window()
    assert again.toolbar.model_combo.currentData() == "lite"  # remembered
    styled_by(qtbot, again, "lite")


def test_real_time_needs_trained_weights(qtbot, make_window, monkeypatch):
    monkeypatch.setattr("app.model_choice.lite_weights", lambda *a: None)
    win = make_window()
    win.settings.setValue("model", "lite")
    win.close()
    again = make_window()
    combo = again.toolbar.model_combo
    assert not combo.model().item(combo.findData("lite")).isEnabled()
    assert combo.currentData() == "auto" and again.models.factory_model() == "auto"
    assert "no trained lite model" in combo.model().item(combo.findData("lite")).toolTip()
    assert any("Real-time needs a trained lite model" in m for m in again.messages)
    styled_by(qtbot, again, "vgg")
    assert again.models.label.text() == "Quality (VGG)"


def test_real_time_previews_the_trained_candidate(qtbot, make_window, monkeypatch):
    """Only the candidate exists: Real-time can be picked, and says it is a preview."""
    from engine.nets.lite import CANDIDATE_LITE

    monkeypatch.setattr("app.model_choice.lite_weights", lambda *a: CANDIDATE_LITE)
    win = make_window()
    combo = win.toolbar.model_combo
    item = combo.model().item(combo.findData("lite"))
    assert item.isEnabled() and "preview" in item.toolTip()
    combo.setCurrentIndex(combo.findData("lite"))
    assert win.models.factory_model() == "lite"


def test_the_model_option_replaces_the_remembered_choice(qtbot, tmp_path, monkeypatch, stylizers):
    from app.main_window import MainWindow

    monkeypatch.setattr("app.model_choice.lite_weights", lambda *a: DEFAULT_LITE)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("model", "vgg")
    win = MainWindow(source="pattern:120x90", settings=settings, stylizer_factory=lambda: stylizers["vgg"],
                     default_styles_dir=tmp_path, output_dir=tmp_path / "out", style_cache_dir=tmp_path / "c",
                     model="lite")
    qtbot.addWidget(win)
    assert win.toolbar.model_combo.currentData() == "lite" and settings.value("model") == "lite"
    win.close()
