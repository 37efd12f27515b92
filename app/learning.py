"""Learning the ticked style for the Real-time model in the background (issue #28).

:class:`StyleLearning` runs in the GUI thread on a half-second timer and never waits:

- it keeps a few distinct pictures of the live source (:class:`~engine.learn.content.NoveltySampler`
  on the newest captured frame), the content the style is learned from;
- when the Real-time model runs on the CPU and the ticked style (or blend) has no learned network,
  it starts a :class:`~engine.learn.worker.BackgroundLearner` (a low-priority child process) for it;
  until that is done the picture comes from the base Real-time network;
- a style that is no longer ticked pauses its job (progress kept); ticking it again resumes it;
- a finished (or already cached) network is loaded and its frame graph built on the jobs thread
  (:meth:`~app.job_worker.JobThread.prepare_learned`), then the inference thread switches to it
  between two frames, so the switch never stalls the video;
- progress shows in the status bar ("Learning Starry Night for Real-time — 40 %, about 1 min left")
  and on the style's thumbnail. The window's *Learn styles* box turns all of it off.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from engine.learn.content import MAX_WAIT_S, MIN_PICTURES

MAX_JOBS = 2  # learning processes kept (running or paused; ~1 GB each): the oldest paused one ends
SAMPLE_EVERY_S = 1.0
TICK_MS = 500


class StyleLearning(QObject):
    """See the module docstring. ``spawn(spec)`` makes a started learner (tests pass a fake with
    the same interface and timing rules)."""

    status_changed = Signal(str)  # the status bar's learning text ('' when nothing to say)

    def __init__(self, window, cache_root=None, spawn=None, min_pictures: int = MIN_PICTURES,
                 max_wait_s: float = MAX_WAIT_S):
        super().__init__(window)
        from engine.learn.content import NoveltySampler
        from engine.runtime.learned import LearnedCache

        self.window = window
        self.cache = LearnedCache(cache_root)
        self.spawn = spawn or _spawn
        self.min_pictures, self.max_wait_s = min_pictures, max_wait_s
        self.enabled = True
        self.sampler = NoveltySampler()
        self.jobs: dict[str, object] = {}  # key → learner (running, paused or finished)
        self.failed: dict[str, str] = {}  # key → reason (not retried until the app restarts)
        self.ready: set[str] = set()  # keys whose network the stylizer has prepared
        self.preparing: set[str] = set()
        self.status = ""
        self._wanted_since: tuple[str, float] | None = None
        self._last_sample = 0.0
        self.timer = QTimer(self, interval=TICK_MS, timeout=self.tick)
        self.timer.start()

    # --- what is wanted -------------------------------------------------------------------------
    def wanted(self):
        """(key, paths, weights) of the ticked style/blend when learning applies, else None."""
        st = self.window.box.stylizer
        controls = self.window.inference.controls
        if not self.enabled or st is None or getattr(st, "lite", None) is None or st.device.type != "cpu":
            return None
        if not controls.style_keys or controls.person_mode == "split":
            return None
        digests = controls.style_digests
        if len(digests) != len(controls.style_keys) or not all(digests):
            return None
        from engine.runtime.learned import RECIPE_VERSION, learned_key, teacher_id

        key = learned_key(list(digests), list(controls.weights), st.lite.weights_id, teacher_id(), RECIPE_VERSION)
        return key, controls.style_keys, controls.weights

    # --- the timer ------------------------------------------------------------------------------
    def tick(self) -> None:
        if self.window._closed:
            return
        self._sample()
        wanted = self.wanted()
        key = wanted[0] if wanted else None
        for other, job in self.jobs.items():
            if other != key:
                job.pause()
        text = "" if wanted is None else self._advance(*wanted)
        self._set_status(text)

    def _sample(self) -> None:
        now = time.monotonic()
        if now - self._last_sample < SAMPLE_EVERY_S:
            return
        self._last_sample = now
        _, frame = self.window.frames.latest()
        if frame is not None:
            self.sampler.offer(frame.image[:, :, ::-1])  # BGR → RGB

    def _advance(self, key: str, paths, weights) -> str:
        label = " + ".join(Path(p).stem for p in paths)
        if key in self.ready:
            self._badge(paths, None)
            return ""
        if key in self.failed:
            return ""
        if key in self.preparing:
            return f"Switching to the Real-time network learned for {label}…"
        if self.cache.has(key):
            self._prepare(key)
            return f"Switching to the Real-time network learned for {label}…"
        job = self.jobs.get(key)
        if job is None:
            since = self._wanted_since[1] if self._wanted_since and self._wanted_since[0] == key else None
            if since is None:
                self._wanted_since = (key, time.monotonic())
                since = self._wanted_since[1]
            if len(self.sampler.pictures) < self.min_pictures and time.monotonic() - since < self.max_wait_s:
                return f"Learning {label} for Real-time: collecting pictures of the scene…"
            self._make_room()
            job = self.jobs[key] = self._start(key, paths, weights, label)
            if job is None:
                self.jobs.pop(key, None)
                return ""
        self.jobs[key] = self.jobs.pop(key)  # most recently used last
        job.resume()
        status = job.poll()
        if status.state == "done":
            self._badge(paths, None)
            self._prepare(key)
            return f"Learned {label} for Real-time in {status.seconds:.0f} s; switching to it…"
        if status.state == "failed":
            self.failed[key] = status.error
            self._badge(paths, None)
            self.window.show_message(f"Learning {label} for Real-time failed: {status.error}")
            return ""
        self._badge(paths, status.progress)
        left = "" if status.eta_s is None else f", {_duration(status.eta_s)} left"
        return f"Learning {label} for Real-time — {100 * status.progress:.0f} %{left}"

    def _make_room(self) -> None:
        """End the least recently used unfinished jobs beyond :data:`MAX_JOBS` − 1 (their progress
        is lost: each paused process holds the teacher and the student in memory)."""
        unfinished = [k for k, job in self.jobs.items() if not job.finished]
        for key in unfinished[:max(0, len(unfinished) - (MAX_JOBS - 1))]:
            self.jobs.pop(key).stop(wait_s=0.1)  # the GUI thread: no long wait (killed after 0.1 s)

    def _start(self, key: str, paths, weights, label: str):
        from engine.learn.content import filled_with_generated
        from engine.learn.learner import DEFAULT_RECIPE
        from engine.learn.worker import LearnSpec
        from engine.media.imageio import load_image_rgb

        try:
            styles = [load_image_rgb(p) for p in paths]
        except Exception as exc:  # noqa: BLE001 - a style file gone since it was added
            self.failed[key] = str(exc)
            return None
        pictures = filled_with_generated(self.sampler.pictures, self.min_pictures, DEFAULT_RECIPE.size)
        spec = LearnSpec(styles, list(weights), pictures, DEFAULT_RECIPE, label, str(self.cache.root))
        return self.spawn(spec)

    def _prepare(self, key: str) -> None:
        if key in self.preparing:
            return
        self.preparing.add(key)
        _, frame = self.window.results.latest()
        shape = None if frame is None else frame.stylized.shape
        self.window.jobs.prepare_learned(key, str(self.cache.root), shape)

    def on_learned_ready(self, key: str, error: str) -> None:
        """The jobs thread prepared (or failed to load) the network for ``key``."""
        self.preparing.discard(key)
        if error and not self.cache.has(key):  # a broken entry was removed: learn it again
            self.jobs.pop(key, None)
            return
        if error:
            self.failed[key] = error
            self.window.show_message(f"The learned Real-time network could not be used: {error}")
            return
        self.ready.add(key)
        self.window.inference.request_learned_refresh()
        self.tick()

    def forget_ready(self) -> None:
        """A new stylizer was built: it has none of the prepared networks."""
        self.ready.clear()
        self.preparing.clear()

    # --- output ---------------------------------------------------------------------------------
    def _badge(self, paths, progress) -> None:
        gallery = self.window.gallery
        if hasattr(gallery, "set_progress"):
            for p in paths:
                gallery.set_progress(p, progress)

    def _set_status(self, text: str) -> None:
        if text != self.status:
            self.status = text
            self.status_changed.emit(text)

    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        if not on:
            for job in self.jobs.values():
                job.pause()
        self.tick()

    def shutdown(self) -> None:
        """Stop every job within about a second in all; called when the window closes."""
        self.timer.stop()
        for job in self.jobs.values():
            job.request_stop()
        deadline = time.monotonic() + 1.0
        for job in self.jobs.values():
            job.stop(wait_s=max(0.0, deadline - time.monotonic()))


def _spawn(spec):
    from engine.learn.worker import BackgroundLearner

    return BackgroundLearner(spec).start()


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5):.0f} s"
    return f"about {round(seconds / 60):.0f} min"


__all__ = ["StyleLearning"]
