"""``main.py encoder-scales``: recompute the encoder's Gatys normalisation from photos."""
from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("--content", default="../shared/data/content", help="folder of photos")
    p.add_argument("--count", type=int, default=300, help="photos to average over")


def run(args) -> int:
    from engine.training.gatys import compute_and_save

    compute_and_save(args.content, count=args.count)
    return 0
