"""``main.py video IN -o OUT``: stylize a video file (audio kept, written atomically)."""
from __future__ import annotations

import sys

from engine.cli.common import add_palette_argument
from engine.errors import InputError
from engine.media.video import DEFAULT_CRF, output_format, probe_video, short_input_warning, stylize_video


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

    from engine.media.imageio import load_image_rgb
    from engine.cli.common import model_note, model_of
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
    stylizer.alpha = args.alpha
    stylizer.preserve_color = args.preserve_color
    stylizer.match_palette = args.palette
    stylizer.stabilize = args.stabilize == "on"
    stylizer.reset()
    try:
        frames = stylizer if mode == "all" else PersonFrames(stylizer, mode)
        count = stylize_video(args.input, args.output, frames, size=args.size, crf=args.crf)
    except torch.cuda.OutOfMemoryError:
        raise InputError(args.input, "out of GPU memory; try a smaller --size or --device cpu") from None
    print(f"{args.output}: {count} frames", file=sys.stderr)
    warning = short_input_warning(args.input, count, info.frames)
    if warning:
        print(warning, file=sys.stderr)
    return 0
