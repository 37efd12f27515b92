"""Decoder training (Huang & Belongie 2017, Sec. 6) with CPU-friendly, documented extras.

Paper recipe (the defaults): Adam lr 1e-4, batch 8, shorter side resized to 512, random 256²
crops, loss ``Lc + λ·Ls`` with λ=10, content target ``t = AdaIN(f(c), f(s))`` at relu4_1, style
loss = MSE of per-channel mean and std at relu1_1..relu4_1 (equal weights).

Extras, all off by default: a reconstruction warm-up (t = f(c)), a λ ramp, an identity term
(a fraction of each batch is stylized with its own content and also gets a pixel loss to it, as
SANet's identity loss), inverse-time lr decay (pytorch-AdaIN's ``lr/(1+decay·step)``), and a
normalised content term (SANet/AdaAttN: MSE between the instance-normalised relu4_1 features of the
output and of the content; per channel it equals ``2·(1 − Pearson correlation)``, so it asks for
the photo's layout in every channel, which the plain content loss weighs by the style's σ), and
dead-unit revival (``revive_every``): every N steps the decoder runs on a fixed probe batch of
training crops; ReLU channels that never fire are re-initialised. Adam's per-weight steps with a
512·9 fan-in of non-negative features can push a whole layer below zero in a few steps at lr 5e-4;
measured on a 3,000-step CPU decoder: 255 of the 256 channels after the first conv were dead.

Reproducible and resumable: sample ``i`` of step ``s`` is drawn from an RNG seeded by
``(seed, s, i)``, so a resumed run sees exactly the data an uninterrupted run would; the
checkpoint holds the decoder, both Adam moments and the step, each file < 16 MB.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import random
import signal
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.nets.adain import mean_std
from engine.nets.decoder import Decoder, save_decoder
from engine.nets.encoder import encoder_id, load_encoder
from engine.media.imageio import IMAGE_SUFFIXES, list_images, load_image_rgb, resize_short_side, to_tensor
from engine.files import atomic_write
from engine.nets.weights import load_state_dict_file, save_safetensors_atomic

SPLIT_FILE = Path(__file__).resolve().parents[2] / "models" / "eval_split.json"


@dataclass
class RunConfig:
    """Settings every training run has (data, schedule, logging, checkpoints, held-out split);
    :class:`TrainConfig` and the lite model's ``LiteTrainConfig`` add their own losses."""

    content: str = "../shared/data/content"
    style: str = "../shared/data/style"
    out: str = "runs/decoder"
    iters: int = 160_000
    batch: int = 8  # global: split over the processes (lite model under torchrun)
    crop: int = 256
    resize: int = 512
    lr: float = 1e-4
    lr_decay: float = 0.0
    style_weight: float = 10.0
    content_weight: float = 1.0
    seed: int = 0
    workers: int = 1
    threads: int = 0
    device: str = "cpu"
    log_every: int = 10
    preview_every: int = 250
    ckpt_every: int = 100
    max_minutes: float = 0.0
    init: str = ""
    split: str = str(SPLIT_FILE)
    eval_content: int = 50
    eval_style: int = 20
    notes: list = field(default_factory=list)


@dataclass
class TrainConfig(RunConfig):
    warmup_steps: int = 0
    style_ramp: int = 0
    identity_fraction: float = 0.0
    identity_weight: float = 0.0
    norm_content_weight: float = 0.0
    revive_every: int = 0


# --- held-out split ---------------------------------------------------------------------------

def _rank(name: str, seed: int) -> str:
    return hashlib.sha1(f"{seed}:{name}".encode()).hexdigest()


def _rel(path: Path, root: str) -> str:
    return path.relative_to(root).as_posix()


def make_split(content_dir: str, style_dir: str, n_content: int, n_style: int, seed: int = 2017) -> dict:
    """Seeded rule: the files whose sha1(f"{seed}:{relative path}") sort first are held out."""
    content = sorted(_rel(p, content_dir) for p in list_images(content_dir))
    style = sorted(_rel(p, style_dir) for p in list_images(style_dir))
    return {
        "rule": f"sort file names by sha1('{seed}:' + name); the first {n_content} content and "
                f"{n_style} style images are held out",
        "seed": seed,
        "content": sorted(sorted(content, key=lambda n: _rank(n, seed))[:n_content]),
        "style": sorted(sorted(style, key=lambda n: _rank(n, seed))[:n_style]),
    }


def load_or_make_split(cfg: TrainConfig) -> dict:
    path = Path(cfg.split)
    if path.is_file():
        return json.loads(path.read_text())
    split = make_split(cfg.content, cfg.style, cfg.eval_content, cfg.eval_style)
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(split, indent=1) + "\n"))
    return split


# --- data -------------------------------------------------------------------------------------

class CropDataset(torch.utils.data.Dataset):
    """Item ``k`` = (content crop, style crop, skipped-file count) for global sample index ``k``.

    Deterministic in ``k``: the image, crop position and flip come from ``Random((seed, k))``.
    Crops are ``[3,crop,crop]`` uint8. Unreadable files are skipped with a warning.
    """

    def __init__(self, content: list[Path], style: list[Path], resize: int, crop: int, seed: int):
        self.content, self.style = content, style
        self.resize, self.crop, self.seed = resize, crop, seed

    def __len__(self) -> int:
        return 2 ** 62

    def _crop(self, paths: list[Path], rng: random.Random) -> tuple[torch.Tensor, int]:
        skipped = 0
        for _ in range(20):
            path = paths[rng.randrange(len(paths))]
            try:
                rgb = _read_resized(path, self.resize)
            except Exception as exc:  # noqa: BLE001 - a bad file must not stop training
                warnings.warn(f"skipping {path}: {exc}")
                skipped += 1
                continue
            h, w = rgb.shape[:2]
            if min(h, w) < self.crop:
                rgb = resize_short_side(rgb, self.crop)
                h, w = rgb.shape[:2]
            y, x = rng.randrange(h - self.crop + 1), rng.randrange(w - self.crop + 1)
            patch = rgb[y:y + self.crop, x:x + self.crop]
            if rng.random() < 0.5:
                patch = patch[:, ::-1]
            return torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1), skipped
        raise RuntimeError("20 unreadable images in a row; check the data folders")

    def __getitem__(self, k: int):
        rng = random.Random(self.seed * 1_000_003 + k)
        c, sc = self._crop(self.content, rng)
        s, ss = self._crop(self.style, rng)
        return c, s, sc + ss


def _read_resized(path: Path, short_side: int) -> np.ndarray:
    """Decode with JPEG draft mode (fast DCT-domain downscale), then resize the short side."""
    with Image.open(path) as img:
        if img.format == "JPEG":
            w, h = img.size
            s = short_side / min(w, h)
            img.draft("RGB", (int(w * s) + 1, int(h * s) + 1))
        img.load()
        rgb = np.asarray(img.convert("RGB"))
    return resize_short_side(rgb, short_side)


class _StepSampler(torch.utils.data.Sampler):
    """Global sample indices from ``start`` on (so resuming reproduces the same stream)."""

    def __init__(self, start: int):
        self.start = start

    def __iter__(self):
        k = self.start
        while True:
            yield k
            k += 1


# --- losses -----------------------------------------------------------------------------------

def adain_batch(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """AdaIN per sample: ``[N,C,H,W]`` content features to the stats of ``[N,C,H',W']`` style features."""
    c_mean, c_std = mean_std(content)
    s_mean, s_std = mean_std(style)
    return (content - c_mean[..., None, None]) / c_std[..., None, None] * s_std[..., None, None] \
        + s_mean[..., None, None]


def style_loss(out_feats: list[torch.Tensor], style_feats: list[torch.Tensor]) -> torch.Tensor:
    """Σ over relu1_1..relu4_1 of MSE(μ) + MSE(σ) (paper Eq. 12)."""
    loss = 0.0
    for o, s in zip(out_feats, style_feats):
        om, os_ = mean_std(o)
        sm, ss = mean_std(s)
        loss = loss + F.mse_loss(om, sm) + F.mse_loss(os_, ss)
    return loss


def normalized_content_loss(out: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """MSE of per-channel mean/std-normalised ``[N,C,h,w]`` features (SANet's content loss).

    Per channel this is ``2·(1 − ρ)`` with ρ the spatial Pearson correlation (up to the eps).
    """
    def norm(x: torch.Tensor) -> torch.Tensor:
        mean, std = mean_std(x)
        return (x - mean[..., None, None]) / std[..., None, None]

    return F.mse_loss(norm(out), norm(content))


def style_weight_at(cfg: TrainConfig, step: int) -> float:
    if step < cfg.warmup_steps:
        return 0.0
    if cfg.style_ramp > 0:
        return cfg.style_weight * min(1.0, (step - cfg.warmup_steps + 1) / cfg.style_ramp)
    return cfg.style_weight


def lr_at(cfg: TrainConfig, step: int) -> float:
    return cfg.lr / (1.0 + cfg.lr_decay * step)


# --- dead ReLU units ---------------------------------------------------------------------------

def relu_conv_indices(decoder: Decoder) -> list[int]:
    """Indices in ``decoder.layers`` of the convs whose output goes through a ReLU."""
    layers = list(decoder.layers)
    return [i for i, layer in enumerate(layers[:-1])
            if isinstance(layer, torch.nn.Conv2d) and isinstance(layers[i + 1], torch.nn.ReLU)]


@torch.no_grad()
def dead_units(decoder: Decoder, t: torch.Tensor) -> dict[int, torch.Tensor]:
    """Run ``[N,512,h,w]`` through the decoder; for each conv followed by a ReLU, the bool ``[C]``
    mask of output channels that are ≤ 0 at every position of every sample (layer index → mask)."""
    relu_convs, dead = set(relu_conv_indices(decoder)), {}
    x = t
    for index, layer in enumerate(decoder.layers):
        x = layer(x)
        if index in relu_convs:
            dead[index] = ~_fires(x)
    return dead


def _fires(conv_out: torch.Tensor) -> torch.Tensor:
    """``[N,C,h,w]`` → bool ``[C]``: the channel is > 0 somewhere in some sample."""
    return (conv_out > 0).flatten(2).any(2).any(0)


@torch.no_grad()
def revive_units(decoder: Decoder, opt: torch.optim.Adam, probe: torch.Tensor, seed: int) -> int:
    """Re-initialise the ReLU channels that never fire on the decoder input ``probe``: weights
    from PyTorch's default init (drawn from ``seed``), bias = minus the channel's mean response to
    ``probe``, so each fires on about half the positions (a plain default init can start dead:
    a third of the re-drawn channels in ``tests/test_train.py``, whose input is non-negative).
    Their Adam moments restart at 0 (first) and at the layer's mean over the live channels
    (second), so the first steps are neither huge nor frozen. One pass in layer order, so each
    layer is checked after the revivals before it changed its input. Returns the count."""
    relu_convs, revived = set(relu_conv_indices(decoder)), 0
    x = probe
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for index, layer in enumerate(decoder.layers):
            out = layer(x)
            if index in relu_convs:
                mask = ~_fires(out)
                if bool(mask.any()):
                    out = _redraw_channels(layer, opt, mask, x)
                    revived += int(mask.sum())
            x = out
    return revived


def _redraw_channels(conv: torch.nn.Conv2d, opt: torch.optim.Adam, mask: torch.Tensor,
                     conv_in: torch.Tensor) -> torch.Tensor:
    """Re-draw ``conv``'s ``mask`` output channels as :func:`revive_units` says; returns the new
    ``conv(conv_in)``."""
    fresh = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size).to(conv.weight.device)
    conv.weight[mask] = fresh.weight[mask]
    conv.bias[mask] = 0
    conv.bias[mask] = -conv(conv_in)[:, mask].mean((0, 2, 3))
    for param in (conv.weight, conv.bias):
        state = opt.state.get(param)
        if state:
            state["exp_avg"][mask] = 0
            live = state["exp_avg_sq"][~mask]
            state["exp_avg_sq"][mask] = live.mean() if live.numel() else 0
    return conv(conv_in)


# --- checkpoints ------------------------------------------------------------------------------

def save_checkpoint(ckpt_dir: Path, decoder: Decoder, opt: torch.optim.Adam, step: int,
                    cfg: TrainConfig, best: dict) -> None:
    """Decoder, Adam moments, step: separate files (each < 16 MB), the state file written last."""
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    params = list(decoder.layers.state_dict().keys())
    names = [n for n, _ in decoder.layers.named_parameters()]
    save_safetensors_atomic({k: v.float() for k, v in decoder.layers.state_dict().items()},
                            ckpt_dir / "decoder_fp32.safetensors")
    m1, m2 = {}, {}
    for name, p in zip(names, decoder.layers.parameters()):
        st = opt.state.get(p, {})
        if st:
            m1[name], m2[name] = st["exp_avg"], st["exp_avg_sq"]
    save_safetensors_atomic(m1, ckpt_dir / "adam_exp_avg.safetensors")
    save_safetensors_atomic(m2, ckpt_dir / "adam_exp_avg_sq.safetensors")
    state = {"step": step, "config": asdict(cfg), "best": best, "keys": params,
             "adam_steps": {n: float(opt.state[p]["step"]) for n, p in
                            zip(names, decoder.layers.parameters()) if opt.state.get(p)}}
    atomic_write(ckpt_dir / "state.json", lambda tmp: Path(tmp).write_text(json.dumps(state, indent=1)))


def load_checkpoint(ckpt_dir: Path, decoder: Decoder, opt: torch.optim.Adam) -> dict:
    state = json.loads((ckpt_dir / "state.json").read_text())
    decoder.layers.load_state_dict(load_state_dict_file(ckpt_dir / "decoder_fp32.safetensors"))
    m1 = load_state_dict_file(ckpt_dir / "adam_exp_avg.safetensors")
    m2 = load_state_dict_file(ckpt_dir / "adam_exp_avg_sq.safetensors")
    for name, p in decoder.layers.named_parameters():
        if name in m1:
            opt.state[p] = {"step": torch.tensor(state["adam_steps"][name]),
                            "exp_avg": m1[name].to(p.device), "exp_avg_sq": m2[name].to(p.device)}
    return state


# --- previews and plots -----------------------------------------------------------------------

def preview_pairs(cfg: TrainConfig, split: dict, n_content: int = 4, n_style: int = 4,
                  size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed held-out content and style images, centre-cropped squares: ``[n,3,size,size]`` each."""
    def load(folder, names):
        out = []
        for name in names:
            rgb = resize_short_side(load_image_rgb(Path(folder) / name), size)
            h, w = rgb.shape[:2]
            y, x = (h - size) // 2, (w - size) // 2
            out.append(to_tensor(rgb[y:y + size, x:x + size]))
        return torch.cat(out)
    return load(cfg.content, split["content"][:n_content]), load(cfg.style, split["style"][:n_style])


@torch.no_grad()
def render_grid(encoder, decoder, contents: torch.Tensor, styles: torch.Tensor) -> np.ndarray:
    """Stylized outputs only (rows: contents, columns: styles) as one uint8 RGB image."""
    decoder.eval()
    fc = encoder(contents)
    fs = encoder(styles)
    rows = []
    for i in range(contents.shape[0]):
        t = adain_batch(fc[i:i + 1].expand(styles.shape[0], -1, -1, -1), fs)
        out = decoder(t).clamp(0, 1)
        rows.append(torch.cat(list(out), dim=2))
    decoder.train()
    grid = torch.cat(rows, dim=1)
    return (grid.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


PLOT_COLOURS = ((0, 0, 0), (31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14))


def plot_losses(csv_path: Path, png_path: Path, keys: tuple[str, ...] | None = None) -> None:
    """Loss curves (log scale) drawn with PIL: ``keys`` (CSV columns; default total, content,
    λ·style, identity)."""
    from PIL import ImageDraw

    rows = list(csv.DictReader(open(csv_path)))
    if len(rows) < 2:
        return
    keys = list(zip(keys or ("loss", "content", "style_weighted", "identity"), PLOT_COLOURS))
    w, h, pad = 900, 500, 50
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    steps = [int(r["step"]) for r in rows]
    vals = {k: [max(float(r[k]), 1e-6) for r in rows] for k, _ in keys}
    lo = math.log10(min(min(v) for v in vals.values()))
    hi = math.log10(max(max(v) for v in vals.values()))
    hi = hi if hi > lo else lo + 1
    x_of = lambda s: pad + (s - steps[0]) / max(1, steps[-1] - steps[0]) * (w - 2 * pad)  # noqa: E731
    y_of = lambda v: h - pad - (math.log10(v) - lo) / (hi - lo) * (h - 2 * pad)  # noqa: E731
    d.rectangle([pad, pad, w - pad, h - pad], outline=(128, 128, 128))
    for k, color in keys:
        pts = [(x_of(s), y_of(v)) for s, v in zip(steps, vals[k])]
        d.line(pts, fill=color, width=1)
    legend = "  ".join(k for k, _ in keys)
    d.text((pad, 10), f"log10 loss {lo:.2f}..{hi:.2f}  steps {steps[0]}..{steps[-1]}   {legend}",
           fill=(0, 0, 0))
    for i, (k, color) in enumerate(keys):
        d.text((pad + 10 + 150 * i, 28), k, fill=color)
    atomic_write(png_path, lambda tmp: img.save(tmp, format="PNG"))


# --- the loop ---------------------------------------------------------------------------------

def train(cfg: TrainConfig, resume: bool = False) -> Path:
    """Run (or resume) training; returns the path of the final ``decoder.safetensors``."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out / "checkpoint"
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    device = torch.device(cfg.device)
    torch.manual_seed(cfg.seed)

    split = load_or_make_split(cfg)
    held_c, held_s = set(split["content"]), set(split["style"])
    content = [p for p in list_images(cfg.content) if _rel(p, cfg.content) not in held_c]
    style = [p for p in list_images(cfg.style) if _rel(p, cfg.style) not in held_s]
    if not content or not style:
        raise SystemExit(f"no training images in {cfg.content} or {cfg.style}")

    encoder = load_encoder().to(device)
    decoder = Decoder().to(device)
    resuming = resume and (ckpt_dir / "state.json").is_file()
    if cfg.init and not resuming:  # --init seeds a fresh run; a checkpoint, once written, wins
        decoder.layers.load_state_dict({k: v.float() for k, v in load_state_dict_file(cfg.init).items()})
    opt = torch.optim.Adam(decoder.parameters(), lr=cfg.lr)
    step, best = 0, {}
    if resuming:
        state = load_checkpoint(ckpt_dir, decoder, opt)
        step, best = state["step"], state.get("best", {})
        print(f"resumed from {ckpt_dir} at step {step}", file=sys.stderr)
    decoder.train()

    data = torch.utils.data.DataLoader(
        CropDataset(content, style, cfg.resize, cfg.crop, cfg.seed), batch_size=cfg.batch,
        sampler=_StepSampler(step * cfg.batch), num_workers=cfg.workers,
        persistent_workers=cfg.workers > 0, prefetch_factor=4 if cfg.workers > 0 else None)
    preview_c, preview_s = preview_pairs(cfg, split)
    preview_c, preview_s = preview_c.to(device), preview_s.to(device)

    log_path = out / "log.csv"
    fields = ["step", "loss", "content", "style", "style_weighted", "identity", "lambda", "lr",
              "sec_per_step", "skipped", "content_norm", "dead_units", "revived"]
    if not log_path.exists():
        with open(log_path, "w", newline="") as fh:
            csv.writer(fh).writerow(fields)

    stop = {"flag": False}

    def request_stop(signum, frame):  # noqa: ARG001
        stop["flag"] = True
        print("\nstopping: writing a checkpoint…", file=sys.stderr)

    old_handlers = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    deadline = time.time() + cfg.max_minutes * 60 if cfg.max_minutes > 0 else math.inf
    n_id = int(round(cfg.batch * cfg.identity_fraction))
    skipped_total, acc, n_acc, t_last = 0, None, 0, time.time()
    probe = probe_features(encoder, content, style, cfg, device) if cfg.revive_every > 0 else None
    last_row = _last_log_row(log_path) if step else None
    dead_count, revived_total = "", int((last_row or {}).get("revived") or 0)  # cumulative over resumes

    from tqdm import tqdm

    bar = tqdm(total=cfg.iters, initial=step, desc="train", dynamic_ncols=True,
               disable=not sys.stderr.isatty() and False)
    it = iter(data)
    try:
        while step < cfg.iters and not stop["flag"] and time.time() < deadline:
            c_u8, s_u8, skipped = next(it)
            skipped_total += int(skipped.sum())
            c = c_u8.to(device).float() / 255.0
            s = s_u8.to(device).float() / 255.0
            lam = style_weight_at(cfg, step)
            warm = step < cfg.warmup_steps
            if n_id and not warm:
                s = torch.cat([c[:n_id], s[n_id:]])
            for g in opt.param_groups:
                g["lr"] = lr_at(cfg, step)

            with torch.no_grad():
                fc = encoder(c)
                s_feats = encoder.taps(s) if lam > 0 else None
                t = fc if warm else adain_batch(fc, s_feats[-1] if s_feats else encoder(s))
            out_img = decoder(t)
            o_feats = encoder.taps(out_img)
            l_content = F.mse_loss(o_feats[-1], t)
            l_style = style_loss(o_feats, s_feats) if s_feats is not None else torch.zeros(())
            ids = slice(0, c.shape[0]) if warm else slice(0, n_id)
            l_id = F.mse_loss(out_img[ids], c[ids]) if (warm or n_id) and cfg.identity_weight > 0 \
                else torch.zeros(())
            l_norm = normalized_content_loss(o_feats[-1], fc) if cfg.norm_content_weight > 0 \
                else torch.zeros(())
            loss = cfg.content_weight * l_content + lam * l_style + cfg.identity_weight * l_id \
                + cfg.norm_content_weight * l_norm
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            bar.update(1)

            vals = torch.stack([loss.detach(), l_content.detach(), l_style.detach(), l_id.detach(),
                                l_norm.detach()])
            acc = vals if acc is None else acc + vals
            n_acc += 1
            if probe is not None and step % cfg.revive_every == 0:
                dead = dead_units(decoder, probe)
                dead_count = sum(int(m.sum()) for m in dead.values())
                revived_total += revive_units(decoder, opt, probe, seed=cfg.seed * 1_000_003 + step)
            if step % cfg.log_every == 0 or step == cfg.iters:
                n, n_acc = n_acc, 0
                mean = (acc / n).tolist()
                acc = None
                dt = (time.time() - t_last) / n
                t_last = time.time()
                row = [step, *[f"{v:.5f}" for v in mean[:3]], f"{lam * mean[2]:.5f}", f"{mean[3]:.5f}",
                       f"{lam:.3f}", f"{lr_at(cfg, step):.3g}", f"{dt:.3f}", skipped_total,
                       f"{mean[4]:.5f}", dead_count, revived_total]
                with open(log_path, "a", newline="") as fh:
                    csv.writer(fh).writerow(row)
                bar.set_postfix(loss=f"{mean[0]:.3f}", c=f"{mean[1]:.3f}", s=f"{mean[2]:.3f}",
                                id=f"{mean[3]:.4f}", lam=f"{lam:.1f}")
            if step % cfg.ckpt_every == 0:
                save_checkpoint(ckpt_dir, decoder, opt, step, cfg, best)
            if step % cfg.preview_every == 0:
                grid = render_grid(encoder, decoder, preview_c, preview_s)
                Image.fromarray(grid).save(out / f"preview_{step:06d}.png")
                Image.fromarray(grid).save(out / "preview_latest.png")
                plot_losses(log_path, out / "losses.png")
    finally:
        bar.close()
        for s, h in old_handlers.items():
            signal.signal(s, h)
        save_checkpoint(ckpt_dir, decoder, opt, step, cfg, best)
        if skipped_total:
            print(f"skipped {skipped_total} unreadable image(s)", file=sys.stderr)

    final = out / "decoder.safetensors"
    meta = {"steps": str(step), "crop": str(cfg.crop), "resize": str(cfg.resize),
            "batch": str(cfg.batch), "data": f"{len(content)} content, {len(style)} style "
            f"(held out {len(held_c)}/{len(held_s)})", "encoder_id": encoder_id(),
            "config": json.dumps(asdict(cfg))}
    last = _last_log_row(log_path)
    if last:
        meta["losses"] = json.dumps({k: last[k] for k in ("content", "style", "identity")})
    save_decoder(decoder, final, meta)
    plot_losses(log_path, out / "losses.png")
    return final


@torch.no_grad()
def probe_features(encoder, content: list[Path], style: list[Path], cfg: TrainConfig, device,
                   count: int = 8) -> torch.Tensor:
    """Fixed probe for :func:`dead_units`: ``count`` training crops (seed + 1), each stylized with
    a training style crop and also reconstructed: ``[2·count,512,h,w]`` decoder inputs."""
    data = CropDataset(content, style, cfg.resize, cfg.crop, cfg.seed + 1)
    items = [data[i] for i in range(count)]
    c = torch.stack([it[0] for it in items]).to(device).float() / 255.0
    s = torch.stack([it[1] for it in items]).to(device).float() / 255.0
    fc = encoder(c)
    return torch.cat([adain_batch(fc, encoder(s)), fc])


def _last_log_row(path: Path) -> dict | None:
    if not path.exists():
        return None
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return rows[-1] if rows else None


IMAGE_SUFFIXES = IMAGE_SUFFIXES  # re-exported for the CLI's help text


def export_checkpoint(run_dir: str | Path, dest: str | Path, extra: dict | None = None) -> Path:
    """Write the run's latest checkpoint as an fp16 ``decoder.safetensors`` with metadata."""
    run_dir = Path(run_dir)
    state = json.loads((run_dir / "checkpoint" / "state.json").read_text())
    decoder = Decoder(load_state_dict_file(run_dir / "checkpoint" / "decoder_fp32.safetensors"))
    cfg = state["config"]
    meta = {"steps": str(state["step"]), "crop": str(cfg["crop"]), "resize": str(cfg["resize"]),
            "batch": str(cfg["batch"]), "encoder_id": encoder_id(), "config": json.dumps(cfg)}
    last = _last_log_row(run_dir / "log.csv")
    if last:
        meta["losses"] = json.dumps({k: last[k] for k in ("content", "style", "identity")})
    meta.update(extra or {})
    save_decoder(decoder, dest, meta)
    return Path(dest)
