"""Content pictures to learn a style from (issue #28): the live source's own frames, a video's
frames, a folder of photos, or — with nothing else — scenes the product generates.

Every function returns ``HxWx3`` uint8 RGB pictures with the shorter side at most ``size``;
near-duplicates are skipped (:class:`NoveltySampler`), so a static webcam scene gives a few
pictures, not hundreds of copies.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from engine.errors import InputError
from engine.media.imageio import list_images, load_image_rgb, resize_short_side

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}
DEFAULT_COUNT = 24
DEFAULT_SIZE = 256
# learning beside a live source starts with this many distinct pictures of it …
MIN_PICTURES = 6
# … or this long after the style was picked, generated scenes filling up (a still scene gives few)
MAX_WAIT_S = 6.0


class NoveltySampler:
    """Keeps a picture only if it differs from every kept one: mean absolute difference of
    32×24 grey thumbnails above ``threshold`` (0..255). Holds at most ``capacity`` pictures;
    past that a new, novel picture replaces the oldest (the latest scene matters most live)."""

    def __init__(self, capacity: int = DEFAULT_COUNT, threshold: float = 6.0, size: int = DEFAULT_SIZE):
        self.capacity, self.threshold, self.size = capacity, threshold, size
        self.pictures: list[np.ndarray] = []
        self._thumbs: list[np.ndarray] = []
        self.seen = 0

    @staticmethod
    def thumb(rgb: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY)
        return cv2.resize(grey, (32, 24), interpolation=cv2.INTER_AREA).astype(np.float32)

    def offer(self, rgb: np.ndarray) -> bool:
        """Whether ``rgb`` was kept."""
        self.seen += 1
        t = self.thumb(rgb)
        if any(float(np.abs(t - k).mean()) < self.threshold for k in self._thumbs):
            return False
        if len(self.pictures) >= self.capacity:
            self.pictures.pop(0)
            self._thumbs.pop(0)
        self.pictures.append(resize_short_side(np.ascontiguousarray(rgb[..., :3]), self.size)
                             if min(rgb.shape[:2]) > self.size else np.ascontiguousarray(rgb[..., :3]).copy())
        self._thumbs.append(t)
        return True


def video_pictures(path: str | os.PathLike, count: int = DEFAULT_COUNT, size: int = DEFAULT_SIZE) -> list[np.ndarray]:
    """Up to ``count`` distinct frames spread over the whole video (first pass counts frames)."""
    from engine.media.video import probe_video, read_frames

    total = probe_video(path).frames or count * 4  # 0 when the container does not say
    stride = max(1, total // (count * 3))  # ~3 candidates per kept picture
    sampler = NoveltySampler(capacity=count, size=size)
    for index, frame in enumerate(read_frames(path, "rgb24")):
        if index % stride == 0:
            sampler.offer(frame)
    if not sampler.pictures:
        raise InputError(path, "no frames could be read to learn from")
    return sampler.pictures


def folder_pictures(folder: str | os.PathLike, count: int = DEFAULT_COUNT, size: int = DEFAULT_SIZE,
                    seed: int = 0) -> list[np.ndarray]:
    """Up to ``count`` of the folder's images (a seeded random choice when there are more)."""
    paths = list_images(folder)
    if not paths:
        raise InputError(folder, "no images in this folder to learn from")
    if len(paths) > count:
        rng = np.random.default_rng(seed)
        paths = [paths[i] for i in sorted(rng.choice(len(paths), count, replace=False))]
    sampler = NoveltySampler(capacity=count, size=size, threshold=1.0)
    for p in paths:
        sampler.offer(load_image_rgb(p))
    return sampler.pictures


def generated_pictures(count: int = 12, size: int = DEFAULT_SIZE) -> list[np.ndarray]:
    """Scenes the product generates (sky, hills, houses, trees, texture at several scales)."""
    from engine.tools.synthetic import pattern_image

    return [pattern_image(size, size * 4 // 3, seed=100 + i) for i in range(count)]


def filled_with_generated(pictures: list[np.ndarray], at_least: int, size: int = DEFAULT_SIZE) -> list[np.ndarray]:
    """``pictures``, with generated scenes added up to ``at_least`` of them."""
    pictures = list(pictures)
    return pictures + generated_pictures(at_least - len(pictures), size) if len(pictures) < at_least else pictures


def content_pictures(sources: list[str | os.PathLike] | None, count: int = DEFAULT_COUNT,
                     size: int = DEFAULT_SIZE) -> list[np.ndarray]:
    """Pictures from each source (folder, video or image), or generated ones when none is given."""
    if not sources:
        return generated_pictures(min(count, 12), size)
    pictures: list[np.ndarray] = []
    share = max(1, count // len(sources))
    for source in sources:
        path = Path(source)
        if path.is_dir():
            pictures += folder_pictures(path, share, size)
        elif path.suffix.lower() in VIDEO_SUFFIXES:
            pictures += video_pictures(path, share, size)
        elif path.is_file():
            pictures.append(resize_short_side(load_image_rgb(path), size))
        else:
            raise InputError(path, "not found (give a folder of photos, a video or an image)")
    return pictures[:count]


__all__ = ["MAX_WAIT_S", "MIN_PICTURES", "NoveltySampler", "content_pictures", "filled_with_generated", "folder_pictures", "generated_pictures", "video_pictures"]
