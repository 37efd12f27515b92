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
from engine.errors import InputError
from engine.nets.adain import StyleStats, adain, blend_stats, mean_std
from engine.runtime.stylizer import StylePlan, Stylizer, pick_device

__all__ = ["Stylizer", "StylePlan", "StyleStats", "InputError", "adain", "blend_stats", "mean_std",
           "pick_device"]
