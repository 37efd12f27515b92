"""``main.py train``: train the decoder (paper Sec. 6; see engine.training.train for the extras), or
with ``--model lite`` distil the lite network (engine.training.lite_train; runs under
``torchrun --nproc_per_node N main.py train --model lite …`` too)."""
from __future__ import annotations

import os

from engine.cli.common import options_from
from engine.errors import InputError


def add_arguments(p) -> None:
    p.add_argument("--model", default="vgg", choices=["vgg", "lite"],
                   help="vgg: the AdaIN decoder (default); lite: distil the lite network from the VGG model")
    p.add_argument("--content", default="../shared/data/content", help="folder of photos")
    p.add_argument("--style", default="../shared/data/style", help="folder of paintings")
    p.add_argument("--out", default=None, help="run folder (logs, previews, checkpoint; default runs/decoder "
                                                  "or runs/lite)")
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
    p.add_argument("--split", default=None, metavar="JSON",
                   help="held-out split (default models/eval_split.json; made by its seeded rule if missing)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    lite = p.add_argument_group("lite model (--model lite)")
    lite.add_argument("--teacher", default="", metavar="PATH",
                      help="the VGG decoder to distil (default models/decoder.safetensors)")
    lite.add_argument("--pixel-weight", type=float, default=10.0, help="L1 to the teacher's output")
    lite.add_argument("--perceptual-weight", type=float, default=1.0,
                      help="MSE to the teacher output's VGG relu2_1..relu4_1 features")
    lite.add_argument("--temporal-weight", type=float, default=50.0,
                      help="compound regularisation: a warped, noised copy gives the warped output")
    lite.add_argument("--alpha-one", type=float, default=0.5,
                      help="fraction of samples at α = 1 (the rest uniform in [0, 1])")
    lite.add_argument("--widths", type=int, nargs=3, default=[16, 32, 64], metavar=("C1", "C2", "C3"),
                      help="channels at 1/2, 1/4, 1/8")
    lite.add_argument("--blocks", type=int, default=3, help="modulated residual blocks at 1/8")
    lite.add_argument("--up-blocks", type=int, default=0,
                      help="plain residual blocks in the up-path at 1/4; with --init from a file "
                           "without them they start as the identity (the network grows)")
    lite.add_argument("--skip-target", type=float, nargs=2, default=[1.0, 1.0], metavar=("G1", "G2"),
                      help="gains of the skips from 1/2 and 1/4 at the end of --skip-anneal (1 1: full skips)")
    lite.add_argument("--skip-anneal", type=int, default=0, metavar="STEPS",
                      help="move the skip gains linearly from 1 to --skip-target over this many steps")


def run(args) -> int:
    if args.model == "lite":
        from engine.training.lite_train import LiteTrainConfig, train
        cls = LiteTrainConfig
    else:
        from engine.training.train import TrainConfig as cls, train
    if args.split is None:
        del args.split  # the config's default
    if args.out is None:
        args.out = "runs/lite" if args.model == "lite" else "runs/decoder"
    if args.model == "vgg" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise InputError(None, "several processes (torchrun) are supported for --model lite only")
    path = train(options_from(args, cls), resume=args.resume)
    if os.environ.get("RANK", "0") == "0":
        print(path)
    return 0
