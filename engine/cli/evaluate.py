"""``main.py evaluate``: the paper's content/style measurements of a decoder (docs/QUALITY.md)."""
from __future__ import annotations

from engine.cli.common import add_model_choice, model_of, options_from
from engine.errors import InputError
from engine.training import evaluate
from engine.training.evaluate import EvaluateOptions

DEFAULTS = EvaluateOptions()


def add_arguments(p) -> None:
    p.add_argument("--decoder", nargs="+", default=None, metavar="PATH",
                   help="decoder weights to evaluate (several to compare); "
                        "default: models/decoder.safetensors")
    p.add_argument("--content", default=DEFAULTS.content, help="folder of photos")
    p.add_argument("--style", default=DEFAULTS.style, help="folder of paintings")
    p.add_argument("--split", default=DEFAULTS.split,
                   help="held-out split (JSON with 'content' and 'style' name lists); only those "
                        "images are used")
    p.add_argument("--pairs", type=int, default=DEFAULTS.pairs, help="content×style pairs (seeded subset)")
    p.add_argument("--seed", type=int, default=0, help="seed of the pair subset")
    p.add_argument("--size", type=int, default=DEFAULTS.size,
                   help="shorter side resized to N, then centre-cropped to N×N (multiple of 8)")
    p.add_argument("--alpha", type=float, default=1.0, help="content–style trade-off in [0,1]")
    p.add_argument("--style-weight", type=float, default=10.0, help="λ of the baseline's loss")
    p.add_argument("--baseline-iters", nargs="+", type=int, default=DEFAULTS.baseline_iters, metavar="N",
                   help="L-BFGS iteration counts (one run, snapshotted at each)")
    p.add_argument("--baseline-pairs", nargs="+", type=int, default=DEFAULTS.baseline_pairs, metavar="M",
                   help="pairs given the baseline: one number for all counts, or one per count "
                        "(the first M pairs; 0 skips the baseline)")
    p.add_argument("--baseline-cache", default=DEFAULTS.baseline_cache, metavar="DIR",
                   help="folder of cached baseline images (default runs/evaluate_cache)")
    p.add_argument("--no-cache", action="store_true", help="recompute baselines, write no cache")
    p.add_argument("--json", default=None, metavar="OUT", help="write all numbers as JSON")
    p.add_argument("--markdown", nargs="?", const="-", default=None, metavar="OUT",
                   help="write the QUALITY.md table (to stdout without OUT)")
    p.add_argument("--grid", default=None, metavar="PNG",
                   help="preview grid of the outputs (rows: the first pairs; no source images)")
    p.add_argument("--grid-rows", type=int, default=4)
    p.add_argument("--threads", type=int, default=DEFAULTS.threads, help="torch CPU threads")
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    p.add_argument("--encoder", default=None, metavar="PATH", help="encoder weights (default: VGG-19)")
    add_model_choice(p, default="vgg")
    p.add_argument("--learned-cache", default=None, metavar="DIR",
                   help="--model lite: where the networks learned for each painting are kept "
                        "(default runs/evaluate_cache/learned; --no-cache keeps none)")
    p.add_argument("--learn-steps", type=int, default=None, metavar="N",
                   help="--model lite: stop learning each painting after N steps (default: the product's "
                        "recipe) — to measure quality against learning time")
    p.add_argument("--no-palette", dest="palette", action="store_false",
                   help="keep the network's own colours (default: match the painting's palette, as the app does)")


def validate(args) -> None:
    if args.size % 8 or not 64 <= args.size <= 4096:
        raise InputError(None, f"--size must be a multiple of 8 between 64 and 4096, got {args.size}")
    if not 0.0 <= args.alpha <= 1.0:
        raise InputError(None, f"--alpha must be in [0, 1], got {args.alpha}")
    if args.pairs < 1:
        raise InputError(None, f"--pairs must be at least 1, got {args.pairs}")
    if any(n < 1 for n in args.baseline_iters):
        raise InputError(None, f"--baseline-iters must be positive, got {args.baseline_iters}")
    if len(args.baseline_pairs) not in (1, len(args.baseline_iters)) or min(args.baseline_pairs) < 0:
        raise InputError(None, "--baseline-pairs takes one count ≥ 0, or one per --baseline-iters")
    if args.learn_steps is not None and not 1 <= args.learn_steps <= 100_000:
        raise InputError(None, f"--learn-steps must be between 1 and 100000, got {args.learn_steps}")
    if args.threads < 1:
        raise InputError(None, f"--threads must be at least 1, got {args.threads}")


def run(args) -> int:
    validate(args)
    args.model = model_of(args)
    return evaluate.run(options_from(args, EvaluateOptions))
