"""The Stylizer runs a learned network exactly for the style/blend it was learned for (issue #28):
α and the palette still apply, another style, another blend weight, masks or ``use_learned = False``
run the base Real-time network, and a network that becomes available is picked up in place."""
from __future__ import annotations

import numpy as np
import torch

from engine.runtime.learned import LearnedNet
from engine.runtime.stylizer import Stylizer
from engine.tools.synthetic import pattern_image
from conftest import styled_net
from runtime.test_learned import learned_net


def base_stylizer() -> Stylizer:
    st = Stylizer(device="cpu", lite_net=styled_net(up_blocks=2))
    st.lite.use_openvino = False  # the torch frame path: same numbers, no compile in a unit test
    return st


STYLE_A, STYLE_B = pattern_image(64, 80, seed=11), pattern_image(64, 80, seed=12)
FRAME = np.ascontiguousarray(pattern_image(72, 96, seed=3)[:, :, ::-1])


def with_key(learned: LearnedNet, key: str) -> LearnedNet:
    return LearnedNet(learned.net, learned.style, {**learned.meta, "key": key})


def test_learned_network_runs_only_for_its_own_style_and_weights():
    st = base_stylizer()
    st.set_styles([STYLE_A])
    base_a = st(FRAME, alpha=1.0, palette=False)
    key_a = st.learned_key()
    learned = with_key(learned_net(), key_a)
    lookups = []
    st.learned_lookup = lambda key: (lookups.append(key), learned if key == key_a else None)[1]
    st.set_styles([STYLE_A])
    assert st.plan.learned is not None and st.plan.learned.learned is learned
    got = st(FRAME, alpha=1.0, palette=False)
    assert np.abs(got.astype(int) - base_a).mean() > 2  # another network paints
    want = st.plan.learned.runner.frame(FRAME, learned.style, 1.0)
    assert np.array_equal(got, want)
    # α still blends towards the photo, the palette still applies
    assert np.abs(st(FRAME, alpha=0.3, palette=False).astype(int) - got).mean() > 1
    assert np.abs(st(FRAME, alpha=1.0, palette=True).astype(int) - got).mean() > 0.5
    # another style, a blend, masks: the base network
    st.set_styles([STYLE_B])
    assert st.plan.learned is None
    st.set_styles([STYLE_A, STYLE_B], [1.0, 0.0])
    assert st.learned_key() != key_a and st.plan.learned is None
    st.set_styles([STYLE_A, STYLE_B], masks=[np.ones((8, 8)), np.zeros((8, 8))])
    assert st.learned_key() is None and st.plan.learned is None
    # switched off: the base network even for the learned style
    st.use_learned = False
    st.set_styles([STYLE_A])
    assert st.plan.learned is None and np.array_equal(st(FRAME, alpha=1.0, palette=False), base_a)
    assert lookups and set(lookups) >= {key_a}


def test_set_weights_changes_the_key_and_refresh_picks_up_a_new_network():
    st = base_stylizer()
    st.set_styles([STYLE_A, STYLE_B], [0.5, 0.5])
    half = st.learned_key()
    available: dict[str, LearnedNet] = {}
    st.learned_lookup = available.get
    assert not st.refresh_learned()
    available[half] = with_key(learned_net(seed=1), half)
    assert st.refresh_learned() and st.plan.learned.learned.key == half
    st.set_weights([0.8, 0.2])
    assert st.learned_key() != half and st.plan.learned is None
    st.set_weights([1, 1])
    assert st.plan.learned is not None  # the same blend again


def test_tensor_path_uses_the_learned_network_without_masks():
    st = base_stylizer()
    st.set_styles([STYLE_A])
    learned = with_key(learned_net(seed=2), st.learned_key())
    x = torch.from_numpy(FRAME[:, :, ::-1].copy()).permute(2, 0, 1)[None].float() / 255
    before = st.stylize_tensor(x, alpha=1.0, palette=False)
    st.learned_lookup = lambda key: learned if key == learned.key else None
    st.set_styles([STYLE_A])
    after = st.stylize_tensor(x, alpha=1.0, palette=False)
    frame = st(FRAME, alpha=1.0, palette=False)
    assert (after - before).abs().mean() > 0.01
    as_frame = (after[0].permute(1, 2, 0).numpy()[:, :, ::-1] * 255 + 0.5).astype(np.uint8)
    assert np.abs(as_frame.astype(int) - frame).max() <= 2  # the frame path paints the same picture
