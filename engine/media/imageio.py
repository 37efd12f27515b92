"""Reading and writing images safely: every failure is a one-line :class:`InputError`.

Images are handled as ``HxWx3`` uint8 RGB numpy arrays (OpenCV frames are BGR; the
:class:`~engine.runtime.stylizer.Stylizer` takes those). Odd formats are normalised: CMYK, 16-bit,
grayscale, palette and alpha images (alpha is flattened on white), EXIF orientation applied.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.errors import InputError, check_input_file
from engine.files import atomic_write

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
MAX_PIXELS = 50_000_000  # decompression-bomb guard: larger images are downscaled or refused
HARD_MAX_PIXELS = 400_000_000  # beyond this not even a reduced JPEG decode is attempted


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files under ``folder`` (recursive), sorted for reproducibility."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(root, "not a directory")
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _to_8bit_rgb(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode == "CMYK":
        img = img.convert("RGB")  # Pillow inverts Adobe CMYK JPEGs correctly
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def load_image_rgb(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as ``HxWx3`` uint8 RGB.

    Images above ``max_pixels`` are downscaled while decoding (JPEG draft mode) or refused;
    nothing ever decodes a decompression bomb at full size.
    """
    path = Path(path)
    check_input_file(path, "an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None  # our own guard below replaces Pillow's
            try:
                with Image.open(path) as img:
                    w, h = img.size
                    if w < 1 or h < 1:
                        raise InputError(path, "image has no pixels")
                    if w * h > max_pixels:
                        img = _reduce_large(img, path, max_pixels)
                    img.load()
                    img = ImageOps.exif_transpose(img)
                    return _to_8bit_rgb(img)
            finally:
                Image.MAX_IMAGE_PIXELS = saved_limit
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(path, "not an image (unrecognised file format)") from None
    except MemoryError:
        raise InputError(path, "image too large to decode in memory") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "truncated" in msg.lower():
            msg = "image data is truncated"
        raise InputError(path, f"cannot decode image ({msg})") from None


def _reduce_large(img: Image.Image, path: Path, max_pixels: int) -> Image.Image:
    w, h = img.size
    megapixels = w * h / 1e6
    if img.format == "JPEG" and w * h <= HARD_MAX_PIXELS * 64:
        scale = (max_pixels / (w * h)) ** 0.5
        img.draft("RGB", (max(1, int(w * scale)), max(1, int(h * scale))))
        if img.size[0] * img.size[1] <= max_pixels * 4:
            img.load()
            img = img.convert("RGB")
            img.thumbnail((int(w * scale), int(h * scale)), Image.Resampling.LANCZOS)
            return img
    raise InputError(path, f"image is {w}x{h} ({megapixels:.0f} megapixels); "
                           f"the limit is {max_pixels / 1e6:.0f} megapixels")


def load_image_bgr(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Like :func:`load_image_rgb` but BGR (OpenCV order)."""
    return np.ascontiguousarray(load_image_rgb(path, max_pixels)[:, :, ::-1])


def resize_short_side(rgb: np.ndarray, short_side: int) -> np.ndarray:
    """Resize ``HxWx3`` uint8 so its shorter side is ``short_side`` (area filter down, bicubic up)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = short_side / min(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return rgb
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(rgb, size, interpolation=interp)


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """``HxWx3`` uint8 → ``[1,3,H,W]`` float32 in [0,1]."""
    return torch.from_numpy(writable(rgb)).permute(2, 0, 1).unsqueeze(0).float() / 255.0


def writable(arr: np.ndarray) -> np.ndarray:
    """``arr`` as a C-contiguous, writable array (a copy only when needed): torch.from_numpy
    warns on read-only arrays such as ``np.asarray`` of a PIL image or a broadcast view."""
    arr = np.ascontiguousarray(arr)
    return arr if arr.flags.writeable else arr.copy()


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """``[1,3,H,W]`` (or ``[3,H,W]``) float in [0,1] → ``HxWx3`` uint8."""
    if x.dim() == 4:
        x = x[0]
    return (x.detach().float().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def save_image_rgb(rgb: np.ndarray, path: str | os.PathLike) -> None:
    """Write an RGB image atomically (format from the suffix; PNG when unknown)."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
    img = Image.fromarray(np.ascontiguousarray(rgb))

    def write(tmp):
        img.save(tmp, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))

    try:
        atomic_write(path, write)
    except OSError as exc:
        raise InputError(path, f"cannot write image ({exc.strerror or exc})") from None
