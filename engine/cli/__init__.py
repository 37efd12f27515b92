"""The command line: argument parsing only, one module per subcommand.

Each module has ``add_arguments(parser)`` and ``run(args) -> int``; it validates the arguments and
calls the library with plain values. ``main.py`` builds the parser from :data:`SUBCOMMANDS`.
"""
SUBCOMMANDS = {
    "stylize": ("engine.cli.stylize", "stylize one image"),
    "video": ("engine.cli.video", "stylize a video file"),
    "flicker": ("engine.cli.flicker", "temporal-consistency metric of a stylized video"),
    "bench": ("engine.cli.bench", "frames/s and latency of the per-frame pipeline"),
    "train": ("engine.cli.train", "train the decoder (--model lite: distil the lite network)"),
    "evaluate": ("engine.cli.evaluate", "content/style/structure metrics of a decoder (paper Fig. 3)"),
    "encoder-scales": ("engine.cli.gatys", "recompute the encoder's Gatys normalisation"),
    "learn": ("engine.cli.learn", "learn a style for the Real-time model (minutes on a CPU), cached for every command"),
    "live": ("engine.cli.live", "the stylized camera without a window: a local stream and/or a virtual camera"),
}
