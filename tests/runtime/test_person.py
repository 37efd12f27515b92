"""Person segmentation and person-aware styling on real photos of people (../shared/data).

Skipped where segmentation is unavailable (model package missing) or the photos are absent.
"""
from __future__ import annotations

import os
import time

import cv2
import numpy as np
import pytest

from engine.runtime import person
from engine.runtime.person import MaskSmoother, PersonMasker, SegmentationUnavailable, SelfieSegmenter, \
    person_mask
from person_photos import NO_PERSON, PEOPLE, ROOT, mean_abs, needs_model, photo, regions, texture


@pytest.fixture(scope="module")
def segmenter():
    return SelfieSegmenter()


@pytest.fixture(scope="module")
def real_stylizer():
    """The shipped decoder and a committed style: what the user gets."""
    from engine.runtime.stylizer import Stylizer

    st = Stylizer(device="cpu", style_side=256)
    st.set_styles([str(ROOT / "assets" / "styles" / "mosaic.jpg")])
    return st


# --- segmentation ------------------------------------------------------------------------------

@pytest.mark.skipif(os.environ.get("CI") != "true", reason="CI's clean install proves the packaging")
def test_a_clean_install_can_segment():
    assert person.unavailable_reason() is None

@needs_model
@pytest.mark.parametrize("name", PEOPLE)
def test_people_are_found_and_the_mask_is_soft_only_at_the_edge(segmenter, name):
    rgb = photo(name)
    m = person_mask(segmenter, rgb)
    assert m.shape == rgb.shape[:2] and m.dtype == np.float32
    assert 0.0 <= m.min() and m.max() <= 1.0
    assert 0.1 < (m > 0.5).mean() < 0.95  # a person, not the whole frame
    assert ((m > 0.05) & (m < 0.95)).mean() < 0.2  # undecided pixels mostly along the outline


@needs_model
def test_several_people_are_all_person(segmenter):
    rgb = photo("imnet_00886.jpg")  # the groom with the microphone and the two men behind, right half
    m = person_mask(segmenter, rgb)
    h, w = m.shape
    # three people side by side: every column band of the right 55 % holds person pixels
    bands = np.array_split((m[h // 3:] > 0.5), 5, axis=1)[2:]
    assert all(b.mean() > 0.25 for b in bands), [round(float(b.mean()), 2) for b in bands]


@needs_model
@pytest.mark.parametrize("name", NO_PERSON)
def test_no_person_gives_an_empty_mask(segmenter, name):
    m = person_mask(segmenter, photo(name))
    assert (m > 0.5).mean() < 0.01


def test_a_missing_model_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(person.MODEL_ENV, str(tmp_path / "nothing.tflite"))
    with pytest.raises(SegmentationUnavailable, match="nothing.tflite: person model not found"):
        person.model_path()


def test_a_broken_model_is_one_line(tmp_path, monkeypatch):
    pytest.importorskip("ai_edge_litert", reason="LiteRT absent: the model is never read")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model" * 10)
    monkeypatch.setenv(person.MODEL_ENV, str(bad))
    with pytest.raises(SegmentationUnavailable) as err:
        SelfieSegmenter()
    assert "bad.tflite: cannot load the person model" in str(err.value) and "\n" not in str(err.value)


# --- temporal smoothing ------------------------------------------------------------------------

def _edge(mask: np.ndarray) -> np.ndarray:
    return (mask > 0.1) & (mask < 0.9)


@needs_model
def test_a_still_person_does_not_flicker_at_the_edge(segmenter):
    """Camera noise on a still person: the raw masks jitter along the outline; the smoothed do not."""
    rgb = photo("imagen_00003.jpg")
    rng = np.random.default_rng(0)
    smoother = MaskSmoother()
    raws, smooth = [], []
    for _ in range(16):
        noisy = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
        raw = segmenter(noisy)
        raws.append(person.feather(raw, smoother.feather))  # the same edge softening, no time smoothing
        smooth.append(smoother(raw))
    raws, smooth = np.stack(raws[4:]), np.stack(smooth[4:])
    edge = _edge(raws.mean(0))
    jitter_raw = raws.std(0)[edge].mean()
    jitter_smooth = smooth.std(0)[edge].mean()
    assert jitter_raw > 0.01  # the test sees real jitter
    assert jitter_smooth < 0.6 * jitter_raw, (jitter_raw, jitter_smooth)


@needs_model
def test_a_moving_person_is_followed_at_once(segmenter):
    """The person jumps 20 % of the width between frames: the smoothed mask is where the model
    says at the next frame (the smoothing never drags a moving arm behind)."""
    rgb = photo("imagen_00003.jpg")
    h, w = rgb.shape[:2]
    shift = w // 5
    still = rgb[:, : w - shift]
    moved = rgb[:, shift:]
    smoother = MaskSmoother()
    for _ in range(8):
        smoother(segmenter(still))
    target = person.feather(segmenter(moved), smoother.feather)
    changed = np.abs(target - person.feather(segmenter(still), smoother.feather)) > 0.5
    assert changed.mean() > 0.02
    errors = [float(np.abs(smoother(segmenter(moved)) - target)[changed].mean()) for _ in range(2)]
    assert errors[0] < 0.05 and errors[1] < 0.05, errors  # there at once


# --- the live thread ---------------------------------------------------------------------------

class SlowSegmenter:
    """A segmenter that keeps the real one's contract (RGB in, model-size mask out) and takes
    ``delay`` seconds, like the model on a busy CPU."""

    def __init__(self, delay: float = 0.05, fail: bool = False):
        self.delay, self.fail, self.calls = delay, fail, 0

    def __call__(self, rgb):
        time.sleep(self.delay)
        self.calls += 1
        if self.fail:
            raise RuntimeError("delegate crashed")
        return np.full((256, 256), float(rgb[0, 0, 0]) / 255.0, np.float32)


def test_masker_gives_each_frame_its_own_mask_off_thread():
    masker = PersonMasker(SlowSegmenter(0.05), MaskSmoother(min_rate=1.0, feather=0))
    try:
        for index, level in enumerate((0, 255, 128)):
            frame = np.full((48, 64, 3), level, np.uint8)  # BGR: the masker turns it into RGB
            t0 = time.monotonic()
            masker.submit(frame, index)
            submitted = time.monotonic() - t0
            mask = masker.mask(index, timeout=2.0)
            assert submitted < 0.02  # submitting never waits for the model
            assert mask is not None and abs(float(mask.mean()) - level / 255) < 1e-6
    finally:
        masker.close()
    assert not masker._thread.is_alive()


def test_masker_reports_a_failing_segmenter_and_does_not_block():
    masker = PersonMasker(SlowSegmenter(0.0, fail=True))
    try:
        masker.submit(np.zeros((8, 8, 3), np.uint8), 0)
        t0 = time.monotonic()
        assert masker.mask(0, timeout=5.0) is None
        assert time.monotonic() - t0 < 2.0
        assert "delegate crashed" in masker.error
    finally:
        masker.close()


# --- styling by mode ---------------------------------------------------------------------------

@needs_model
@pytest.mark.parametrize("name", PEOPLE[:3])
def test_keep_person_keeps_the_person_and_paints_the_background(segmenter, real_stylizer, name):
    from engine.runtime.person_style import stylize_with_person

    rgb = photo(name)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    m = person_mask(segmenter, rgb)
    inside, outside = regions(m)
    assert inside.mean() > 0.05 and outside.mean() > 0.05
    keep_p = stylize_with_person(real_stylizer, bgr, "keep_person", m)
    keep_b = stylize_with_person(real_stylizer, bgr, "keep_background", m)
    assert mean_abs(keep_p, bgr, inside) < 3.0  # within a few grey levels of the original
    assert mean_abs(keep_p, bgr, outside) > 20.0  # painted
    assert mean_abs(keep_b, bgr, outside) < 3.0
    assert mean_abs(keep_b, bgr, inside) > 20.0


@needs_model
def test_no_person_means_the_background_rule_everywhere(segmenter, real_stylizer):
    from engine.runtime.person_style import stylize_with_person

    rgb = photo(NO_PERSON[0])
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    m = person_mask(segmenter, rgb)
    everywhere = np.ones(m.shape, bool)
    assert mean_abs(stylize_with_person(real_stylizer, bgr, "keep_person", m), bgr, everywhere) > 20.0
    assert mean_abs(stylize_with_person(real_stylizer, bgr, "keep_background", m), bgr, everywhere) < 1.0


@needs_model
def test_split_puts_one_style_on_the_person_and_another_on_the_background(segmenter):
    """Per-region AdaIN: the person's texture comes out like the frame painted all in style A (the
    busy mosaic), the background's like the frame painted all in style B (the smooth watercolour)."""
    from engine.runtime.person_style import set_split_styles, stylize_with_person
    from engine.runtime.stylizer import Stylizer

    st = Stylizer(device="cpu", style_side=256)
    a = st.encode_style(str(ROOT / "assets" / "styles" / "mosaic.jpg"))
    b = st.encode_style(str(ROOT / "assets" / "styles" / "watercolour.jpg"))
    rgb = photo("imagen_00003.jpg")
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    m = person_mask(segmenter, rgb)
    inside, outside = regions(m)
    st.set_styles([a])
    all_a = st(bgr)
    st.set_styles([b])
    all_b = st(bgr)
    set_split_styles(st, a, b)
    split = stylize_with_person(st, bgr, "split", lambda: m)
    for region, near, far in ((inside, all_a, all_b), (outside, all_b, all_a)):
        d_near = abs(texture(split, region) - texture(near, region))
        d_far = abs(texture(split, region) - texture(far, region))
        assert d_near < 0.5 * d_far, (d_near, d_far)
