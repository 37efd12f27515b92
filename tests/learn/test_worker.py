"""The background learner is a real child process: it learns, caches the result and says where;
pausing stops its progress (kept), stopping ends it within the promised time, a failure is one line."""
from __future__ import annotations

import time

from engine.learn.learner import Recipe
from engine.learn.worker import BackgroundLearner, LearnSpec
from engine.runtime.learned import load_learned
from engine.tools.synthetic import pattern_image

TINY = Recipe(steps=6, batch=2, crop=32, margin=16, size=64, photos=2)


def spec(tmp_path, recipe=TINY, styles=None):
    return LearnSpec(styles or [pattern_image(96, 128, seed=21)], None,
                     [pattern_image(96, 128, seed=40 + i) for i in range(2)], recipe, "tiny",
                     str(tmp_path / "learned"), threads=1, nice=0)  # nice 0: a loaded test machine must not starve it


def wait(learner, predicate, timeout=240.0):
    deadline = time.monotonic() + timeout
    while not predicate(learner.poll()):
        assert time.monotonic() < deadline, learner.status
        time.sleep(0.2)
    return learner.status


def test_learns_caches_and_pauses(tmp_path):
    job = BackgroundLearner(spec(tmp_path, Recipe(steps=4000, batch=2, crop=32, margin=16, size=64, photos=2))).start()
    try:
        wait(job, lambda s: s.progress > 0.001)
        job.pause()
        time.sleep(1.5)  # the step in flight finishes
        held = job.poll().progress
        time.sleep(2.0)
        assert job.poll().progress == held and job.status.state == "paused"
        job.resume()
        wait(job, lambda s: s.progress > held)
    finally:
        started = time.monotonic()
        job.stop()
        assert time.monotonic() - started < 2.5
    assert job.status.state == "stopped" and not job._process.is_alive()
    assert not list((tmp_path / "learned").glob("*.safetensors"))  # stopped: nothing half-written

    done = BackgroundLearner(spec(tmp_path)).start()
    status = wait(done, lambda s: s.state in ("done", "failed"))
    assert status.state == "done", status.error
    learned = load_learned(status.path)
    assert learned.net.config.up_norms and learned.meta["key"] == status.key and status.progress == 1.0
    done.stop()


def test_a_failure_is_one_line(tmp_path):
    bad = spec(tmp_path, styles=["/no/such/style.png"])
    job = BackgroundLearner(bad).start()
    status = wait(job, lambda s: s.state in ("done", "failed"))
    job.stop()
    assert status.state == "failed" and "style.png" in status.error and "\n" not in status.error
