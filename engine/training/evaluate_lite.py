"""``evaluate --model lite``: the Real-time network as the product runs it, and issue #28's bars.

Methods (each ``(content [1,3,S,S], style [1,3,S,S]) → image [1,3,S,S]`` in [0,1]):

- **lite: learned** — for each painting, the network learned for exactly that painting
  (:class:`engine.learn.learner.StyleLearner`, the product's recipe) from training photos only
  (never the split's held-out ones); learned once per painting before the pair is timed and kept
  in a cache of this tool's own (``runs/evaluate_cache/learned``), not the app's. The painting it
  learns from is the one every method gets (the ``S×S`` crop), so the teacher is the VGG method
  of this run without the palette;
- **lite: base** — the shipped Real-time network with the painting encoded by its own encoder;
- the VGG model(s) (added by :func:`engine.training.evaluate.run`), the reference of the texture bar.

Bars (issue #28, per-pair ratios, geometric means): style ÷ content image ≤ 0.20; texture ÷
content image ≤ 0.30 and ≤ 1.25× the VGG model's on the same pairs; structure ÷ L-BFGS-100 ≥ 0.9.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from engine.errors import InputError
from engine.media.imageio import list_images, load_image_rgb, to_uint8
from engine.training.eval_common import DEFAULT_CACHE, file_sha1, rel_to_root, with_palette

STYLE_BAR = 0.20
TEXTURE_BAR = 0.30
TEXTURE_VS_VGG_BAR = 1.25
STRUCTURE_BAR = 0.9
TRAIN_SEED = 2028  # which training photos the styles are learned from (the study's choice too)


def training_photos(content_dir: str | Path, held_out: list[str], count: int, seed: int = TRAIN_SEED) -> list[Path]:
    """``count`` images of ``content_dir`` whose names are not in ``held_out``, a seeded choice."""
    held = set(held_out)
    paths = [p for p in list_images(content_dir) if p.name not in held]
    if not paths:
        raise InputError(Path(content_dir), "no training photos outside the held-out split to learn from")
    rng = np.random.default_rng(seed)
    return [paths[i] for i in rng.choice(len(paths), min(count, len(paths)), replace=False)]


class LearnedStyles:
    """The ``lite: learned`` method: ``prepare(style)`` learns (or loads) the network for a
    painting; calling it stylizes with that network (palette as the product applies it)."""

    def __init__(self, net, base_id: str, photos: list[Path], args, device, cache_root: Path | None, recipe):
        from engine.runtime.learned import LearnedCache

        self.net, self.base_id, self.photos, self.args, self.device = net, base_id, photos, args, device
        self.recipe = recipe
        self.cache = LearnedCache(cache_root) if cache_root is not None else None
        self.teacher = None
        self.contents: list[np.ndarray] | None = None
        self.nets: dict[str, object] = {}
        self.log: list[dict] = []  # per painting: how it was learned

    def prepare(self, style: torch.Tensor) -> None:
        from engine.runtime.learned import style_digest

        rgb = to_uint8(style)
        digest = style_digest(rgb)
        if digest not in self.nets:
            self.nets[digest] = self._learned(rgb)
        self.current = self.nets[digest]

    def _learned(self, rgb: np.ndarray):
        from engine.learn.foreground import learn_foreground
        from engine.learn.learner import StyleLearner
        from engine.runtime.stylizer import Stylizer

        if self.teacher is None:
            self.teacher = Stylizer(device="cpu", model="vgg", style_side=self.args.size)
            self.contents = [load_image_rgb(p) for p in self.photos]
        label = f"painting {len(self.nets) + 1}"
        learner = StyleLearner([rgb], None, self.contents, self.recipe, teacher=self.teacher,
                               base=(self.net, self.base_id), label=label)
        hit = self.cache.get(learner.key) if self.cache is not None else None
        if hit is not None:
            self.log.append({"key": learner.key, "cached": True, "seconds": hit.meta.get("seconds"),
                             "steps": hit.meta.get("steps")})
            return hit
        print(f"learning {label} for the Real-time model ({len(self.contents)} training photos)",
              file=sys.stderr, flush=True)
        start = time.perf_counter()
        learn_foreground(learner, self.cache)
        self.log.append({"key": learner.key, "cached": False, "seconds": round(time.perf_counter() - start, 1),
                         "steps": learner.steps_done})
        return learner.result()

    def __call__(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        learned = self.current
        net = learned.net.to(self.device)
        out = net.stylize(content, learned.style.to(self.device), self.args.alpha)
        return with_palette(out, style, self.args.alpha, self.args.palette)


def learn_recipe(steps: int | None):
    """The product's recipe, or the same stopped after ``steps`` (named apart: its own cache entries)."""
    from dataclasses import replace

    from engine.learn.learner import DEFAULT_RECIPE

    if steps is None or steps == DEFAULT_RECIPE.steps:
        return DEFAULT_RECIPE
    return replace(DEFAULT_RECIPE, steps=steps, name=f"{DEFAULT_RECIPE.name}@{steps}")


def lite_methods(args, device, held_out: list[str]) -> tuple[list, list]:
    """With ``--model lite`` (or ``auto`` choosing it): [learned (unless --no-learn), base]
    methods and their descriptions; else ([], [])."""
    from engine.nets.lite import load_lite, lite_weights
    from engine.nets.lite_runner import _weights_digest
    from engine.runtime.stylizer import resolve_model

    model, note = resolve_model(getattr(args, "model", "vgg"), device, args.lite)
    if note:
        print(f"note: {note}", file=sys.stderr)
    if model != "lite":
        return [], []
    path = lite_weights(args.lite)
    net, meta = load_lite(path)
    net = net.to(device).eval().requires_grad_(False)
    info = {"path": rel_to_root(path), "sha1": file_sha1(path), "steps": meta.get("steps"), "encoder_id": "lite"}
    base_label = f"lite: {path.name}"
    methods = []
    infos = []
    if getattr(args, "learn", True):
        recipe = learn_recipe(getattr(args, "learn_steps", None))
        photos = training_photos(args.content, held_out, recipe.photos)
        cache_root = None if args.no_cache else Path(getattr(args, "learned_cache", None) or DEFAULT_CACHE / "learned")
        learned = LearnedStyles(net, _weights_digest(net), photos, args, device, cache_root, recipe)
        label = f"lite: learned ({recipe.name})"
        methods.append((label, learned))
        infos.append(dict(info, label=label, recipe=recipe.describe(), learned=learned.log,
                          training_photos=[p.name for p in photos]))
    methods.append((base_label, lambda c, s: with_palette(net.stylize(c, net.encode_style(s), args.alpha), s,
                                                          args.alpha, args.palette)))
    infos.append(dict(info, label=base_label))
    return methods, infos


def lite_bars(summary: dict, lite_labels: list[str], vgg_label: str | None, structure_ref: str | None) -> list[dict]:
    """Issue #28's bars for each lite method (values None where a reference is missing)."""
    bars = []
    vgg = summary.get(vgg_label) if vgg_label else None
    for name in lite_labels:
        s = summary[name]
        texture_vs_vgg = s["texture_ratio_gmean"] / vgg["texture_ratio_gmean"] \
            if vgg and vgg["texture_ratio_gmean"] > 0 else None
        structure = s.get("structure_ratio_gmean") if structure_ref and s.get("structure_ratio_pairs") else None
        checks = [("style ÷ content image", s["style_ratio_gmean"], "≤", STYLE_BAR),
                  ("texture ÷ content image", s["texture_ratio_gmean"], "≤", TEXTURE_BAR),
                  (f"texture ÷ {vgg_label or 'the VGG model'}'s", texture_vs_vgg, "≤", TEXTURE_VS_VGG_BAR),
                  (f"structure ÷ {structure_ref or 'L-BFGS'}", structure, "≥", STRUCTURE_BAR)]
        bars.append({"method": name, "checks": [
            {"what": what, "value": value, "bar": f"{op} {limit}",
             "pass": None if value is None else (value <= limit if op == "≤" else value >= limit)}
            for what, value, op, limit in checks]})
    return bars


__all__ = ["LearnedStyles", "lite_bars", "lite_methods", "training_photos"]
