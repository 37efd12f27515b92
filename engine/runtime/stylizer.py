"""The per-frame runtime: prepared once with :meth:`Stylizer.set_styles`, then called per frame.

``Stylizer(device="auto")`` runs CUDA fp16 + channels_last when a GPU exists, CPU fp32
(channels_last) otherwise. A call takes an ``HxWx3`` uint8 BGR frame (OpenCV order) and returns
one of the same size: the frame is padded (reflection) to the network's stride of 8 and cropped
back; frames with a side under :data:`MIN_SIDE` are processed upscaled and resized back.

With ``fast = True`` (the default) the network runs as :class:`engine.nets.fast.FastNet` (same
function, less work: folded pre/post-processing, sub-pixel up-sampling, fused conv+ReLU); a
plain frame (no masks, no colour preservation) goes uint8 in → uint8 out through
``FastNet.stylize_frame``, on CUDA as a captured graph per frame size
(:class:`engine.nets.fast_cuda.CudaFrameRunner`). ``fast = False`` runs the plain eager modules.

``model`` picks the network: ``"vgg"`` (the paper's VGG encoder + trained decoder, the quality
model), ``"lite"`` (:mod:`engine.nets.lite`, the real-time model for CPUs: its own style
representation :class:`~engine.nets.lite.LiteStyle` takes the place of :class:`StyleStats`,
every control works the same) or ``"auto"`` (:func:`resolve_model`: lite on a CPU once trained
weights ``models/lite.safetensors`` exist, else VGG; ``model_note`` says why). Until that file
ships, an explicit ``"lite"`` runs the trained candidate ``models/lite_candidate.safetensors`` as a
preview (``lite_preview``; ``model_note`` says what it lacks).

Thread model: one thread (the inference thread) calls the stylizer; other threads may change
controls at any time. Controls are plain attributes and the style plan is an immutable object
swapped in one assignment, so a frame always sees a consistent set of styles. On CUDA all device
work of the stylizer (frames, style encoding, snapshots from the jobs thread) holds
:attr:`Stylizer.device_lock`, so it never runs while a frame graph is being captured; on CPU
the lock is a no-op (encoding a style must not stall the video).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from engine.nets.adain import StyleStats, adain, blend_stats, luminance_transfer, masked_adain, mix_alpha, \
    normalise_weights, style_stats
from engine.nets.decoder import load_decoder
from engine.nets.encoder import encoder_id, load_encoder
from engine.nets.fast import FastNet
from engine.nets.palette import match_palette, match_palette_frame, match_palette_regions, palette_of
from engine.nets.lite import LiteStyle, blend_lite, lite_weights, load_lite, style_tensors
from engine.nets.lite_runner import LiteRunner
from .models import MODEL_LABELS, MODELS, PREVIEW_LABEL, PREVIEW_NOTE, _is_preview, model_label, pick_device, \
    resolve_model, stylizer_summary  # noqa: F401 - this module's names since issue #19
from .learned import RECIPE_VERSION, LearnedNet, LearnedRun, learned_key, style_digest, teacher_id
from engine.media.imageio import load_image_rgb, resize_short_side, writable

STRIDE = 8
MIN_SIDE = 32  # below this relu4_1 would be under 4x4: process upscaled
DEFAULT_STYLE_SIDE = 512
LEARNED_RUNS_KEPT = 3  # learned networks kept ready (each: weights + OpenVINO graphs, a few MB)


def _holding_device_lock(method):
    """Run a Stylizer method under its :attr:`~Stylizer.device_lock`."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self.device_lock:
            return method(self, *args, **kwargs)
    return locked


@dataclass(frozen=True)
class StylePlan:
    """What ``set_styles`` prepared: per-style stats, normalised weights, their blend, masks."""

    styles: tuple[StyleStats, ...]
    weights: torch.Tensor  # [K], sums to 1
    blended: StyleStats
    masks: torch.Tensor | None = None  # [K,h,w] float in [0,1], or None
    digests: tuple[str, ...] = ()  # the styles' content hashes (lite model only; keys learned networks)
    learned: LearnedRun | None = None  # a network learned for exactly this style/blend (engine.learn)


class Stylizer:
    """AdaIN stylization of frames with cached style statistics.

    Controls: ``alpha`` (content–style trade-off, Eq. 14), ``preserve_color`` (luminance-only
    transfer, cache-friendly), ``set_styles(styles, weights, masks)`` (Eq. 15 / spatial control).
    """

    def __init__(self, device: str | torch.device = "auto", decoder: str | os.PathLike | None = None,
                 encoder: str | os.PathLike | None = None, half: bool | None = None,
                 decoder_state: dict | None = None, style_side: int = DEFAULT_STYLE_SIDE,
                 model: str = "vgg", lite: str | os.PathLike | None = None, lite_net=None):
        self.device = pick_device(device)
        self.device_lock = threading.RLock() if self.device.type == "cuda" else contextlib.nullcontext()
        self.half = (self.device.type == "cuda") if half is None else half
        self.dtype = torch.float16 if self.half else torch.float32
        # channels_last on CPU too: measured 1.7x faster than contiguous at 512² (docs/PERF.md)
        self.memory_format = torch.channels_last
        # --- model choice (issue #19): the lite runner replaces encoder + decoder -------------
        self.lite: LiteRunner | None = None
        if lite_net is not None:  # an in-memory lite network (tests, bench with random weights)
            self.model, self.model_note = "lite", None
        else:
            custom = decoder is not None or encoder is not None or decoder_state is not None
            self.model, self.model_note = resolve_model(model, self.device, lite, custom)
        self.lite_preview = False  # running the not-yet-adopted candidate (PREVIEW_NOTE)
        if self.model == "lite":
            path = None if lite_net is not None else lite_weights(lite)
            net, meta = (lite_net, {}) if lite_net is not None else load_lite(path)
            self.lite_preview = _is_preview(lite, path)
            self.lite = LiteRunner(net, self.device, self.dtype, meta, self.memory_format)
            self.encoder = self.decoder = None
            self.decoder_meta = self.lite.meta
            self._init_controls("lite-" + self.lite.weights_id, style_side)
            return
        # --- VGG ---------------------------------------------------------------------------
        self.encoder = load_encoder(encoder)
        if decoder_state is not None:
            from engine.nets.decoder import Decoder, build_decoder_layers
            from engine.nets.weights import check_state_dict

            self.decoder = Decoder(check_state_dict(decoder_state, build_decoder_layers().state_dict(),
                                                    "decoder state"))
            self.decoder_meta = {}
        else:
            self.decoder, self.decoder_meta = load_decoder(decoder)
        for net in (self.encoder, self.decoder):
            net.eval().requires_grad_(False)
            net.to(device=self.device, dtype=self.dtype, memory_format=self.memory_format)
        self._init_controls(encoder_id(encoder), style_side)

    def _init_controls(self, weights_id: str, style_side: int) -> None:
        self.encoder_id = weights_id  # keys style caches: VGG encoder id, or "lite-<weights hash>"
        self.style_side = style_side
        self.alpha = 1.0
        self.preserve_color = False
        self.match_palette = True  # give the picture the painting's colour moments (engine.nets.palette)
        self._plan: StylePlan | None = None
        self._cache: dict[str, StyleStats] = {}
        self.fast = True  # FastNet per-frame path (see module docstring)
        self.use_cuda_graph = True
        self._fast_net_cache: tuple[tuple, FastNet] | None = None
        self._cuda_runner = None
        self.stabilizer = None  # temporal anti-flicker stage (engine.runtime.stabilize), see `stabilize`
        # learned Real-time networks (issue #28): `learned_lookup(key)` → LearnedNet or None (e.g.
        # LearnedCache().get); a plan whose style/blend has one runs it instead of the base network
        self.use_learned = True
        self.learned_lookup = None
        self._learned_runs: OrderedDict[str, LearnedRun] = OrderedDict()
        self._stabilized_look = None  # (plan, alpha, preserve_color) of the last stabilized frame

    # --- styles ---------------------------------------------------------------------------

    def style_key(self, rgb: np.ndarray) -> str:
        """Cache key of a style image: content hash + encoder + style size."""
        h = hashlib.sha1(np.ascontiguousarray(rgb).tobytes())
        h.update(f"{rgb.shape}|{self.encoder_id}|{self.style_side}".encode())
        return h.hexdigest()

    @_holding_device_lock
    @torch.inference_mode()
    def encode_style(self, style: np.ndarray | str | os.PathLike | StyleStats) -> StyleStats:
        """Statistics of a style (``HxWx3`` uint8 RGB array or image path), computed once.

        The image is resized so its shorter side is ``style_side`` before encoding. The result
        lives on the stylizer's device, fp32.
        """
        if isinstance(style, (StyleStats, LiteStyle)):
            if isinstance(style, LiteStyle) != (self.lite is not None):
                raise ValueError(f"{type(style).__name__} does not fit the {self.model} model: encode the style again")
            return style.to(self.device)
        rgb = load_image_rgb(style) if isinstance(style, (str, os.PathLike)) else style
        _check_rgb(rgb)
        key = self.style_key(rgb)
        cached = self._cache.get(key)
        if cached is None:
            resized = resize_short_side(rgb, self.style_side)
            x = self._to_input(torch.from_numpy(writable(resized)).to(self.device), bgr=False)
            if self.lite is not None:
                cached = self.lite.encode_style(resized)
            else:
                cached = style_stats(self.encoder(self._pad(x)[0]))
            cached = self._cache[key] = replace(cached, palette=palette_of(x))
        return cached

    def set_styles(self, styles: list, weights: list[float] | None = None,
                   masks: list[np.ndarray] | np.ndarray | torch.Tensor | None = None,
                   digests: list[str] | None = None) -> StylePlan:
        """Prepare K styles (arrays, paths or :class:`StyleStats`) with weights (default equal).

        With ``masks`` (one ``HxW`` mask per style, values in [0,1] or 0..255) each style is
        confined to its region instead of being blended. ``digests``: the styles' content hashes
        (:func:`~engine.runtime.learned.style_digest`; computed here for arrays and paths) — they
        key learned networks. Raises ValueError/InputError on bad input; the previous plan stays
        active in that case.
        """
        if not styles:
            raise ValueError("at least one style is needed")
        weights = [1.0] * len(styles) if weights is None else list(weights)
        if len(weights) != len(styles):
            raise ValueError(f"{len(weights)} weights for {len(styles)} styles")
        w = normalise_weights(weights)
        stats = tuple(self.encode_style(s) for s in styles)
        mask_t = None
        if masks is not None:
            mask_t = _masks_tensor(masks, len(styles))
        if digests is None:  # statistics carry no picture: no learned network for them
            digests = [style_digest(s) if isinstance(s, (np.ndarray, str, os.PathLike)) else "" for s in styles] \
                if self.lite is not None else ()
        digests = tuple(digests)
        plan = StylePlan(stats, w, self._blend(list(stats), w), mask_t, digests)
        self._plan = plan = replace(plan, learned=self._learned_for(plan))
        return plan

    def set_weights(self, weights: list[float]) -> None:
        """Change blend weights of the current styles without re-encoding anything."""
        plan = self._require_plan()
        w = normalise_weights(weights)
        if w.numel() != len(plan.styles):
            raise ValueError(f"{w.numel()} weights for {len(plan.styles)} styles")
        plan = StylePlan(plan.styles, w, self._blend(list(plan.styles), w), plan.masks, plan.digests)
        self._plan = replace(plan, learned=self._learned_for(plan))

    # --- learned Real-time networks (engine.runtime.learned) ---------------------------------

    def learned_key(self, plan: StylePlan | None = None) -> str | None:
        """The learned-network key of ``plan`` (default: the current one); None where learned
        networks do not apply (the VGG model, CUDA, masks, styles given as statistics)."""
        plan = plan or self._plan
        if plan is None or self.lite is None or self.device.type == "cuda" or plan.masks is not None \
                or len(plan.digests) != len(plan.styles) or not all(plan.digests):
            return None
        return learned_key(list(plan.digests), plan.weights.tolist(), self.lite.weights_id, teacher_id(),
                           RECIPE_VERSION)

    def prepare_learned(self, learned: LearnedNet, shape: tuple[int, int, int] | None = None) -> LearnedRun:
        """Make ``learned`` ready to run (its runner, and the frame graph for ``shape`` frames
        built now, so the switch to it never stalls a frame); kept for the plans that want it."""
        run = self._learned_runs.get(learned.key)
        if run is None:
            runner = LiteRunner(learned.net, self.device, self.dtype, learned.meta, self.memory_format)
            run = LearnedRun(learned, runner)
        if shape is not None:
            run.runner.prepare_frames(shape)
        self._learned_runs[learned.key] = run
        self._learned_runs.move_to_end(learned.key)
        while len(self._learned_runs) > LEARNED_RUNS_KEPT:
            self._learned_runs.popitem(last=False)
        return run

    def refresh_learned(self) -> bool:
        """Attach a learned network that became available to the current plan; whether one runs."""
        plan = self._plan
        if plan is None:
            return False
        learned = self._learned_for(plan)
        if learned is not plan.learned:
            self._plan = replace(plan, learned=learned)
        return learned is not None

    def _learned_for(self, plan: StylePlan) -> LearnedRun | None:
        key = self.learned_key(plan) if self.use_learned else None
        if key is None:
            return None
        run = self._learned_runs.get(key)
        if run is None and self.learned_lookup is not None:
            learned = self.learned_lookup(key)
            run = self.prepare_learned(learned) if learned is not None else None
        return run

    def _blend(self, styles: list, w: torch.Tensor):
        """Eq. 15 on the model's style representation (VGG statistics or :class:`LiteStyle`)."""
        return blend_lite(styles, w) if self.lite is not None else blend_stats(styles, w)

    @property
    def plan(self) -> StylePlan | None:
        return self._plan

    def _require_plan(self) -> StylePlan:
        plan = self._plan
        if plan is None:
            raise RuntimeError("no styles set: call set_styles() first")
        return plan

    # --- temporal stabilization (engine/stabilize.py) -----------------------------------------

    @property
    def stabilize(self) -> bool:
        """Anti-flicker for video: blend with the motion-compensated previous output."""
        return self.stabilizer is not None and self.stabilizer.enabled

    @stabilize.setter
    def stabilize(self, on: bool) -> None:
        if on and self.stabilizer is None:
            from .stabilize import Stabilizer

            self.stabilizer = Stabilizer()
        if self.stabilizer is not None and bool(on) != self.stabilizer.enabled:
            self.stabilizer.reset()
            self.stabilizer.enabled = bool(on)

    def reset(self) -> None:
        """Forget temporal state: call when the video source changes (or seeks)."""
        if self.stabilizer is not None:
            self.stabilizer.reset()

    # --- per frame ------------------------------------------------------------------------

    @_holding_device_lock
    @torch.inference_mode()
    def __call__(self, frame_bgr: np.ndarray, alpha: float | None = None,
                 preserve_color: bool | None = None, masks=None, palette: bool | None = None) -> np.ndarray:
        """``HxWx3`` uint8 BGR → ``HxWx3`` uint8 BGR, stylized with the current plan.

        ``masks``: this frame's own region masks (see :meth:`stylize_tensor`), e.g. a live person mask.
        """
        _check_rgb(frame_bgr)
        plan = self._require_plan()
        alpha = self.alpha if alpha is None else float(alpha)
        preserve = self.preserve_color if preserve_color is None else preserve_color
        palette = self.match_palette if palette is None else palette
        fast = self.fast and plan.masks is None and masks is None and not preserve \
            and min(frame_bgr.shape[:2]) >= MIN_SIDE
        stabilize = getattr(self, "stabilize", False)
        if fast and not stabilize:
            return self._fast_frame(frame_bgr, plan, alpha, palette)
        x = self._to_input(torch.from_numpy(writable(frame_bgr)).to(self.device), bgr=True)
        if fast and self.device.type == "cpu":
            return self._stabilized_fast_frame(x, plan, alpha, palette)
        y = self.stylize_tensor(x, alpha=alpha, preserve_color=preserve, plan=plan, masks=masks, palette=palette)
        return self._to_frame(y, bgr=True)

    def _stabilized_fast_frame(self, x: torch.Tensor, plan: StylePlan, alpha: float, palette: bool) -> np.ndarray:
        """The stabilizer around the uint8 frame path (with the lite model OpenVINO instead of
        eager torch: 131 → 90 ms per 640×480 frame here). ``x`` ``[1,3,H,W]`` from
        :meth:`_to_input`; the denoised input and the network's output pass through uint8."""
        stabilizer = self.stabilizer
        self._start_look(stabilizer, plan, alpha, False, palette)
        prepared = stabilizer.prepare(x)
        out = self._fast_frame(self._to_frame(prepared.content, bgr=True), plan, alpha, palette)
        y = self._to_input(torch.from_numpy(out), bgr=True)
        return self._to_frame(stabilizer.finish(prepared, y), bgr=True)

    def _fast_frame(self, frame_bgr: np.ndarray, plan: StylePlan, alpha: float, palette: bool) -> np.ndarray:
        """uint8 in → uint8 out through the network's frame path (CUDA: graph + pinned buffers),
        then the painting's palette when ``palette``."""
        if self.device.type == "cuda":
            out = self._cuda_frame(frame_bgr, plan, alpha)
        elif plan.learned is not None:
            out = plan.learned.runner.frame(frame_bgr, plan.learned.style, alpha)
        elif self.lite is not None:
            out = self.lite.frame(frame_bgr, plan.blended, alpha)
        else:
            stats = plan.blended
            out = np.empty(frame_bgr.shape, dtype=np.uint8)
            self._fast_net().stylize_frame(torch.from_numpy(writable(frame_bgr)), stats.mean, stats.std, alpha,
                                           torch.from_numpy(out))
        return match_palette_frame(out, plan.blended.palette, alpha) if palette else out

    def _cuda_frame(self, frame_bgr: np.ndarray, plan: StylePlan, alpha: float) -> np.ndarray:
        """The frame through a :class:`CudaFrameRunner` replaying one graph per size; the style and
        α are the graph's inputs (VGG: blended statistics; lite: :func:`engine.nets.lite.style_tensors`)."""
        from engine.nets.fast_cuda import CudaFrameRunner

        alpha = min(max(float(alpha), 0.0), 1.0)
        if self.lite is not None:
            net, inputs = self.lite.cuda_frame_net(), style_tensors(plan.blended, alpha)
        else:
            net, inputs = self._fast_net(), (plan.blended.mean, plan.blended.std, alpha)
        runner = self._cuda_runner
        if runner is None or runner.net is not net:
            runner = self._cuda_runner = CudaFrameRunner(net, self.device, lock=self.device_lock)
        return runner(frame_bgr, *inputs, graph=self.use_cuda_graph)

    @_holding_device_lock
    @torch.inference_mode()
    def stylize_tensor(self, x: torch.Tensor, alpha: float | None = None,
                       preserve_color: bool | None = None, plan: StylePlan | None = None,
                       masks=None, palette: bool | None = None) -> torch.Tensor:
        """``[1,3,H,W]`` RGB in [0,1] (network dtype, on device) → same shape, clamped to [0,1].

        With ``stabilize`` on, frames stylized with the current plan form the stabilized stream.
        ``masks``: this frame's region masks ``[K,h,w]`` in [0,1] (K = the plan's styles) in place of
        the plan's, or a function returning them, called once the encoder has run (so a mask made on
        another thread overlaps the encoder instead of adding its time). ``palette`` (default
        :attr:`match_palette`): give the output the painting's colour moments, at strength α (each
        region its own style's with masks); colour preservation takes precedence.
        """
        current = plan is None or plan is self._plan
        stabilizer = self.stabilizer if current and self.stabilize else None
        plan = plan or self._require_plan()
        alpha = self.alpha if alpha is None else float(alpha)
        preserve = self.preserve_color if preserve_color is None else preserve_color
        palette = self.match_palette if palette is None else palette
        prepared = None
        if stabilizer is not None:
            self._start_look(stabilizer, plan, alpha, preserve, palette)
            prepared = stabilizer.prepare(x)
            x = prepared.content  # denoised along the motion
        h, w = x.shape[-2:]
        small = min(h, w) < MIN_SIDE
        if small:
            scale = MIN_SIDE / min(h, w)
            x = F.interpolate(x.float(), size=(max(MIN_SIDE, round(h * scale)), max(MIN_SIDE, round(w * scale))),
                              mode="bilinear", align_corners=False).to(self.dtype)
        padded, (ph, pw) = self._pad(x)
        frame_masks = masks
        regions = []  # this frame's masks [K,h,w], once known

        def region_masks() -> torch.Tensor | None:  # called after the encoder: a mask thread overlaps it
            found = plan.masks
            if frame_masks is not None:
                found = _masks_tensor(frame_masks() if callable(frame_masks) else frame_masks, len(plan.styles))
            regions.append(found)
            return None if found is None else _pad_masks(found, x.shape[-2:], (ph, pw))

        if self.lite is not None:  # the lite network modulates inside (engine.nets.lite)
            masks = region_masks()
            if plan.learned is not None and masks is None:
                style = plan.learned.style
                out = plan.learned.runner.stylize_tensor(padded, [style], style, alpha)
            else:
                out = self.lite.stylize_tensor(padded, list(plan.styles), plan.blended, alpha, masks)
        else:
            fc = self._encode(padded)
            masks = region_masks()
            t = masked_adain(fc, list(plan.styles), masks) if masks is not None else adain(fc, plan.blended)
            out = self._decode(mix_alpha(fc, t, alpha))
        out = out[..., :padded.shape[-2] - ph, :padded.shape[-1] - pw]
        out = out.clamp(0, 1)
        if preserve:
            out = luminance_transfer(out, x)
        elif palette:
            out = self._with_palette(out, plan, regions[0] if regions else None, alpha)
        if small:
            out = F.interpolate(out.float(), size=(h, w), mode="area").to(self.dtype)
        if stabilizer is not None:
            out = stabilizer.finish(prepared, out)
        return out

    # --- helpers --------------------------------------------------------------------------

    def _start_look(self, stabilizer, plan: StylePlan, alpha: float, preserve: bool, palette: bool) -> None:
        """A new style, blend, α or colour setting shows at once: the stabilizer would otherwise
        fade it in over many frames (its coarse band keeps 0.9 of the previous output)."""
        last = self._stabilized_look
        if last is not None and (last[0] is not plan or last[1:] != (alpha, preserve, palette)):
            stabilizer.reset()
        self._stabilized_look = (plan, alpha, preserve, palette)

    @staticmethod
    def _with_palette(out: torch.Tensor, plan: StylePlan, masks: torch.Tensor | None, alpha: float) -> torch.Tensor:
        """``out`` ``[1,3,H,W]`` in [0,1] given the plan's palette (per region with ``masks``);
        styles without a palette (statistics made elsewhere) leave it as it is."""
        if masks is not None:
            palettes = [s.palette for s in plan.styles]
            if any(p is None for p in palettes):
                return out
            return match_palette_regions(out, palettes, masks, alpha)
        palette = plan.blended.palette
        return out if palette is None else match_palette(out, palette, alpha)

    def _fast_net(self) -> FastNet:
        """The FastNet of the current encoder/decoder weights (rebuilt if they change)."""
        key = _weights_key(self.encoder, self.decoder)
        cached = self._fast_net_cache
        if cached is None or cached[0] != key:
            net = FastNet(self.encoder, self.decoder, self.device, self.dtype, memory_format=self.memory_format)
            self._fast_net_cache = cached = (key, net)
        return cached[1]

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        """``[N,3,H,W]`` RGB in [0,1], H and W multiples of 8 → relu4_1 ``[N,512,H/8,W/8]``."""
        return self._fast_net().encode(x) if self.fast else self.encoder(x)

    def _decode(self, t: torch.Tensor) -> torch.Tensor:
        """``[N,512,h,w]`` → ``[N,3,8h,8w]`` RGB (unclamped)."""
        return self._fast_net().decode(t) if self.fast else self.decoder(t)

    def _to_input(self, frame_u8: torch.Tensor, bgr: bool) -> torch.Tensor:
        """``HxWx3`` uint8 on device → ``[1,3,H,W]`` RGB in [0,1], network dtype and memory format."""
        if bgr and frame_u8.device.type == "cpu":  # OpenCV's swap, then HWC memory = channels_last: 4× faster
            frame_u8 = torch.from_numpy(cv2.cvtColor(frame_u8.numpy(), cv2.COLOR_BGR2RGB))
            bgr = False
        x = frame_u8.permute(2, 0, 1).unsqueeze(0)
        if bgr:
            x = x.flip(1)
        x = x.to(self.dtype).div_(255.0)
        return x.contiguous(memory_format=self.memory_format)

    @staticmethod
    def _to_frame(y: torch.Tensor, bgr: bool) -> np.ndarray:
        y, on_cpu = y[0], y.device.type == "cpu"
        if bgr and not on_cpu:
            y = y.flip(0)  # on the device; on the CPU OpenCV's swap below is ~3× faster than a flip
        y = (y.float() * 255.0).add_(0.5).clamp_(0, 255).to(torch.uint8)
        frame = y.permute(1, 2, 0).contiguous().cpu().numpy()  # a view when y is channels_last
        return cv2.cvtColor(frame, cv2.COLOR_RGB2BGR) if bgr and on_cpu else frame

    @staticmethod
    def _pad(x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Reflection-pad bottom/right to a multiple of :data:`STRIDE`; returns (padded, (ph, pw))."""
        h, w = x.shape[-2:]
        ph, pw = (-h) % STRIDE, (-w) % STRIDE
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect")
        return x, (ph, pw)


def _weights_key(*modules: torch.nn.Module) -> tuple:
    """Identity + in-place version of every parameter: changes when weights are replaced or edited."""
    key = []
    for module in modules:
        for p in module.parameters():
            try:
                key.append((id(p), p._version))
            except RuntimeError:  # inference tensors have no version counter
                key.append((id(p), -1))
    return tuple(key)


def _check_rgb(arr: np.ndarray) -> None:
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        desc = f"{arr.dtype} {arr.shape}" if isinstance(arr, np.ndarray) else type(arr).__name__
        raise ValueError(f"expected an HxWx3 uint8 image, got {desc}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError("image has no pixels")


def _masks_tensor(masks, k: int) -> torch.Tensor:
    if isinstance(masks, (list, tuple)):
        if len(masks) != k:
            raise ValueError(f"{len(masks)} masks for {k} styles")
        shapes = {np.asarray(m).shape[:2] for m in masks}
        if len(shapes) != 1:
            raise ValueError(f"masks differ in size: {sorted(shapes)}")
        arr = np.stack([np.asarray(m, dtype=np.float32) for m in masks])
    else:
        arr = np.asarray(masks, dtype=np.float32)
    if arr.ndim == 4:  # colour masks: use the mean of the channels
        arr = arr.mean(axis=3)
    if arr.ndim != 3 or arr.shape[0] != k:
        raise ValueError(f"expected {k} masks, got array of shape {arr.shape}")
    if arr.max(initial=0) > 1.0:
        arr = arr / 255.0
    return torch.from_numpy(np.clip(arr, 0, 1))


def _pad_masks(masks: torch.Tensor, size: tuple[int, int], pad: tuple[int, int]) -> torch.Tensor:
    """Masks resized to the content size, then padded like the content (replicate)."""
    m = F.interpolate(masks[None].float(), size=size, mode="bilinear", align_corners=False)
    if pad[0] or pad[1]:
        m = F.pad(m, (0, pad[1], 0, pad[0]), mode="replicate")
    return m[0]


__all__ = ["Stylizer", "StylePlan", "pick_device", "stylizer_summary", "resolve_model", "model_label", "MODELS", "MODEL_LABELS",
           "Path"]


def stylize_image(stylizer: Stylizer, content: np.ndarray, styles: list[np.ndarray],
                  weights: list[float] | None = None, alpha: float = 1.0, preserve_color: bool = False,
                  masks: list[np.ndarray] | None = None) -> np.ndarray:
    """``HxWx3`` uint8 RGB content + style images → stylized ``HxWx3`` uint8 RGB of the same size.

    ``preserve_color`` uses the paper's method: each style image gets the content's colour mean
    and covariance before it is encoded.
    """
    if preserve_color:
        from engine.media.imageio import to_tensor, to_uint8
        from engine.nets.adain import match_color

        c = to_tensor(content)
        styles = [to_uint8(match_color(to_tensor(s), c)) for s in styles]
    stylizer.set_styles(styles, weights, masks)
    bgr = np.ascontiguousarray(content[:, :, ::-1])
    return np.ascontiguousarray(stylizer(bgr, alpha=alpha, preserve_color=False)[:, :, ::-1])
