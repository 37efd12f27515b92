"""Distilling the lite network (issue #19): ``main.py train --model lite``.

Every step, for each (content crop, style crop, α) sample:

- **teacher**: the shipped VGG model's output at the same style and α,
  ``y_T = g((1−α)·f(c) + α·AdaIN(f(c), f(s)))``; the student matches it in pixels (L1,
  ``pixel_weight``) and in VGG features relu2_1…relu4_1 (MSE, ``perceptual_weight``);
- **the paper's losses** at VGG layers, so the student can end up with *stronger* style than the
  teacher: content ``‖f(y) − t‖²`` at relu4_1 against the α-mixed target ``t`` and style (mean/std
  MSE at relu1_1…relu4_1, weighted by each sample's α) — ``content_weight``, ``style_weight``;
- **temporal** (compound regularisation, Wang et al. 2020): a copy of the content warped by a
  small random affine map ``T`` (shift, rotation, zoom) plus Gaussian noise must give ``T`` of
  the output, ``‖S(T(c) + n) − T(S(c))‖²`` inside the warp's valid region (``temporal_weight``).

α is 1 for a fraction ``alpha_one`` of the samples, else uniform in [0, 1].

Reproducible and resumable bit for bit, as the decoder's :mod:`engine.training.train`: sample
``k`` (crops, α, warp, noise) depends only on ``(seed, k)``; ``batch`` is the *global* batch, and
step ``s`` uses samples ``s·batch … s·batch + batch − 1`` whatever the number of processes.

**Scale-out**: under ``torchrun --nproc_per_node N main.py train --model lite …`` (or any launcher
that sets ``RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT``) the student is wrapped in
DistributedDataParallel (gloo on CPU, nccl on CUDA, one GPU per local rank); rank r of N takes
samples ``s·batch + r·batch/N …`` (``batch`` must divide by N), gradients are averaged, and rank 0
alone writes the log, previews and checkpoints. Every loss is a mean over samples, so N
processes take the same step as one process with the whole batch (up to float rounding), and a
checkpoint resumes under any N.
"""
from __future__ import annotations

import csv
import json
import math
import os
import random
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.nets.adain import mean_std
from engine.nets.decoder import load_decoder
from engine.nets.encoder import encoder_id, load_encoder
from engine.nets.lite import LiteConfig, LiteNet, save_lite
from engine.files import atomic_write
from engine.nets.weights import check_state_dict, load_state_dict_file, save_safetensors_atomic
from engine.media.imageio import list_images
from .train import CropDataset, RunConfig, _last_log_row, _rel, adain_batch, load_or_make_split, \
    plot_losses, preview_pairs

LOSSES = ("pixel", "perceptual", "content", "style", "temporal")


@dataclass
class LiteTrainConfig(RunConfig):
    out: str = "runs/lite"
    iters: int = 100_000
    pixel_weight: float = 10.0
    perceptual_weight: float = 1.0
    temporal_weight: float = 50.0
    alpha_one: float = 0.5
    teacher: str = ""  # VGG decoder weights; default models/decoder.safetensors
    widths: tuple = (16, 32, 64)
    blocks: int = 3
    style_width: int = 128
    hidden: int = 256
    up_blocks: int = 0
    skip_target: tuple = (1.0, 1.0)  # skip gains (½, ¼) reached after skip_anneal steps
    skip_anneal: int = 0

    def skip_gains(self, step: int) -> tuple[float, float]:
        """The skips' gains at ``step``: linear from 1 to :attr:`skip_target` over
        :attr:`skip_anneal` steps. Only a target of 0 takes information away: the network
        undoes any gain above 0 by rescaling the convs after the skip."""
        t = 1.0 if self.skip_anneal <= 0 else min(1.0, step / self.skip_anneal)
        return tuple(1.0 + (float(g) - 1.0) * t for g in self.skip_target)

    def lite_config(self, step: int = 0) -> LiteConfig:
        return LiteConfig(tuple(self.widths), self.blocks, self.style_width, self.hidden, self.up_blocks,
                          self.skip_gains(step))


# --- data: crops plus each sample's α, warp and noise --------------------------------------------

class LiteDataset(CropDataset):
    """Item ``k`` = (content ``[3,C,C]`` uint8, style crop, skipped count, α, warp ``[2,3]``,
    noise σ, noise seed), all from ``(seed, k)``."""

    def __init__(self, content, style, resize: int, crop: int, seed: int, alpha_one: float):
        super().__init__(content, style, resize, crop, seed)
        self.alpha_one = alpha_one

    def __getitem__(self, k: int):
        c, s, skipped = super().__getitem__(k)
        rng = random.Random(self.seed * 7_000_003 + k + 1)
        alpha = 1.0 if rng.random() < self.alpha_one else rng.random()
        angle = math.radians(rng.uniform(-1.5, 1.5))
        zoom = rng.uniform(0.97, 1.03)
        shift = [rng.uniform(-4, 4) * 2 / self.crop for _ in range(2)]  # ±4 px, normalised coords
        theta = torch.tensor([[zoom * math.cos(angle), -zoom * math.sin(angle), shift[0]],
                              [zoom * math.sin(angle), zoom * math.cos(angle), shift[1]]])
        return c, s, skipped, torch.tensor(alpha), theta, torch.tensor(rng.uniform(0.0, 0.03)), rng.getrandbits(62)


class _RankSampler(torch.utils.data.Sampler):
    """Global sample indices of this rank: ``s·batch + rank·local + i`` for steps ``s ≥ start``."""

    def __init__(self, start_step: int, batch: int, rank: int, world: int):
        self.step, self.batch, self.local, self.rank = start_step, batch, batch // world, rank

    def __iter__(self):
        s = self.step
        while True:
            base = s * self.batch + self.rank * self.local
            yield from range(base, base + self.local)
            s += 1


def warp(x: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``x [N,C,H,W]`` warped by the affine maps ``theta [N,2,3]`` (bilinear) and the valid-pixel
    mask ``[N,1,H,W]`` (1 where the source lies inside the image, borders eroded by one pixel)."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    ones = torch.ones_like(x[:, :1])
    valid = F.grid_sample(ones, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out, (-F.max_pool2d(-valid, 3, 1, 1) > 0.999).to(x.dtype)


def noisy_warp(c: torch.Tensor, theta: torch.Tensor, sigma: torch.Tensor, seeds) -> torch.Tensor:
    """``T(c) + n``: each sample warped, plus Gaussian noise of its σ from its own seed."""
    moved, _ = warp(c, theta)
    noise = torch.stack([torch.randn(c.shape[1:], generator=torch.Generator().manual_seed(int(sd)))
                         for sd in seeds]).to(c.device)
    return (moved + sigma.view(-1, 1, 1, 1).to(c.device) * noise).clamp(0, 1)


# --- the student as one module (what DDP wraps) --------------------------------------------------

class StudentStep(torch.nn.Module):
    """``forward(c, s, α, c2)`` → (S(c), S(c2)): the style encoded once, both contents in one batch."""

    def __init__(self, net: LiteNet):
        super().__init__()
        self.net = net

    def forward(self, c, s, alpha, c2):
        style = self.net.encode_style(s)
        both = style.map(lambda t: torch.cat([t, t]))
        out = self.net(torch.cat([c, c2]), both, torch.cat([alpha, alpha]))
        return out[:c.shape[0]], out[c.shape[0]:]


def style_loss_weighted(out_feats, style_feats, alpha: torch.Tensor) -> torch.Tensor:
    """Σ_l mean over samples of α_i·(MSE(μ) + MSE(σ)) (paper Eq. 12, per sample, α-weighted)."""
    loss = 0.0
    for o, s in zip(out_feats, style_feats):
        om, os_ = mean_std(o)
        sm, ss = mean_std(s)
        per = ((om - sm) ** 2).mean(1) + ((os_ - ss) ** 2).mean(1)
        loss = loss + (alpha * per).mean()
    return loss


def step_losses(cfg: LiteTrainConfig, student, encoder, teacher, batch, device) -> dict[str, torch.Tensor]:
    """All loss terms of one (local) batch; ``loss`` is their weighted sum."""
    c_u8, s_u8, _, alpha, theta, sigma, seeds = batch
    c = c_u8.to(device).float() / 255.0
    s = s_u8.to(device).float() / 255.0
    alpha, theta = alpha.to(device).float(), theta.to(device)
    c2 = noisy_warp(c, theta, sigma, seeds.tolist())
    with torch.no_grad():
        fc = encoder(c)
        s_feats = encoder.taps(s)
        a = alpha.view(-1, 1, 1, 1)
        t = torch.lerp(fc, adain_batch(fc, s_feats[-1]), a)
        y_t = teacher(t).clamp(0, 1)
        t_feats = encoder.taps(y_t)
    y, y2 = student(c, s, alpha, c2)
    o_feats = encoder.taps(y)
    target, valid = warp(y, theta)
    terms = {
        "pixel": F.l1_loss(y, y_t),
        "perceptual": sum(F.mse_loss(o, tt) for o, tt in zip(o_feats[1:], t_feats[1:])),
        "content": F.mse_loss(o_feats[-1], t),
        "style": style_loss_weighted(o_feats, s_feats, alpha),
        "temporal": (((y2 - target) ** 2 * valid).sum((1, 2, 3))
                     / (valid.sum((1, 2, 3)) * y.shape[1]).clamp_min(1)).mean(),  # per sample: DDP-exact
    }
    weights = {"pixel": cfg.pixel_weight, "perceptual": cfg.perceptual_weight, "content": cfg.content_weight,
               "style": cfg.style_weight, "temporal": cfg.temporal_weight}
    terms["loss"] = sum(weights[k] * terms[k] for k in LOSSES)
    return terms


# --- checkpoints ----------------------------------------------------------------------------------

def load_grown(net: LiteNet, path: Path) -> None:
    """``net`` from lite weights ``path`` that may lack its up-path blocks (an earlier, smaller
    network): those keep their identity initialisation, so the grown network starts with the
    file's output. Any other mismatch is an error naming the file."""
    sd = load_state_dict_file(path)
    mine = net.state_dict()
    grown = {k: v for k, v in mine.items() if k.startswith("up_blocks.") and k not in sd}
    net.load_state_dict(check_state_dict({**sd, **grown}, mine, path))


def save_checkpoint(ckpt: Path, net: LiteNet, opt: torch.optim.Adam, step: int, cfg: LiteTrainConfig) -> None:
    """Weights and Adam moments (fp32, one file each), then ``state.json`` last."""
    named = list(net.named_parameters())
    save_safetensors_atomic({k: v.float() for k, v in net.state_dict().items()}, ckpt / "lite_fp32.safetensors")
    moments = {}
    for name, p in named:
        st = opt.state.get(p)
        if st:
            moments[f"exp_avg.{name}"], moments[f"exp_avg_sq.{name}"] = st["exp_avg"], st["exp_avg_sq"]
    save_safetensors_atomic(moments, ckpt / "adam.safetensors")
    state = {"step": step, "config": asdict(cfg), "adam_steps": {n: float(opt.state[p]["step"])
                                                                 for n, p in named if opt.state.get(p)}}
    atomic_write(ckpt / "state.json", lambda tmp: Path(tmp).write_text(json.dumps(state, indent=1)))


def load_checkpoint(ckpt: Path, net: LiteNet, opt: torch.optim.Adam) -> dict:
    state = json.loads((ckpt / "state.json").read_text())
    net.load_state_dict(load_state_dict_file(ckpt / "lite_fp32.safetensors"))
    moments = load_state_dict_file(ckpt / "adam.safetensors")
    for name, p in net.named_parameters():
        if f"exp_avg.{name}" in moments:
            opt.state[p] = {"step": torch.tensor(state["adam_steps"][name]),
                            "exp_avg": moments[f"exp_avg.{name}"].to(p.device),
                            "exp_avg_sq": moments[f"exp_avg_sq.{name}"].to(p.device)}
    return state


# --- processes ------------------------------------------------------------------------------------

@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def writer(self) -> bool:
        return self.rank == 0

    def mean(self, t: torch.Tensor) -> torch.Tensor:
        if self.world > 1:
            t = t.clone()
            torch.distributed.all_reduce(t)
            t /= self.world
        return t

    def any(self, flag: bool) -> bool:
        if self.world == 1:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item() > 0)


def setup_dist(cfg: LiteTrainConfig) -> Dist:
    """Join the process group when a launcher set ``WORLD_SIZE`` > 1 (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = torch.device(cfg.device)
    if world == 1:
        return Dist(0, 1, device)
    rank = int(os.environ["RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
    if cfg.batch % world:
        raise SystemExit(f"--batch {cfg.batch} must be a multiple of the {world} processes")
    return Dist(rank, world, device)


# --- the loop -------------------------------------------------------------------------------------

def train(cfg: LiteTrainConfig, resume: bool = False) -> Path:
    """Run (or resume) the distillation; returns the path of ``OUT/lite.safetensors``."""
    dist = setup_dist(cfg)
    try:
        return _train(cfg, resume, dist)
    finally:
        if dist.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _train(cfg: LiteTrainConfig, resume: bool, dist: Dist) -> Path:
    out, device = Path(cfg.out), dist.device
    ckpt = out / "checkpoint"
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    split = load_or_make_split(cfg) if dist.writer else None
    if dist.world > 1:  # the writer made the split file; the others read it after the barrier
        torch.distributed.barrier()
        split = split or load_or_make_split(cfg)
    content, style = _training_files(cfg, split)

    encoder = load_encoder().to(device)
    teacher, _ = load_decoder(cfg.teacher or None)
    teacher = teacher.to(device).eval().requires_grad_(False)
    torch.manual_seed(cfg.seed)
    net = LiteNet(cfg.lite_config()).to(device)
    resuming = resume and (ckpt / "state.json").is_file()
    if cfg.init and not resuming:
        load_grown(net, Path(cfg.init))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    step = 0
    if resuming:
        step = load_checkpoint(ckpt, net, opt)["step"]
        if dist.writer:
            print(f"resumed from {ckpt} at step {step} with {dist.world} process(es)", file=sys.stderr)
    student = StudentStep(net)
    if dist.world > 1:
        student = torch.nn.parallel.DistributedDataParallel(
            student, device_ids=[device.index] if device.type == "cuda" else None)
    net.train()

    dataset = LiteDataset(content, style, cfg.resize, cfg.crop, cfg.seed, cfg.alpha_one)
    data = torch.utils.data.DataLoader(
        dataset, batch_size=cfg.batch // dist.world, sampler=_RankSampler(step, cfg.batch, dist.rank, dist.world),
        num_workers=cfg.workers, persistent_workers=cfg.workers > 0, prefetch_factor=4 if cfg.workers > 0 else None)
    log = _Log(out, cfg, dist, step)
    stop = {"flag": False}

    def request_stop(signum, frame):  # noqa: ARG001
        stop["flag"] = True

    old = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    deadline = time.time() + cfg.max_minutes * 60 if cfg.max_minutes > 0 else math.inf
    it = iter(data)
    try:
        while step < cfg.iters and not dist.any(stop["flag"] or time.time() >= deadline):
            batch = next(it)
            for g in opt.param_groups:
                g["lr"] = cfg.lr / (1.0 + cfg.lr_decay * step)
            net.config = cfg.lite_config(step)
            terms = step_losses(cfg, student, encoder, teacher, batch, device)
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()
            opt.step()
            step += 1
            log.add(step, dist.mean(torch.stack([terms[k].detach() for k in ("loss", *LOSSES)])),
                    int(dist.mean(batch[2].sum().float().view(1)).item() * dist.world))
            if dist.writer and step % cfg.ckpt_every == 0:
                save_checkpoint(ckpt, net, opt, step, cfg)
            if dist.writer and step % cfg.preview_every == 0:
                log.preview(net, step)
    finally:
        log.close()
        for s, h in old.items():
            signal.signal(s, h)
    if not dist.writer:
        return out / "lite.safetensors"
    save_checkpoint(ckpt, net, opt, step, cfg)
    return export(out, net, step, cfg, content, style, split)


def _training_files(cfg: LiteTrainConfig, split: dict) -> tuple[list[Path], list[Path]]:
    held_c, held_s = set(split["content"]), set(split["style"])
    content = [p for p in list_images(cfg.content) if _rel(p, cfg.content) not in held_c]
    style = [p for p in list_images(cfg.style) if _rel(p, cfg.style) not in held_s]
    if not content or not style:
        raise SystemExit(f"no training images in {cfg.content} or {cfg.style}")
    return content, style


def export(out: Path, net: LiteNet, step: int, cfg: LiteTrainConfig, content, style, split) -> Path:
    final = out / "lite.safetensors"
    meta = {"steps": str(step), "crop": str(cfg.crop), "resize": str(cfg.resize), "batch": str(cfg.batch),
            "data": f"{len(content)} content, {len(style)} style (held out {len(split['content'])}/"
                    f"{len(split['style'])})", "encoder_id": encoder_id(), "config_train": json.dumps(asdict(cfg))}
    last = _last_log_row(out / "log.csv")
    if last:
        meta["losses"] = json.dumps({k: last[k] for k in LOSSES})
    save_lite(net, final, meta)
    return final


class _Log:
    """CSV log, tqdm bar, previews and loss plot: rank 0 only (the others keep no files)."""

    FIELDS = ["step", "loss", *LOSSES, "lr", "sec_per_step", "skipped"]

    def __init__(self, out: Path, cfg: LiteTrainConfig, dist: Dist, step: int):
        self.cfg, self.out, self.writer = cfg, out, dist.writer
        self.acc, self.n, self.t, self.skipped = None, 0, time.time(), 0
        self.path = out / "log.csv"
        self.bar = None
        if not self.writer:
            return
        out.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            with open(self.path, "w", newline="") as fh:
                csv.writer(fh).writerow(self.FIELDS)
        from tqdm import tqdm

        self.bar = tqdm(total=cfg.iters, initial=step, desc="train lite", dynamic_ncols=True)
        split = load_or_make_split(cfg)
        self.preview_c, self.preview_s = (t.to(dist.device) for t in preview_pairs(cfg, split))

    def add(self, step: int, values: torch.Tensor, skipped: int) -> None:
        if not self.writer:
            return
        self.bar.update(1)
        self.acc = values if self.acc is None else self.acc + values
        self.n, self.skipped = self.n + 1, self.skipped + skipped
        if step % self.cfg.log_every and step != self.cfg.iters:
            return
        mean = (self.acc / self.n).tolist()
        dt = (time.time() - self.t) / self.n
        self.acc, self.n, self.t = None, 0, time.time()
        lr = self.cfg.lr / (1.0 + self.cfg.lr_decay * step)
        with open(self.path, "a", newline="") as fh:
            csv.writer(fh).writerow([step, *[f"{v:.5f}" for v in mean], f"{lr:.3g}", f"{dt:.3f}", self.skipped])
        self.bar.set_postfix({k[:4]: f"{v:.3f}" for k, v in zip(("loss", *LOSSES), mean)})

    @torch.no_grad()
    def preview(self, net: LiteNet, step: int) -> None:
        """Student outputs at α = 1 (rows: held-out contents, columns: held-out styles)."""
        net.eval()
        styles = net.encode_style(self.preview_s)
        rows = []
        for i in range(self.preview_c.shape[0]):
            c = self.preview_c[i:i + 1].expand(self.preview_s.shape[0], -1, -1, -1)
            rows.append(torch.cat(list(net(c, styles, 1.0).clamp(0, 1)), dim=2))
        net.train()
        grid = (torch.cat(rows, dim=1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
        for name in (f"preview_{step:06d}.png", "preview_latest.png"):
            atomic_write(self.out / name, lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"))
        plot_losses(self.path, self.out / "losses.png", keys=("loss", *LOSSES))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            plot_losses(self.path, self.out / "losses.png", keys=("loss", *LOSSES))


__all__ = ["LiteTrainConfig", "train", "step_losses", "warp", "StudentStep", "save_checkpoint", "load_checkpoint"]
