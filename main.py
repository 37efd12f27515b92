"""adain-live: restyle a live camera feed (or an image or video) in the style of any painting.

``python main.py`` opens the app; the subcommands below are the command-line tools.
Bad input ends with a one-line ``error: FILE: reason`` on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import sys


# Subcommands implemented in their own module: each has ``add_arguments(parser)`` and
# ``run(args) -> int``. A module that is not written yet is skipped.
MODULE_COMMANDS = {
    "stylize": ("engine.cli", "stylize one image"),
    "video": ("engine.video", "stylize a video file"),
    "flicker": ("engine.flicker", "temporal-consistency metric of a stylized video"),
    "bench": ("engine.bench", "frames/s and latency of the per-frame pipeline"),
    "evaluate": ("engine.evaluate", "content/style/structure metrics of a decoder (paper Fig. 3)"),
}


def _module_exists(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=None,
                        help="app only: camera index, video file, image file, or 'pattern'")
    parser.add_argument("--style", nargs="*", default=None, metavar="IMAGE",
                        help="app only: style images to add to the gallery")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="app only: inference device")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    parser.add_argument("--screenshot", default=None, help=argparse.SUPPRESS)  # app: PNG of the window
    parser.add_argument("--quit-after", type=float, default=None, help=argparse.SUPPRESS)  # app: close after N s

    p = sub.add_parser("app", help="open the live window (the default with no command)")
    # SUPPRESS defaults: options given before 'app' are not reset by the subcommand
    p.add_argument("--source", default=argparse.SUPPRESS)
    p.add_argument("--style", nargs="*", default=argparse.SUPPRESS, metavar="IMAGE")
    p.add_argument("--device", default=argparse.SUPPRESS, choices=["auto", "cpu", "cuda"])
    p.add_argument("--screenshot", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--quit-after", type=float, default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    import importlib

    for name, (module, help_text) in MODULE_COMMANDS.items():
        if _module_exists(module):
            p = sub.add_parser(name, help=help_text)
            importlib.import_module(module).add_arguments(p)
            p.set_defaults(module=module)

    p = sub.add_parser("train", help="train the decoder")
    p.add_argument("--content", default="../shared/data/content", help="folder of photos")
    p.add_argument("--style", default="../shared/data/style", help="folder of paintings")
    p.add_argument("--out", default="runs/decoder", help="run folder (logs, previews, checkpoint)")
    p.add_argument("--iters", type=int, default=160_000)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--resize", type=int, default=512, help="shorter side before cropping")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--lr-decay", type=float, default=0.0, help="lr/(1+decay·step)")
    p.add_argument("--style-weight", type=float, default=10.0, help="λ")
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--warmup-steps", type=int, default=0, help="reconstruction-only steps first")
    p.add_argument("--style-ramp", type=int, default=0, help="ramp λ from 0 over N steps")
    p.add_argument("--identity-fraction", type=float, default=0.0,
                   help="fraction of each batch stylized with its own content")
    p.add_argument("--identity-weight", type=float, default=0.0, help="pixel loss weight on those")
    p.add_argument("--norm-content-weight", type=float, default=0.0,
                   help="weight of the normalised (SANet) relu4_1 content term")
    p.add_argument("--revive-every", type=int, default=0,
                   help="every N steps re-initialise decoder ReLU channels that never fire (0: off)")
    p.add_argument("--workers", type=int, default=1, help="data-loading processes")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--ckpt-every", type=int, default=100)
    p.add_argument("--preview-every", type=int, default=250)
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop cleanly after N minutes")
    p.add_argument("--init", default="", help="start from these decoder weights")
    p.add_argument("--device", default="cpu")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")

    p = sub.add_parser("encoder-scales", help="recompute the encoder's Gatys normalisation")
    p.add_argument("--content", default="../shared/data/content")
    p.add_argument("--count", type=int, default=300)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    from engine.errors import InputError

    try:
        return _dispatch(args, parser)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _dispatch(args, parser) -> int:
    cmd = args.command or "app"
    if cmd == "app":
        from app.main_window import run_app

        return run_app(source=args.source, styles=args.style, device=args.device,
                       screenshot=args.screenshot, quit_after=args.quit_after)
    if getattr(args, "module", None):
        import importlib

        return importlib.import_module(args.module).run(args)
    if cmd == "train":
        from engine.train import TrainConfig, train

        cfg = TrainConfig(**{k: v for k, v in vars(args).items()
                             if k in TrainConfig.__dataclass_fields__})
        path = train(cfg, resume=args.resume)
        print(path)
        return 0
    if cmd == "encoder-scales":
        from engine.gatys import compute_and_save

        compute_and_save(args.content, count=args.count)
        return 0
    parser.error(f"unknown command {cmd}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
