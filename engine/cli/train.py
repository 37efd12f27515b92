"""``main.py train``: train the decoder (paper Sec. 6; see engine.training.train for the extras)."""
from __future__ import annotations

from engine.cli.common import options_from


def add_arguments(p) -> None:
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


def run(args) -> int:
    from engine.training.train import TrainConfig, train

    path = train(options_from(args, TrainConfig), resume=args.resume)
    print(path)
    return 0
