"""Learning one style for the Real-time network (issue #28).

The style (or a blend of styles with weights) is known before the first frame. :class:`StyleLearner`
teaches a copy of the base lite network to paint *that* style, on a CPU, in minutes:

1. **Teacher targets** (once per photo): the VGG model's painting of each content photo at α = 1
   without the palette (the palette is applied after either network at run time), at the
   processing size (shorter side ``recipe.size``), and its relu4_1 features.
2. **Student**: the base network's weights, with two normalise-then-modulate levels in the
   up-path (``LiteConfig.up_norms``; their statistics start at the first batch's own, so the
   student starts as the base network) and the style's :class:`~engine.nets.lite.LiteStyle` as
   parameters; every weight moves (``recipe``).
3. **Steps**: random ``(crop + 2·margin)²`` windows of the photos with their margin mirrored as at
   run time (so a window at the picture's edge sees what the network sees there: a reflected
   margin, inside the window real context), batch ``recipe.batch``, Adam; the loss terms of
   :mod:`engine.learn.losses` weighted by the recipe.

Work comes in small units (:meth:`StyleLearner.step`: one teacher target or one training step),
so a caller can pause between any two, stop at once, and show progress.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from engine.media.imageio import resize_short_side, to_tensor
from engine.nets.lite import LiteNet, LiteStyle, GlobalModulation, channel_stats
from engine.nets.lite_runner import _weights_digest
from engine.runtime.learned import RECIPE_VERSION, LearnedNet, learned_key, now_iso, style_digest, teacher_id
from .losses import PatchDiscriminator, gram_loss, mean_std_loss, random_patches, style_targets


@dataclass(frozen=True)
class Recipe:
    """How a style is learned; ``name`` keys the cache (change it when the recipe changes)."""

    name: str = RECIPE_VERSION
    steps: int = 400
    batch: int = 4
    crop: int = 128  # the region the style, content and perceptual terms read
    margin: int = 16  # real context around it; the pixel term reads it too, but for a `ring`
    ring: int | None = 4  # pixels of the window's edge the pixel term ignores (None: it reads only `crop`)
    # the style terms read the crop less this many pixels on each side: with 0 the network learned
    # to paint a stripe ~4 px inside the picture's left edge (where the stride-2 convs' zero padding
    # tells it where it is) that raised the style statistics (QUALITY.md, "Learning one style")
    style_inset: int = 16
    size: int = 256  # photos' shorter side (the app's processing size)
    photos: int = 24  # at most this many content photos get teacher targets
    lr: float = 2e-4
    style_lr: float = 1e-3  # the LiteStyle tensors (feature units, larger steps)
    pixel: float = 10.0
    content: float = 0.0  # relu4_1 against the teacher's: as good, 2-3× the step cost (QUALITY.md)
    style: float = 10.0
    perceptual: float = 1.0  # relu1_1, relu2_1 against the teacher's
    gram: float = 0.0
    adversarial: float = 0.0
    style_layers: int = 3  # VGG taps the style terms read: relu1_1 … relu{n}_1
    up_norms: bool = True
    # capacity the learned copy grows (identity at first, so it starts as the base network):
    # residual blocks at ¼ and at ½ (LiteConfig.half_blocks) on top of the base network's
    extra_up_blocks: int = 0
    half_blocks: int = 0

    def vgg_depth(self) -> int:
        """How many VGG taps a step needs for the student's output (4: up to relu4_1)."""
        return 4 if self.content > 0 else max(self.style_layers if (self.style or self.gram) else 0,
                                              2 if self.perceptual else 0)

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self).items())


DEFAULT_RECIPE = Recipe()


class _RecordUpLevels(GlobalModulation):
    """The base network's modulation, recording (and passing through) the up-path levels 3, 4."""

    def __init__(self, style: LiteStyle, n: int, device):
        super().__init__(style, 1.0, n, device)
        self.recorded: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def adain(self, level: int, f: torch.Tensor) -> torch.Tensor:
        if level < len(self.style.means):
            return super().adain(level, f)
        mean, var = channel_stats(f)
        self.recorded[level] = (mean.mean(0, keepdim=True), (var.mean(0, keepdim=True) + 1e-5).sqrt())
        return f


def _taps(encoder, x: torch.Tensor, depth: int) -> list[torch.Tensor]:
    """The first ``depth`` VGG taps of ``x`` (relu1_1 … relu{depth}_1)."""
    feats = []
    for block in encoder._slices[:depth]:
        x = block(x)
        feats.append(x)
    return feats


class StyleLearner:
    """Learns ``styles`` (``HxWx3`` uint8 RGB arrays or image paths) blended by ``weights`` from
    ``contents`` (``HxWx3`` uint8 RGB photos or frames) for the base lite network.

    ``teacher``: a VGG :class:`~engine.runtime.stylizer.Stylizer` (made here if None);
    ``base``: ``(LiteNet, base_id)`` (default: the shipped Real-time weights)."""

    def __init__(self, styles: list, weights=None, contents: list[np.ndarray] = (), recipe: Recipe = DEFAULT_RECIPE,
                 teacher=None, base: tuple[LiteNet, str] | None = None, seed: int = 0, label: str = ""):
        if not contents:
            raise ValueError("learning a style needs at least one content picture")
        from engine.media.imageio import load_image_rgb
        from engine.runtime.stylizer import Stylizer

        self.recipe, self.label = recipe, label
        self.style_rgbs = [load_image_rgb(s) if not isinstance(s, np.ndarray) else s for s in styles]
        self.digests = [style_digest(s) for s in styles]
        self.weights = torch.tensor([1.0] * len(styles) if weights is None else [float(w) for w in weights])
        self.weights = self.weights / self.weights.sum()
        self.teacher = teacher if teacher is not None else Stylizer(device="cpu", model="vgg")
        self.teacher.stabilize = False  # each photo on its own: no temporal state between them
        self.teacher.set_styles(self.style_rgbs, self.weights.tolist())
        self.encoder = self.teacher.encoder
        if base is None:
            from engine.nets.lite import load_lite, lite_weights

            net, _ = load_lite(lite_weights())
            base = (net, _weights_digest(net))
        self.base_net, self.base_id = base
        self.teacher_id = teacher_id()
        self.key = learned_key(self.digests, self.weights.tolist(), self.base_id, self.teacher_id, recipe.name)
        self.contents = [self._fit(c) for c in list(contents)[:recipe.photos]]
        self.gen = torch.Generator().manual_seed(seed)
        self.teachers: list[tuple[torch.Tensor, torch.Tensor]] = []  # (image [1,3,H+2m,W+2m], relu4_1 [1,512,H/8,W/8])
        self.padded: list[np.ndarray] = []  # the content pictures with the mirrored margin
        self.student: LiteNet | None = None
        self.steps_done = 0
        self.seconds = 0.0
        self.last_losses: dict[str, float] = {}

    # --- progress -----------------------------------------------------------------------------

    @property
    def total_units(self) -> int:
        return len(self.contents) + self.recipe.steps

    @property
    def units_done(self) -> int:
        return len(self.teachers) + self.steps_done

    @property
    def done(self) -> bool:
        return self.steps_done >= self.recipe.steps

    @property
    def progress(self) -> float:
        """Fraction of the work done, in [0, 1] (a teacher target weighs as one step)."""
        return self.units_done / max(1, self.total_units)

    def step(self) -> bool:
        """One unit of work (a teacher target, else a training step); False once done."""
        if self.done:
            return False
        start = time.perf_counter()
        if len(self.teachers) < len(self.contents):
            self._teach(self.contents[len(self.teachers)])
        else:
            self._train_step()
        self.seconds += time.perf_counter() - start
        return not self.done

    # --- teacher ------------------------------------------------------------------------------

    def _fit(self, rgb: np.ndarray) -> np.ndarray:
        """A content picture at the processing size, at least one crop in each direction."""
        window = self.recipe.crop
        out = resize_short_side(np.ascontiguousarray(rgb[..., :3]), self.recipe.size)
        if min(out.shape[:2]) < window:
            out = resize_short_side(out, window)
        return out

    @torch.no_grad()
    def _teach(self, rgb: np.ndarray) -> None:
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255.0
        y = self.teacher.stylize_tensor(x.to(self.teacher.dtype), alpha=1.0, preserve_color=False,
                                        palette=False).float()
        m = self.recipe.margin  # windows reach the picture's edge, its margin mirrored as at run time
        self.padded.append(np.pad(rgb, ((m, m), (m, m), (0, 0)), mode="reflect"))
        self.teachers.append((F.pad(y, (m, m, m, m), mode="reflect"), self.encoder(y)))

    # --- student ------------------------------------------------------------------------------

    def _window_batch(self):
        """``batch`` aligned windows: photos ``[B,3,W,W]``, teacher images ``[B,3,W,W]``, teacher
        relu4_1 of the central ``crop²`` ``[B,512,crop/8,crop/8]``."""
        r = self.recipe
        win = r.crop + 2 * r.margin
        xs, ys, fs = [], [], []
        for _ in range(r.batch):
            i = int(torch.randint(0, len(self.contents), (1,), generator=self.gen))
            y, feat = self.teachers[i]  # both padded by the margin
            h, w = y.shape[-2:]
            top = int(torch.randint(0, (h - win) // 8 + 1, (1,), generator=self.gen)) * 8
            left = int(torch.randint(0, (w - win) // 8 + 1, (1,), generator=self.gen)) * 8
            photo = torch.from_numpy(self.padded[i][top:top + win, left:left + win]).permute(2, 0, 1).float() / 255
            xs.append(photo)
            ys.append(y[0, :, top:top + win, left:left + win])
            ft, fl = top // 8, left // 8  # the window's centre crop starts at (top, left) of the picture
            fs.append(feat[0, :, ft:ft + r.crop // 8, fl:fl + r.crop // 8])
        return torch.stack(xs), torch.stack(ys), torch.stack(fs)

    def _start_student(self, x: torch.Tensor) -> None:
        r = self.recipe
        config = replace(self.base_net.config, up_norms=r.up_norms,
                         half_blocks=self.base_net.config.half_blocks + r.half_blocks,
                         up_blocks=self.base_net.config.up_blocks + r.extra_up_blocks)
        student = LiteNet(config)
        missing, unexpected = student.load_state_dict(self.base_net.state_dict(), strict=False)
        grown = [k for k in missing if k.startswith(("half_blocks.", "up_blocks."))]
        if unexpected or len(grown) != len(missing):
            raise ValueError(f"the base network does not fit the learned copy: {unexpected or missing}")
        paintings = [to_tensor(resize_short_side(rgb, self.teacher.style_side)) for rgb in self.style_rgbs]
        with torch.no_grad():
            styles = [student.encode_style(p[..., : p.shape[-2] // 16 * 16, : p.shape[-1] // 16 * 16])
                      for p in paintings]
            from engine.nets.lite import blend_lite

            style = blend_lite(styles, self.weights) if len(styles) > 1 else styles[0]
            if r.up_norms:
                record = _RecordUpLevels(style, x.shape[0], x.device)
                student.decode(student.encode(x, record), record)
                style = LiteStyle(style.means + (record.recorded[3][0], record.recorded[4][0]),
                                  style.stds + (record.recorded[3][1], record.recorded[4][1]),
                                  style.film_scale, style.film_shift)
        self.style_params = [torch.nn.Parameter(t.detach().clone()) for t in style.tensors().values()]
        self._style_names = list(style.tensors().keys())
        self.student = student.train()
        groups = [{"params": list(student.parameters()), "lr": r.lr},
                  {"params": self.style_params, "lr": r.style_lr}]
        self.opt = torch.optim.Adam(groups)
        with torch.no_grad():
            taps = [self.encoder.taps(p) for p in paintings]
        self.style_targets = style_targets([[t[layer] for t in taps] for layer in range(4)], self.weights)
        self.disc = PatchDiscriminator() if r.adversarial > 0 else None
        if self.disc is not None:
            self.disc_opt = torch.optim.Adam(self.disc.parameters(), lr=4e-4, betas=(0.5, 0.999))

    def current_style(self) -> LiteStyle:
        return LiteStyle.from_tensors(dict(zip(self._style_names, self.style_params)))

    def _train_step(self) -> None:
        r = self.recipe
        x, y_t, f_t = self._window_batch()
        if self.student is None:
            self._start_student(x)
        out = self.student(x, self.current_style(), 1.0)
        m = r.margin
        out_c = out[..., m:m + r.crop, m:m + r.crop]
        y_c = y_t[..., m:m + r.crop, m:m + r.crop]
        # the pixel term also reads the margin: a network trained with it on the crop alone learned
        # to paint stripes just inside the crop's left edge (where the zero padding tells it where it
        # is) that raise the style statistics; the margin's pixels make such stripes cost
        k = r.ring
        terms = {"pixel": F.l1_loss(out_c, y_c) if k is None else
                 F.l1_loss(out[..., k:out.shape[-2] - k, k:out.shape[-1] - k], y_t[..., k:y_t.shape[-2] - k, k:y_t.shape[-1] - k])}
        depth = r.vgg_depth()
        feats = _taps(self.encoder, out_c, depth) if depth else []
        k = max(0, min(r.style_inset, (r.crop - 64) // 2)) // 8 * 8  # at least 64² left for the style taps
        inner = _taps(self.encoder, out_c[..., k:r.crop - k, k:r.crop - k], r.style_layers) \
            if k and (r.style or r.gram) else feats
        if r.content:
            terms["content"] = F.mse_loss(feats[3], f_t)
        if r.style:
            terms["style"] = mean_std_loss(inner[:r.style_layers], self.style_targets)
        if r.gram:
            terms["gram"] = gram_loss(inner[:r.style_layers], self.style_targets)
        if r.perceptual:
            with torch.no_grad():
                t_feats = _taps(self.encoder, y_c, 2)
            terms["perceptual"] = sum(F.mse_loss(a, b) for a, b in zip(feats[:2], t_feats))
        if self.disc is not None:
            fake, real = random_patches(out_c, y_c, 32, 16, self.gen)
            d_loss = F.relu(1 - self.disc(real)).mean() + F.relu(1 + self.disc(fake.detach())).mean()
            self.disc_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            self.disc_opt.step()
            terms["adversarial"] = -self.disc(fake).mean()
        loss = sum(getattr(r, k) * v for k, v in terms.items())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.steps_done += 1
        self.last_losses = {k: float(v.detach()) for k, v in terms.items()}
        self.last_losses["loss"] = float(loss.detach())
        if not math.isfinite(self.last_losses["loss"]):
            raise FloatingPointError(f"learning diverged at step {self.steps_done}: {self.last_losses}")

    # --- result -------------------------------------------------------------------------------

    def result(self) -> LearnedNet:
        """The learned network as it is now (a copy; learning may go on)."""
        if self.student is None:
            raise RuntimeError("no training step has run yet")
        net = copy.deepcopy(self.student).eval().requires_grad_(False)
        style = self.current_style().map(lambda t: t.detach().clone())
        meta = {"key": self.key, "label": self.label, "base_id": self.base_id, "teacher_id": self.teacher_id,
                "recipe": self.recipe.name, "recipe_settings": asdict(self.recipe), "styles": self.digests,
                "weights": [round(float(w), 6) for w in self.weights], "steps": self.steps_done,
                "photos": len(self.contents), "seconds": round(self.seconds, 1), "created": now_iso()}
        return LearnedNet(net, style, meta)


__all__ = ["DEFAULT_RECIPE", "Recipe", "StyleLearner"]
