"""Safe loading and atomic saving of weight files (safetensors, or plain-tensor torch pickles)."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from engine.errors import InputError, check_input_file
from engine.files import atomic_write


def load_state_dict_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load ``{name: tensor}`` from ``.safetensors`` or a torch pickle of plain tensors.

    Pickles go through ``torch.load(weights_only=True)``: anything but tensors and plain
    containers is refused. Raises :class:`InputError` naming the file and the reason.
    """
    path = Path(path)
    check_input_file(path, "a weight file")
    with open(path, "rb") as fh:
        head = fh.read(16)
    try:
        if path.suffix == ".safetensors" or (len(head) >= 9 and head[8:9] == b"{"):
            from safetensors.torch import load_file

            sd = load_file(str(path))
        else:
            sd = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise InputError(path, "refused: the pickle holds more than plain tensors "
                               f"({str(exc).splitlines()[0][:120]})") from None
    except Exception as exc:  # noqa: BLE001 - any parse failure is bad input
        raise InputError(path, f"not a readable weight file ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0][:120] if str(exc) else 'unreadable'})") from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise InputError(path, "refused: expected a mapping of names to tensors")
    return {str(k): v for k, v in sd.items()}


def check_state_dict(sd: dict[str, torch.Tensor], expected: dict[str, torch.Tensor],
                     source: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Check names and shapes against ``expected``; return float32 copies in its key order."""
    missing = [k for k in expected if k not in sd]
    if missing:
        raise InputError(source, f"wrong weights: missing {len(missing)} tensors (e.g. {missing[0]!r})")
    unexpected = [k for k in sd if k not in expected]
    if unexpected:
        raise InputError(source, f"wrong weights: unexpected tensor {unexpected[0]!r}")
    for k, ref in expected.items():
        if tuple(sd[k].shape) != tuple(ref.shape):
            raise InputError(source, f"wrong weights: {k} has shape {tuple(sd[k].shape)}, "
                                     f"expected {tuple(ref.shape)}")
        if not sd[k].is_floating_point():
            raise InputError(source, f"wrong weights: {k} is {sd[k].dtype}, expected floats")
        if not torch.isfinite(sd[k]).all():
            raise InputError(source, f"wrong weights: {k} contains NaN or infinity")
    return {k: sd[k].float() for k in expected}


def save_safetensors_atomic(sd: dict[str, torch.Tensor], path: str | os.PathLike,
                            metadata: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous().cpu() for k, v in sd.items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))
