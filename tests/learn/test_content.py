"""Pictures to learn a style from: distinct frames only (a still scene gives one), spread over a
video, a folder's images, generated scenes without any; bad sources are one-line errors."""
from __future__ import annotations

import numpy as np
import pytest

from engine.errors import InputError
from engine.learn.content import NoveltySampler, content_pictures, folder_pictures, generated_pictures, video_pictures
from engine.media.imageio import save_image_rgb
from engine.media.video import write_video
from engine.tools.synthetic import pattern_image, synthetic_clip


def test_novelty_sampler_skips_near_duplicates_and_keeps_the_newest():
    sampler = NoveltySampler(capacity=3, size=64)
    still = pattern_image(120, 160, seed=1)
    rng = np.random.default_rng(0)
    for _ in range(20):  # a still scene with sensor noise: one picture
        noisy = np.clip(still.astype(int) + rng.integers(-3, 4, still.shape), 0, 255).astype(np.uint8)
        sampler.offer(noisy)
    assert len(sampler.pictures) == 1 and min(sampler.pictures[0].shape[:2]) == 64
    for seed in range(2, 6):  # new scenes: kept, the oldest dropped past the capacity
        assert sampler.offer(pattern_image(120, 160, seed=seed))
    assert len(sampler.pictures) == 3 and sampler.seen == 24
    assert not sampler.offer(pattern_image(120, 160, seed=5))


def test_video_pictures_are_spread_and_distinct(tmp_path):
    clip = synthetic_clip(pattern_image(240, 320, seed=3), 60, (160, 120), seed=3, pan=(0.5, 0.2))
    write_video(tmp_path / "clip.mp4", clip, fps=12)
    pictures = video_pictures(tmp_path / "clip.mp4", count=6, size=96)
    assert 3 <= len(pictures) <= 6 and all(min(p.shape[:2]) == 96 for p in pictures)
    thumbs = [NoveltySampler.thumb(p) for p in pictures]
    assert min(np.abs(a - b).mean() for i, a in enumerate(thumbs) for b in thumbs[i + 1:]) >= 6.0


def test_folders_images_and_generated_scenes(tmp_path):
    for i in range(5):
        save_image_rgb(pattern_image(100, 150, seed=10 + i), tmp_path / f"p{i}.png")
    assert len(folder_pictures(tmp_path, count=3, size=64)) == 3
    single = content_pictures([tmp_path / "p0.png"], size=64)
    assert len(single) == 1 and single[0].shape[0] == 64
    generated = content_pictures(None, count=4, size=64)
    assert len(generated) == 4 and len({g.tobytes() for g in generated}) == 4
    assert generated_pictures(2)[0].shape == (256, 341, 3)


def test_bad_sources_name_the_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        content_pictures([tmp_path / "missing"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no images"):
        content_pictures([empty])
