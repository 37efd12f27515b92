"""The learn-the-style study (issue #28): which loss recipe teaches the Real-time network one
style best per CPU second. ``python -m engine.tools.learn_study --styles A.jpg B.jpg --out runs/study``.

For each style and each variant (a :class:`~engine.learn.learner.Recipe`), a learner is trained on
training photos (never the held-out ones) and evaluated at checkpoints on held-out photos (256²
centre crops, α = 1, no palette): style ratio (the paper's style loss ÷ the unstylized photo's),
texture ratio (Gram distance ÷ the photo's, :func:`engine.training.evaluate.texture_distance`) and
structure (relu4_1 correlation with the photo), geometric means over the photos; the same for the
teacher (the VGG model) and the untouched base network. Seconds count the learner's own work
(teacher targets + steps), not the evaluation. Results go to ``<out>/study.json`` after every
checkpoint, and a grid (photo | base | learned per variant | teacher) per style at the end.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from engine.learn.learner import Recipe, StyleLearner
from engine.media.imageio import load_image_rgb, save_image_rgb, to_tensor, to_uint8
from engine.training.evaluate_lite import training_photos
from engine.training.evaluate import geometric_mean, load_square, structure, texture_distance
from engine.training.train import style_loss

# the first rounds' recipe: the paper's losses, the pixel term on the crop alone, style on all of it
CROP_ONLY = Recipe(ring=None, content=1.0, perceptual=0.0, style_layers=4, style_inset=0)
VARIANTS = {
    "paper+norms": CROP_ONLY,
    "paper (no up-norms)": replace(CROP_ONLY, up_norms=False),
    "shallow": replace(CROP_ONLY, content=0.0, perceptual=1.0, style_layers=3),
    "paper+norms+gram": replace(CROP_ONLY, gram=5.0),
    "paper+norms+patchGAN": replace(CROP_ONLY, adversarial=5.0),
    "paper+norms lr 5e-4": replace(CROP_ONLY, lr=5e-4, style_lr=2e-3),
    "style-heavy": replace(CROP_ONLY, pixel=2.0, style=20.0),
    "shallow style-heavy": replace(CROP_ONLY, pixel=2.0, content=0.0, perceptual=1.0, style=20.0, style_layers=3),
    "paper+norms, pixel on the window": Recipe(),
    "shallow, pixel on the window": Recipe(style_inset=0),
    "shallow, mirrored edges": Recipe(style_inset=0),
    "final (shallow, mirrored edges, style inset 16)": Recipe(),
    # round 3: the knobs round 2 left untried, each on the final recipe
    "v1 style-heavy (pixel 3, style 30)": Recipe(pixel=3.0, style=30.0),
    "v1 lr x3 (6e-4, style 3e-3)": Recipe(lr=6e-4, style_lr=3e-3),
    "v1 no pixel (perceptual 3)": Recipe(pixel=0.0, perceptual=3.0),
    # capacity: the learned copy grows residual blocks (identity at first)
    "v1 + 1 block at 1/2 (2.39 GMAC)": Recipe(half_blocks=1),
    "v1 + 2 blocks at 1/2 + 1 at 1/4 (3.10 GMAC)": Recipe(half_blocks=2, extra_up_blocks=1),
    # crop scale: the style terms read whole-picture statistics on a 96² window at 128² crops
    "v1 crop 224, batch 2": Recipe(crop=224, batch=2),
}


@torch.no_grad()
def metrics(encoder, out: torch.Tensor, photo: torch.Tensor, style_taps) -> dict[str, float]:
    taps = encoder.taps(out)
    photo_taps = encoder.taps(photo)
    return {"style": float(style_loss(taps, style_taps)) / float(style_loss(photo_taps, style_taps)),
            "texture": texture_distance(taps, style_taps) / texture_distance(photo_taps, style_taps),
            "structure": structure(taps[-1], photo_taps[-1])}


def summary(rows: list[dict]) -> dict[str, float]:
    return {k: geometric_mean([r[k] for r in rows]) if k != "structure" else float(np.mean([r[k] for r in rows]))
            for k in rows[0]}


@torch.no_grad()
def student_outputs(learner: StyleLearner, photos: list[torch.Tensor]) -> list[torch.Tensor]:
    net = learner.student if learner.student is not None else learner.base_net
    was_training = net.training
    net.eval()
    style = learner.current_style() if learner.student is not None else None
    outs = []
    for p in photos:
        if style is None:
            from engine.media.imageio import resize_short_side

            s = resize_short_side(learner.style_rgbs[0], learner.teacher.style_side)
            s = torch.from_numpy(np.ascontiguousarray(s[: s.shape[0] // 16 * 16, : s.shape[1] // 16 * 16]))
            style = net.encode_style(s.permute(2, 0, 1)[None].float() / 255)
        outs.append(net.stylize(p, style, 1.0).clamp(0, 1))
    net.train(was_training)
    return outs


def run(styles: list[str], train_dir: str, held_out: list[str], train_names: list[str], variants: list[str],
        checkpoints: list[int], out: Path, seed: int = 0) -> None:
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "study.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    photos_rgb = [load_square(Path(p), 256) for p in held_out]
    photos = [to_tensor(p) for p in photos_rgb]
    contents = [load_image_rgb(Path(train_dir) / n) for n in train_names]
    for style_path in styles:
        name = Path(style_path).name
        per_style = results.setdefault(name, {})
        shared_teachers = None
        grid_cols: dict[str, list[np.ndarray]] = {}
        for variant in variants:
            if variant in per_style and per_style[variant].get("complete"):
                continue
            recipe = replace(VARIANTS[variant], steps=max(checkpoints))
            learner = StyleLearner([style_path], None, contents, recipe, seed=seed)
            encoder = learner.encoder
            style_taps = encoder.taps(to_tensor(load_square(Path(style_path), 256)))
            if "teacher" not in per_style:
                outs = [learner.teacher.stylize_tensor(p, alpha=1.0, palette=False) for p in photos]
                per_style["teacher"] = summary([metrics(encoder, o, p, style_taps) for o, p in zip(outs, photos)])
                grid_cols["teacher"] = [to_uint8(o) for o in outs]
                base = student_outputs(learner, photos)
                per_style["base"] = summary([metrics(encoder, o, p, style_taps) for o, p in zip(base, photos)])
                grid_cols["base"] = [to_uint8(o) for o in base]
            if shared_teachers is not None:  # the same photos, the same teacher: computed once
                learner.teachers, learner.padded = list(shared_teachers[0]), list(shared_teachers[1])
                learner.seconds = shared_teachers[2]
            curve = []
            while learner.units_done < learner.total_units:
                learner.step()
                if learner.steps_done in checkpoints and learner.student is not None and \
                        (not curve or curve[-1]["steps"] != learner.steps_done):
                    outs = student_outputs(learner, photos)
                    row = summary([metrics(encoder, o, p, style_taps) for o, p in zip(outs, photos)])
                    row.update(steps=learner.steps_done, seconds=round(learner.seconds, 1),
                               losses=learner.last_losses)
                    curve.append(row)
                    per_style[variant] = {"curve": curve, "recipe": recipe.describe(),
                                          "teacher_seconds": shared_teachers[2] if shared_teachers else None}
                    results_path.write_text(json.dumps(results, indent=1))
                    print(f"{name} {variant} step {learner.steps_done} {learner.seconds:.0f}s "
                          f"style {row['style']:.3f} texture {row['texture']:.3f} structure {row['structure']:.3f}",
                          flush=True)
                if shared_teachers is None and len(learner.teachers) == len(learner.contents):
                    shared_teachers = (list(learner.teachers), list(learner.padded), learner.seconds)
            per_style[variant]["complete"] = True
            per_style[variant]["teacher_seconds"] = shared_teachers[2]
            results_path.write_text(json.dumps(results, indent=1))
            grid_cols[variant] = [to_uint8(o) for o in student_outputs(learner, photos)]
        if grid_cols:
            cols = [("photo", photos_rgb)] + list(grid_cols.items())
            grid = np.concatenate([np.concatenate(imgs, 0) for _, imgs in cols], 1)
            save_image_rgb(grid, out / f"grid_{Path(name).stem}.jpg")
            (out / f"grid_{Path(name).stem}.txt").write_text(" | ".join(c for c, _ in cols) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--styles", nargs="+", required=True)
    ap.add_argument("--content-dir", default="../shared/data/content")
    ap.add_argument("--held-out", type=int, default=5, help="held-out photos (models/eval_split.json order)")
    ap.add_argument("--train-photos", type=int, default=24)
    ap.add_argument("--fit-held-out", action="store_true",
                    help="diagnostic: learn on the held-out photos themselves (the network's capacity, "
                         "not its generalisation)")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    ap.add_argument("--checkpoints", type=int, nargs="+", default=[50, 100, 200, 400])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="runs/learn_study")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    root = Path(__file__).resolve().parents[2]
    split = json.loads((root / "models" / "eval_split.json").read_text())
    train_names = [p.name for p in training_photos(args.content_dir, split["content"], args.train_photos)]
    if args.fit_held_out:  # a diagnostic, never a result: how close can the network get on photos it saw?
        train_names = split["content"][:args.held_out]
    held_out = [str(Path(args.content_dir) / n) for n in split["content"][:args.held_out]]
    start = time.time()
    run(args.styles, args.content_dir, held_out, train_names, args.variants, args.checkpoints, Path(args.out))
    print(f"study done in {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
