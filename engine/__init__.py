"""AdaIN style-transfer engine (Huang & Belongie 2017): a torch library with no Qt.

Typical use::

    from engine import Stylizer
    st = Stylizer(device="auto")          # CUDA fp16 if available, else CPU fp32
    st.set_styles(["starry.jpg"])         # encoded once, statistics cached
    st.alpha = 0.8
    out_bgr = st(frame_bgr)               # HxWx3 uint8 in, same size out
"""
from .adain import StyleStats, adain, blend_stats, mean_std
from .errors import InputError
from .stylizer import StylePlan, Stylizer, pick_device

__all__ = ["Stylizer", "StylePlan", "StyleStats", "InputError", "adain", "blend_stats", "mean_std",
           "pick_device"]
