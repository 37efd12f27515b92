"""``main.py learn``: learn a style (or a blend) for the Real-time network and cache it (issue #28).

``stylize``, ``video`` and ``live`` with the Real-time model then use the learned network for that
style automatically; the app does the same (and learns in the background by itself).
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from engine.errors import InputError


def add_arguments(p) -> None:
    p.add_argument("--style", nargs="+", required=True, metavar="IMAGE", help="style image(s)")
    p.add_argument("--weights", nargs="+", type=float, default=None,
                   help="one weight per style: learn that blend (normalised to sum 1)")
    p.add_argument("--content", nargs="+", default=None, metavar="DIR|VIDEO|IMAGE",
                   help="pictures to learn from: folders of photos, videos, images (default: scenes "
                        "the app generates; your own camera's or video's frames give the best result)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the recipe's)")
    p.add_argument("--seconds", type=float, default=None,
                   help="stop learning after this many seconds and cache what was learned")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    p.add_argument("--force", action="store_true", help="learn again even if this style is cached")


def run(args) -> int:
    import torch

    from engine.learn.content import content_pictures
    from engine.learn.foreground import learn_foreground
    from engine.learn.learner import DEFAULT_RECIPE, StyleLearner
    from engine.media.imageio import load_image_rgb
    from engine.runtime.learned import LearnedCache

    if args.weights is not None and len(args.weights) != len(args.style):
        raise InputError(None, f"{len(args.weights)} weights for {len(args.style)} styles")
    if args.weights is not None and (min(args.weights) < 0 or sum(args.weights) <= 0):
        raise InputError(None, "--weights must be ≥ 0 and not all 0")
    if args.steps is not None and not 1 <= args.steps <= 100_000:
        raise InputError(None, f"--steps must be between 1 and 100000, got {args.steps}")
    if args.seconds is not None and args.seconds <= 0:
        raise InputError(None, f"--seconds must be positive, got {args.seconds}")
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    styles = [load_image_rgb(s) for s in args.style]
    recipe = DEFAULT_RECIPE if args.steps is None else replace(DEFAULT_RECIPE, steps=args.steps)
    contents = content_pictures(args.content, recipe.photos, recipe.size)
    label = " + ".join(Path(s).stem for s in args.style)
    learner = StyleLearner(styles, args.weights, contents, recipe, label=label)
    cache = LearnedCache()
    if cache.has(learner.key) and not args.force:
        print(f"{label}: already learned ({cache.path(learner.key)}); --force learns it again")
        return 0
    source = "generated scenes" if not args.content else f"{len(contents)} pictures"
    path, teacher_s = learn_foreground(learner, cache, args.seconds, start)
    total = time.perf_counter() - start
    print(f"learned {label} for the Real-time model in {total:.0f} s "
          f"(teacher targets on {source} {teacher_s:.0f} s, {learner.steps_done} steps "
          f"{learner.seconds - teacher_s:.0f} s, loading {total - learner.seconds:.0f} s): {path}")
    return 0
