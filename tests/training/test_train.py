"""Training pipeline on a tiny generated dataset: logs, checkpoints, bit-for-bit resume, bad files."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import noise_image, smooth_image, stripes_image
from engine.nets.decoder import load_decoder
from engine.training.evaluate import structure
from engine.nets.decoder import Decoder
from engine.training.train import (TrainConfig, adain_batch, dead_units, make_split, normalized_content_loss,
                          revive_units, style_loss, train)
from engine.nets.weights import load_state_dict_file


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    (root / "content" / "sub").mkdir(parents=True)
    (root / "style").mkdir()
    for i in range(5):
        Image.fromarray(smooth_image(48 + 4 * i, 40, i)).save(root / "content" / "sub" / f"c{i}.jpg")
    for i in range(4):
        img = stripes_image(40, 44, 3 + i) if i % 2 else noise_image(44, 40, i)
        Image.fromarray(img).save(root / "style" / f"s{i}.png")
    (root / "content" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    return root


def config(dataset: Path, out: Path, **kw) -> TrainConfig:
    base = dict(content=str(dataset / "content"), style=str(dataset / "style"), out=str(out),
                iters=4, batch=2, crop=32, resize=40, lr=1e-3, workers=0, log_every=1,
                ckpt_every=2, preview_every=1000, split=str(out.parent / f"{out.name}_split.json"),
                eval_content=1, eval_style=1, warmup_steps=1, style_ramp=2,
                identity_fraction=0.5, identity_weight=1.0)
    base.update(kw)
    return TrainConfig(**base)


def test_training_writes_logs_checkpoint_and_decoder(dataset, tmp_path):
    final = train(config(dataset, tmp_path / "run", preview_every=2))
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    assert float(rows[0]["lambda"]) == 0.0 and float(rows[-1]["lambda"]) == 10.0
    assert all(float(r["loss"]) > 0 for r in rows)
    assert (tmp_path / "run" / "losses.png").is_file()
    assert Image.open(tmp_path / "run" / "preview_000002.png").size[0] > 0
    for name in ("decoder_fp32.safetensors", "adam_exp_avg.safetensors", "adam_exp_avg_sq.safetensors",
                 "state.json"):
        path = tmp_path / "run" / "checkpoint" / name
        assert path.is_file() and path.stat().st_size < 16 * 2**20
    dec, meta = load_decoder(final)
    assert meta["steps"] == "4" and meta["crop"] == "32" and "encoder_id" in meta
    assert set(json.loads(meta["losses"])) == {"content", "style", "identity"}


def test_resume_continues_bit_for_bit(dataset, tmp_path):
    train(config(dataset, tmp_path / "straight"))
    train(config(dataset, tmp_path / "split", iters=2))
    train(config(dataset, tmp_path / "split", iters=4), resume=True)
    a = load_state_dict_file(tmp_path / "straight" / "checkpoint" / "decoder_fp32.safetensors")
    b = load_state_dict_file(tmp_path / "split" / "checkpoint" / "decoder_fp32.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    straight = list(csv.DictReader(open(tmp_path / "straight" / "log.csv")))
    resumed = list(csv.DictReader(open(tmp_path / "split" / "log.csv")))
    assert [r["loss"] for r in straight] == [r["loss"] for r in resumed]


def test_unreadable_images_are_skipped_and_counted(dataset, tmp_path):
    train(config(dataset, tmp_path / "run", iters=6))
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert int(rows[-1]["skipped"]) >= 1  # broken.jpg was drawn at least once and skipped


def test_split_is_seeded_and_disjoint(dataset):
    a = make_split(str(dataset / "content"), str(dataset / "style"), 2, 1)
    b = make_split(str(dataset / "content"), str(dataset / "style"), 2, 1)
    assert a == b and len(a["content"]) == 2 and len(a["style"]) == 1


def test_losses_match_the_paper_definitions():
    content = torch.rand(2, 512, 4, 4)
    style = torch.rand(2, 512, 3, 5) * 2
    t = adain_batch(content, style)
    assert torch.allclose(t.mean((2, 3)), style.mean((2, 3)), atol=1e-4)
    feats = [torch.rand(2, 8, 6, 6) for _ in range(4)]
    assert float(style_loss(feats, feats)) == 0.0
    shifted = [f + 1.0 for f in feats]
    assert abs(float(style_loss(shifted, feats)) - 4.0) < 1e-4  # mean off by 1 at 4 layers, std equal


def test_normalized_content_loss_is_two_times_one_minus_structure():
    torch.manual_seed(0)
    content = torch.rand(1, 16, 8, 8)
    out = 0.5 * content + torch.rand(1, 16, 8, 8)  # partly correlated per channel
    rho = structure(out, content)
    assert 0.2 < rho < 0.9
    assert abs(float(normalized_content_loss(out, content)) - 2 * (1 - rho)) < 1e-3
    assert float(normalized_content_loss(content * 3 + 1, content)) < 1e-4  # per-channel affine: no loss


def test_norm_content_term_is_logged_when_enabled(dataset, tmp_path):
    train(config(dataset, tmp_path / "run", norm_content_weight=5.0))
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert all(float(r["content_norm"]) > 0 for r in rows)


def test_init_seeds_a_fresh_run_even_with_resume(dataset, tmp_path):
    seed_run = train(config(dataset, tmp_path / "seed", iters=2))
    train(config(dataset, tmp_path / "fresh", iters=0, init=str(seed_run)), resume=True)
    a = load_state_dict_file(seed_run)
    b = load_state_dict_file(tmp_path / "fresh" / "checkpoint" / "decoder_fp32.safetensors")
    assert all(torch.allclose(a[k].float(), b[k], atol=1e-2) for k in a)  # fp16 export vs fp32


def test_dead_units_are_found_and_revived():
    torch.manual_seed(0)
    decoder = Decoder()
    opt = torch.optim.Adam(decoder.parameters(), lr=1e-4)
    t = torch.rand(2, 512, 4, 4)
    decoder(t).mean().backward()
    opt.step()  # Adam state exists
    first = decoder.layers[1]
    with torch.no_grad():
        first.bias[:200] = -1e3  # 200 of 256 channels can never fire
    dead = dead_units(decoder, t)
    assert bool(dead[1][:200].all()) and set(dead) == {1, 5, 8, 11, 14, 18, 21, 25}
    assert revive_units(decoder, opt, t, seed=3) >= 200
    assert sum(int(m.sum()) for m in dead_units(decoder, t).values()) == 0  # every layer fires
    assert float(first.bias.abs().max()) < 1.0
    state = opt.state[first.bias]
    assert float(state["exp_avg"][:200].abs().max()) == 0.0 and float(state["exp_avg_sq"][:200].min()) > 0


def test_revival_is_logged_and_resume_stays_bit_for_bit(dataset, tmp_path):
    train(config(dataset, tmp_path / "straight", revive_every=2))
    train(config(dataset, tmp_path / "split", iters=2, revive_every=2))
    train(config(dataset, tmp_path / "split", iters=4, revive_every=2), resume=True)
    a = load_state_dict_file(tmp_path / "straight" / "checkpoint" / "decoder_fp32.safetensors")
    b = load_state_dict_file(tmp_path / "split" / "checkpoint" / "decoder_fp32.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = list(csv.DictReader(open(tmp_path / "straight" / "log.csv")))
    assert rows[0]["dead_units"] == "" and rows[1]["dead_units"].isdigit()
