"""Hostile and odd input files through the real CLI: one-line error, exit 2, no partial output."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

import main
from conftest import ROOT, random_decoder_state, smooth_image
from engine.errors import InputError
from engine.media.imageio import MAX_PIXELS, load_image_rgb


@pytest.fixture()
def style_file(tmp_path):
    path = tmp_path / "style.png"
    Image.fromarray(smooth_image(40, 40, 4)).save(path)
    return path


@pytest.fixture()
def content_file(tmp_path):
    path = tmp_path / "content.png"
    Image.fromarray(smooth_image(36, 44, 5)).save(path)
    return path


def run_cli(argv, capsys):
    code = main.main(argv)
    err = capsys.readouterr().err
    return code, err


def assert_refused(code, err, name, out_path):
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert name in lines[0]
    assert "Traceback" not in err
    assert not out_path.exists()
    assert not list(out_path.parent.glob(f".{out_path.name}*"))  # no temp leftovers


def make_truncated_jpeg(path):
    buf = io.BytesIO()
    Image.fromarray(smooth_image(64, 64, 1)).save(buf, format="JPEG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])


BAD_CONTENT = {
    "empty.jpg": lambda p: p.write_bytes(b""),
    "truncated.jpg": make_truncated_jpeg,
    "text renamed.png": lambda p: p.write_text("this is not an image\n"),
    "directory.png": lambda p: p.mkdir(),
    "missing.png": lambda p: None,
}


@pytest.mark.parametrize("name", list(BAD_CONTENT))
def test_bad_content_file_is_refused(tmp_path, capsys, style_file, name):
    bad = tmp_path / name
    BAD_CONTENT[name](bad)
    out = tmp_path / "out.png"
    code, err = run_cli(["stylize", str(bad), "--style", str(style_file), "-o", str(out)], capsys)
    assert_refused(code, err, name, out)


@pytest.mark.parametrize("name", list(BAD_CONTENT))
def test_bad_style_file_is_refused(tmp_path, capsys, content_file, name):
    bad = tmp_path / name
    BAD_CONTENT[name](bad)
    out = tmp_path / "out.png"
    code, err = run_cli(["stylize", str(content_file), "--style", str(bad), "-o", str(out)], capsys)
    assert_refused(code, err, name, out)


def _odd_images():
    rgb = smooth_image(30, 34, 9)
    return {
        "cmyk.jpg": (Image.fromarray(rgb).convert("CMYK"), "JPEG"),
        "sixteen_bit.png": (Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)), "PNG"),
        "rgba.png": (Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])), "PNG"),
        "gray.png": (Image.fromarray(rgb[..., 1]), "PNG"),
        "palette.gif": (Image.fromarray(rgb).convert("P"), "GIF"),
        "one_pixel.png": (Image.fromarray(rgb[:1, :1]), "PNG"),
        "dir with spaces/ünïcødé 画.png": (Image.fromarray(rgb), "PNG"),
    }


@pytest.mark.parametrize("name", list(_odd_images()))
def test_odd_but_valid_images_are_stylized(tmp_path, capsys, style_file, name):
    img, fmt = _odd_images()[name]
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format=fmt)
    out = tmp_path / "out dir ü" / "result.png"
    code, err = run_cli(["stylize", str(path), "--style", str(style_file), "-o", str(out)], capsys)
    assert code == 0, err
    result = np.asarray(Image.open(out))
    assert result.shape == (*img.size[::-1], 3)


def test_sixteen_bit_keeps_its_tones(tmp_path):
    ramp = (np.linspace(0, 65535, 64 * 16).reshape(16, 64)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "ramp16.png")
    rgb = load_image_rgb(tmp_path / "ramp16.png")
    assert rgb.shape == (16, 64, 3)
    assert rgb[..., 0].min() <= 1 and rgb[..., 0].max() >= 254  # full range, not clipped to white


def test_rgba_is_flattened_on_white(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)  # fully transparent black
    Image.fromarray(rgba).save(tmp_path / "clear.png")
    assert load_image_rgb(tmp_path / "clear.png").min() == 255


def test_huge_png_is_refused_without_decoding(tmp_path, capsys, style_file):
    path = tmp_path / "bomb.png"
    Image.new("L", (10_000, 6_000)).save(path)  # 60 MP, a few kB on disk
    out = tmp_path / "out.png"
    code, err = run_cli(["stylize", str(path), "--style", str(style_file), "-o", str(out)], capsys)
    assert_refused(code, err, "bomb.png", out)
    assert "megapixels" in err


def test_huge_jpeg_is_downscaled_while_decoding(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (9_000, 6_000), (10, 120, 200)).save(path, quality=50)  # 54 MP
    rgb = load_image_rgb(path)
    assert rgb.shape[0] * rgb.shape[1] <= MAX_PIXELS
    assert abs(rgb.shape[1] / rgb.shape[0] - 1.5) < 0.01
    assert abs(int(rgb[..., 2].mean()) - 200) < 3


def test_bad_weights_refused_via_cli(tmp_path, capsys, content_file, style_file):
    out = tmp_path / "out.png"
    sd = random_decoder_state()
    sd["5.weight"] = torch.zeros(1, 2, 3, 3)
    torch.save(sd, tmp_path / "wrong shape.pth")
    code, err = run_cli(["stylize", str(content_file), "--style", str(style_file), "--decoder",
                         str(tmp_path / "wrong shape.pth"), "-o", str(out)], capsys)
    assert_refused(code, err, "wrong shape.pth", out)


@pytest.mark.parametrize("weights", [["0", "0"], ["-1", "2"], ["1"]])
def test_bad_style_weights_refused_via_cli(tmp_path, capsys, content_file, style_file, weights):
    out = tmp_path / "out.png"
    code, err = run_cli(["stylize", str(content_file), "--style", str(style_file), str(style_file),
                         "--weights", *weights, "-o", str(out)], capsys)
    assert_refused(code, err, "weight", out)


def test_mask_count_mismatch_refused_via_cli(tmp_path, capsys, content_file, style_file):
    out = tmp_path / "out.png"
    code, err = run_cli(["stylize", str(content_file), "--style", str(style_file), str(style_file),
                         "--mask", str(content_file), "-o", str(out)], capsys)
    assert_refused(code, err, "mask", out)


def test_stylize_cli_writes_the_requested_size(tmp_path, capsys, content_file, style_file):
    out = tmp_path / "styled.jpg"
    code, err = run_cli(["stylize", str(content_file), "--style", str(style_file), "--size", "50",
                         "--alpha", "0.5", "-o", str(out)], capsys)
    assert code == 0, err
    assert Image.open(out).size == (61, 50)  # 44x36 scaled so the shorter side is 50


def test_stylize_cli_masks_two_styles(tmp_path, capsys, content_file, style_file):
    left = np.zeros((36, 44), np.uint8)
    left[:, :22] = 255
    Image.fromarray(left).save(tmp_path / "left.png")
    Image.fromarray(255 - left).save(tmp_path / "right.png")
    out = tmp_path / "masked.png"
    code, err = run_cli(["stylize", str(content_file), "--style", str(style_file), str(content_file),
                         "--mask", str(tmp_path / "left.png"), str(tmp_path / "right.png"),
                         "-o", str(out)], capsys)
    assert code == 0, err
    assert Image.open(out).size == (44, 36)


def test_input_error_names_file_and_reason():
    err = InputError("a/b.png", "file is empty (0 bytes)")
    assert str(err) == "a/b.png: file is empty (0 bytes)"


def test_a_normal_stylize_run_prints_no_warning(tmp_path, content_file, style_file):
    """A user sees no library warning on a normal run (torch warned about read-only arrays)."""
    import subprocess
    import sys

    out = tmp_path / "out.png"
    for extra in ([], ["--preserve-color"]):
        proc = subprocess.run([sys.executable, "-W", "always", str(ROOT / "main.py"), "stylize", str(content_file),
                               "--style", str(style_file), "--device", "cpu", "-o", str(out), *extra],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.strip() == "", proc.stderr
        assert out.stat().st_size > 0
