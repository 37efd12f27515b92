"""AdaIN style-transfer engine (Huang & Belongie 2017): a torch library with no Qt.

Layers, lowest first (a module imports only from its own layer or lower ones):

- ``errors``, ``files``: the error type for bad input, atomic writes;
- ``nets``: the networks (VGG encoder, decoder, AdaIN, weight files, the fast per-frame paths);
- ``media``: images, frame sources (camera, video file, image, pattern), video files;
- ``runtime``: what runs per frame: :class:`Stylizer`, the style cache, the stabilizer;
- ``training``, ``tools``: decoder training and evaluation; benchmark, flicker metric, studies;
- ``cli``: argument parsing, one module per subcommand.

Typical use::

    from engine import Stylizer
    st = Stylizer(device="auto")          # CUDA fp16 if available, else CPU fp32
    st.set_styles(["starry.jpg"])         # encoded once, statistics cached
    st.alpha = 0.8
    out_bgr = st(frame_bgr)               # HxWx3 uint8 in, same size out
"""
# Loaded on first use (PEP 562), so importing a light submodule (engine.errors, engine.cli.*)
# does not import torch: ``main.py`` builds its parser and catches Ctrl-C in well under a second.
_EXPORTS = {"InputError": "engine.errors", "StyleStats": "engine.nets.adain", "adain": "engine.nets.adain",
            "blend_stats": "engine.nets.adain", "mean_std": "engine.nets.adain",
            "StylePlan": "engine.runtime.stylizer", "Stylizer": "engine.runtime.stylizer",
            "pick_device": "engine.runtime.stylizer"}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")


__all__ = ["Stylizer", "StylePlan", "StyleStats", "InputError", "adain", "blend_stats", "mean_std",
           "pick_device"]
