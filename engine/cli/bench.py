"""``main.py bench``: frames/s and latency of the per-frame pipeline (see docs/PERF.md)."""
from __future__ import annotations

from engine.cli.common import add_model_arguments, options_from
from engine.errors import InputError
from engine.tools.bench import ALL_MODES, BenchOptions, parse_size
from engine.tools import bench

DEFAULTS = BenchOptions()


def add_arguments(p) -> None:
    p.add_argument("--sizes", nargs="+", default=DEFAULTS.sizes,
                   help="frame sizes: N (NxN), WxH, 480p, 720p (1280x720), 1080p (1920x1080), 4k")
    p.add_argument("--modes", nargs="+", default=DEFAULTS.modes, choices=ALL_MODES,
                   help="lite: the lite network as the app runs it (OpenVINO on the CPU when it loads; random "
                        "weights until models/lite.safetensors exists); lite-torch: the same in eager torch; "
                        "lite-onnx: through ONNX Runtime (optional packages); the last two not in the default set")
    p.add_argument("--frames", type=int, default=None,
                   help="timed frames per mode and size (default: as many as fit --budget, 3..200)")
    p.add_argument("--budget", type=float, default=DEFAULTS.budget,
                   help="seconds of timed frames per size when --frames is not given (default 30)")
    p.add_argument("--warmup", type=int, default=None, help="untimed frames per mode (default 1 CPU, 10 CUDA)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--pad-mode", choices=["copy", "fix"], default=None,
                   help="fast mode's reflection padding strategy (default: the device's)")
    p.add_argument("--alpha", type=float, default=DEFAULTS.alpha, help="content–style trade-off in [0,1] (default 1)")
    p.add_argument("--style", default=None, metavar="IMAGE", help="style image (default: synthetic, 5:4)")
    p.add_argument("--style-size", type=int, default=DEFAULTS.style_size,
                   help="shorter side of the style image as encoded (default 512, as pytorch-AdaIN)")
    p.add_argument("--sweep", action="store_true",
                   help="also time the fast network under CPU settings (memory format × padding)")
    p.add_argument("--profile", action="store_true",
                   help="profile one fast-mode frame at the first size (torch.profiler) and print where the time goes")
    p.add_argument("--json", default=None, metavar="OUT", help="write the results as JSON")
    add_model_arguments(p)
    p.add_argument("--lite", default=None, metavar="PATH", help="lite weights (default: models/lite.safetensors)")
    p.add_argument("--no-learn", dest="learn", action="store_false",
                   help="lite modes: the base network even when one was learned for --style (main.py learn)")


def validate(args) -> None:
    for text in args.sizes:
        parse_size(text)
    if args.frames is not None and not 1 <= args.frames <= 10000:
        raise InputError(None, f"--frames must be 1..10000, got {args.frames}")
    if not 0.0 <= args.alpha <= 1.0:
        raise InputError(None, f"--alpha must be in [0, 1], got {args.alpha}")
    if not args.budget > 0:
        raise InputError(None, f"--budget must be positive, got {args.budget}")
    if args.warmup is not None and not 0 <= args.warmup <= 1000:
        raise InputError(None, f"--warmup must be 0..1000, got {args.warmup}")
    if args.threads is not None and not 1 <= args.threads <= 1024:
        raise InputError(None, f"--threads must be 1..1024, got {args.threads}")
    if not 32 <= args.style_size <= 4096:
        raise InputError(None, f"--style-size must be 32..4096, got {args.style_size}")


def run(args) -> int:
    validate(args)
    return bench.run(options_from(args, BenchOptions))
