"""Photos of people for the person-segmentation tests: read at run time from ../shared/data
(never committed); a test that needs one is skipped where ../shared is absent."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.runtime.person import unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT.parent / "shared" / "data" / "content"
#: photos of people: a close portrait, a man sitting, a wedding party (several people), Santa
PEOPLE = ("dpst_00002.jpg", "imagen_00003.jpg", "imnet_00886.jpg", "imagen_00001.jpg")
NO_PERSON = ("dpst_00000.jpg", "dpst_00010.jpg")  # a city skyline, mountains at dusk

needs_model = pytest.mark.skipif(unavailable_reason() is not None,
                                 reason=f"person segmentation unavailable: {unavailable_reason()}")


def photo(name: str, short: int = 256) -> np.ndarray:
    """A photo from ../shared/data/content, ``short`` px on its shorter side, RGB uint8."""
    from engine.media.imageio import load_image_rgb, resize_short_side

    path = CONTENT / name
    if not path.is_file():
        pytest.skip(f"{path} absent (../shared/data is not beside the repository)")
    return resize_short_side(load_image_rgb(path), short)


def regions(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(surely person, surely background) pixels, 6 px away from the soft edge."""
    k = np.ones((13, 13), np.uint8)
    inside = cv2.erode((mask > 0.95).astype(np.uint8), k).astype(bool)
    outside = cv2.erode((mask < 0.05).astype(np.uint8), k).astype(bool)
    return inside, outside


def texture(bgr: np.ndarray, where: np.ndarray) -> float:
    """Mean |Laplacian| of the grey image over ``where``: how busy the brushwork is."""
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F))[where].mean())


def mean_abs(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean(axis=2)[where].mean())
