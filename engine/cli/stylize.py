"""``main.py stylize``: one image, every runtime control of the paper."""
from __future__ import annotations

import time
from pathlib import Path

from engine.errors import InputError
from engine.cli.common import add_model_arguments, add_model_choice, add_palette_argument, learned_note, model_note, \
    model_of, use_learned
from engine.cli.person_options import add_person_arguments, person_mode

OUTPUT_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


def add_arguments(p) -> None:
    p.add_argument("content", help="content image")
    p.add_argument("--style", nargs="+", required=True, metavar="IMAGE", help="style image(s)")
    p.add_argument("--weights", nargs="+", type=float, default=None,
                   help="one weight per style (normalised to sum 1)")
    p.add_argument("--alpha", type=float, default=1.0, help="content–style trade-off in [0,1]")
    p.add_argument("--preserve-color", action="store_true",
                   help="keep the content's colours (the paper's colour matching of the style)")
    add_palette_argument(p)
    p.add_argument("--mask", nargs="+", default=None, metavar="IMAGE",
                   help="one mask image per style (white = that style's region)")
    p.add_argument("--size", type=int, default=None,
                   help="resize the content so its shorter side is N (default: its own size)")
    p.add_argument("--style-size", type=int, default=512,
                   help="shorter side of the style images when encoded (default 512)")
    p.add_argument("-o", "--output", required=True, help="output image (PNG/JPEG/WebP)")
    add_person_arguments(p)
    add_model_arguments(p)
    add_model_choice(p)


def run(args) -> int:
    """Validate, stylize, save; one line on success: ``OUT: W×H, N.N s``."""
    import torch

    from engine.media.imageio import load_image_rgb, resize_short_side, save_image_rgb
    from engine.runtime.stylizer import Stylizer, stylize_image

    started = time.monotonic()
    out = Path(args.output)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(out, f"unsupported output format {out.suffix or '(none)'!r}; use .png or .jpg")
    if out.is_dir():
        raise InputError(out, "is a directory; give an output file name")
    if not 0.0 <= args.alpha <= 1.0:
        raise InputError(None, f"--alpha must be in [0, 1], got {args.alpha}")
    if args.weights is not None and len(args.weights) != len(args.style):
        raise InputError(None, f"{len(args.weights)} weights for {len(args.style)} styles")
    if args.mask is not None and len(args.mask) != len(args.style):
        raise InputError(None, f"{len(args.mask)} masks for {len(args.style)} styles")
    if args.size is not None and not 16 <= args.size <= 8192:
        raise InputError(None, f"--size must be between 16 and 8192, got {args.size}")
    if not 64 <= args.style_size <= 4096:
        raise InputError(None, f"--style-size must be between 64 and 4096, got {args.style_size}")
    mode = person_mode(args)
    content = load_image_rgb(args.content)
    styles = [load_image_rgb(s) for s in args.style]
    masks = None
    if args.mask:
        masks = [load_image_rgb(m).mean(axis=2) / 255.0 for m in args.mask]
    person = _person_mask(content, mode)
    if args.size:
        content = resize_short_side(content, args.size)
    try:
        stylizer = Stylizer(device=args.device, decoder=args.decoder, encoder=args.encoder,
                            style_side=args.style_size, model=model_of(args), lite=args.lite)
        model_note(stylizer, args)
        use_learned(stylizer, args)
        stylizer.match_palette = args.palette
        if person is None:
            result = stylize_image(stylizer, content, styles, args.weights, args.alpha,
                                   args.preserve_color, masks)
        else:
            result = _stylize_person(stylizer, content, styles, person, mode, args)
    except ValueError as exc:
        raise InputError(None, str(exc)) from None
    except torch.cuda.OutOfMemoryError:
        raise InputError(args.content, "out of GPU memory; try a smaller --size or --device cpu") from None
    learned_note(stylizer)
    save_image_rgb(result, out)
    print(f"{out}: {result.shape[1]}×{result.shape[0]}, {time.monotonic() - started:.1f} s")  # stderr is for problems
    return 0


def _person_mask(content, mode: str):
    """The person mask of the full-size content (``HxW`` float32), or None in mode ``all``."""
    if mode == "all":
        return None
    from engine.runtime.person import SelfieSegmenter, person_mask

    return person_mask(SelfieSegmenter(), content)


def _stylize_person(stylizer, content, styles, person, mode: str, args):
    from engine.media.imageio import load_image_rgb
    from engine.runtime.person import resize_mask
    from engine.runtime.person_style import stylize_image_with_person

    person = resize_mask(person, (content.shape[1], content.shape[0]))
    person_styles = [load_image_rgb(s) for s in args.person_style or ()]
    return stylize_image_with_person(stylizer, content, person, mode, styles, args.weights, person_styles,
                                     args.alpha, args.preserve_color)
