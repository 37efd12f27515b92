"""Learning the style beside ``main.py live`` (issue #28): a companion of
:func:`engine.runtime.live.run_live` that keeps distinct frames of the stream, learns the style for
the Real-time model in a low-priority child process (:class:`~engine.learn.worker.BackgroundLearner`)
and switches the stream to the learned network between two frames; until then the base Real-time
network paints. A network already cached for the style is used at once.
"""
from __future__ import annotations

import threading
import time

from .content import MAX_WAIT_S, MIN_PICTURES, NoveltySampler, filled_with_generated
from .learner import DEFAULT_RECIPE, Recipe

REPORT_EVERY_S = 15.0


class LiveLearning:
    """``start(stylizer)`` / ``on_frame(bgr)`` / ``tick(log)`` / ``close()`` (see run_live)."""

    def __init__(self, styles, weights, label: str, recipe: Recipe = DEFAULT_RECIPE, cache=None,
                 spawn=None, min_pictures: int = MIN_PICTURES, max_wait_s: float = MAX_WAIT_S):
        from engine.runtime.learned import LearnedCache

        self.styles, self.weights, self.label, self.recipe = styles, weights, label, recipe
        self.cache = cache or LearnedCache()
        self.spawn = spawn or _spawn
        self.min_pictures, self.max_wait_s = min_pictures, max_wait_s
        self.sampler = NoveltySampler(capacity=recipe.photos, size=recipe.size)
        self._lock = threading.Lock()
        self.stylizer = None
        self.job = None
        self.key: str | None = None
        self.state = "idle"  # idle, waiting, learning, ready, failed, off
        self._started = 0.0
        self._last_report = 0.0
        self._shape = None

    def start(self, stylizer) -> None:
        self.stylizer = stylizer
        self._started = time.monotonic()
        key_of = getattr(stylizer, "learned_key", None)
        self.key = key_of() if key_of is not None and getattr(stylizer, "use_learned", False) else None
        self.state = "waiting" if self.key is not None else "off"

    def on_frame(self, bgr) -> None:
        """From the inference thread: offer the frame (a cheap thumbnail comparison)."""
        if self.state in ("waiting", "learning"):
            self._shape = bgr.shape
            with self._lock:
                self.sampler.offer(bgr[:, :, ::-1])

    def tick(self, log) -> None:
        if self.state == "waiting":
            self._maybe_start(log)
        elif self.state == "learning":
            self._follow(log)

    def _maybe_start(self, log) -> None:
        if self.cache.has(self.key):
            self._switch(log, "a network learned for this style before")
            return
        with self._lock:
            pictures = list(self.sampler.pictures)
        if len(pictures) < self.min_pictures and time.monotonic() - self._started < self.max_wait_s:
            return
        pictures = filled_with_generated(pictures, self.min_pictures, self.recipe.size)
        from .worker import LearnSpec

        spec = LearnSpec(list(self.styles), self.weights, pictures, self.recipe, self.label, str(self.cache.root))
        self.job = self.spawn(spec)
        self.state = "learning"
        log(f"learn: learning {self.label} for the Real-time model in the background on {len(pictures)} "
            f"pictures of the stream (the base network paints until then; --no-learn turns this off)")

    def _follow(self, log) -> None:
        status = self.job.poll()
        if status.state == "done":
            self._switch(log, f"learned in {status.seconds:.0f} s")
        elif status.state == "failed":
            self.state = "failed"
            log(f"learn: learning {self.label} failed: {status.error}; the base network keeps painting")
        elif time.monotonic() - self._last_report >= REPORT_EVERY_S:
            self._last_report = time.monotonic()
            left = "" if status.eta_s is None else f", about {status.eta_s / 60:.1f} min left"
            log(f"learn: {self.label} {100 * status.progress:.0f} %{left}")

    def _switch(self, log, how: str) -> None:
        learned = self.cache.get(self.key)
        if learned is None:  # broken entry (removed by the cache): learn it again
            self.state = "waiting"
            return
        self.stylizer.prepare_learned(learned, self._shape)  # the frame graph is built here, not on a frame
        self.stylizer.refresh_learned()
        self.state = "ready"
        log(f"learn: the stream now uses the Real-time network learned for {self.label} ({how})")

    def close(self) -> None:
        if self.job is not None:
            self.job.stop()


def _spawn(spec):
    from .worker import BackgroundLearner

    return BackgroundLearner(spec).start()


__all__ = ["LiveLearning"]
