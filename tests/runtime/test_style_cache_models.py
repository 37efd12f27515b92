"""The style cache keeps one entry per model (issue #29, item 19, third bullet).

The entry's name includes the id of the encoder/model that made the statistics. If it did not,
the metadata check would still refuse the other model's entry, but every model switch would then
re-encode the gallery and overwrite the cache (slow starts, forever): here both models' entries of
the same painting stay side by side and both hit after a switch and back."""
from __future__ import annotations

import pytest
import torch
from PIL import Image

from conftest import random_decoder_state, smooth_image


def test_two_encoders_keep_separate_entries_for_the_same_file(tmp_path):
    from engine.nets.adain import StyleStats
    from engine.nets.palette import Palette
    from engine.runtime.style_cache import StyleCache

    painting = tmp_path / "painting.png"
    Image.fromarray(smooth_image(48, 48, 3)).save(painting)
    first, second = StyleCache("encoder-a", 256, tmp_path / "cache"), StyleCache("encoder-b", 256, tmp_path / "cache")
    made = {}
    for seed, cache in enumerate((first, second)):
        g = torch.Generator().manual_seed(seed)
        made[cache] = StyleStats(torch.rand(512, generator=g), torch.rand(512, generator=g) + 0.1,
                                 Palette(torch.rand(3, generator=g), torch.eye(3) * 0.01))
        cache.put(painting, made[cache])
    assert first.entry_path("x") != second.entry_path("x")
    assert len(list((tmp_path / "cache").glob("*.safetensors"))) == 2
    for cache in (first, second):  # neither put overwrote the other
        assert torch.equal(cache.get(painting).mean, made[cache].mean)


def test_switching_models_and_back_hits_the_cache_for_both(tmp_path):
    """The app's model switch: Quality (VGG) then Real-time (lite) then Quality again, one cache."""
    from engine import Stylizer
    from engine.nets.lite import LiteStyle, lite_weights
    from engine.runtime.style_cache import StyleCache, encode_style_file

    if lite_weights() is None:
        pytest.skip("no lite weights in models/")
    painting = tmp_path / "painting.png"
    Image.fromarray(smooth_image(64, 64, 5)).save(painting)
    vgg = Stylizer(device="cpu", decoder_state=random_decoder_state(), style_side=64)
    lite = Stylizer(device="cpu", model="lite", style_side=64)
    assert vgg.encoder_id != lite.encoder_id
    caches = {st: StyleCache(st.encoder_id, st.style_side, tmp_path / "cache") for st in (vgg, lite)}
    first = [encode_style_file(st, painting, caches[st]) for st in (vgg, lite)]
    assert [cached for _, cached in first] == [False, False]
    again = [encode_style_file(st, painting, caches[st]) for st in (vgg, lite, vgg)]
    assert [cached for _, cached in again] == [True, True, True]  # no re-encoding after a switch
    assert not isinstance(again[0][0], LiteStyle) and isinstance(again[1][0], LiteStyle)
    assert torch.equal(again[2][0].mean, first[0][0].mean)
    assert len(list((tmp_path / "cache").glob("*.safetensors"))) == 2
