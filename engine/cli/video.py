"""``main.py video IN -o OUT``: stylize a video file (audio kept, written atomically)."""
from __future__ import annotations

import sys
import time

from engine.cli.common import add_palette_argument
from engine.errors import InputError

DEFAULT_CRF = 18  # engine.media.video.DEFAULT_CRF (not imported here: the parser stays light)
LITE_SPEEDUP = 40  # the Real-time model vs VGG per frame on a CPU, 38–47× measured (docs/PERF.md)


def add_arguments(p) -> None:
    from engine.cli.common import add_model_arguments, add_model_choice
    from engine.cli.person_options import add_person_arguments

    p.add_argument("input", help="video file to stylize")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4, .mov, .mkv)")
    p.add_argument("--style", nargs="+", required=True, metavar="IMAGE", help="style image(s)")
    p.add_argument("--weights", nargs="+", type=float, default=None,
                   help="one weight per style (normalised to sum 1)")
    p.add_argument("--alpha", type=float, default=1.0, help="content–style trade-off in [0,1]")
    p.add_argument("--preserve-color", action="store_true",
                   help="keep the video's colours (luminance-only style transfer)")
    add_palette_argument(p)
    p.add_argument("--size", type=int, default=None,
                   help="resize frames so the shorter side is N (default: the input's size)")
    p.add_argument("--style-size", type=int, default=512,
                   help="shorter side of the style images when encoded (default 512)")
    p.add_argument("--stabilize", choices=["on", "off"], default="on",
                   help="temporal anti-flicker stage (default on)")
    p.add_argument("--crf", type=int, default=DEFAULT_CRF,
                   help=f"H.264 quality, lower is better (default {DEFAULT_CRF})")
    add_person_arguments(p)
    add_model_arguments(p)
    add_model_choice(p)


def _check_args(args) -> None:
    from engine.media.video import output_format

    if not 0.0 <= args.alpha <= 1.0:
        raise InputError(None, f"--alpha must be in [0, 1], got {args.alpha}")
    if args.weights is not None and len(args.weights) != len(args.style):
        raise InputError(None, f"{len(args.weights)} weights for {len(args.style)} styles")
    if args.size is not None and not 16 <= args.size <= 4320:
        raise InputError(None, f"--size must be between 16 and 4320, got {args.size}")
    if not 64 <= args.style_size <= 4096:
        raise InputError(None, f"--style-size must be between 64 and 4096, got {args.style_size}")
    if not 0 <= args.crf <= 51:
        raise InputError(None, f"--crf must be between 0 and 51, got {args.crf}")
    output_format(args.output)


def run(args) -> int:
    import torch

    from engine.media.video import probe_video, short_input_warning, stylize_video

    from engine.media.imageio import load_image_rgb
    from engine.cli.common import learned_note, model_note, model_of
    from engine.cli.person_options import person_mode
    from engine.nets.adain import blend_stats
    from engine.runtime.person_style import PersonFrames, set_split_styles
    from engine.runtime.stylizer import Stylizer

    _check_args(args)
    mode = person_mode(args)
    info = probe_video(args.input)
    styles = [load_image_rgb(s) for s in args.style]
    person_styles = [load_image_rgb(s) for s in args.person_style or ()]
    stylizer = Stylizer(device=args.device, decoder=args.decoder, encoder=args.encoder,
                        style_side=args.style_size, model=model_of(args), lite=args.lite)
    model_note(stylizer, args)
    try:
        stylizer.set_styles(styles, args.weights)
        if person_styles:
            set_split_styles(stylizer, blend_stats([stylizer.encode_style(s) for s in person_styles],
                                                   [1.0] * len(person_styles)), stylizer.plan.blended)
    except ValueError as exc:
        raise InputError(None, str(exc)) from None
    _use_or_learn(stylizer, args, styles)
    stylizer.alpha = args.alpha
    stylizer.preserve_color = args.preserve_color
    stylizer.match_palette = args.palette
    stylizer.stabilize = args.stabilize == "on"
    announce_cpu_time(stylizer, info, args.size)
    stylizer.reset()
    started = time.monotonic()
    try:
        frames = stylizer if mode == "all" else PersonFrames(stylizer, mode)
        count = stylize_video(args.input, args.output, frames, size=args.size, crf=args.crf)
    except torch.cuda.OutOfMemoryError:
        raise InputError(args.input, "out of GPU memory; try a smaller --size or --device cpu") from None
    print(f"{args.output}: {count} frames, {_duration(time.monotonic() - started)}", file=sys.stderr)
    learned_note(stylizer)
    warning = short_input_warning(args.input, count, info.frames)
    if warning:
        print(warning, file=sys.stderr)
    return 0


def _use_or_learn(stylizer, args, styles) -> None:
    """Real-time model: run the network learned for this style; none cached yet → learn it first
    on the clip's own frames (a progress bar), unless --no-learn."""
    from engine.cli.common import use_learned

    use_learned(stylizer, args)
    if stylizer.lite is None or not stylizer.use_learned or stylizer.learned_key() is None or stylizer.plan.learned:
        return
    from pathlib import Path

    from engine.learn.foreground import learn_foreground
    from engine.learn.content import video_pictures
    from engine.learn.learner import DEFAULT_RECIPE, StyleLearner
    from engine.runtime.learned import LearnedCache

    print("learning the style for the Real-time model on the video's frames first (once; "
          "--no-learn skips it)", file=sys.stderr)
    contents = video_pictures(args.input, DEFAULT_RECIPE.photos, DEFAULT_RECIPE.size)
    label = " + ".join(Path(s).stem for s in args.style)
    learner = StyleLearner(styles, args.weights, contents, DEFAULT_RECIPE, label=label,
                           base=(stylizer.lite.net, stylizer.lite.weights_id))
    if learner.key != stylizer.learned_key():
        return  # another base network or recipe: nothing to learn for this plan
    learn_foreground(learner, LearnedCache())
    stylizer.refresh_learned()


def announce_cpu_time(stylizer, info, size: int | None, out=None) -> float | None:
    """With the Quality (VGG) model on a CPU, say before starting how long the video will take
    (one frame of the output size timed after a warm-up one) and name the faster model; returns
    the seconds per frame, or None where nothing is said (GPU, Real-time model)."""
    import numpy as np

    from engine.media.video import output_size

    if stylizer.device.type != "cpu" or stylizer.model != "vgg":
        return None
    width, height = output_size(info.width, info.height, size)
    frame = np.full((height, width, 3), 128, np.uint8)
    stabilize, stylizer.stabilize = stylizer.stabilize, False
    try:
        stylizer(frame)  # warm-up: the first call prepares the network
        t0 = time.perf_counter()
        stylizer(frame)
        per_frame = time.perf_counter() - t0
    finally:
        stylizer.stabilize = stabilize
    total = f"about {_duration(per_frame * info.frames)} for {info.frames} frames" if info.frames else \
        "the number of frames is unknown"
    print(f"video: {width}×{height} with the Quality (VGG) model on the CPU takes {per_frame:.1f} s a frame, "
          f"{total}. The Real-time model is about {LITE_SPEEDUP}× faster: add --model lite",
          file=out or sys.stderr, flush=True)
    return per_frame


def _duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``1 h 02 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
