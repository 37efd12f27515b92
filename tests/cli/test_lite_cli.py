"""``--model lite|vgg|auto`` on stylize and evaluate (issue #19)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import smooth_image, stripes_image
from engine.nets.lite import LiteConfig, random_lite, save_lite


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("lite_cli")
    Image.fromarray(smooth_image(48, 64, 1)).save(root / "content.png")
    Image.fromarray(stripes_image(64, 64)).save(root / "style.png")
    net = random_lite(LiteConfig(widths=(8, 16, 24), blocks=1), seed=2)
    with torch.no_grad():
        net.head.weight.mul_(10.0)
        net.head.bias.fill_(0.5)
    save_lite(net, root / "lite.safetensors", {"steps": "0"})
    return root


def stylize(files, out, *extra):
    from main import main

    return main(["stylize", str(files / "content.png"), "--style", str(files / "style.png"), "--device", "cpu",
                 "-o", str(out), *extra])


def test_stylize_with_each_model(files, tmp_path, capsys):
    assert stylize(files, tmp_path / "lite.png", "--model", "lite", "--lite", str(files / "lite.safetensors")) == 0
    assert stylize(files, tmp_path / "vgg.png", "--model", "vgg") == 0
    lite, vgg = (np.asarray(Image.open(tmp_path / f"{m}.png")) for m in ("lite", "vgg"))
    assert lite.shape == vgg.shape == (48, 64, 3)
    assert np.abs(lite.astype(int) - vgg.astype(int)).mean() > 5
    missing = tmp_path / "none.safetensors"
    assert stylize(files, tmp_path / "auto.png", "--model", "auto", "--lite", str(missing)) == 0
    assert f"auto model: VGG — no trained lite model at {missing}" in capsys.readouterr().err
    assert np.array_equal(np.asarray(Image.open(tmp_path / "auto.png")), vgg)
    assert stylize(files, tmp_path / "no.png", "--model", "lite", "--lite", str(missing)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {missing}: no trained lite model yet (train one: main.py train --model lite); "
                   "use --model vgg"]
    assert not (tmp_path / "no.png").exists()


def test_lite_without_weights_runs_the_shipped_candidate_as_a_preview(files, tmp_path, capsys):
    """No models/lite.safetensors in the repository yet: ``--model lite`` runs the trained
    candidate that ships (models/lite_candidate.safetensors) and says it is a preview."""
    from engine.nets.lite import CANDIDATE_LITE, DEFAULT_LITE

    if DEFAULT_LITE.is_file() or not CANDIDATE_LITE.is_file():
        pytest.skip("only while the candidate is the one lite model in models/")
    assert stylize(files, tmp_path / "preview.png", "--model", "lite") == 0
    assert "note: Real-time runs the trained candidate lite model" in capsys.readouterr().err
    out = np.asarray(Image.open(tmp_path / "preview.png"))
    content = np.asarray(Image.open(files / "content.png"))
    assert out.shape == content.shape and np.abs(out.astype(int) - content).mean() > 5


def eval_data(tmp_path, training: int = 0):
    data = tmp_path / "data"
    (data / "content").mkdir(parents=True)
    (data / "style").mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(72, 80, 10 + i)).save(data / "content" / f"c{i}.png")
        Image.fromarray(stripes_image(72, 72, 5 + i)).save(data / "style" / f"s{i}.png")
    for i in range(training):  # photos outside the split: what --model lite learns each painting from
        Image.fromarray(smooth_image(72, 96, 20 + i)).save(data / "content" / f"train{i}.jpg")
    (data / "split.json").write_text(json.dumps({"content": ["c0.png", "c1.png"], "style": ["s0.png", "s1.png"]}))
    return ["--content", str(data / "content"), "--style", str(data / "style"), "--split", str(data / "split.json"),
            "--pairs", "2", "--size", "64", "--baseline-pairs", "0", "--threads", "1"]


def test_evaluate_the_lite_model(files, tmp_path):
    from main import main

    out = tmp_path / "eval.json"
    argv = ["evaluate", "--model", "lite", "--lite", str(files / "lite.safetensors"), "--no-learn",
            *eval_data(tmp_path), "--json", str(out)]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert [d["label"] for d in result["decoders"]] == ["lite: lite.safetensors", "ours: decoder.safetensors"]
    for pair in result["pairs"]:
        m = pair["methods"]["lite: lite.safetensors"]
        assert all(math.isfinite(m[k]) for k in ("content_loss", "style_loss", "structure"))
    assert "--model lite" in result["command"] and "--no-learn" in result["command"]
    [bars] = result["lite_bars"]  # issue #28's: style, texture, texture against the VGG model's, structure
    checks = {c["what"].split(" ÷")[0] + (" vgg" if "decoder" in c["what"] else ""): c for c in bars["checks"]}
    s = result["summary"]
    assert checks["style"]["value"] == s["lite: lite.safetensors"]["style_ratio_gmean"]
    assert checks["texture vgg"]["value"] == pytest.approx(
        s["lite: lite.safetensors"]["texture_ratio_gmean"] / s["ours: decoder.safetensors"]["texture_ratio_gmean"])
    assert checks["structure"]["pass"] is None  # no L-BFGS baseline was run


def test_evaluate_learns_each_painting_once(files, tmp_path):
    """--model lite learns a network per painting from photos outside the split, caches it, and
    evaluates it beside the base network."""
    from main import main

    cache = tmp_path / "learned"
    argv = ["evaluate", "--model", "lite", "--lite", str(files / "lite.safetensors"), "--learn-steps", "2",
            "--learned-cache", str(cache), *eval_data(tmp_path, training=2)]
    assert main([*argv, "--json", str(tmp_path / "a.json")]) == 0
    first = json.loads((tmp_path / "a.json").read_text())
    learned_label = "lite: learned (learn-v1@2)"
    assert [d["label"] for d in first["decoders"]] == [learned_label, "lite: lite.safetensors",
                                                       "ours: decoder.safetensors"]
    info = first["decoders"][0]
    assert sorted(info["training_photos"]) == ["train0.jpg", "train1.jpg"]  # never the held-out c0, c1
    assert [(e["cached"], e["steps"]) for e in info["learned"]] == [(False, 2), (False, 2)]
    assert len(list(cache.glob("*.safetensors"))) == 2
    for pair in first["pairs"]:
        m = pair["methods"]
        assert m[learned_label]["style_loss"] != pytest.approx(m["lite: lite.safetensors"]["style_loss"], rel=1e-6)
    assert main([*argv, "--json", str(tmp_path / "b.json")]) == 0
    second = json.loads((tmp_path / "b.json").read_text())
    assert [e["cached"] for e in second["decoders"][0]["learned"]] == [True, True]
    assert [p["methods"][learned_label]["style_loss"] for p in second["pairs"]] == \
        [p["methods"][learned_label]["style_loss"] for p in first["pairs"]]


def test_video_with_the_lite_model(files, tmp_path):
    from main import main
    from engine.media.video import probe_video, read_frames, write_video
    from engine.tools.synthetic import pattern_image, synthetic_clip

    clip = tmp_path / "clip.mp4"
    write_video(clip, synthetic_clip(pattern_image(96, 128, seed=3), 5, (64, 48), seed=3), fps=10)
    out = tmp_path / "lite.mp4"
    assert main(["video", str(clip), "-o", str(out), "--style", str(files / "style.png"), "--device", "cpu",
                 "--model", "lite", "--lite", str(files / "lite.safetensors"), "--stabilize", "off",
                 "--no-learn"]) == 0  # learning first: tests/cli/test_learn_cli.py
    info = probe_video(out)
    assert (info.width, info.height) == (64, 48)
    lite = list(read_frames(out))
    assert len(lite) == 5
    vgg_out = tmp_path / "vgg.mp4"
    assert main(["video", str(clip), "-o", str(vgg_out), "--style", str(files / "style.png"), "--device", "cpu",
                 "--model", "vgg", "--stabilize", "off"]) == 0
    vgg = list(read_frames(vgg_out))
    assert np.mean([np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(lite, vgg)]) > 5


def test_live_builds_the_chosen_model(files):
    from main import build_parser
    from engine.cli.live import options_from_args
    from engine.runtime.live import _default_factory

    argv = ["live", "--style", str(files / "style.png"), "--serve", "127.0.0.1:8080", "--device", "cpu"]
    lite = options_from_args(build_parser().parse_args(argv + ["--model", "lite", "--lite",
                                                               str(files / "lite.safetensors")]))
    assert (lite.model, _default_factory(lite)("cpu").model) == ("lite", "lite")
    default = options_from_args(build_parser().parse_args(argv))
    assert default.model == "auto"
