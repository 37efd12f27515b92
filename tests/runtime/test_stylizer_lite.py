"""``Stylizer(model=…)`` with the lite network: choice of model, and every control (blend weights,
α, masks, colour preservation, stabilizer, style cache) on the lite style representation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import noise_image, smooth_image, stripes_image, styled_net
from engine.errors import InputError
from engine.nets.adain import StyleStats
from engine.nets.lite import LiteStyle, random_lite, save_lite
from engine.runtime.style_cache import StyleCache, encode_style_file
from engine.runtime.stylizer import Stylizer, model_label, resolve_model


@pytest.fixture(scope="module")
def lite():
    return Stylizer(device="cpu", lite_net=styled_net(seed=4))


@pytest.fixture(scope="module")
def frame():
    return np.ascontiguousarray(smooth_image(56, 72, 9)[..., ::-1])


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(float) - b.astype(float)).mean())


def test_model_choice(tmp_path):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    missing = tmp_path / "lite.safetensors"
    model, note = resolve_model("auto", cpu, missing)
    assert model == "vgg" and "no trained lite model" in note and str(missing) in note
    with pytest.raises(InputError, match="no trained lite model"):
        resolve_model("lite", cpu, missing)
    save_lite(styled_net(), missing)
    assert resolve_model("auto", cpu, missing) == ("lite", None)
    assert resolve_model("auto", cuda, missing) == ("vgg", None)
    assert resolve_model("auto", cpu, missing, custom_vgg=True)[0] == "vgg"
    assert resolve_model("vgg", cpu, missing) == ("vgg", None)
    st = Stylizer(device="cpu", model="lite", lite=missing)
    assert st.model == "lite" and st.encoder is None and model_label(st) == "Real-time (lite)"
    with pytest.raises(InputError, match="unknown model"):
        resolve_model("big", cpu, missing)


def test_an_explicit_lite_choice_previews_the_candidate_until_one_is_adopted(tmp_path, monkeypatch):
    """Without models/lite.safetensors, ``lite`` runs models/lite_candidate.safetensors, named a
    preview with a note saying what it lacks; ``auto`` still means VGG; an adopted file wins."""
    import engine.nets.lite as lite_module
    import engine.runtime.models as models_module

    cpu = torch.device("cpu")
    adopted, candidate = tmp_path / "lite.safetensors", tmp_path / "lite_candidate.safetensors"
    for module in (lite_module, models_module):
        monkeypatch.setattr(module, "DEFAULT_LITE", adopted)
        monkeypatch.setattr(module, "CANDIDATE_LITE", candidate)
    with pytest.raises(InputError, match="no trained lite model"):
        resolve_model("lite", cpu)
    save_lite(styled_net(), candidate)
    model, note = resolve_model("lite", cpu)
    assert model == "lite" and "preview" in note and "lite_candidate.safetensors" in note
    assert resolve_model("auto", cpu)[0] == "vgg"
    st = Stylizer(device="cpu", model="lite")
    assert st.lite_preview and model_label(st) == "Real-time (lite preview)"
    save_lite(random_lite(), adopted)  # adopting a model: the adopted weights, no preview
    assert resolve_model("lite", cpu) == ("lite", None) and resolve_model("auto", cpu) == ("lite", None)
    st = Stylizer(device="cpu", model="lite")
    assert not st.lite_preview and model_label(st) == "Real-time (lite)"
    assert st.lite.weights_id != Stylizer(device="cpu", model="lite", lite=candidate).lite.weights_id


def test_weights_one_zero_give_the_single_style_exactly(lite, frame):
    a, b = stripes_image(64, 64), noise_image(60, 90, 3)
    lite.set_styles([a])
    single = lite(frame)
    assert isinstance(lite.plan.blended, LiteStyle)
    lite.set_styles([a, b], [1.0, 0.0])
    assert np.array_equal(lite(frame), single)
    lite.set_weights([0.0, 1.0])
    only_b = lite(frame)
    lite.set_weights([0.5, 0.5])
    half = lite(frame)
    assert diff(only_b, single) > 2 and diff(half, single) > 0.5 and diff(half, only_b) > 0.5


def test_alpha_zero_and_one_differ(lite, frame):
    lite.set_styles([stripes_image(64, 64)])
    assert diff(lite(frame, alpha=0.0), lite(frame, alpha=1.0)) > 2


def test_fast_frame_path_equals_the_tensor_path(lite, frame):
    lite.set_styles([noise_image(60, 90, 3)])
    fast = lite(frame, alpha=0.6, palette=False)
    lite.fast = False
    try:
        eager = lite(frame, alpha=0.6, palette=False)
    finally:
        lite.fast = True
    assert np.abs(fast.astype(int) - eager.astype(int)).max() <= 1


def test_stabilized_frames_take_the_frame_path_and_match_the_tensor_path(lite, monkeypatch):
    """With the stabilizer on, the network still runs its uint8 frame path (OpenVINO on the CPU);
    the stabilized stream equals the tensor path's up to uint8 rounding of the denoised input."""
    from engine.tools.synthetic import pattern_image, synthetic_clip

    clip = [np.ascontiguousarray(f[..., ::-1]) for f in synthetic_clip(pattern_image(120, 160, seed=2), 4, (96, 72), seed=5)]
    lite.set_styles([noise_image(60, 90, 3)])
    calls = []
    frame_path = lite.lite.frame
    monkeypatch.setattr(lite.lite, "frame", lambda *a, **k: calls.append(1) or frame_path(*a, **k))
    streams = {}
    for fast in (True, False):
        lite.fast = fast
        lite.stabilize = True
        try:
            streams[fast] = [lite(f, alpha=0.8, palette=False) for f in clip]
        finally:
            lite.stabilize, lite.fast = False, True
    assert len(calls) == len(clip)  # the fast pass only
    assert diff(streams[True][-1], lite(clip[-1], alpha=0.8)) > 0.5  # the stabilizer did something
    for a, b in zip(streams[True], streams[False]):
        d = np.abs(a.astype(int) - b.astype(int))
        assert d.mean() < 0.25 and d.max() <= 3


def test_masks_confine_each_style_to_its_region(lite, frame):
    a, b = stripes_image(64, 64), noise_image(60, 90, 3)
    lite.set_styles([a])
    only_a = lite(frame)
    lite.set_styles([b])
    only_b = lite(frame)
    left = np.zeros(frame.shape[:2])
    left[:, :36] = 1
    lite.set_styles([a, b], masks=[left, 1 - left])
    mixed = lite(frame)
    inner_l, inner_r = np.s_[:, 4:24], np.s_[:, 48:68]  # away from the seam's receptive field
    assert diff(mixed[inner_l], only_a[inner_l]) < 0.5 * diff(mixed[inner_l], only_b[inner_l])
    assert diff(mixed[inner_r], only_b[inner_r]) < 0.5 * diff(mixed[inner_r], only_a[inner_r])


def test_colour_preservation_keeps_the_content_colours(lite, frame):
    lite.set_styles([noise_image(60, 90, 3)])  # red/magenta
    plain, kept = lite(frame), lite(frame, preserve_color=True)

    def chroma(bgr):
        rgb = bgr[..., ::-1].astype(float) / 255
        return np.stack([rgb[..., 0] - rgb[..., 1], rgb[..., 2] - rgb[..., 1]]).mean((1, 2))

    assert np.abs(chroma(kept) - chroma(frame)).max() < 0.5 * np.abs(chroma(plain) - chroma(frame)).max()


def test_stabilizer_and_style_cache_work_with_lite_styles(lite, frame, tmp_path):
    Image.fromarray(stripes_image(64, 64)).save(tmp_path / "s.png")
    cache = StyleCache(lite.encoder_id, lite.style_side, tmp_path / "cache")
    first, hit1 = encode_style_file(lite, tmp_path / "s.png", cache)
    again, hit2 = encode_style_file(lite, tmp_path / "s.png", cache)
    assert (hit1, hit2) == (False, True) and isinstance(again, LiteStyle)
    assert all(torch.equal(v, again.tensors()[k]) for k, v in first.tensors().items())
    assert StyleCache("another-encoder", lite.style_side, tmp_path / "cache").get(tmp_path / "s.png") is None
    lite.set_styles([again])
    lite.stabilize = True
    try:
        outs = [lite(frame) for _ in range(3)]
    finally:
        lite.stabilize = False
    assert all(o.shape == frame.shape for o in outs)
    with pytest.raises(ValueError, match="does not fit"):
        lite.set_styles([StyleStats(torch.zeros(512), torch.ones(512))])
