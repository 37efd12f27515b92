"""The status bar's frame-rate readout ("12.5 fps · 80 ms"): stylized frames only.

Frames shown unstyled (the model loading or switching, a style encoding, no style ticked) pass
straight through at the camera's rate and would read as "30 fps · 5 ms"; they are not counted, and
while they are what the view shows, or while the inference thread is loading a model, the readout
says why instead. A measurement starts afresh after such a pause and with every new model.
"""
from __future__ import annotations

import time

WAITING = "waiting for a frame…"


class FrameRateReadout:
    """``add(result)`` for every result the view shows; ``text()`` for the label (every 0.5 s).

    ``window`` gives ``inference`` (its ``state`` and ``stylizers_built``), ``results``, ``box``
    and ``gallery``. ``fps`` and ``latency`` are the smoothed rate and delay of stylized frames.
    """

    def __init__(self, window):
        self.window = window
        self.fps = 0.0
        self.latency = 0.0
        self.interval = 0.0
        self.last_t: float | None = None  # t_done of the last stylized frame counted
        self._built = 0  # the inference thread's stylizers_built when the measurement started

    def add(self, result) -> None:
        built = getattr(self.window.inference, "stylizers_built", 0)
        if not result.styled or built != self._built:  # a pause, or another model: measure afresh
            self._built = built
            self.fps = self.latency = self.interval = 0.0
            self.last_t = None
            if not result.styled:
                return
        if self.last_t is not None:  # smooth the interval, not the rate (rates average badly)
            dt = max(result.t_done - self.last_t, 1e-6)
            self.interval = dt if self.interval == 0 else 0.85 * self.interval + 0.15 * dt
            self.fps = 1.0 / self.interval
        self.last_t = result.t_done
        self.latency = result.latency if self.latency == 0 else 0.9 * self.latency + 0.1 * result.latency

    def state(self) -> str:
        """Why the view shows no stylized frames now ("" when it does, or shows nothing yet)."""
        w = self.window
        loading = getattr(w.inference, "state", "")
        if loading:
            return loading
        _, result = w.results.latest()
        if result is None or result.styled:
            return ""
        if not w.box.ready.is_set():
            return "loading the model…"
        if w.box.stylizer is None:
            return "no model: showing the source unstyled"
        ticked = w.gallery.checked_entries(ready_only=False)
        if any(not e.ready for e in ticked):
            return "encoding the style…"
        return "no style ticked" if not ticked else "unstyled"

    def text(self, now: float | None = None) -> str:
        """The label's text: the state, "waiting for a frame…" when stylized frames stopped
        coming, the rate and delay, or "–" before the second stylized frame."""
        state = self.state()
        if state:
            return state
        now = time.monotonic() if now is None else now
        stalled_after = max(2.0, 3 * self.interval, 2 * self.latency)  # slow CPUs take seconds a frame
        if self.last_t is not None and now - self.last_t > stalled_after:
            return WAITING
        return f"{self.fps:.1f} fps · {1000 * self.latency:.0f} ms" if self.fps else "– fps"
