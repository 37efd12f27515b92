"""``main.py learn`` caches a network learned for the style; ``stylize --model lite`` then uses it
(and says so), ``--no-learn`` does not; a broken cache entry is learned again, never a crash."""
from __future__ import annotations

import numpy as np
import pytest

import main
from engine.media.imageio import load_image_rgb, save_image_rgb
from engine.tools.synthetic import pattern_image


@pytest.fixture()
def files(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAIN_CACHE_DIR", str(tmp_path / "cache"))
    style = tmp_path / "style.png"
    save_image_rgb(pattern_image(96, 128, seed=21), style)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        save_image_rgb(pattern_image(180, 240, seed=40 + i), photos / f"p{i}.png")
    content = tmp_path / "content.png"
    save_image_rgb(pattern_image(96, 128, seed=5), content)
    return tmp_path, style, photos, content


def learned_files(tmp_path):
    return sorted((tmp_path / "cache" / "learned").glob("*.safetensors"))


def test_learn_then_stylize_uses_the_learned_network(files, capsys):
    tmp_path, style, photos, content = files
    assert main.main(["learn", "--style", str(style), "--content", str(photos), "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "learned style for the Real-time model" in out and "2 pictures" in out
    (entry,) = learned_files(tmp_path)
    assert str(entry) in out
    assert main.main(["learn", "--style", str(style), "--content", str(photos), "--steps", "3"]) == 0
    assert "already learned" in capsys.readouterr().out

    learned_out, plain_out = tmp_path / "learned.png", tmp_path / "plain.png"
    assert main.main(["stylize", str(content), "--style", str(style), "--model", "lite", "-o", str(learned_out)]) == 0
    assert "learned for this style" in capsys.readouterr().err
    assert main.main(["stylize", str(content), "--style", str(style), "--model", "lite", "--no-learn",
                      "-o", str(plain_out)]) == 0
    assert "learned for this style" not in capsys.readouterr().err
    diff = np.abs(load_image_rgb(learned_out).astype(int) - load_image_rgb(plain_out)).mean()
    assert diff > 0.5  # the learned network painted, not the base one


def test_a_broken_cache_entry_is_learned_again(files, capsys):
    tmp_path, style, photos, content = files
    assert main.main(["learn", "--style", str(style), "--content", str(photos), "--steps", "2"]) == 0
    (entry,) = learned_files(tmp_path)
    entry.write_bytes(entry.read_bytes()[:1000])
    out_png = tmp_path / "out.png"
    assert main.main(["stylize", str(content), "--style", str(style), "--model", "lite", "-o", str(out_png)]) == 0
    assert "learned for this style" not in capsys.readouterr().err  # a miss, not a crash
    assert not learned_files(tmp_path)
    assert main.main(["learn", "--style", str(style), "--content", str(photos), "--steps", "2"]) == 0
    assert "learned style" in capsys.readouterr().out and len(learned_files(tmp_path)) == 1


@pytest.mark.parametrize("argv, message", [
    (["--weights", "1", "2"], "2 weights for 1 styles"),
    (["--steps", "0"], "--steps must be between"),
    (["--content", "/no/such/folder"], "not found"),
])
def test_bad_learn_arguments_are_one_line(files, capsys, argv, message):
    _, style, _, _ = files
    assert main.main(["learn", "--style", str(style), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_video_learns_first_on_the_clips_frames(files, capsys, monkeypatch):
    """`video --model lite` with nothing cached learns the style on the clip's own frames first,
    then paints with that network; a second run finds it cached; --no-learn runs the base one."""
    from dataclasses import replace

    import engine.learn.learner as learner
    from engine.media.video import read_frames, write_video
    from engine.runtime.learned import load_learned
    from engine.tools.synthetic import synthetic_clip

    tmp_path, style, _, _ = files
    monkeypatch.setattr(learner, "DEFAULT_RECIPE", replace(learner.DEFAULT_RECIPE, steps=3, photos=4))
    clip = tmp_path / "clip.mp4"
    write_video(clip, synthetic_clip(pattern_image(96, 128, seed=3), 8, (128, 96), seed=3), fps=10)

    def video(name, *extra):
        out = tmp_path / name
        argv = ["video", str(clip), "-o", str(out), "--style", str(style), "--model", "lite", "--stabilize", "off"]
        assert main.main([*argv, *extra]) == 0
        return [f.astype(int) for f in read_frames(out)], capsys.readouterr().err

    learned, err = video("learned.mp4")
    assert "learning the style for the Real-time model on the video's frames" in err
    (entry,) = learned_files(tmp_path)
    meta = load_learned(entry).meta
    assert (int(meta["steps"]), int(meta["photos"])) == (3, 4)  # 4 pictures taken from the clip
    again, err = video("again.mp4")
    assert "learning the style" not in err and "learned for this style" in err
    assert len(learned_files(tmp_path)) == 1
    plain, err = video("plain.mp4", "--no-learn")
    assert "learned for this style" not in err
    assert np.mean([np.abs(a - b).mean() for a, b in zip(learned, again)]) < 1.0
    assert np.mean([np.abs(a - b).mean() for a, b in zip(learned, plain)]) > 0.5
