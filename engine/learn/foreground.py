"""Learning one style in the foreground: a progress bar on stderr, the result cached."""
from __future__ import annotations

import sys
import time


def learn_foreground(learner, cache, seconds: float | None = None, start: float | None = None):
    """Run ``learner`` to the end (or ``seconds`` after ``start``) with a progress bar on stderr,
    cache the result (unless ``cache`` is None); → (its path or None, seconds spent on teacher targets)."""
    from tqdm import tqdm

    start = time.perf_counter() if start is None else start
    teacher_s = 0.0
    with tqdm(total=learner.total_units, desc=f"learning {learner.label or 'the style'}", unit="step",
              file=sys.stderr, disable=None) as bar:
        while not learner.done:
            if seconds is not None and time.perf_counter() - start > seconds and learner.steps_done:
                break
            learner.step()
            if not learner.steps_done:
                teacher_s = learner.seconds
            bar.update(learner.units_done - bar.n)
            if learner.last_losses:
                bar.set_postfix(loss=f"{learner.last_losses['loss']:.3g}", refresh=False)
    return (cache.put(learner.result()) if cache is not None else None), teacher_s


__all__ = ["learn_foreground"]
