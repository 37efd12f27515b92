"""User paths through the app with no happy ending, or a second run: folder drops with nested
folders, an empty folder, a broken image and non-image files; blend weights that come back on
restart and all blend sliders at 0; a model that fails to load; `--device cuda` with no GPU."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import random_decoder_state, smooth_image
from window_kit import WAIT_MS, drop, wait_ready, wait_result
from window_kit import windows  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def small():
    from engine.runtime.stylizer import Stylizer

    return Stylizer(device="cpu", decoder_state=random_decoder_state(), style_side=64)


def png(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(smooth_image(48, 56, seed)).save(path)
    return path


def test_folder_drop_with_nested_empty_broken_and_other_files(qtbot, windows, small, tmp_path):
    root = tmp_path / "drop"
    good = [png(root / "top.png", 1), png(root / "a" / "b" / "deep.jpg", 2), png(root / "a" / "mid.webp", 3)]
    (root / "a" / "readme.txt").write_text("notes")
    (root / "a" / "b" / "data.csv").write_text("1,2,3\n")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but then nothing" * 4)
    (root / "empty_inside").mkdir()
    empty = tmp_path / "empty"
    empty.mkdir()
    loose = tmp_path / "letter.docx"
    loose.write_bytes(b"PK\x03\x04 not an image")
    win = windows(small)
    drop(win, [root, empty, loose])
    qtbot.waitUntil(lambda: any("broken.png" in m for m in win.messages), timeout=WAIT_MS)
    wait_ready(qtbot, win, 3)
    assert sorted(Path(p).name for p in win.gallery.paths()) == sorted(p.name for p in good)
    assert all(e.ready for e in win.gallery.entries.values())
    refused = " ".join(m for m in win.messages if m.startswith("refused"))
    assert "empty" in refused and "folder has no images" in refused
    assert "letter.docx" in refused and "not an image" in refused
    assert "broken.png" in refused and "readme.txt" not in refused  # non-images inside folders: skipped
    assert win.gallery.checked_entries()[0].path == str((root / "a" / "b" / "deep.jpg").resolve())
    assert wait_result(qtbot, win, lambda r: r.styled).styled  # and the video uses the styles


def test_blend_weights_come_back_and_all_zero_blends_equally(qtbot, windows, small, tmp_path):
    defaults = tmp_path / "defaults"
    paths = [str(png(defaults / f"s{k}.png", 10 + k).resolve()) for k in range(2)]
    win = windows(small, defaults=defaults)
    wait_ready(qtbot, win, 2)
    win.gallery.set_checked(paths[1], True)
    qtbot.waitUntil(lambda: set(win.blend_panel.sliders) == set(paths), timeout=WAIT_MS)
    win.blend_panel.sliders[paths[0]].setValue(80)
    win.blend_panel.sliders[paths[1]].setValue(20)
    win.close()

    again = windows(small, defaults=defaults, source=None)
    wait_ready(qtbot, again, 2)
    qtbot.waitUntil(lambda: set(again.blend_panel.sliders) == set(paths), timeout=WAIT_MS)
    assert [again.blend_panel.sliders[p].value() for p in paths] == [80, 20]
    assert [again.blend_panel.percent_labels[p].text() for p in paths] == ["80%", "20%"]
    r = wait_result(qtbot, again, lambda r: r.styled and len(r.controls.weights) == 2)
    assert r.controls.weights == pytest.approx((0.8, 0.2))
    assert small.plan.weights.tolist() == pytest.approx([0.8, 0.2])

    for p in paths:  # every slider at 0: an equal blend, not a crash or a frozen picture
        again.blend_panel.sliders[p].setValue(0)
    assert again.gallery.normalised_weights() == pytest.approx({paths[0]: 0.5, paths[1]: 0.5})
    assert [again.blend_panel.percent_labels[p].text() for p in paths] == ["50%", "50%"]
    r = wait_result(qtbot, again, lambda r: r.styled and r.controls.weights == pytest.approx((0.5, 0.5)))
    assert small.plan.weights.tolist() == pytest.approx([0.5, 0.5])
    again.set_view_mode("original")  # (and the view-mode buttons reach the view)
    assert again.view.mode == "original"
    again.mode_group.button(1).click()
    assert again.view.mode == "split"


def test_model_that_fails_to_load_leaves_a_working_window(qtbot, windows, tmp_path):
    from engine.runtime.stylizer import Stylizer

    bad = tmp_path / "decoder.safetensors"
    from safetensors.torch import save_file

    save_file({k: torch.full_like(v, float("nan")) for k, v in random_decoder_state().items()}, str(bad))
    defaults = tmp_path / "defaults"
    png(defaults / "first.png", 5)
    win = windows(lambda: Stylizer(device="cpu", decoder=bad, style_side=64), defaults=defaults)
    qtbot.waitUntil(lambda: any(m.startswith("model not loaded") for m in win.messages), timeout=WAIT_MS)
    note = next(m for m in win.messages if m.startswith("model not loaded"))
    assert str(bad) in note and "NaN" in note and "\n" not in note
    qtbot.waitUntil(lambda: not win.gallery.entries, timeout=WAIT_MS)  # the default style is refused
    assert any(m.startswith("refused") and "first.png" in m for m in win.messages)
    drop(win, [png(tmp_path / "dropped.png", 6)])
    qtbot.waitUntil(lambda: any("dropped.png" in m and "refused" in m for m in win.messages), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not win.gallery.entries, timeout=WAIT_MS)
    r = wait_result(qtbot, win, lambda r: True)  # frames still flow, shown as they are
    assert not r.styled and np.array_equal(r.stylized, r.original)
    qtbot.waitUntil(lambda: win.view.result is not None, timeout=WAIT_MS)
    assert "No model" in win.view.overlay
    assert "model" in win.device_label.text().lower() and "loading" not in win.device_label.text().lower()
    win.close()
    assert all(t.isFinished() for t in win.stopped_threads)


def test_device_cuda_without_a_gpu_falls_back_to_the_cpu(qtbot, windows, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    win = windows(None, device="cuda")  # the app's own factory: builds the default model
    qtbot.waitUntil(lambda: win.device_label.text() == "CPU fp32", timeout=WAIT_MS)
    note = [m for m in win.messages if "GPU" in m and "CPU" in m]  # one line says why and what now
    assert note and "no CUDA GPU" in note[0] and "\n" not in note[0], win.messages
    assert win.box.stylizer is not None and win.box.stylizer.device.type == "cpu"
    r = wait_result(qtbot, win, lambda r: True)
    assert r.source.shape == (90, 120, 3)
