"""``main.py evaluate``: the paper's Fig. 3 measurement on the held-out split, and the quality bar.

For each content×style pair of the held-out split (``models/eval_split.json``) every method
produces an 8-bit RGB image, and three metrics are computed on it with the same encoder f:

- content loss (Eq. 11): MSE between f(out) and the AdaIN target ``t = (1−α)·f(c) + α·AdaIN(f(c), f(s))``
  at relu4_1;
- style loss (Eq. 12): Σ over relu1_1..relu4_1 of MSE(μ) + MSE(σ) against the style image
  (:func:`engine.training.train.style_loss`, the training loss itself);
- structure: mean over channels of the spatial Pearson correlation between relu4_1 of the output
  and of the content image (channels whose variance is zero in either are left out).

Methods: our decoder(s) ``g(t)``, the unstylized content image, the style image (a reference:
structure ≈ 0), and Gatys-style optimisation (L-BFGS on the pixels from the content image,
minimising ``Lc(t) + λ·Ls`` with the same losses; one run snapshotted at each requested iteration
count). Baseline images are cached as PNG (they do not depend on the decoder), so re-evaluating a
new decoder costs seconds.

Quality bar (issue 8): per-pair ratios, geometric mean over pairs. Style: ours ÷ content image
≤ 0.35. Structure: ours ÷ L-BFGS-100 ≥ 0.8.

Images: shorter side resized to ``--size``, then centre-cropped to ``size×size`` (content and
style alike). Shapes: images ``[1,3,S,S]`` RGB in [0,1]; relu4_1 ``[1,512,S/8,S/8]``.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import shlex
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.nets.adain import adain, mix_alpha, style_stats
from engine.nets.decoder import load_decoder
from engine.nets.encoder import encoder_id, load_encoder
from engine.errors import InputError
from engine.media.imageio import list_images, load_image_rgb, resize_short_side, save_image_rgb, to_tensor, to_uint8
from .train import SPLIT_FILE, style_loss
from engine.files import atomic_write
from engine.training.eval_common import DEFAULT_CACHE, ROOT, file_sha1, rel_to_root, with_palette
from engine.training.evaluate_lite import lite_bars, lite_methods
from engine.training.report import CONTENT_ROW, STYLE_ROW, bar_lines, lite_bar_lines, markdown_report, save_grid

STYLE_BAR = 0.35  # ours ÷ content image, at most
STRUCTURE_BAR = 0.8  # ours ÷ L-BFGS reference, at least
REFERENCE_ITERS = 100  # the structure bar's baseline
BASELINE_VERSION = "lbfgs-v1"  # bump when the optimisation changes (invalidates the cache)


# --- metrics ----------------------------------------------------------------------------------

def content_loss(out_relu4: torch.Tensor, target: torch.Tensor) -> float:
    """Eq. 11: MSE between ``[1,512,h,w]`` relu4_1 features of the output and the AdaIN target."""
    return F.mse_loss(out_relu4.float(), target.float()).item()


def structure(feat: torch.Tensor, ref: torch.Tensor, rel_tol: float = 1e-4) -> float:
    """Mean over channels of the spatial Pearson correlation of ``feat`` and ``ref`` ``[1,C,h,w]``.

    Channels whose spatial std is below ``rel_tol`` × the mean |activation| in either tensor
    (dead or flat channels) are left out; with none left (e.g. a flat image) the result is 0.
    """
    a = feat[0].double().flatten(1)
    b = ref[0].double().flatten(1)
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    std_a, std_b = a.pow(2).mean(dim=1).sqrt(), b.pow(2).mean(dim=1).sqrt()
    scale = max(feat.abs().mean().item(), ref.abs().mean().item(), 1e-12)
    valid = (std_a > rel_tol * scale) & (std_b > rel_tol * scale)
    if not bool(valid.any()):
        return 0.0
    corr = (a * b).mean(dim=1)[valid] / (std_a * std_b)[valid]
    return corr.mean().item()


@dataclass
class PairFeatures:
    """What one pair's metrics need: content relu4_1, style taps, AdaIN target ``t``."""

    content_relu4: torch.Tensor
    style_taps: list[torch.Tensor]
    target: torch.Tensor


def prepare_pair(encoder, content: torch.Tensor, style: torch.Tensor, alpha: float) -> PairFeatures:
    """Encode ``content``/``style`` ``[1,3,S,S]`` and build the target ``t`` (Eq. 14 with α)."""
    with torch.no_grad():
        fc = encoder(content)
        s_taps = encoder.taps(style)
        t = mix_alpha(fc, adain(fc, style_stats(s_taps[-1])), alpha)
    return PairFeatures(fc, s_taps, t)


def gram_matrix(feat: torch.Tensor) -> torch.Tensor:
    """``[1,C,h,w]`` → ``[C,C]`` Gram matrix over the pixels (fp64, normalised by their count)."""
    f = feat[0].double().flatten(1)
    return f @ f.T / f.shape[1]


def texture_distance(taps: list[torch.Tensor], style_taps: list[torch.Tensor]) -> float:
    """Σ over relu1_1…relu4_1 of ‖G(out) − G(style)‖² / ‖G(style)‖²: how far the output's texture
    statistics (Gram matrices, Gatys et al.) are from the painting's; each layer relative to the
    painting's Gram norm so no layer dominates. ``texture`` in the tables is this distance of the
    output divided by that of the unstylized content image (1 = no texture transferred)."""
    total = 0.0
    for o, s in zip(taps, style_taps):
        gs = gram_matrix(s)
        total += float(((gram_matrix(o) - gs) ** 2).sum() / (gs ** 2).sum().clamp_min(1e-24))
    return total


@torch.no_grad()
def image_metrics(encoder, image: torch.Tensor, pair: PairFeatures) -> dict[str, float]:
    """Content loss, style loss, texture distance and structure of an output ``[1,3,S,S]`` RGB in [0,1]."""
    taps = encoder.taps(image)
    return {"content_loss": content_loss(taps[-1], pair.target),
            "style_loss": float(style_loss(taps, pair.style_taps)),
            "texture": texture_distance(taps, pair.style_taps),
            "structure": structure(taps[-1], pair.content_relu4)}


def quantise(image: torch.Tensor) -> torch.Tensor:
    """What a saved 8-bit image holds: clamp to [0,1] and round to 1/255 (``[1,3,H,W]``)."""
    return to_tensor(to_uint8(image)).to(image.device)


# --- the optimisation baseline ----------------------------------------------------------------

def total_loss(encoder, image: torch.Tensor, pair: PairFeatures, style_weight: float) -> torch.Tensor:
    """``Lc + λ·Ls`` of ``image`` ``[1,3,S,S]`` (differentiable): the decoder's training loss."""
    taps = encoder.taps(image)
    return F.mse_loss(taps[-1], pair.target) + style_weight * style_loss(taps, pair.style_taps)


def lbfgs_transfer(encoder, content: torch.Tensor, pair: PairFeatures, iters: list[int],
                   style_weight: float = 10.0, history: int = 100,
                   progress=None) -> tuple[dict[int, torch.Tensor], list[float]]:
    """Gatys-style transfer: L-BFGS on the pixels, starting from the content image.

    One run of ``max(iters)`` iterations (one loss and gradient evaluation each, no line
    search, step 1, as in Gatys et al.'s and neural-style's L-BFGS); the image after each count
    in ``iters`` is returned (unclamped ``[1,3,S,S]``), with the loss before each iteration
    and after the last: ``len(losses) == max(iters) + 1``. ``progress(i, loss)`` is called
    every 25 iterations.
    """
    x = content.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=history,
                            tolerance_grad=0.0, tolerance_change=0.0, line_search_fn=None)

    def closure():
        opt.zero_grad(set_to_none=True)
        loss = total_loss(encoder, x, pair, style_weight)
        loss.backward()
        return loss.detach()

    snapshots, losses = {}, []
    for i in range(1, max(iters) + 1):
        losses.append(float(opt.step(closure)))  # loss at the point the step started from
        if not math.isfinite(losses[-1]):
            raise RuntimeError(f"L-BFGS diverged at iteration {i}")
        if i in iters:
            snapshots[i] = x.detach().clone()
        if progress is not None and i % 25 == 0:
            progress(i, losses[-1])
    with torch.no_grad():
        losses.append(float(total_loss(encoder, x, pair, style_weight)))
    return snapshots, losses


class BaselineCache:
    """L-BFGS results as 8-bit PNGs keyed by inputs and settings (they do not depend on the decoder).

    ``<key>_<iters>.png`` plus ``<key>.json`` (seconds to reach each count). ``folder=None``
    disables caching.
    """

    def __init__(self, folder: Path | None):
        self.folder = folder

    def get(self, key: str, iters: list[int]) -> tuple[dict[int, np.ndarray], dict[int, float]] | None:
        if self.folder is None or not (self.folder / f"{key}.json").is_file():
            return None
        try:
            seconds = {int(k): v for k, v in json.loads((self.folder / f"{key}.json").read_text())
                       ["seconds"].items()}
            if not all(n in seconds for n in iters):
                return None
            return {n: np.array(load_image_rgb(self.folder / f"{key}_{n}.png")) for n in iters}, seconds
        except (OSError, ValueError, KeyError, InputError):
            return None  # unreadable cache entry: recompute

    def put(self, key: str, images: dict[int, np.ndarray], seconds: dict[int, float], info: dict) -> None:
        if self.folder is None:
            return
        for n, rgb in images.items():
            save_image_rgb(rgb, self.folder / f"{key}_{n}.png")
        record = dict(info, seconds={str(n): s for n, s in seconds.items()})
        atomic_write(self.folder / f"{key}.json", lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1)))


def baseline_key(content_sha: str, style_sha: str, size: int, alpha: float, style_weight: float,
                 enc_id: str) -> str:
    blob = json.dumps([BASELINE_VERSION, content_sha, style_sha, size, alpha, style_weight, enc_id])
    return hashlib.sha1(blob.encode()).hexdigest()[:20]


# --- data -------------------------------------------------------------------------------------

def load_split(path: Path) -> dict:
    try:
        split = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(path, "no such file (the held-out split is written by `main.py train`)") from None
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a readable split file ({exc})") from None
    if not isinstance(split, dict) or not split.get("content") or not split.get("style"):
        raise InputError(path, "expected a JSON object with non-empty 'content' and 'style' name lists")
    return split


def resolve_names(folder: str, names: list[str]) -> list[Path]:
    """Held-out names → files under ``folder`` (searched recursively, like training does)."""
    by_name = {}
    for p in list_images(folder):
        by_name.setdefault(p.name, p)
    missing = [n for n in names if n not in by_name]
    if missing:
        raise InputError(Path(folder) / missing[0],
                         f"held-out image listed in the split is missing ({len(missing)} missing)")
    return [by_name[n] for n in names]


def select_pairs(contents: list[str], styles: list[str], n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` distinct content×style pairs, seeded, spreading use evenly over contents and styles.

    From a seeded shuffle of all pairs, each step takes the first pair whose content and style
    have been used least so far: the first min(#contents, #styles) pairs share no image.
    """
    pool = [(c, s) for c in contents for s in styles]
    random.Random(seed).shuffle(pool)
    used_c, used_s, chosen = Counter(), Counter(), []
    for _ in range(min(n, len(pool))):
        best = min(range(len(pool)), key=lambda i: (max(used_c[pool[i][0]], used_s[pool[i][1]]),
                                                    used_c[pool[i][0]] + used_s[pool[i][1]], i))
        c, s = pool.pop(best)
        used_c[c] += 1
        used_s[s] += 1
        chosen.append((c, s))
    return chosen


def load_square(path: Path, size: int) -> np.ndarray:
    """Shorter side resized to ``size``, then the centre ``size×size`` crop: ``HxWx3`` uint8."""
    rgb = resize_short_side(load_image_rgb(path), size)
    h, w = rgb.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return np.array(rgb[y:y + size, x:x + size])  # a writable copy


# --- summary ----------------------------------------------------------------------------------

def geometric_mean(values: list[float]) -> float:
    """Geometric mean; 0 when any value is ≤ 0 (a zero factor), NaN for an empty list."""
    if not values:
        return math.nan
    if min(values) <= 0:
        return 0.0
    return math.exp(sum(math.log(v) for v in values) / len(values))


def ratios(pairs: list[dict], method: str, reference: str, metric: str) -> list[float]:
    """Per-pair ``metric(method) / metric(reference)`` over pairs having both (reference > 0)."""
    out = []
    for p in pairs:
        m, r = p["methods"].get(method), p["methods"].get(reference)
        if m is not None and r is not None and r[metric] > 0:
            out.append(m[metric] / r[metric])
    return out


def summarise(pairs: list[dict], methods: list[str], structure_ref: str | None) -> dict:
    summary = {}
    for name in methods:
        rows = [p["methods"][name] for p in pairs if name in p["methods"]]
        if not rows:
            continue
        entry = {"pairs": len(rows)}
        for metric in ("content_loss", "style_loss", "structure", "seconds"):
            entry[f"{metric}_mean"] = sum(r[metric] for r in rows) / len(rows)
        style_r = ratios(pairs, name, CONTENT_ROW, "style_loss")
        entry["style_ratio_gmean"] = geometric_mean(style_r)
        texture_r = ratios(pairs, name, CONTENT_ROW, "texture")
        entry["texture_ratio_gmean"] = geometric_mean(texture_r) if texture_r else math.nan
        entry["style_ratio_pairs"] = len(style_r)
        if structure_ref:
            struct_r = ratios(pairs, name, structure_ref, "structure")
            entry["structure_ratio_gmean"] = geometric_mean(struct_r)
            entry["structure_ratio_pairs"] = len(struct_r)
        summary[name] = entry
    return summary


def quality_bars(summary: dict, decoders: list[str], structure_ref: str | None) -> list[dict]:
    bars = []
    for name in decoders:
        s = summary[name]
        style_ok = s["style_ratio_gmean"] <= STYLE_BAR
        bar = {"method": name,
               "style": {"value": s["style_ratio_gmean"], "bar": f"≤ {STYLE_BAR}", "pairs":
                         s["style_ratio_pairs"], "pass": style_ok}}
        if structure_ref and s.get("structure_ratio_pairs"):
            ok = s["structure_ratio_gmean"] >= STRUCTURE_BAR
            bar["structure"] = {"value": s["structure_ratio_gmean"], "bar": f"≥ {STRUCTURE_BAR}",
                                "reference": structure_ref, "pairs": s["structure_ratio_pairs"], "pass": ok}
        else:
            bar["structure"] = {"value": None, "bar": f"≥ {STRUCTURE_BAR}", "pass": None,
                                "reference": None, "note": "no optimisation baseline was run"}
        bars.append(bar)
    return bars


# --- a run ------------------------------------------------------------------------------------

@dataclass
class EvaluateOptions:
    """Settings of one evaluate run (the command line's options; see ``engine.cli.evaluate``)."""

    decoder: list[str] | None = None  # decoder weights to compare (None: models/decoder.safetensors)
    content: str = "../shared/data/content"
    style: str = "../shared/data/style"
    split: str = str(SPLIT_FILE)
    pairs: int = 20
    seed: int = 0
    size: int = 256
    alpha: float = 1.0
    style_weight: float = 10.0
    baseline_iters: list[int] = field(default_factory=lambda: [100, 300])
    baseline_pairs: list[int] = field(default_factory=lambda: [6, 2])
    baseline_cache: str = str(DEFAULT_CACHE)
    no_cache: bool = False
    json: str | None = None
    markdown: str | None = None
    grid: str | None = None
    grid_rows: int = 4
    threads: int = 2
    device: str = "cpu"
    encoder: str | None = None
    model: str = "vgg"  # vgg: the decoder(s); lite (or auto choosing it): the lite network
    lite: str | None = None  # lite weights (None: models/lite.safetensors)
    learn: bool = True  # lite: also the network learned for each painting (engine.training.evaluate_lite)
    learned_cache: str | None = None  # where those are kept (None: runs/evaluate_cache/learned)
    learn_steps: int | None = None  # None: the product's recipe as it is
    palette: bool = True  # match the painting's colour moments, as the app does (engine.nets.palette)


@dataclass
class Plan:
    """Validated settings of one evaluate run."""

    pairs: list[tuple[str, str]]
    content_paths: dict[str, Path]
    style_paths: dict[str, Path]
    baseline_plan: list[list[int]]  # per pair index: the L-BFGS counts to run for it
    iters: list[int]
    structure_ref: str | None
    decoders: list[tuple[str, Path]] = field(default_factory=list)


def make_plan(args) -> Plan:
    split = load_split(Path(args.split))
    c_paths = dict(zip(split["content"], resolve_names(args.content, split["content"])))
    s_paths = dict(zip(split["style"], resolve_names(args.style, split["style"])))
    pairs = select_pairs(split["content"], split["style"], args.pairs, args.seed)
    counts = args.baseline_pairs * len(args.baseline_iters) if len(args.baseline_pairs) == 1 \
        else args.baseline_pairs
    per_iters = sorted(zip(args.baseline_iters, counts))
    plan = [[n for n, m in per_iters if j < m] for j in range(len(pairs))]
    iters = sorted({n for n, m in per_iters if m > 0})
    ref = None
    if iters:
        ref_iters = REFERENCE_ITERS if REFERENCE_ITERS in iters else iters[0]
        ref = f"L-BFGS {ref_iters}"
    names = args.decoder or [str(ROOT / "models" / "decoder.safetensors")]
    decoders = [(_decoder_label(p, names), Path(p)) for p in names]
    return Plan(pairs, c_paths, s_paths, plan, iters, ref, decoders)


def _decoder_label(path: str, all_paths: list[str]) -> str:
    stems = [Path(p).name for p in all_paths]
    name = Path(path).name if stems.count(Path(path).name) == 1 else str(path)
    return f"ours: {name}"


def run(args: EvaluateOptions) -> int:
    torch.set_num_threads(args.threads)
    from engine.runtime.stylizer import pick_device

    device = pick_device(args.device)
    plan = make_plan(args)
    encoder = load_encoder(args.encoder).to(device)
    enc_id = encoder_id(args.encoder)
    decoders, decoder_info = lite_methods(args, device, list(plan.content_paths))
    lite_labels = [label for label, _ in decoders]
    for label, path in plan.decoders:  # with --model lite too: the reference of its texture bar
        dec, meta = load_decoder(path)
        decoders.append((label, vgg_method(encoder, dec.to(device).eval().requires_grad_(False), args.alpha,
                                                  args.palette)))
        decoder_info.append({"label": label, "path": rel_to_root(path), "sha1": file_sha1(path),
                             "steps": meta.get("steps"), "encoder_id": meta.get("encoder_id")})
        if meta.get("encoder_id") and meta["encoder_id"] != enc_id:
            print(f"warning: {path} was trained with encoder {meta['encoder_id']}, evaluating with "
                  f"{enc_id}", file=sys.stderr)
    cache = BaselineCache(None if args.no_cache else Path(args.baseline_cache))
    started = time.time()
    pair_results, grid_rows = [], []
    squares: dict[Path, np.ndarray] = {}
    for j, (c_name, s_name) in enumerate(plan.pairs):
        c_path, s_path = plan.content_paths[c_name], plan.style_paths[s_name]
        for p in (c_path, s_path):
            if p not in squares:
                squares[p] = load_square(p, args.size)
        want_grid = args.grid and j < args.grid_rows
        result, images = evaluate_pair(encoder, decoders, squares[c_path], squares[s_path], plan.baseline_plan[j],
                                       args, cache, (file_sha1(c_path), file_sha1(s_path)), enc_id, device)
        result.update(index=j, content=c_name, style=s_name)
        pair_results.append(result)
        if want_grid:
            grid_rows.append(images)
        brief = ", ".join(f"{k} {v['seconds']:.1f}s{' (cached)' if v.get('cached') else ''}"
                          for k, v in result["methods"].items() if k not in (CONTENT_ROW, STYLE_ROW))
        print(f"pair {j + 1}/{len(plan.pairs)} {c_name} × {s_name}: {brief}", file=sys.stderr, flush=True)

    methods = [label for label, _ in decoders] + [CONTENT_ROW, STYLE_ROW] + [f"L-BFGS {n}" for n in plan.iters]
    summary = summarise(pair_results, methods, plan.structure_ref)
    bars = quality_bars(summary, [label for label, _ in decoders], plan.structure_ref)
    vgg_labels = [label for label, _ in decoders if label not in lite_labels]
    learned_bars = lite_bars(summary, lite_labels, vgg_labels[0] if vgg_labels else None, plan.structure_ref)
    result = {
        "command": command_line(args),
        "settings": {"size": args.size, "preprocess": f"shorter side resized to {args.size}, centre "
                     f"crop {args.size}×{args.size} (content and style)", "alpha": args.alpha,
                     "palette": args.palette, "style_weight": args.style_weight, "seed": args.seed, "pairs": len(plan.pairs),
                     "baseline_iters": plan.iters, "baseline_pairs": {
                         str(n): sum(n in p for p in plan.baseline_plan) for n in plan.iters},
                     "structure_reference": plan.structure_ref,
                     "content_target": "t = (1-alpha)*f(c) + alpha*AdaIN(f(c), f(s)) at relu4_1 (paper Eq. 11/14)",
                     "outputs": "every method's output is clamped to [0,1] and rounded to 8 bits before "
                                "the metrics",
                     "baseline": "L-BFGS on the pixels from the content image, loss Lc(t) + lambda*Ls, "
                                 "history 100, step 1, no line search, one function evaluation per iteration",
                     "device": str(device), "threads": args.threads, "torch": torch.__version__,
                     "encoder_id": enc_id},
        "split": {"path": rel_to_root(Path(args.split)), "sha1": file_sha1(Path(args.split)),
                  "content": len(plan.content_paths), "style": len(plan.style_paths)},
        "decoders": decoder_info,
        "pairs": pair_results,
        "summary": summary,
        "bars": bars,
        "lite_bars": learned_bars,
        "wall_seconds": time.time() - started,
    }
    write_outputs(result, args, grid_rows, methods)
    return 0


def vgg_method(encoder, decoder, alpha: float, palette: bool = True):
    """The VGG model's whole path as ``(content, style) → image`` (``[1,3,S,S]`` each)."""
    def run(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        fc = encoder(content)
        out = decoder(mix_alpha(fc, adain(fc, style_stats(encoder(style))), alpha))
        return with_palette(out, style, alpha, palette)
    return run


def command_line(args) -> str:
    """The run's settings as one explicit command line (defaults spelled out)."""
    parts = ["python main.py evaluate", "--decoder", *[shlex.quote(d) for d in (args.decoder or
             [rel_to_root(ROOT / "models" / "decoder.safetensors")])],
             "--content", shlex.quote(args.content), "--style", shlex.quote(args.style),
             "--split", shlex.quote(rel_to_root(Path(args.split))), "--pairs", str(args.pairs), "--seed",
             str(args.seed), "--size", str(args.size), "--alpha", f"{args.alpha:g}",
             "--style-weight", f"{args.style_weight:g}",
             "--baseline-iters", *map(str, args.baseline_iters),
             "--baseline-pairs", *map(str, args.baseline_pairs), "--threads", str(args.threads)]
    if not getattr(args, "palette", True):
        parts.append("--no-palette")
    if getattr(args, "model", "vgg") != "vgg":
        parts += ["--model", args.model] + (["--lite", shlex.quote(args.lite)] if args.lite else [])
        if not getattr(args, "learn", True):
            parts.append("--no-learn")
        elif getattr(args, "learn_steps", None):
            parts += ["--learn-steps", str(args.learn_steps)]
    return " ".join(parts)


def evaluate_pair(encoder, decoders, content_rgb, style_rgb, baseline_iters, args, cache, shas,
                  enc_id, device) -> tuple[dict, dict[str, np.ndarray]]:
    """Metrics of every method on one pair; returns (result, {method: output uint8 RGB})."""
    content = to_tensor(content_rgb).to(device)
    style = to_tensor(style_rgb).to(device)
    pair = prepare_pair(encoder, content, style, args.alpha)
    methods, images = {}, {}
    for label, method in decoders:
        if hasattr(method, "prepare"):  # learning a painting's network is not the pair's time
            method.prepare(style)
        t0 = time.perf_counter()
        with torch.no_grad():  # the whole path: encode both, stylize (VGG: AdaIN, decode)
            out = quantise(method(content, style))
        seconds = time.perf_counter() - t0
        methods[label] = dict(image_metrics(encoder, out, pair), seconds=seconds)
        images[label] = to_uint8(out)
    methods[CONTENT_ROW] = dict(image_metrics(encoder, content, pair), seconds=0.0)
    methods[STYLE_ROW] = dict(image_metrics(encoder, style, pair), seconds=0.0)
    if baseline_iters:
        key = baseline_key(*shas, args.size, args.alpha, args.style_weight, enc_id)
        hit = cache.get(key, baseline_iters)
        cached = hit is not None
        if not cached:
            t0 = time.perf_counter()
            n_max = max(baseline_iters)
            snaps, losses = lbfgs_transfer(
                encoder, content, pair, baseline_iters, args.style_weight,
                progress=lambda i, loss: print(f"  L-BFGS {i}/{n_max}: loss {loss:.3f}, "
                                               f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True))
            total = time.perf_counter() - t0
            seconds = {n: total * n / n_max for n in baseline_iters}  # each iteration costs the same
            hit = ({n: to_uint8(x) for n, x in snaps.items()}, seconds)
            cache.put(key, hit[0], seconds, {"losses_at": {str(n): losses[n] for n in baseline_iters},
                                             "initial_loss": losses[0]})
        rgbs, seconds = hit
        for n in baseline_iters:
            out = to_tensor(rgbs[n]).to(device)
            methods[f"L-BFGS {n}"] = dict(image_metrics(encoder, out, pair), seconds=seconds[n],
                                          cached=cached)
            images[f"L-BFGS {n}"] = rgbs[n]
    return {"methods": methods}, images


def write_outputs(result: dict, args, grid_rows, methods) -> None:
    text = "\n".join(bar_lines(result["bars"]) + lite_bar_lines(result.get("lite_bars", [])))
    print(text)
    if args.json:
        path = Path(args.json)
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(result, indent=1) + "\n"))
    if args.markdown:
        md = markdown_report(result)
        if args.markdown == "-":
            print(md)
        else:
            atomic_write(Path(args.markdown), lambda tmp: Path(tmp).write_text(md))
    if args.grid and grid_rows:
        columns = [m for m in methods if m not in (CONTENT_ROW, STYLE_ROW)]
        save_grid(grid_rows, columns, Path(args.grid))
