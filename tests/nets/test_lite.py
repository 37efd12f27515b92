"""The lite network (engine.nets.lite): MAC budget and table, shapes, the uint8 frame path against
the eager network, α, files."""
from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from conftest import noise_image, smooth_image, stripes_image, styled_net
from engine.errors import InputError
from engine.nets.lite import LiteConfig, LiteFrameNet, LiteStyle, blend_lite, load_lite, random_lite, save_lite
from engine.nets.lite_macs import gmac, layer_macs


def to_input(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0


@pytest.fixture(scope="module")
def two_styles():
    net = styled_net()
    with torch.no_grad():
        a = net.encode_style(to_input(stripes_image(64, 64)))
        b = net.encode_style(to_input(noise_image(64, 80, 3)))
    return net, a, b


def test_default_budget_and_table_match_the_counted_convs():
    rows = layer_macs()
    assert 1.2 < gmac() <= 1.5  # the design budget at 640×480
    blocks = sum(m for name, _, m in rows if name.startswith("block"))
    assert blocks / sum(m for *_, m in rows) > 0.75  # most of the work at 1/8
    net, x = random_lite().eval(), torch.rand(1, 3, 480, 640)
    counter = FlopCounterMode(display=False)
    style = LiteStyle((torch.zeros(1, 16), torch.zeros(1, 32), torch.zeros(1, 64)),
                      (torch.ones(1, 16), torch.ones(1, 32), torch.ones(1, 64)),
                      torch.zeros(1, 6, 64), torch.zeros(1, 6, 64))
    with torch.no_grad(), counter:
        net(x, style, 1.0)
    assert counter.get_total_flops() / 2 == sum(m for *_, m in rows)


def test_shapes_of_the_two_paths(two_styles):
    net, a, _ = two_styles
    assert [m.shape for m in a.means] == [(1, 16), (1, 32), (1, 64)]
    assert a.film_scale.shape == a.film_shift.shape == (1, 6, 64)
    with torch.no_grad():
        y = net(torch.rand(2, 3, 40, 56), blend_lite([a, a], [1, 1]), torch.tensor([0.3, 1.0]))
    assert y.shape == (2, 3, 40, 56)


def test_alpha_zero_ignores_the_style_and_alpha_one_does_not(two_styles):
    net, a, b = two_styles
    x = to_input(smooth_image(48, 64, 2))
    with torch.no_grad():
        assert torch.equal(net(x, a, 0.0), net(x, b, 0.0))
        assert (net(x, a, 1.0) - net(x, b, 1.0)).abs().mean() > 0.01
        assert (net(x, a, 1.0) - net(x, a, 0.0)).abs().mean() > 0.01


def test_blend_weights_one_zero_give_the_first_style_exactly(two_styles):
    _, a, b = two_styles
    got = blend_lite([a, b], [1.0, 0.0]).tensors()
    assert all(torch.equal(got[k], v) for k, v in a.tensors().items())
    half = blend_lite([a, b], [1, 1]).tensors()
    assert torch.allclose(half["film_scale"], (a.film_scale + b.film_scale) / 2)


@pytest.fixture(scope="module")
def grown_style():
    net = styled_net(up_blocks=2, half_blocks=1)
    with torch.no_grad():
        return net, net.encode_style(to_input(stripes_image(64, 64)))


@pytest.mark.parametrize("size, head_scale, grown, skips", [
    ((48, 64), 1.0, False, None), ((50, 61), 1.0, False, None), ((50, 61), 0.1, False, None),
    ((50, 61), 0.1, True, None), ((50, 61), 0.1, True, (0.0, 0.5))])
def test_frame_path_equals_the_eager_network(two_styles, grown_style, size, head_scale, grown, skips):
    """uint8 BGR in/out with folded input scaling, FiLM and head vs the eager RGB network
    (head_scale 0.1: outputs mostly inside (0, 255), so a wrong layer cannot hide in the clamp;
    grown: with residual blocks in the up-path at ¼ and ½; skips: weakened skip connections)."""
    net, a = grown_style if grown else two_styles[:2]
    if skips is not None:
        net = copy.deepcopy(net)
        net.config = replace(net.config, skip_gains=skips)
    if head_scale != 1.0:
        net = copy.deepcopy(net)
        with torch.no_grad():
            net.head.weight.mul_(head_scale)
    rgb = smooth_image(*size, 5)
    fast = LiteFrameNet(net)
    out = torch.empty(size + (3,), dtype=torch.uint8)
    fast.stylize_frame(torch.from_numpy(rgb[..., ::-1].copy()), a, 0.7, fast.fold(a, 0.7), out)
    x = to_input(rgb)
    with torch.no_grad():
        ref = net.stylize(x, a, 0.7)  # the reflected margin and the stride padding, cropped back
    ref = (ref.clamp(0, 1) * 255 + 0.5).to(torch.uint8)[0].permute(1, 2, 0).numpy()[..., ::-1]
    diff = np.abs(out.numpy().astype(int) - ref.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01
    if head_scale != 1.0:
        assert ((ref > 0) & (ref < 255)).mean() > 0.9


def test_up_path_blocks_count_and_grow_from_a_smaller_file(tmp_path, grown_style):
    """Up-path blocks add their convs to the table; a network grown from a file without them
    starts with exactly that file's output, and changes once the blocks are trained."""
    from engine.training.lite_train import load_grown

    rows = {name: m for name, _, m in layer_macs(LiteConfig(up_blocks=2))}
    assert rows["up-block2.conv2 3×3"] == 32 * 32 * 9 * 120 * 160
    assert abs(gmac(LiteConfig(up_blocks=2)) - gmac() - 4 * 32 * 32 * 9 * 120 * 160 / 1e9) < 1e-9
    small = styled_net()
    save_lite(small, tmp_path / "small.safetensors")
    big = random_lite(LiteConfig(up_blocks=2), seed=5)
    load_grown(big, tmp_path / "small.safetensors")
    x, s = to_input(smooth_image(48, 64, 2)), to_input(stripes_image(64, 64))
    with torch.no_grad():
        assert torch.equal(big(x, big.encode_style(s)), small(x, small.encode_style(s)))
        grown_net, style = grown_style
        off = copy.deepcopy(grown_net)
        for conv in off.up_blocks[1::2]:
            conv.weight.zero_()
        assert (grown_net(x, style) - off(x, style)).abs().mean() > 1e-3
        no_half = copy.deepcopy(grown_net)  # the blocks at ½ count on their own
        for conv in no_half.half_blocks[1::2]:
            conv.weight.zero_()
        assert (grown_net(x, style) - no_half(x, style)).abs().mean() > 1e-3
    half = {name: m for name, _, m in layer_macs(LiteConfig(half_blocks=1))}
    assert half["half-block1.conv2 3×3"] == 16 * 16 * 9 * 240 * 320
    save_lite(random_lite(LiteConfig(widths=(8, 16, 24))), tmp_path / "other.safetensors")
    with pytest.raises(InputError, match="other.safetensors"):
        load_grown(big, tmp_path / "other.safetensors")


def test_save_load_round_trip_and_bad_files(tmp_path):
    net = random_lite(LiteConfig(widths=(8, 16, 24), blocks=2), seed=3)
    save_lite(net, tmp_path / "lite.safetensors", {"steps": "7"})
    back, meta = load_lite(tmp_path / "lite.safetensors")
    assert back.config == net.config and meta["steps"] == "7"
    assert all(torch.equal(v, back.state_dict()[k]) for k, v in net.state_dict().items())
    (tmp_path / "bad.safetensors").write_bytes(b"not weights")
    with pytest.raises(InputError, match="bad.safetensors"):
        load_lite(tmp_path / "bad.safetensors")
    with pytest.raises(InputError, match="missing.safetensors"):
        load_lite(tmp_path / "missing.safetensors")


def test_reflected_margin_keeps_the_zero_padding_ring_out_of_the_picture(two_styles):
    """The picture's edge computed with the margin is close to what a far larger margin gives;
    the bare network answers the edge with a ring."""
    import torch.nn.functional as F

    from engine.nets.lite import MARGIN

    net, a, _ = two_styles
    x = to_input(smooth_image(96, 128, 6))
    with torch.no_grad():
        far = net(F.pad(x, (64, 64, 64, 64), mode="reflect"), a, 1.0)[..., 64:-64, 64:-64]
        bare, kept = net(x, a, 1.0), net.stylize(x, a, 1.0)
    ring = torch.ones(96, 128, dtype=torch.bool)
    ring[8:-8, 8:-8] = False
    err = {name: float((y - far).abs()[0][:, ring].mean()) for name, y in (("bare", bare), ("kept", kept))}
    assert MARGIN >= 16 and err["kept"] < 0.5 * err["bare"], err
