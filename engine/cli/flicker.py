"""``main.py flicker ORIGINAL STYLIZED``: temporal-consistency metrics of a stylized video."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Iterator

import numpy as np

from engine.errors import InputError
from engine.media.video import probe_video, read_frames
from engine.tools.flicker import flicker_report


def add_arguments(p) -> None:
    p.add_argument("original", help="the original video")
    p.add_argument("stylized", help="the stylized video (same frames, any size)")
    p.add_argument("--max-frames", type=int, default=0, help="only the first N frames (0: all)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def _limited(frames: Iterator[np.ndarray], n: int) -> Iterator[np.ndarray]:
    for i, frame in enumerate(frames):
        if n and i >= n:
            return
        yield frame


def run(args) -> int:
    if args.max_frames < 0:
        raise InputError(None, f"--max-frames must be ≥ 0, got {args.max_frames}")
    probe_video(args.original)
    probe_video(args.stylized)
    try:
        report = flicker_report(_limited(read_frames(args.original), args.max_frames),
                                _limited(read_frames(args.stylized), args.max_frames))
    except ValueError as exc:
        raise InputError(args.stylized, str(exc)) from None
    if report.frames < 2:
        raise InputError(args.original, "needs at least 2 frames")
    if args.json:
        print(json.dumps(asdict(report), indent=1))
    else:
        print("\n".join(report.lines()), file=sys.stdout)
    return 0
