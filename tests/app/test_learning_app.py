"""Learning the ticked style in the window (issue #28): progress in the status bar and on the
thumbnail, a style change pauses the job (progress kept) and coming back resumes it, the finished
network is switched to between two frames, the *Learn styles* box turns it off, closing stops it.

The learner is a stand-in with the real one's rules (work only while not paused, progress per
step, the result written into the real cache as a real learned network); the real child process
is tested in tests/learn/test_worker.py."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import smooth_image, styled_net
from engine.learn.worker import LearnStatus
from engine.nets.lite import LiteConfig, LiteNet, LiteStyle
from engine.runtime.learned import LearnedCache, LearnedNet
from window_kit import WAIT_MS, WindowFactory, wait_ready


class StandInLearner:
    """Advances one step of ``steps`` per poll while running; when done, caches a learned network."""

    made: list["StandInLearner"] = []

    def __init__(self, spec, key: str, steps: int = 8):
        self.spec, self.key, self.steps, self.done_steps = spec, key, steps, 0
        self.status = LearnStatus(state="learning")
        self.paused_polls = 0
        self.stopped = False
        StandInLearner.made.append(self)

    def pause(self):
        if self.status.state == "learning":
            self.status.state = "paused"

    def resume(self):
        if self.status.state == "paused":
            self.status.state = "learning"

    def request_stop(self):
        self.stop_requested = True

    def stop(self, wait_s=1.0):
        self.stopped = True
        self.status.state = "stopped"

    @property
    def finished(self):
        return self.status.state in ("done", "failed", "stopped")

    def poll(self):
        if self.status.state == "learning":
            self.done_steps += 1
            self.status.progress = self.done_steps / self.steps
            self.status.eta_s = 2.0 * (self.steps - self.done_steps)
            if self.done_steps >= self.steps:
                self._finish()
        return self.status

    def _finish(self):
        base = styled_net(up_blocks=0)
        net = LiteNet(LiteConfig(up_norms=True))
        net.load_state_dict(base.state_dict())
        x = torch.from_numpy(self.spec.styles[0][:64, :64].copy()).permute(2, 0, 1)[None].float() / 255
        s = base.encode_style(x)
        g = torch.Generator().manual_seed(5)
        style = LiteStyle(s.means + (torch.rand(1, 32, generator=g), torch.rand(1, 16, generator=g)),
                          s.stds + (torch.rand(1, 32, generator=g) * 3, torch.rand(1, 16, generator=g) * 3),
                          s.film_scale, s.film_shift)
        cache = LearnedCache(self.spec.cache_root)
        cache.put(LearnedNet(net.eval(), style, {"key": self.key, "steps": self.steps}))
        self.status.state, self.status.progress, self.status.seconds = "done", 1.0, 12.0


@pytest.fixture
def window(qtbot, tmp_path):
    from engine import Stylizer

    styles = tmp_path / "styles"
    styles.mkdir()
    for k in range(3):
        Image.fromarray(smooth_image(72, 80, 60 + k)).save(styles / f"paint{k}.png")
    lite = Stylizer(device="cpu", lite_net=styled_net(), style_side=64)
    lite.lite.use_openvino = False
    factory = WindowFactory(qtbot, tmp_path)
    StandInLearner.made = []

    def spawn(spec):
        win = factory.windows[0]
        # the real learner computes the same key from the same inputs
        return StandInLearner(spec, win.learning.wanted()[0])

    from app import learning as learning_module

    original = learning_module.StyleLearning.__init__

    def init(self, window, cache_root=None, spawn_=None, **kw):
        original(self, window, cache_root, spawn, min_pictures=1, max_wait_s=0.5)

    learning_module.StyleLearning.__init__ = init
    try:
        win = factory(lite, defaults=styles, learned_cache_dir=tmp_path / "learned")
    finally:
        learning_module.StyleLearning.__init__ = original
    win.learning.timer.stop()  # the test ticks by hand: deterministic steps
    wait_ready(qtbot, win, 3)
    yield win, tmp_path
    factory.close_all()


def tick_until(qtbot, win, predicate, timeout=WAIT_MS):
    deadline = time.monotonic() + timeout / 1000
    while not predicate():
        assert time.monotonic() < deadline, f"timed out; status {win.learning.status!r}"
        win.learning.tick()
        qtbot.wait(50)


def stylized(qtbot, win):
    after = time.monotonic()
    found = []

    def check():
        _, r = win.results.latest()
        if r is not None and r.styled and r.t_capture > after:
            found.append(r.stylized.copy())
            return True
        return False
    qtbot.waitUntil(check, timeout=WAIT_MS)
    return found[-1]


def test_learning_shows_progress_pauses_resumes_and_switches(qtbot, window):
    win, tmp_path = window
    paths = sorted(win.gallery.entries)
    win.gallery.check_only([paths[0]])
    before = stylized(qtbot, win)
    tick_until(qtbot, win, lambda: StandInLearner.made and StandInLearner.made[0].done_steps >= 3)
    first = StandInLearner.made[0]
    assert "Learning paint0 for Real-time" in win.learning_label.text() and "%" in win.learning_label.text()
    assert "%" in win.gallery._item(paths[0]).text()
    assert first.spec.contents and first.spec.styles[0].shape[2] == 3  # frames of the live source
    # another style: the first job pauses with its progress kept
    win.gallery.check_only([paths[1]])
    tick_until(qtbot, win, lambda: len(StandInLearner.made) == 2)
    kept = first.done_steps
    for _ in range(3):
        win.learning.tick()
    assert first.status.state == "paused" and first.done_steps == kept
    assert "paint1" in win.learning_label.text()
    # back to the first style: resumed where it stopped, finished, switched to
    win.gallery.check_only([paths[0]])
    tick_until(qtbot, win, lambda: first.status.state == "done")
    assert first.done_steps == first.steps and StandInLearner.made.count(first) == 1
    tick_until(qtbot, win, lambda: win.box.stylizer.plan is not None and win.box.stylizer.plan.learned is not None)
    assert win.gallery._item(paths[0]).text() == "paint0"  # the bar is gone once learned
    after = stylized(qtbot, win)
    assert np.abs(after.astype(int) - before).mean() > 2  # the learned network paints now
    assert len(list((tmp_path / "learned").glob("*.safetensors"))) == 1


def test_learn_box_off_means_no_learning_and_the_base_network(qtbot, window):
    win, _ = window
    win.learn_check.setChecked(False)
    win.gallery.check_only([sorted(win.gallery.entries)[0]])
    stylized(qtbot, win)
    for _ in range(10):
        win.learning.tick()
        qtbot.wait(20)
    assert not StandInLearner.made and win.learning_label.text() == ""
    assert win.settings.value("learn") in (False, "false")


def test_closing_the_window_stops_the_job(qtbot, window):
    win, _ = window
    win.gallery.check_only([sorted(win.gallery.entries)[0]])
    tick_until(qtbot, win, lambda: bool(StandInLearner.made))
    win.close()
    assert StandInLearner.made[0].stopped


def test_at_most_two_learning_processes_are_kept(qtbot, window):
    """Each paused process holds the teacher and the student (~1 GB): the least recently used
    unfinished one ends when a third style starts learning."""
    win, _ = window
    paths = sorted(win.gallery.entries)
    for n, path in enumerate(paths, start=1):
        win.gallery.check_only([path])
        tick_until(qtbot, win, lambda n=n: len(StandInLearner.made) == n)
    first, second, third = StandInLearner.made
    assert first.stopped and not second.stopped and not third.stopped
    assert second.status.state == "paused" and len(win.learning.jobs) == 2
