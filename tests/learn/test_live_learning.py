"""``main.py live`` learns the style beside the stream (issue #28): the base Real-time network paints
first, a finished network is switched to between two frames (the stream's frames change), a cached
one is used at once, and the stop ends the learning job."""
from __future__ import annotations

import io
import threading
import time

import numpy as np
import torch

from conftest import styled_net
from engine.learn.live import LiveLearning
from engine.learn.worker import LearnStatus
from engine.nets.lite import LiteConfig, LiteNet, LiteStyle
from engine.runtime.learned import LearnedCache, LearnedNet
from engine.runtime.live import LiveOptions, run_live
from engine.tools.synthetic import pattern_image

STYLE = pattern_image(64, 80, seed=31)


class Collect:
    """An output that keeps what it is sent."""

    def __init__(self):
        self.frames = []

    def put(self, frame):
        self.frames.append(frame.copy())

    def stop(self):
        pass


class StandIn:
    """The real learner's rules (progress per poll, result into the cache), in a few polls."""

    def __init__(self, spec, key, polls=4):
        self.spec, self.key, self.left, self.stopped = spec, key, polls, False
        self.status = LearnStatus(state="learning")

    def poll(self):
        self.left -= 1
        if self.left <= 0 and self.status.state == "learning":
            base = styled_net()
            net = LiteNet(LiteConfig(up_norms=True))
            net.load_state_dict(base.state_dict())
            s = base.encode_style(torch.from_numpy(STYLE[:64, :64].copy()).permute(2, 0, 1)[None].float() / 255)
            g = torch.Generator().manual_seed(2)
            style = LiteStyle(s.means + (torch.rand(1, 32, generator=g), torch.rand(1, 16, generator=g)),
                              s.stds + (torch.rand(1, 32, generator=g) * 3, torch.rand(1, 16, generator=g) * 3),
                              s.film_scale, s.film_shift)
            LearnedCache(self.spec.cache_root).put(LearnedNet(net.eval(), style, {"key": self.key}))
            self.status.state, self.status.seconds = "done", 3.0
        return self.status

    def stop(self):
        self.stopped = True


def run(tmp_path, companion, seconds_until):
    from engine import Stylizer

    st = Stylizer(device="cpu", lite_net=styled_net(), style_side=64)
    st.lite.use_openvino = False
    options = LiveOptions(source="pattern:160x120", styles=[STYLE], size=64, status_every=0.5, stabilize=False)
    stop, out = threading.Event(), io.StringIO()
    collect = Collect()
    import engine.runtime.live as live

    original = live._start_outputs
    live._start_outputs = lambda *a, **k: [collect]
    try:
        thread = threading.Thread(target=run_live, args=(options, stop),
                                  kwargs={"stylizer_factory": lambda d: st, "out": out, "companion": companion})
        thread.start()
        deadline = time.monotonic() + 120
        while not seconds_until(st, out) and time.monotonic() < deadline:
            time.sleep(0.1)
        n = len(collect.frames)
        time.sleep(1.0)
        stop.set()
        thread.join(30)
    finally:
        live._start_outputs = original
    return st, out.getvalue(), collect.frames, n


def test_live_learns_then_switches_and_stops_the_job(tmp_path):
    made = []
    cache = LearnedCache(tmp_path / "learned")

    def spawn(spec):
        made.append(StandIn(spec, companion.key))
        return made[-1]

    companion = LiveLearning([STYLE], None, "stripes", cache=cache, spawn=spawn, min_pictures=1, max_wait_s=0.5)
    st, log, frames, switched_at = run(tmp_path, companion,
                                        lambda st, out: "now uses the Real-time network" in out.getvalue())
    assert "learn: learning stripes for the Real-time model in the background" in log
    assert "now uses the Real-time network learned for stripes (learned in 3 s)" in log
    assert st.plan.learned is not None and made and made[0].spec.contents  # learned on the stream's frames
    before, after = frames[0], frames[-1]
    assert np.abs(after.astype(int) - before).mean() > 2  # the learned network paints the stream now
    assert made[0].stopped  # the stop ends the job


def test_a_cached_network_is_used_at_once_and_no_learn_means_none(tmp_path):
    cache = LearnedCache(tmp_path / "learned")
    first = LiveLearning([STYLE], None, "stripes", cache=cache,
                         spawn=lambda spec: StandIn(spec, first.key, polls=1), min_pictures=1, max_wait_s=0.2)
    run(tmp_path, first, lambda st, out: "now uses" in out.getvalue())
    spawned = []
    again = LiveLearning([STYLE], None, "stripes", cache=cache, spawn=lambda spec: spawned.append(spec))
    st, log, _, _ = run(tmp_path, again, lambda st, out: "now uses" in out.getvalue())
    assert "learned for this style before" in log and not spawned and st.plan.learned is not None
