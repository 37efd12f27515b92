"""Learning a style in the background (issue #28): a child process at low priority, so the live
view keeps its frame rate and its threads (the learner's torch threads would otherwise share the
inference thread's pool and priority).

:class:`BackgroundLearner` starts one job (:class:`LearnSpec`) in a ``spawn`` child process,
``nice``-d, with its own torch thread count. The parent polls it (:meth:`~BackgroundLearner.poll`,
never blocking) for progress and the result; :meth:`~BackgroundLearner.pause` /
:meth:`~BackgroundLearner.resume` stop and restart the work between two steps with the progress
kept in the child; :meth:`~BackgroundLearner.stop` ends it within a second (then kills it). The
child ignores Ctrl-C (the parent decides), exits when the parent is gone, and writes its result
into the :class:`~engine.runtime.learned.LearnedCache` atomically before it says "done".
"""
from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import signal
import time
from dataclasses import dataclass

import numpy as np

from .learner import DEFAULT_RECIPE, Recipe

STOP_WAIT_S = 1.0


@dataclass
class LearnSpec:
    """One learning job: styles (``HxWx3`` uint8 RGB), blend weights, content pictures, recipe."""

    styles: list[np.ndarray]
    weights: list[float] | None
    contents: list[np.ndarray]
    recipe: Recipe = DEFAULT_RECIPE
    label: str = ""
    cache_root: str | None = None
    threads: int = 1
    nice: int = 5  # the live view keeps most of the CPU; 10 starved learning to ~10 % of a core


@dataclass
class LearnStatus:
    """What the parent knows: ``state`` is ``starting``, ``learning``, ``paused``, ``done``,
    ``failed`` or ``stopped``; ``progress`` in [0, 1]; ``eta_s`` seconds left (None: unknown);
    ``path`` of the cached result once done; ``error`` a one-line reason once failed."""

    state: str = "starting"
    progress: float = 0.0
    eta_s: float | None = None
    seconds: float = 0.0
    key: str = ""
    path: str = ""
    error: str = ""


def _child(spec: LearnSpec, events, run, stop, parent_pid: int) -> None:
    """The child process: learn, report, cache. Never raises (a failure is an event)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which stops us
    with contextlib.suppress(OSError, AttributeError):
        os.nice(spec.nice)
    try:
        import torch

        torch.set_num_threads(max(1, spec.threads))
        from engine.runtime.learned import LearnedCache

        from .learner import StyleLearner

        learner = StyleLearner(spec.styles, spec.weights, spec.contents, spec.recipe, label=spec.label)
        events.put(("key", learner.key))
        cache = LearnedCache(spec.cache_root)
        recent: list[tuple[float, int]] = []
        last_report = 0.0
        while not learner.done:
            if stop.is_set() or os.getppid() != parent_pid:
                return
            if not run.wait(0.2):
                recent.clear()  # time paused is not learning time
                continue
            learner.step()
            now = time.monotonic()
            recent = (recent + [(now, learner.units_done)])[-30:]
            if now - last_report > 0.5 or learner.done:
                last_report = now
                eta = None
                if len(recent) > 3:
                    rate = (recent[-1][1] - recent[0][1]) / max(1e-6, recent[-1][0] - recent[0][0])
                    eta = (learner.total_units - learner.units_done) / rate if rate > 0 else None
                events.put(("progress", learner.progress, eta, learner.seconds))
        path = cache.put(learner.result())
        events.put(("done", str(path), learner.seconds))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        events.put(("failed", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]))


class BackgroundLearner:
    """One learning job in a low-priority child process (see the module docstring)."""

    def __init__(self, spec: LearnSpec):
        self.spec = spec
        self.status = LearnStatus()
        ctx = mp.get_context("spawn")
        self._events = ctx.Queue()
        self._run, self._stop = ctx.Event(), ctx.Event()
        self._run.set()
        self._process = ctx.Process(target=_child, args=(spec, self._events, self._run, self._stop, os.getpid()),
                                    name="adain-learn", daemon=True)

    def start(self) -> "BackgroundLearner":
        self._process.start()
        self.status.state = "learning"
        return self

    def pause(self) -> None:
        """Stop working after the current step; the progress stays in the child."""
        if self.status.state in ("learning", "starting"):
            self._run.clear()
            self.status.state = "paused"

    def resume(self) -> None:
        if self.status.state == "paused":
            self._run.set()
            self.status.state = "learning"

    @property
    def finished(self) -> bool:
        return self.status.state in ("done", "failed", "stopped")

    def poll(self) -> LearnStatus:
        """Take every event the child sent (never blocks); the status after them."""
        while True:
            try:
                event = self._events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                break
            kind = event[0]
            if kind == "key":
                self.status.key = event[1]
            elif kind == "progress":
                self.status.progress, self.status.eta_s, self.status.seconds = event[1], event[2], event[3]
            elif kind == "done":
                self.status.state, self.status.path, self.status.seconds = "done", event[1], event[2]
                self.status.progress, self.status.eta_s = 1.0, 0.0
            elif kind == "failed":
                self.status.state, self.status.error = "failed", event[1]
        if not self.finished and self._process.exitcode is not None:
            self.status.state = "failed"
            self.status.error = self.status.error or f"the learning process ended (exit code {self._process.exitcode})"
        return self.status

    def request_stop(self) -> None:
        """Ask the child to end after its current step (returns at once)."""
        self._stop.set()
        self._run.set()

    def stop(self, wait_s: float = STOP_WAIT_S) -> None:
        """End the job: ask, wait up to ``wait_s``, then kill. Safe to call more than once."""
        self.request_stop()
        if self._process.pid is not None:
            self._process.join(wait_s)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(1.0)
        if not self.finished:
            self.status.state = "stopped"
        with contextlib.suppress(Exception):
            self._events.close()
            self._events.cancel_join_thread()


__all__ = ["BackgroundLearner", "LearnSpec", "LearnStatus"]
