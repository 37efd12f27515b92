"""The status bar's frame-rate readout counts stylized frames only (issue #29, item 11): while the
view shows the camera unstyled (no style yet, a style encoding) or a model loads, it says so
instead of the camera's "30 fps · 1 ms". Offscreen window, real threads, a real Stylizer (random
decoder), a real generated source; the style encoding and the model build are held at a gate."""
from __future__ import annotations

import re
import threading

import pytest
from PIL import Image

from conftest import smooth_image
from window_kit import WAIT_MS, wait_result
from window_kit import windows, small_stylizer  # noqa: F401 - fixtures

RATE = re.compile(r"^\d+\.\d fps · \d+ ms$")


@pytest.fixture
def style_file(tmp_path):
    path = tmp_path / "style.png"
    Image.fromarray(smooth_image(80, 80, 21)).save(path)
    return path


def shown_after(qtbot, win, predicate):
    """The readout's label once it satisfies ``predicate`` (the window refreshes it every 0.5 s)."""
    qtbot.waitUntil(lambda: bool(predicate(win.fps_label.text())), timeout=WAIT_MS)
    return win.fps_label.text()


def test_unstyled_frames_show_the_state_not_a_frame_rate(qtbot, windows, small_stylizer, style_file, monkeypatch):
    import engine.runtime.style_cache as style_cache

    gate, encode = threading.Event(), style_cache.encode_style_file

    def held_encode(*args, **kwargs):  # the jobs thread encodes only once the test lets it
        gate.wait(WAIT_MS / 1000)
        return encode(*args, **kwargs)
    monkeypatch.setattr(style_cache, "encode_style_file", held_encode)
    win = windows(small_stylizer)  # no default styles: the camera passes through unstyled
    wait_result(qtbot, win, lambda r: not r.styled)
    qtbot.wait(700)  # a dozen unstyled frames at the camera's 30 fps
    assert shown_after(qtbot, win, lambda t: t != "loading the model…") == "no style ticked"
    assert win.readout.fps == 0.0  # none of them counted

    win.add_style_paths([str(style_file)])
    assert shown_after(qtbot, win, lambda t: t != "no style ticked") == "encoding the style…"
    wait_result(qtbot, win, lambda r: not r.styled)  # still the camera, unstyled …
    assert win.fps_label.text() == "encoding the style…" and win.readout.fps == 0.0  # … and not counted

    gate.set()
    styled = wait_result(qtbot, win, lambda r: r.styled)
    assert RATE.match(shown_after(qtbot, win, RATE.match))
    assert win.readout.last_t >= styled.t_done and win.readout.fps > 0


def test_a_model_switch_shows_loading_at_once(qtbot, windows, small_stylizer, style_file, tmp_path):
    defaults = tmp_path / "defaults"
    defaults.mkdir()
    (defaults / style_file.name).write_bytes(style_file.read_bytes())
    built, gate = [], threading.Event()

    def factory():  # the second build (the switch) waits at the gate
        built.append(1)
        if len(built) > 1:
            gate.wait(WAIT_MS / 1000)
        return small_stylizer
    win = windows(factory, defaults=defaults)
    wait_result(qtbot, win, lambda r: r.styled)
    assert RATE.match(shown_after(qtbot, win, RATE.match))
    win.inference.request_reload()
    qtbot.waitUntil(lambda: len(built) == 2, timeout=WAIT_MS)
    # within one refresh (0.5 s), long before the "waiting for a frame…" of a stall (2 s)
    qtbot.wait(700)
    assert win.fps_label.text() == "loading the model…"
    gate.set()
    after = wait_result(qtbot, win, lambda r: r.styled)
    assert RATE.match(shown_after(qtbot, win, RATE.match))
    assert win.readout.last_t >= after.t_done  # measured afresh on the new model's frames
