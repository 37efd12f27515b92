"""``bench --profile`` on a CUDA stylizer profiles an eager frame by device time (a replayed
graph would show only its launch). No GPU here: a stand-in pipeline says it is on CUDA and
records how it was called."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.tools.bench import profile_frame


class CudaLikePipe:
    device = torch.device("cuda")

    def __init__(self):
        self.use_cuda_graph = True
        self.graph_flags: list[bool] = []

    def __call__(self, frame):
        self.graph_flags.append(self.use_cuda_graph)
        return (torch.from_numpy(frame).float() * 0.5).to(torch.uint8).numpy()


@pytest.mark.filterwarnings("ignore:CUDA is not available")
def test_cuda_profile_is_eager_and_by_device_time(monkeypatch, capsys):
    synced = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: synced.append(device))
    pipe = CudaLikePipe()
    out = profile_frame(pipe, np.zeros((16, 16, 3), np.uint8))
    assert pipe.graph_flags == [False, False]  # one untimed eager frame, then the profiled one
    assert pipe.use_cuda_graph is True  # restored for the timed runs
    assert out["time"] == "device" and out["eager"] and synced == [pipe.device]
    assert "self device time by kind" in capsys.readouterr().out


def test_cpu_profile_is_by_cpu_time(capsys):
    class CpuPipe(CudaLikePipe):
        device = torch.device("cpu")

    pipe = CpuPipe()
    out = profile_frame(pipe, np.zeros((16, 16, 3), np.uint8))
    assert pipe.graph_flags == [True] and out["time"] == "CPU" and not out["eager"]
    assert out["self_ms_by_kind"]["other"] >= 0 and "self CPU time by kind" in capsys.readouterr().out
