"""Causal anti-flicker for live and file video: motion-compensated filtering before and after the network.

Per-frame AdaIN flickers: sensor noise, lighting changes and sub-pixel motion change the
decoder's texture from one frame to the next. :class:`Stabilizer` keeps the previous frame's
(filtered) input and output and works in two steps around the network:

1. :meth:`Stabilizer.prepare` (before the network): optical flow between the previous and the
   current *content* frame (OpenCV DIS, ultrafast preset, on a small grayscale copy, both
   directions); a soft mask of reliable pixels (forward-backward consistent, landing inside the
   frame, photometrically consistent after removing the global brightness change; eroded and
   softened); then the network input is denoised along the motion,
   ``x'_t = x_t + prefilter·mask·(warp(x'_{t−1}) − x_t)``, so sensor noise does not make the
   decoder draw new texture every frame;
2. :meth:`Stabilizer.finish` (after the network): the previous output is warped onto the
   current frame and blended, strongly in the coarse band (colour and brightness flicker) and,
   in the fine band (texture), strongly only where the texture changed a little (shimmer) and
   gently where it changed a lot (a new stroke), so the strokes stay crisp:
   ``out_t = s_t + mask·(blend_low·L + w·(D − L))``, ``L = blur_σ(D)``,
   ``w = blend_high + (fine_max − blend_high)·exp(−(|D − L|/fine_tau)²)`` per pixel (``|·|``: mean
   over RGB), with ``D = warp(out_{t−1}) − s_t`` and ``s_t`` the per-frame stylization. Giving
   the blended pixels back the per-frame texture contrast (:func:`restore_detail`, ``detail > 0``)
   was part of the stage until session 7; with the shimmer-aware fine band it measured worse in
   flicker on every clip and no better in style, at ~40 % of the stage's time, so it is off.

Both filters are recursive (exponential averages along motion trajectories); occluded or newly
visible pixels, scene cuts and unreliable flow fall back to the per-frame result, so nothing
ghosts. No look-ahead; per frame it costs two small optical flows, two bicubic warps (OpenCV's
``remap`` on the CPU, ``grid_sample`` elsewhere) and a few blurs. The choice of these steps
and weights is measured in docs/QUALITY.md ("Temporal consistency").

Use through the stylizer: ``st.stabilize = True`` (``False`` to switch off), ``st.reset()``
when the source changes (a new size resets by itself). Thread model: the inference thread
calls ``prepare``/``finish``; ``reset()`` may come from any thread.
"""
from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from engine.runtime.flow import MIN_FLOW_SIDE

DEFAULT_PREFILTER = 0.6  # weight of the motion-compensated previous input in the input denoising
DEFAULT_BLEND_LOW = 0.9  # weight of the warped previous output in the coarse band
DEFAULT_BLEND_HIGH = 0.3  # ... and in the fine band (texture) where it changed a lot
DEFAULT_FINE_MAX = 0.9  # ... rising to this where the fine band changed little (shimmer)
DEFAULT_FINE_TAU = 0.08  # the fine-band change (0..1, mean over RGB) at which the rise has fallen to 1/e
DEFAULT_BAND_SIGMA = 4.0  # Gaussian σ (pixels) separating the coarse from the fine band
DEFAULT_FLOW_SIDE = 160  # shorter side of the grayscale copy the flow is computed on
PHOTOMETRIC_TOLERANCE = 0.06  # max |warped previous content − current content| (0..1 gray)
DEFAULT_DETAIL = 0.0  # strength of restore_detail() in [0, 1] (off since session 7: docs/QUALITY.md)
DETAIL_SIGMAS = (1.0, 3.0)  # Gaussian σs (pixels) splitting off the texture bands restore_detail() keeps
_LUMA = (0.299, 0.587, 0.114)


@dataclass
class PreparedFrame:
    """What :meth:`Stabilizer.prepare` learnt about one frame, for :meth:`Stabilizer.finish`.

    ``content``: the network input to use, ``[1,3,H,W]`` (denoised when a previous frame
    exists); where each pixel was in the previous frame: ``grid`` ``[1,H,W,2]`` grid_sample
    coordinates (GPU), or on the CPU ``maps``, OpenCV remap's ``[H,W,2]`` fp32 (x, y) pixel
    coordinates; ``mask``: ``[1,1,H,W]`` reliability in [0,1]; motion and mask are ``None``
    without a previous frame.
    """

    content: torch.Tensor
    gray: np.ndarray | None
    grid: torch.Tensor | None
    mask: torch.Tensor | None
    generation: int
    seconds: float = 0.0  # time prepare() took, for last_stage_ms
    maps: np.ndarray | None = None

    @property
    def has_motion(self) -> bool:
        return self.grid is not None or self.maps is not None


class _History(NamedTuple):
    """The previous frame: grey copy ``[h,w]`` uint8, network input and output ``[1,3,H,W]`` fp32."""

    gray: np.ndarray
    content: torch.Tensor
    output: torch.Tensor


class Stabilizer:
    """Temporal stage around the network, all images ``[1,3,H,W]`` RGB in [0,1]::

        frame = stab.prepare(content)            # frame.content goes to the network
        out = stab.finish(frame, stylized)       # stylized: the network's output of it

    ``stab(content, stylized)`` does both for a ``stylized`` made from the raw ``content``
    (output filtering only). Results have ``stylized``'s dtype and device.
    """

    def __init__(self, blend_low: float = DEFAULT_BLEND_LOW, blend_high: float = DEFAULT_BLEND_HIGH,
                 band_sigma: float = DEFAULT_BAND_SIGMA, prefilter: float = DEFAULT_PREFILTER,
                 flow_side: int = DEFAULT_FLOW_SIDE, preset: str = "ultrafast",
                 interpolation: str = "bicubic", detail: float = DEFAULT_DETAIL,
                 detail_sigmas: tuple[float, ...] = DETAIL_SIGMAS, fine_max: float = DEFAULT_FINE_MAX,
                 fine_tau: float = DEFAULT_FINE_TAU):
        """``blend_low``/``blend_high``: weight of the motion-compensated previous output in the
        coarse/fine band (split at Gaussian ``band_sigma`` pixels), each in [0, 1); in the fine
        band the weight rises towards ``fine_max`` where the change is small against ``fine_tau``
        (``fine_max`` ≤ ``blend_high``: one fine-band weight);
        ``prefilter``: weight of the previous input in the input denoising, in [0, 1);
        ``flow_side``: shorter side of the grey copy for the flow; ``preset``: DIS preset;
        ``interpolation`` of the warps (``bicubic``/``bilinear``); ``detail``: strength of
        :func:`restore_detail` in [0, 1] over the bands ``detail_sigmas``. The alternatives
        exist for measuring them (``python -m engine.tools.stabilizer_study``)."""
        from engine.runtime.flow import create_dis

        for name, value in (("blend_low", blend_low), ("blend_high", blend_high), ("prefilter", prefilter),
                            ("fine_max", fine_max)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if interpolation not in ("bicubic", "bilinear"):
            raise ValueError(f"interpolation must be bicubic or bilinear, got {interpolation!r}")
        if not fine_tau > 0:
            raise ValueError(f"fine_tau must be positive, got {fine_tau}")
        self.blend_low, self.blend_high = float(blend_low), float(blend_high)
        self.fine_max, self.fine_tau = float(fine_max), float(fine_tau)
        self.band_sigma = float(band_sigma)
        self.prefilter = float(prefilter)
        self.interpolation = interpolation
        self.detail = float(detail)
        self.detail_sigmas = tuple(detail_sigmas)
        self.flow_side = max(MIN_FLOW_SIDE, flow_side)
        self._dis = create_dis(preset)
        self.enabled = True
        self._state: _History | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self.last_reliable_fraction = float("nan")
        self.last_stage_ms = float("nan")  # time of prepare() + finish() for the last frame

    def reset(self) -> None:
        """Forget the previous frame (new source, seek, style change where no fade is wanted)."""
        with self._lock:
            self._generation += 1
            self._state = None
        self.last_reliable_fraction = float("nan")

    @torch.inference_mode()
    def prepare(self, content: torch.Tensor) -> PreparedFrame:
        """Motion from the previous frame, and the denoised network input (``.content``)."""
        start = time.perf_counter()
        frame = self._prepare(content)
        frame.seconds = time.perf_counter() - start
        return frame

    def _prepare(self, content: torch.Tensor) -> PreparedFrame:
        with self._lock:
            generation, state = self._generation, self._state
        if min(content.shape[-2:]) < MIN_FLOW_SIDE:  # too small for optical flow: per-frame
            return PreparedFrame(content, None, None, None, generation)
        gray = self._small_gray(content)
        if state is None or state.gray.shape != gray.shape or state.content.shape != content.shape \
                or state.content.device != content.device:
            return PreparedFrame(content, gray, None, None, generation)
        flow, mask = self._flow_and_mask(state.gray, gray)
        self.last_reliable_fraction = float(mask.mean())
        if content.device.type == "cpu":
            grid, (maps, mask_t) = None, _maps_and_mask(flow, mask, content.shape[-2:])
        else:
            maps, (grid, mask_t) = None, self._grid_and_mask(flow, mask, content.shape[-2:], content.device)
        frame = PreparedFrame(content, gray, grid, mask_t, generation, maps=maps)
        if self.prefilter > 0:  # in place on the fresh warp: new 640×480 buffers cost page faults
            warped = self._warp(state.content, frame)
            frame.content = warped.sub_(content).mul_(mask_t * self.prefilter).add_(content).to(content.dtype)
        return frame

    @torch.inference_mode()
    def finish(self, frame: PreparedFrame, stylized: torch.Tensor) -> torch.Tensor:
        """The stabilized output of ``stylized``, the network's output for ``frame.content``."""
        start = time.perf_counter()
        out = self._finish(frame, stylized)
        self.last_stage_ms = 1000 * (frame.seconds + time.perf_counter() - start)
        return out

    def _finish(self, frame: PreparedFrame, stylized: torch.Tensor) -> torch.Tensor:
        if frame.gray is None:
            return stylized
        with self._lock:
            state = self._state if frame.generation == self._generation else None
        out = stylized
        if frame.has_motion and state is not None and state.output.shape[-2:] == stylized.shape[-2:] \
                and state.output.device == stylized.device:
            out = self._blend(stylized, self._warp(state.output, frame), frame.mask)
        with self._lock:
            if frame.generation == self._generation:  # the caller may reuse `out`: keep copies
                self._state = _History(frame.gray, frame.content.detach().float().clone(),
                                       out.detach().float().clone())
        return out

    def __call__(self, content: torch.Tensor, stylized: torch.Tensor) -> torch.Tensor:
        """Output filtering of ``stylized`` (made from the unfiltered ``content``)."""
        return self.finish(self.prepare(content), stylized)

    # --- steps --------------------------------------------------------------------------------

    def _small_gray(self, content: torch.Tensor) -> np.ndarray:
        """``[1,3,H,W]`` → ``[h,w]`` uint8 luminance, shorter side at most ``flow_side``."""
        h, w = content.shape[-2:]
        scale = min(1.0, self.flow_side / min(h, w))
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        if content.device.type == "cpu" and content.dtype == torch.float32:
            import cv2

            # area-average first, then luminance (both linear): 4× less work than the other order
            small = cv2.resize(_hwc(content), size[::-1], interpolation=cv2.INTER_AREA)
            return cv2.convertScaleAbs(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), alpha=255.0)
        luma = torch.tensor(_LUMA, device=content.device, dtype=torch.float32).view(1, 3, 1, 1)
        gray = (content.float() * luma).sum(1, keepdim=True)
        if size != (h, w):
            gray = F.interpolate(gray, size=size, mode="area")
        return (gray[0, 0] * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).cpu().numpy()

    def _flow_and_mask(self, prev_gray: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flow current→previous ``[h,w,2]`` and soft reliability mask ``[h,w]`` in [0,1]."""
        import cv2

        from engine.runtime.flow import consistency_mask, warp

        back = self._dis.calc(gray, prev_gray, None)
        fwd = self._dis.calc(prev_gray, gray, None)
        mask = consistency_mask(back, fwd).astype(np.float32)
        # compare slightly blurred copies (sensor noise is not misalignment), after removing the
        # global brightness change (lighting drift)
        warped_prev = cv2.GaussianBlur(warp(prev_gray, back).astype(np.float32), (0, 0), 1.0)
        cur = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.0)
        residual = np.abs(warped_prev - warped_prev.mean() - (cur - cur.mean())) / 255.0
        mask *= (residual < PHOTOMETRIC_TOLERANCE).astype(np.float32)
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
        mask = cv2.GaussianBlur(mask, (0, 0), 1.0)
        return back, mask

    @staticmethod
    def _grid_and_mask(flow: np.ndarray, mask: np.ndarray, size: tuple[int, int],
                       device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Small flow ``[h,w,2]`` and mask ``[h,w]`` → full-size grid ``[1,H,W,2]`` and mask ``[1,1,H,W]``."""
        h, w = size
        fh, fw = flow.shape[:2]
        small = torch.from_numpy(np.concatenate([flow, mask[..., None]], axis=2)).to(device)
        small = small.permute(2, 0, 1)[None]  # [1,3,fh,fw]: flow x, flow y, mask
        if (fh, fw) != (h, w):
            small = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
        # flow in pixels of the small image → offsets in grid_sample's [-1, 1] coordinates
        to_grid = torch.tensor([w / fw * 2.0 / max(1, w - 1), h / fh * 2.0 / max(1, h - 1)],
                               device=device).view(1, 1, 1, 2)
        grid = _identity_grid(h, w, device) + small[:, :2].permute(0, 2, 3, 1) * to_grid
        return grid, small[:, 2:3].clamp(0, 1)

    def _warp(self, image: torch.Tensor, frame: PreparedFrame) -> torch.Tensor:
        """The previous frame's ``image`` ``[1,C,H,W]`` fp32 moved onto the current ``frame``."""
        # bicubic: bilinear resampling, repeated along a trajectory, blurs the texture
        if frame.maps is not None:  # CPU: OpenCV's SIMD remap, ~3× faster than grid_sample here
            import cv2

            flag = cv2.INTER_CUBIC if self.interpolation == "bicubic" else cv2.INTER_LINEAR
            out = cv2.remap(_hwc(image), frame.maps, None, flag, borderMode=cv2.BORDER_REPLICATE)
            return _from_hwc(out)
        return F.grid_sample(image, frame.grid, mode=self.interpolation, padding_mode="border", align_corners=True)

    def _blend(self, stylized: torch.Tensor, warped: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Two-band blend of the per-frame ``stylized`` with the ``warped`` previous output (which
        it overwrites: in-place steps, as fresh full-size buffers cost more than the arithmetic)."""
        per_frame = stylized.float()
        fine = warped.sub_(per_frame)  # D
        low = gaussian_blur(fine, self.band_sigma)  # L; blur is linear: low(warped) − low(per_frame)
        fine.sub_(low)  # D − L
        weight = self.blend_high
        if self.fine_max > self.blend_high:
            # shimmer (the same stroke redrawn slightly differently) is held back; a new stroke is taken
            change = fine.abs().sum(1, keepdim=True).div_(fine.shape[1] * self.fine_tau)  # mean |D − L| / τ
            weight = change.square_().neg_().exp_().mul_(self.fine_max - self.blend_high).add_(self.blend_high)
        blended = low.mul_(self.blend_low).add_(fine.mul_(weight)).mul_(mask).add_(per_frame)
        if self.detail > 0:
            blended = restore_detail(blended, per_frame, mask, self.detail, self.detail_sigmas)
        return blended.clamp_(0, 1).to(stylized.dtype)


def restore_detail(blended: torch.Tensor, per_frame: torch.Tensor, mask: torch.Tensor,
                   strength: float = 1.0, sigmas: tuple[float, ...] = DETAIL_SIGMAS) -> torch.Tensor:
    """Give the blended pixels back the texture contrast of the per-frame result.

    Averaging frames whose texture does not line up exactly softens it (the style loss would
    rise). The image is split into band-pass layers by Gaussian blurs of increasing σ
    (``sigmas``; one σ: image − blur); each layer of ``blended`` is scaled per channel by
    ``1 + strength·(k − 1)`` with ``k = sqrt(Σ m·band_per_frame² / Σ m·band_blended²)`` (clamped
    to [1, 2]), in proportion to the mask ``m``, so unblended pixels are untouched.
    ``[1,3,H,W]`` fp32 → same, clamped to [0,1].
    """
    # Σ bands + the last low pass is `blended` again, so only the gain's excess is added
    rest, rest_ref, extra = blended, per_frame, 0.0
    for sigma in sigmas:
        low, low_ref = gaussian_blur(rest, sigma), gaussian_blur(rest_ref, sigma)
        band, band_ref = rest - low, rest_ref - low_ref
        energy = ((mask * band) * band).sum((2, 3), keepdim=True)
        energy_ref = ((mask * band_ref) * band_ref).sum((2, 3), keepdim=True)
        k = 1 + strength * ((energy_ref / energy.clamp_min(1e-12)).sqrt().clamp(1.0, 2.0) - 1)  # [1,3,1,1]
        extra = extra + (k - 1) * band
        rest, rest_ref = low, low_ref
    return (blended + mask * extra).clamp(0, 1)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``[N,C,H,W]`` (replicated edges), same shape and dtype."""
    radius = max(1, int(3 * sigma + 0.5))
    if x.device.type == "cpu" and x.dtype == torch.float32:
        if x.shape[0] == 1 and x.shape[1] in (3, 4) and x.is_contiguous(memory_format=torch.channels_last):
            import cv2

            size = 2 * radius + 1
            return _from_hwc(cv2.GaussianBlur(_hwc(x), (size, size), sigma, borderType=cv2.BORDER_REPLICATE))
        return _blur_planes_cv2(x, sigma, radius)
    taps = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-taps * taps / (2 * sigma * sigma))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _blur_planes_cv2(x: torch.Tensor, sigma: float, radius: int) -> torch.Tensor:
    """:func:`gaussian_blur` on the CPU with OpenCV's SIMD filter, plane by plane (the same
    normalised ``exp(−t²/2σ²)`` taps and replicated edges; ~10× faster than a grouped conv here)."""
    import cv2

    planes = x.detach().contiguous().numpy().reshape(-1, *x.shape[-2:])
    size = 2 * radius + 1
    out = np.stack([cv2.GaussianBlur(p, (size, size), sigma, borderType=cv2.BORDER_REPLICATE) for p in planes])
    return torch.from_numpy(out.reshape(x.shape))


def _maps_and_mask(flow: np.ndarray, mask: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, torch.Tensor]:
    """Small flow ``[h,w,2]`` and mask ``[h,w]`` → full-size remap coordinates ``[H,W,2]`` (x, y
    in fp32 pixels) and mask ``[1,1,H,W]``: the CPU twin of :meth:`Stabilizer._grid_and_mask`
    (the same bilinear up-sampling, half-pixel centres)."""
    import cv2

    h, w = size
    fh, fw = flow.shape[:2]
    maps, mask = flow * np.float32([w / fw, h / fh]), mask.astype(np.float32)
    if (fh, fw) != (h, w):
        maps = cv2.resize(maps, (w, h), interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
    maps += _pixel_coordinates(h, w)
    return maps, torch.from_numpy(np.clip(mask, 0, 1))[None, None]


@functools.lru_cache(maxsize=4)
def _pixel_coordinates(h: int, w: int) -> np.ndarray:
    """``[H,W,2]`` fp32 (x, y) coordinates of every pixel (read-only: shared by every frame)."""
    xy = np.dstack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
    xy.flags.writeable = False
    return xy


def _hwc(x: torch.Tensor) -> np.ndarray:
    """``[1,C,H,W]`` fp32 CPU tensor → ``[H,W,C]`` array (a view when ``x`` is channels_last)."""
    return np.ascontiguousarray(x.detach()[0].permute(1, 2, 0).numpy())


def _from_hwc(a: np.ndarray) -> torch.Tensor:
    """``[H,W,C]`` array → ``[1,C,H,W]`` channels_last tensor sharing its memory."""
    if a.ndim == 2:
        a = a[..., None]
    return torch.from_numpy(a).permute(2, 0, 1)[None]


@functools.lru_cache(maxsize=4)
def _identity_grid(h: int, w: int, device: torch.device) -> torch.Tensor:
    """``[1,H,W,2]`` fp32 grid_sample coordinates of every pixel (align_corners=True)."""
    ys = torch.linspace(-1.0, 1.0, h, device=device) if h > 1 else torch.zeros(1, device=device)
    xs = torch.linspace(-1.0, 1.0, w, device=device) if w > 1 else torch.zeros(1, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack((gx, gy), dim=-1)[None]
