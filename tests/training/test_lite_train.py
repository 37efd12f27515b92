"""Lite distillation (engine.training.lite_train): losses, bit-for-bit resume, and DDP — two gloo
processes under the real ``torchrun … main.py train --model lite`` take the same step as one
process with the whole batch, and only rank 0 writes."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest
import torch
from PIL import Image

from conftest import ROOT, noise_image, smooth_image, stripes_image
from engine.nets.lite import LiteConfig, LiteNet
from engine.nets.weights import load_state_dict_file
from engine.training.lite_train import LiteTrainConfig, train, warp


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("lite_data")
    for d in ("content", "style"):
        (root / d).mkdir()
    for i in range(6):
        Image.fromarray(smooth_image(56, 72, i)).save(root / "content" / f"c{i}.png")
        style = stripes_image(64, 64, 4 + i) if i % 2 else noise_image(64, 80, i)
        Image.fromarray(style).save(root / "style" / f"s{i}.png")
    split = {"rule": "test", "seed": 0, "content": ["c0.png"], "style": ["s0.png"]}
    (root / "split.json").write_text(json.dumps(split))
    return root


def config(data, out, **kw) -> LiteTrainConfig:
    base = LiteTrainConfig(content=str(data / "content"), style=str(data / "style"), out=str(out), iters=1,
                           batch=4, crop=32, resize=48, workers=0, threads=1, log_every=1, ckpt_every=100,
                           preview_every=1000, split=str(data / "split.json"), eval_content=1, eval_style=1,
                           widths=(8, 16, 16), blocks=1, style_width=16, hidden=32)
    return replace(base, **kw)


def checkpoint(out) -> dict[str, torch.Tensor]:
    sd = load_state_dict_file(out / "checkpoint" / "lite_fp32.safetensors")
    sd.update(load_state_dict_file(out / "checkpoint" / "adam.safetensors"))
    return sd


def log_steps(out) -> list[int]:
    with open(out / "log.csv", newline="") as fh:
        return [int(row["step"]) for row in csv.DictReader(fh)]


def test_warp_mask_marks_where_the_source_is_inside():
    x = torch.rand(1, 3, 16, 16)
    shift = torch.tensor([[[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]])  # a quarter of the width
    moved, valid = warp(x, shift)
    assert valid[0, 0, :, :10].all() and not valid[0, 0, :, 13:].any()
    assert torch.allclose(moved[..., 2:10], x[..., 6:14], atol=1e-5)


def test_resume_is_bit_for_bit(data, tmp_path):
    straight = tmp_path / "straight"
    train(config(data, straight, iters=4))
    parts = tmp_path / "parts"
    train(config(data, parts, iters=2))
    train(config(data, parts, iters=4), resume=True)
    a, b = checkpoint(straight), checkpoint(parts)
    assert a.keys() == b.keys() and len(a) > 20
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert log_steps(parts) == [1, 2, 3, 4] == log_steps(straight)
    assert (parts / "lite.safetensors").is_file()


def test_losses_fall_on_a_fixed_batch(data, tmp_path):
    """A few steps on the same four samples (iters of a tiny dataset): the total loss falls."""
    out = tmp_path / "fit"
    train(config(data, out, iters=12, lr=3e-3))
    with open(out / "log.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    first, last = float(rows[0]["loss"]), float(rows[-1]["loss"])
    assert last < 0.7 * first, (first, last)
    assert all(float(rows[-1][k]) >= 0 for k in ("pixel", "perceptual", "content", "style", "temporal"))


def _cli(cfg: LiteTrainConfig, resume: bool = False) -> list[str]:
    args = ["train", "--model", "lite", "--content", cfg.content, "--style", cfg.style, "--out", cfg.out,
            "--split", cfg.split, "--iters", str(cfg.iters), "--batch", str(cfg.batch), "--crop", str(cfg.crop),
            "--resize", str(cfg.resize), "--workers", "0", "--threads", "1", "--log-every", "1",
            "--preview-every", "1000", "--widths", *map(str, cfg.widths), "--blocks", str(cfg.blocks)]
    return args + (["--resume"] if resume else [])


def _run(cmd: list[str]) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_two_gloo_processes_take_the_single_process_step(data, tmp_path):
    """``torchrun --nproc_per_node 2`` (gloo, 2 samples each) ends where one process with the
    4-sample batch ends; one log row, one checkpoint; then a 1-process resume continues it."""
    one, two = tmp_path / "one", tmp_path / "two"
    cfg = config(data, one)
    main = [sys.executable, str(ROOT / "main.py")]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                str(ROOT / "main.py")]
    _run([*main, *_cli(cfg)])
    _run([*torchrun, *_cli(replace(cfg, out=str(two)))])
    a, b = checkpoint(one), checkpoint(two)
    torch.manual_seed(cfg.seed)
    start = LiteNet(LiteConfig(cfg.widths, cfg.blocks)).state_dict()  # the CLI's style width/MLP
    assert any(not torch.equal(start[k], a[k]) for k in start)  # the step moved the weights
    assert all(torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-6) for k in a), \
        max(float((a[k] - b[k]).abs().max()) for k in a)
    assert log_steps(two) == [1]
    assert sorted(p.name for p in (two / "checkpoint").iterdir()) == ["adam.safetensors", "lite_fp32.safetensors",
                                                                      "state.json"]
    _run([*main, *_cli(replace(cfg, iters=2), resume=True)])
    _run([*main, *_cli(replace(cfg, out=str(two), iters=2), resume=True)])  # 2 processes → 1
    a, b = checkpoint(one), checkpoint(two)
    assert all(torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-6) for k in a)
    assert log_steps(two) == [1, 2]


def test_skip_gains_move_linearly_to_their_target_and_stay():
    from engine.training.lite_train import LiteTrainConfig

    cfg = LiteTrainConfig(skip_target=(0.0, 0.25), skip_anneal=800)
    assert [cfg.skip_gains(s) for s in (0, 400, 800, 5000)] == [(1.0, 1.0), (0.5, 0.625), (0.0, 0.25), (0.0, 0.25)]
    assert LiteTrainConfig().lite_config(123).skip_gains == (1.0, 1.0)
    assert cfg.lite_config(400).skip_gains == (0.5, 0.625)
