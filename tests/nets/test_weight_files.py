"""Weight files a user may hand us: NaN / infinity, integer tensors, missing or extra tensors,
a ``{"state_dict": …}`` wrapper. Bad ones are refused with one line naming the file and the
reason (library and CLI); good ones load to the same numbers."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

import main
from conftest import random_decoder_state, smooth_image
from engine.errors import InputError
from engine.nets.decoder import load_decoder
from engine.nets.encoder import load_encoder
from engine.nets.weights import check_state_dict, load_state_dict_file


def damaged(kind: str) -> dict[str, torch.Tensor]:
    sd = {k: v.clone() for k, v in random_decoder_state().items()}
    if kind == "all_nan":
        sd = {k: torch.full_like(v, float("nan")) for k, v in sd.items()}
    elif kind == "one_nan":
        sd["11.weight"][3, 2, 1, 0] = float("nan")
    elif kind == "inf":
        sd["28.bias"][1] = float("inf")
    elif kind == "minus_inf":
        sd["1.bias"][0] = float("-inf")
    elif kind == "int":
        sd["5.bias"] = sd["5.bias"].round().to(torch.int32)
    elif kind == "missing":
        del sd["25.weight"]
    elif kind == "extra":
        sd["30.weight"] = torch.zeros(3, 3)
    return sd


REASONS = {"all_nan": "NaN", "one_nan": "NaN", "inf": "infinity", "minus_inf": "infinity",
           "int": "expected floats", "missing": "missing", "extra": "unexpected"}


def save(sd, path) -> None:
    if path.suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    else:
        torch.save(sd, path)


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
@pytest.mark.parametrize("kind", list(REASONS))
def test_damaged_decoder_files_are_refused(tmp_path, kind, suffix):
    path = tmp_path / f"decoder {kind}{suffix}"
    save(damaged(kind), path)
    with pytest.raises(InputError) as err:
        load_decoder(path)
    text = str(err.value)
    assert "\n" not in text and text.startswith(str(path)) and REASONS[kind] in text, text


def test_fp16_nan_and_half_files(tmp_path):
    """Our own decoder files are fp16: NaN there is refused too, finite fp16 loads as fp32."""
    sd = {k: v.half() for k, v in random_decoder_state().items()}
    save(sd, tmp_path / "half.safetensors")
    dec, _ = load_decoder(tmp_path / "half.safetensors")
    assert dec.layers[1].weight.dtype == torch.float32
    assert torch.equal(dec.layers[1].weight, sd["1.weight"].float())
    sd["21.weight"][0, 0, 0, 0] = float("nan")
    save(sd, tmp_path / "half nan.safetensors")
    with pytest.raises(InputError, match="half nan.safetensors.*NaN"):
        load_decoder(tmp_path / "half nan.safetensors")


def test_state_dict_wrapper_loads_the_same_weights(tmp_path):
    sd = random_decoder_state(5)
    torch.save({"state_dict": sd, "epoch": 7}, tmp_path / "wrapped.pth")
    torch.save(sd, tmp_path / "plain.pth")
    wrapped, _ = load_decoder(tmp_path / "wrapped.pth")
    plain, _ = load_decoder(tmp_path / "plain.pth")
    for (k, a), b in zip(wrapped.layers.state_dict().items(), plain.layers.state_dict().values()):
        assert torch.equal(a, b) and torch.equal(a, sd[k].float()), k
    assert set(load_state_dict_file(tmp_path / "wrapped.pth")) == set(sd)


def test_non_tensor_contents_are_refused(tmp_path):
    torch.save({"state_dict": {"1.weight": [1.0, 2.0]}}, tmp_path / "lists.pth")
    with pytest.raises(InputError, match="lists.pth.*mapping of names to tensors"):
        load_state_dict_file(tmp_path / "lists.pth")
    torch.save([torch.zeros(3)], tmp_path / "list.pth")
    with pytest.raises(InputError, match="list.pth.*mapping of names to tensors"):
        load_state_dict_file(tmp_path / "list.pth")


def test_check_state_dict_returns_fp32_copies_in_order():
    expected = random_decoder_state(1)
    shuffled = {k: expected[k].double() for k in reversed(list(expected))}
    out = check_state_dict(shuffled, expected, "x")
    assert list(out) == list(expected)
    assert all(v.dtype == torch.float32 for v in out.values())


@pytest.mark.parametrize("kind", ["one_nan", "int"])
def test_damaged_encoder_file_is_refused(tmp_path, kind):
    sd = dict(load_encoder().layers.state_dict())
    if kind == "one_nan":
        sd["2.weight"] = sd["2.weight"].clone()
        sd["2.weight"][0, 0, 0, 0] = float("nan")
    else:
        sd["0.bias"] = sd["0.bias"].round().to(torch.int64)
    path = tmp_path / f"vgg {kind}.pth"
    torch.save(sd, path)
    with pytest.raises(InputError, match=f"vgg {kind}.pth.*({REASONS[kind]})"):
        load_encoder(path)


@pytest.mark.parametrize("kind", ["all_nan", "int", "missing"])
def test_cli_refuses_a_damaged_decoder_in_one_line(tmp_path, capsys, kind):
    content, style, out = tmp_path / "c.png", tmp_path / "s.png", tmp_path / "out.png"
    Image.fromarray(smooth_image(32, 40, 1)).save(content)
    Image.fromarray(smooth_image(40, 40, 2)).save(style)
    bad = tmp_path / f"{kind}.safetensors"
    save(damaged(kind), bad)
    code = main.main(["stylize", str(content), "--style", str(style), "--decoder", str(bad),
                      "--device", "cpu", "--style-size", "64", "-o", str(out)])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: {bad}: ") and REASONS[kind] in err[0]
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == sorted(["c.png", bad.name, "s.png"])
    assert np.asarray(Image.open(content)).shape == (32, 40, 3)
