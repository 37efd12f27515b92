"""Benchmark (``main.py bench``): steady-state frames/s and latency of the per-frame pipeline, per mode.

Each timed frame is frame-in → frame-out: an ``HxWx3`` uint8 BGR numpy frame goes in, an
``HxWx3`` uint8 BGR numpy frame comes out (pre/post-processing and host↔device copies
included). Modes (see :mod:`engine.nets.reference`):

- ``reference``: pytorch-AdaIN ``test.py`` per frame (fp32, eager, style re-encoded per frame,
  host-side PIL/``ToTensor`` pre-processing);
- ``cached``: the same with the style statistics computed once;
- ``fast``: the app's path, ``Stylizer(...)(frame)`` (``engine.nets.fast``; on CUDA fp16 + a
  captured graph per size);
- ``stabilized``: the app's path with the temporal stabilizer on (``engine.runtime.stabilize``); its
  rows also give the stabilizer's own time per frame (``stage ms``);
- ``lite`` / ``lite-torch`` / ``lite-onnx`` (optional): the lite network (issue #19): the app's
  path (OpenVINO on the CPU when it loads), eager torch, ONNX Runtime (:mod:`engine.tools.bench_lite`);
- ``person``, ``person-split`` (optional): ``stabilized`` with the Person control on (keep the person; the
  person in a second style): each frame also goes to the person-mask thread and is composited
  (``engine.runtime.person_style.LivePerson``), as in the app; ``stage ms`` is then the mask
  thread's time per frame (segmentation + smoothing, overlapped with the network).

After warm-up the modes run round-robin, one frame each per round, so a change in background
load hits every mode alike. GFLOP/frame is counted from the model by
``torch.utils.flop_counter.FlopCounterMode`` (conv/matmul FLOPs of one frame of that mode).
The background CPU load (other processes, in cores) is sampled from ``/proc/stat``.
"""
from __future__ import annotations

import datetime
import json
import math
import os
import platform
import resource
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from engine.errors import InputError
from engine.nets.reference import ReferencePipeline
from engine.tools.bench_lite import LITE_MODES, build_lite_pipelines, torch_frame_path
from engine.tools.synthetic import synthetic_frames, synthetic_style

MODES = ("reference", "cached", "fast", "stabilized", "lite")  # the default set
PERSON_MODES = ("person", "person-split")
# optional: lite-onnx needs onnxruntime, the person modes the segmentation packages
ALL_MODES = MODES + tuple(m for m in LITE_MODES if m not in MODES) + PERSON_MODES
NAMED_SIZES = {"720p": (720, 1280), "1080p": (1080, 1920), "480p": (480, 854), "4k": (2160, 3840)}
FLOP_PER_CYCLE_FP32 = {"avx512": 64, "avx2": 32, "avx": 16}  # per core: 2 FMA units × lanes × 2
# Dense fp16 tensor-core peaks (TFLOP/s) from the vendors' data sheets, for the FLOP floor.
GPU_PEAK_FP16_TFLOPS = {"H200": 989.0, "H100 SXM": 989.0, "H100 NVL": 835.0, "H100 PCIe": 756.0,
                        "H100": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0, "T4": 65.0}


@dataclass
class BenchOptions:
    """Settings of one ``bench`` run (the command line's options, validated by ``engine.cli.bench``)."""

    sizes: list[str] = field(default_factory=lambda: ["256", "512", "720p", "1080p"])
    modes: list[str] = field(default_factory=lambda: list(MODES))  # lite-onnx and the person modes on request
    frames: int | None = None  # timed frames per mode and size (None: as many as fit ``budget``)
    budget: float = 30.0  # seconds of timed frames per size when ``frames`` is None
    warmup: int | None = None  # untimed frames per mode (None: 1 on CPU, 10 on CUDA)
    threads: int | None = None
    pad_mode: str | None = None
    alpha: float = 1.0
    style: str | None = None  # style image (None: synthetic, 5:4)
    style_size: int = 512
    sweep: bool = False
    profile: bool = False
    json: str | None = None
    device: str = "auto"
    decoder: str | None = None
    encoder: str | None = None
    lite: str | None = None  # lite weights (None: models/lite.safetensors, random if missing)
    learn: bool = True  # lite modes: a network learned for `style` (main.py learn) when one is cached


def parse_size(text: str) -> tuple[int, int]:
    """``"720p"`` → (720, 1280); ``"512"`` → (512, 512); ``"640x480"`` → (480, 640) — (H, W)."""
    key = text.strip().lower()
    if key in NAMED_SIZES:
        return NAMED_SIZES[key]
    try:
        if "x" in key:
            w, h = (int(v) for v in key.split("x"))
        else:
            h = w = int(key)
    except ValueError:
        raise InputError(None, f"bad size {text!r}: use N, WxH, 480p, 720p, 1080p or 4k") from None
    if not (32 <= h <= 4096 and 32 <= w <= 4096):
        raise InputError(None, f"size {text!r} out of range: each side must be 32..4096")
    return h, w


# --- hardware facts ----------------------------------------------------------------------------

def cpu_info() -> dict:
    """CPU model, core count, clock (MHz, as reported), SIMD level and fp32 FMA peak (GFLOP/s)."""
    model, mhz, flags = platform.processor() or "unknown", None, ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                name, _, value = line.partition(":")
                name, value = name.strip(), value.strip()
                if name == "model name" and model in ("unknown", "x86_64", ""):
                    model = value
                elif name == "cpu MHz" and mhz is None:
                    mhz = float(value)
                elif name == "flags" and not flags:
                    flags = value
    except OSError:
        pass
    cores = os.cpu_count() or 1
    simd = next((s for s in ("avx512", "avx2", "avx") if (s + "f" if s == "avx512" else s) in flags.split()), None)
    per_cycle = FLOP_PER_CYCLE_FP32.get(simd, 8) if "fma" in flags.split() or simd == "avx512" else 8
    peak = cores * (mhz or 0) / 1000 * per_cycle if mhz else None
    return {"model": model, "cores": cores, "mhz": mhz, "simd": simd, "flop_per_cycle": per_cycle,
            "peak_gflops_fp32": peak}


def gpu_peak_tflops(name: str) -> float | None:
    for key, value in GPU_PEAK_FP16_TFLOPS.items():
        if all(part in name for part in key.split()):
            return value
    return None


class LoadMeter:
    """Average CPU cores kept busy by *other* processes between ``start()`` and ``stop()``."""

    def start(self) -> "LoadMeter":
        self._t, self._busy, self._own = time.perf_counter(), _busy_seconds(), _own_cpu_seconds()
        return self

    def stop(self) -> float | None:
        wall = time.perf_counter() - self._t
        busy = _busy_seconds()
        if busy is None or self._busy is None or wall <= 0:
            return None
        return max(0.0, (busy - self._busy - (_own_cpu_seconds() - self._own)) / wall)


def _busy_seconds() -> float | None:
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


# --- measuring ---------------------------------------------------------------------------------

@dataclass
class ModeResult:
    mode: str
    size: str
    height: int
    width: int
    frames: int
    fps: float
    p50_ms: float
    p95_ms: float
    mean_ms: float
    gflop_per_frame: float
    tflops: float
    speedup_vs_reference: float | None = None
    percent_of_peak: float | None = None
    floor_ms: float | None = None
    stage_ms: float | None = None  # stabilized: the stabilizer itself; person modes: the mask thread
    latencies_ms: list[float] = field(default_factory=list)


def count_gflop(fn, *args) -> float:
    """Conv/matmul GFLOP of one call of ``fn(*args)``, counted by FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    from engine.nets.fast import fused_flop_formulas

    counter = FlopCounterMode(display=False, custom_mapping=fused_flop_formulas())
    with counter:
        fn(*args)
    return counter.get_total_flops() / 1e9


def build_pipelines(args, device: torch.device, style_rgb: np.ndarray) -> dict:
    from engine.nets.decoder import load_decoder
    from engine.nets.encoder import load_encoder
    from engine.runtime.stylizer import Stylizer

    pipes = {}
    if {"person", "person-split"} & set(args.modes):
        from engine.runtime.person import unavailable_reason

        reason = unavailable_reason()
        if reason:
            raise InputError(None, reason)
    if {"reference", "cached"} & set(args.modes):
        encoder, (decoder, _) = load_encoder(args.encoder), load_decoder(args.decoder)
        for mode in ("reference", "cached"):
            if mode in args.modes:
                pipes[mode] = ReferencePipeline(encoder, decoder, style_rgb, device,
                                                cache_style=mode == "cached", alpha=args.alpha)
    for mode in ("fast", "stabilized", "person", "person-split"):
        if mode in args.modes:
            st = Stylizer(device=device, decoder=args.decoder, encoder=args.encoder, style_side=args.style_size)
            st.set_styles([style_rgb])
            st.alpha = args.alpha
            st.stabilize = mode != "fast"
            pipes[mode] = st if mode in ("fast", "stabilized") else _PersonPipe(st, mode, style_rgb)
    lite, notes = build_lite_pipelines(args, device, style_rgb)
    pipes.update(lite)
    for line in notes:
        print(line, flush=True)
    return {m: pipes[m] for m in ALL_MODES if m in pipes}


class _PersonPipe:
    """The app's per-frame path with a person mode: frame → mask thread, stabilized stylizer →
    mask → composite (``person``) or per-region AdaIN (``person-split``, a second style)."""

    def __init__(self, stylizer, mode: str, style_rgb: np.ndarray):
        from engine.runtime.person_style import LivePerson, set_split_styles

        self.stylizer, self.device, self.index = stylizer, stylizer.device, 0
        self.mode = "split" if mode == "person-split" else "keep_person"
        self.live = LivePerson()
        if self.mode == "split":
            set_split_styles(stylizer, stylizer.encode_style(255 - style_rgb),  # a second style: the negative
                             stylizer.plan.blended)

    @property
    def last_stage_ms(self) -> float | None:
        return self.live.last_mask_ms

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        self.index += 1
        self.live.submit(frame, self.index)
        return self.live.stylize(self.stylizer, frame, self.index, self.mode)


def _frame_gflop(mode: str, pipe, frame: np.ndarray) -> float:
    if mode in LITE_MODES:  # lite-onnx and OpenVINO: the torch graph they were exported from
        stylizer = getattr(pipe, "stylizer", pipe)
        with torch_frame_path(stylizer):
            return count_gflop(stylizer, frame)
    if mode in ("fast", "stabilized") and getattr(pipe, "device", torch.device("cpu")).type == "cuda":
        pipe.use_cuda_graph = False  # a replayed graph hides its ops from the counter
        try:
            return count_gflop(pipe, frame)
        finally:
            pipe.use_cuda_graph = True
    return count_gflop(pipe, frame)


def bench_size(pipes: dict, size: tuple[int, int], label: str, args, device: torch.device,
               peak_gflops: float | None) -> tuple[list[ModeResult], float | None]:
    """Warm up every mode, then time them round-robin; returns results and background load."""
    h, w = size
    frames = synthetic_frames(h, w, count=4, seed=h * 7919 + w)
    warmup = args.warmup if args.warmup is not None else (10 if device.type == "cuda" else 1)
    gflop, last = {}, {}
    for mode, pipe in pipes.items():
        t0 = time.perf_counter()
        gflop[mode] = _frame_gflop(mode, pipe, frames[0])  # also the first warm-up frame
        last[mode] = time.perf_counter() - t0
        for i in range(warmup):
            last[mode] = _timed(pipe, frames[i % len(frames)])
    n = args.frames or max(3, min(200, int(args.budget / max(sum(last.values()), 1e-6))))
    lat, stage = {mode: [] for mode in pipes}, {mode: [] for mode in pipes}
    meter = LoadMeter().start()
    for i in range(n):
        for mode, pipe in pipes.items():
            lat[mode].append(_timed(pipe, frames[i % len(frames)]))
            ms = pipe.stabilizer.last_stage_ms if mode == "stabilized" else getattr(pipe, "last_stage_ms", None)
            if ms is not None:
                stage[mode].append(ms)
    background = meter.stop()
    results = [_summarise(mode, label, h, w, lat[mode], gflop[mode], peak_gflops) for mode in pipes]
    for r in results:
        if stage[r.mode]:
            r.stage_ms = float(np.median(stage[r.mode]))
    ref = next((r for r in results if r.mode == "reference"), None)
    for r in results:
        r.speedup_vs_reference = r.fps / ref.fps if ref else None
    return results, background


def _timed(pipe, frame: np.ndarray) -> float:
    t0 = time.perf_counter()
    out = pipe(frame)
    elapsed = time.perf_counter() - t0
    if out.shape != frame.shape or out.dtype != np.uint8:  # frame-out means a displayable frame
        raise RuntimeError(f"pipeline returned {out.dtype} {out.shape} for a {frame.shape} frame")
    return elapsed


def _summarise(mode, label, h, w, seconds: list[float], gflop: float, peak_gflops) -> ModeResult:
    ms = np.asarray(seconds) * 1000
    fps = len(seconds) / sum(seconds)
    tflops = gflop * fps / 1000
    return ModeResult(mode, label, h, w, len(seconds), fps, float(np.percentile(ms, 50)),
                      float(np.percentile(ms, 95)), float(ms.mean()), gflop, tflops,
                      percent_of_peak=100 * tflops * 1000 / peak_gflops if peak_gflops else None,
                      floor_ms=1000 * gflop / peak_gflops if peak_gflops else None,
                      latencies_ms=[round(float(v), 3) for v in ms])


# --- CPU settings sweep ------------------------------------------------------------------------

def sweep_cpu(size: tuple[int, int], args, rounds: int = 3) -> list[dict]:
    """Time the fast network's frame path under memory formats × padding modes at the current
    thread count (interleaved rounds; best and median per setting). Thread counts are compared
    by separate runs (``--threads``): oneDNN kernels built for one count run badly at another."""
    from engine.nets.decoder import load_decoder
    from engine.nets.encoder import load_encoder
    from engine.nets.fast import FastNet, PAD_MODES

    encoder, (decoder, _) = load_encoder(args.encoder), load_decoder(args.decoder)
    frame = synthetic_frames(*size, count=1)[0]
    out = np.empty_like(frame)
    mean, std = torch.rand(512), torch.rand(512) + 0.5
    nets = {(fmt, pad): FastNet(encoder, decoder, "cpu", torch.float32, pad_mode=pad, memory_format=mf)
            for fmt, mf in (("channels_last", torch.channels_last), ("contiguous", torch.contiguous_format))
            for pad in PAD_MODES}
    times = {key: [] for key in nets}
    with torch.inference_mode():
        for net in nets.values():
            net.stylize_frame(torch.from_numpy(frame), mean, std, 1.0, torch.from_numpy(out))
        for _ in range(rounds):
            for key, net in nets.items():
                t0 = time.perf_counter()
                net.stylize_frame(torch.from_numpy(frame), mean, std, 1.0, torch.from_numpy(out))
                times[key].append(1000 * (time.perf_counter() - t0))
    threads = torch.get_num_threads()
    return [{"threads": threads, "memory_format": k[0], "pad_mode": k[1], "best_ms": min(v),
             "median_ms": float(np.median(v))} for k, v in times.items()]


# --- profile -----------------------------------------------------------------------------------

OP_GROUPS = (("conv", ("conv", "mkldnn")), ("pad", ("pad",)), ("copy/cast", ("copy_", "to_copy", "clone", "cat")),
             ("relu", ("relu", "clamp_min")), ("pool", ("pool",)), ("adain", ("var_mean", "addcmul")))


def profile_frame(pipe, frame: np.ndarray, rows: int = 12) -> dict:
    """Self time per aten op of one frame (torch.profiler), grouped; prints the top ``rows`` ops.

    CPU: ranked by self CPU time. CUDA: the frame runs eagerly (a replayed graph is one launch
    whose CPU time is launch overhead), after one untimed eager frame (cuDNN autotuning, lazy
    allocations), and ops are ranked by their device time.
    """
    from torch.profiler import ProfilerActivity, profile

    device = getattr(pipe, "device", torch.device("cpu"))
    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    graph_before = getattr(pipe, "use_cuda_graph", None)
    if cuda:
        pipe.use_cuda_graph = False
    try:
        if cuda:
            pipe(frame)
        with profile(activities=activities) as prof:
            t0 = time.perf_counter()
            pipe(frame)
            if cuda:
                torch.cuda.synchronize(device)
            wall_ms = 1000 * (time.perf_counter() - t0)
    finally:
        if cuda:
            pipe.use_cuda_graph = graph_before
    key, kind = ("self_device_time_total", "device") if cuda else ("self_cpu_time_total", "CPU")
    events = prof.key_averages()
    print(events.table(sort_by=key, row_limit=rows))
    groups = {name: 0.0 for name, _ in OP_GROUPS}
    groups["other"] = 0.0
    for e in events:
        if not e.key.startswith("aten::") and not e.key.startswith("mkldnn::"):
            continue
        name = next((g for g, keys in OP_GROUPS if any(k in e.key for k in keys)), "other")
        groups[name] += getattr(e, key) / 1000
    total = sum(groups.values()) or 1.0
    print(f"profiled frame{' (eager)' if cuda else ''}: {wall_ms:.1f} ms wall; self {kind} time by kind: " +
          ", ".join(f"{k} {v:.1f} ms ({100 * v / total:.0f}%)" for k, v in groups.items()))
    return {"wall_ms": wall_ms, "time": kind, "eager": cuda, "self_ms_by_kind": groups}


# --- output ------------------------------------------------------------------------------------

def format_table(results: list[ModeResult]) -> str:
    head = (f"{'size':>9} {'mode':>10} {'FPS':>8} {'p50 ms':>9} {'p95 ms':>9} {'speed-up':>8} "
            f"{'GFLOP/f':>8} {'TFLOP/s':>8} {'% peak':>7} {'floor ms':>9} {'stage ms':>8} {'n':>4}")
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r.size:>9} {r.mode:>10} {r.fps:8.3f} {r.p50_ms:9.1f} {r.p95_ms:9.1f} "
                     f"{_fmt(r.speedup_vs_reference, '8.2f', 'x')} {r.gflop_per_frame:8.1f} {r.tflops:8.4f} "
                     f"{_fmt(r.percent_of_peak, '6.1f', '%')} {_fmt(r.floor_ms, '9.1f')} "
                     f"{_fmt(r.stage_ms, '8.1f')} {r.frames:4d}")
    return "\n".join(lines)


def _fmt(value, spec: str, suffix: str = "") -> str:
    """``value`` formatted with ``spec`` + ``suffix``, or a right-aligned ``-`` when it is None."""
    if value is not None:
        return f"{value:{spec}}{suffix}"
    width = spec.split(".")[0]
    return "-".rjust(int(width) + len(suffix) if width else 1)


def environment(device: torch.device) -> dict:
    env = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "command": "python main.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
           "torch": torch.__version__, "python": platform.python_version(), "device": str(device),
           "threads": torch.get_num_threads(), "cpu": cpu_info()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env["gpu"] = {"name": props.name, "memory_gib": round(props.total_memory / 2**30, 1),
                      "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
                      "driver": _nvidia_driver(), "peak_fp16_tflops": gpu_peak_tflops(props.name)}
    return env


def _nvidia_driver() -> str | None:
    try:
        with open("/proc/driver/nvidia/version") as fh:
            return fh.readline().strip()
    except OSError:
        return None


def run(args: BenchOptions) -> int:
    """Time every mode at every size and print the table (``args`` validated by the CLI)."""
    from engine.media.imageio import load_image_rgb, resize_short_side
    from engine.runtime.stylizer import pick_device

    sizes = [(s, parse_size(s)) for s in args.sizes]
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.pad_mode:
        os.environ["ADAIN_PAD_MODE"] = args.pad_mode
    device = pick_device(args.device)
    side = args.style_size
    style = resize_short_side(load_image_rgb(args.style), side) if args.style else \
        synthetic_style(side, round(side * 1.25))
    env = environment(device)
    if device.type == "cuda":
        tflops = env["gpu"]["peak_fp16_tflops"]
        peak = tflops * 1000 if tflops else None
    else:
        peak = env["cpu"]["peak_gflops_fp32"]
    print(_describe(env, device, peak), flush=True)
    pipes = build_pipelines(args, device, style)
    results, loads = [], {}
    for label, size in sizes:
        rows, loads[label] = bench_size(pipes, size, label, args, device, peak)
        results.extend(rows)
        print(format_table(rows).split("\n", 2)[-1] if len(results) > len(rows) else format_table(rows),
              flush=True)
    load_note = ", ".join(f"{k}: {v:.2f}" for k, v in loads.items() if v is not None)
    if load_note:
        print(f"background CPU load (cores busy with other processes) — {load_note}")
    sweep = None
    if args.sweep and device.type == "cpu":
        sweep = sweep_cpu(sizes[0][1], args)
        print(f"\nCPU settings, fast network at {sizes[0][0]} (ms per frame):")
        for row in sorted(sweep, key=lambda r: r["best_ms"]):
            print(f"  threads={row['threads']} {row['memory_format']:>13} pad={row['pad_mode']:<4} "
                  f"best {row['best_ms']:8.1f}  median {row['median_ms']:8.1f}")
    prof = None
    if args.profile and "fast" in pipes:
        label, (h, w) = sizes[0]
        print(f"\nprofile of one fast frame at {label}:")
        prof = profile_frame(pipes["fast"], synthetic_frames(h, w, count=1, seed=5)[0])
    if args.json:
        _write_json(args.json, {"environment": env, "peak_gflops": peak, "background_load": loads,
                                "results": [asdict(r) for r in results], "cpu_sweep": sweep, "profile": prof})
    return 0


def _describe(env: dict, device: torch.device, peak) -> str:
    cpu = env["cpu"]
    text = (f"{env['date']}  torch {env['torch']}  {env['threads']} threads\n"
            f"CPU: {cpu['model']}, {cpu['cores']} cores @ {cpu['mhz']} MHz ({cpu['simd']}), fp32 peak "
            f"{_fmt(cpu['peak_gflops_fp32'], '.1f')} GFLOP/s = cores × GHz × {cpu['flop_per_cycle']} FLOP/cycle")
    if device.type == "cuda":
        gpu = env["gpu"]
        text += (f"\nGPU: {gpu['name']} ({gpu['memory_gib']} GiB), CUDA {gpu['cuda']}, cuDNN {gpu['cudnn']}, "
                 f"driver {gpu['driver']}, fp16 dense peak {_fmt(gpu['peak_fp16_tflops'], '.0f')} TFLOP/s")
    return text + f"\nfloor/% peak use {_fmt(peak, '.0f')} GFLOP/s"


def _write_json(path: str, data: dict) -> None:
    from engine.files import atomic_write

    def write(tmp):
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=1, default=lambda v: None if isinstance(v, float) and math.isnan(v) else str(v))

    try:
        atomic_write(path, write)
    except OSError as exc:
        raise InputError(path, f"cannot write JSON ({exc.strerror or exc})") from None
    print(f"wrote {path}")


__all__ = ["BenchOptions", "run", "parse_size", "cpu_info", "bench_size", "count_gflop", "format_table",
           "sweep_cpu", "MODES"]
