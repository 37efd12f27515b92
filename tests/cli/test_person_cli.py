"""``stylize`` and ``video`` with ``--keep person|background`` and ``--person-style`` on real
photos of people (../shared/data, skipped when absent), and their one-line refusals."""
from __future__ import annotations

import numpy as np
import pytest

import main
from engine.media.imageio import load_image_rgb, save_image_rgb
from engine.runtime import person
from engine.runtime.person import SelfieSegmenter, person_mask
from person_photos import ROOT, mean_abs, needs_model, photo, regions, texture

STYLE = str(ROOT / "assets" / "styles" / "mosaic.jpg")
SMOOTH_STYLE = str(ROOT / "assets" / "styles" / "watercolour.jpg")


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    """A photo of a man sitting in a doorway, 256 px high, as a PNG, and its person mask."""
    rgb = photo("imagen_00003.jpg")
    path = tmp_path_factory.mktemp("people") / "man.png"
    save_image_rgb(rgb, path)
    return path, rgb


def run_cli(argv, capsys):
    code = main.main(argv)
    return code, capsys.readouterr().err


@needs_model
@pytest.mark.parametrize("keep", ["person", "background"])
def test_stylize_keep(tmp_path, capsys, people, keep):
    path, rgb = people
    out = tmp_path / "out.png"
    code, err = run_cli(["stylize", str(path), "--style", STYLE, "--keep", keep, "--device", "cpu",
                         "-o", str(out)], capsys)
    assert code == 0, err
    result = load_image_rgb(out)
    inside, outside = regions(person_mask(SelfieSegmenter(), rgb))
    kept, painted = (inside, outside) if keep == "person" else (outside, inside)
    assert mean_abs(result, rgb, kept) < 3.0
    assert mean_abs(result, rgb, painted) > 20.0


@needs_model
def test_stylize_person_style_splits_the_styles(tmp_path, capsys, people):
    path, rgb = people
    out, all_busy = tmp_path / "split.png", tmp_path / "busy.png"
    code, err = run_cli(["stylize", str(path), "--style", SMOOTH_STYLE, "--person-style", STYLE,
                         "--device", "cpu", "-o", str(out)], capsys)
    assert code == 0, err
    assert run_cli(["stylize", str(path), "--style", STYLE, "--device", "cpu", "-o", str(all_busy)], capsys)[0] == 0
    split, busy = load_image_rgb(out), load_image_rgb(all_busy)
    inside, outside = regions(person_mask(SelfieSegmenter(), rgb))
    # the person wears the busy mosaic, the background the smooth watercolour
    assert texture(split, inside) > 0.7 * texture(busy, inside)
    assert texture(split, outside) < 0.4 * texture(busy, outside)


@needs_model
def test_video_keep_background(tmp_path, capsys):
    """A panning shot of a person: the room stays as filmed (within the codec's few levels), the
    person is painted, in every frame."""
    from engine.media.video import read_frames, write_video

    rgb = photo("imagen_00003.jpg", short=288)
    frames = [np.ascontiguousarray(rgb[16:272, 4 * i: 4 * i + 320, ::-1]) for i in range(8)]  # BGR
    clip, out = tmp_path / "pan.mp4", tmp_path / "out.mp4"
    write_video(clip, frames, fps=10)
    code, err = run_cli(["video", str(clip), "--style", STYLE, "--keep", "background", "--device", "cpu",
                         "-o", str(out)], capsys)
    assert code == 0, err
    original, result = list(read_frames(clip)), list(read_frames(out))
    assert len(result) == len(original) == 8
    segmenter = SelfieSegmenter()
    for src, dst in zip(original, result):
        inside, outside = regions(person_mask(segmenter, src))
        assert mean_abs(dst, src, outside) < 5.0
        assert mean_abs(dst, src, inside) > 20.0


@pytest.mark.parametrize("command", ["stylize", "video"])
def test_person_flags_without_segmentation_end_with_one_line(tmp_path, capsys, monkeypatch, people, command):
    monkeypatch.setenv(person.MODEL_ENV, str(tmp_path / "missing.tflite"))
    out = tmp_path / ("out.png" if command == "stylize" else "out.mp4")
    code, err = run_cli([command, str(people[0]), "--style", STYLE, "--keep", "person", "-o", str(out)], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert "missing.tflite" in lines[0] or "LiteRT" in lines[0]
    assert not out.exists()


def test_contradictory_person_flags_are_refused(tmp_path, capsys, people):
    out = tmp_path / "out.png"
    code, err = run_cli(["stylize", str(people[0]), "--style", STYLE, "--keep", "person", "--person-style", STYLE,
                         "-o", str(out)], capsys)
    assert code == 2 and "exclude each other" in err and len(err.strip().splitlines()) == 1
