"""What a user's terminal shows (issue #29, items 8, 12, 16, 17, 18): our own lines only, nothing
written to the home folder outside the app's folders, and a word on success.
"""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
STYLE = ROOT / "assets" / "styles" / "mosaic.jpg"


def run_main(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ if env is None else env, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def truncated_mp4(tmp_path_factory) -> Path:
    """An MP4 cut in half: its index (moov atom, written last) is gone."""
    from engine.media.video import write_video

    folder = tmp_path_factory.mktemp("clips")
    whole = folder / "whole.mp4"
    write_video(whole, [np.full((120, 160, 3), 8 * i, np.uint8) for i in range(20)], fps=25)
    data = whole.read_bytes()
    cut = folder / "cut.mp4"
    cut.write_bytes(data[:len(data) // 2])
    return cut


# --- item 8: a corrupt video is one line ---------------------------------------------------------

def test_a_truncated_video_as_live_source_is_one_line(truncated_mp4):
    proc = run_main("live", "--source", str(truncated_mp4), "--style", str(STYLE), "--serve", "127.0.0.1:8097")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr  # FFmpeg's "moov atom not found" came first
    assert proc.stderr.startswith(f"error: {truncated_mp4}: not a readable video")


def test_opening_a_truncated_video_keeps_ffmpegs_log_off_the_terminal(truncated_mp4):
    """In a fresh process (pytest's own logging capture would hide PyAV's messages)."""
    script = (
        "import sys, av.logging\n"
        "av.logging.set_level(av.logging.INFO)  # as PyAV 12 (allowed by pyproject) logs by default\n"
        "from engine.errors import InputError\n"
        "from engine.media.video import open_video\n"
        "try:\n    open_video(sys.argv[1])\nexcept InputError as exc:\n    print(exc)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(truncated_mp4)], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert "not a readable video" in proc.stdout, proc.stdout
    assert proc.stderr == "", proc.stderr  # was "moov atom not found"


# --- item 12: library notices ------------------------------------------------------------------

def test_building_a_person_segmenter_prints_nothing():
    """In a fresh process: LiteRT prints its notice once per process."""
    from engine.runtime.person import unavailable_reason

    if unavailable_reason() is not None:
        pytest.skip("person segmentation unavailable here")
    script = ("import sys\nfrom engine.runtime.person import SelfieSegmenter\n"
              "print('before', file=sys.stderr, flush=True)\nSelfieSegmenter()\n"
              "print('after', file=sys.stderr, flush=True)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert proc.returncode == 0
    assert proc.stderr == "before\nafter\n", proc.stderr  # LiteRT's "Created ... XNNPACK delegate" dropped


def test_a_read_only_frame_through_the_real_time_model_gives_no_warning():
    import torch

    from engine.nets.lite import random_lite
    from engine.nets.lite_runner import LiteRunner

    runner = LiteRunner(random_lite(), torch.device("cpu"), backend="torch")
    style_rgb = np.full((64, 64, 3), 90, np.uint8)
    frame = np.full((48, 64, 3), 128, np.uint8)
    style_rgb.flags.writeable = frame.flags.writeable = False  # as the app's shared slots hand them out
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = runner.frame(frame, runner.encode_style(style_rgb), 1.0)
    assert out.shape == frame.shape
    assert not [w for w in caught if "not writable" in str(w.message)], [str(w.message) for w in caught]


# --- item 16: nothing written home ---------------------------------------------------------------

HOME_SCRIPT = r"""
import sys
import numpy as np, torch
from engine.media.imageio import load_image_rgb
from engine.runtime.stylizer import Stylizer
st = Stylizer(device="cpu", model="lite")
assert st.lite.openvino is not None
st.set_styles([load_image_rgb(sys.argv[1])])
st.lite.prepare_frames((96, 128, 3))
assert st.lite.backend == "openvino"
st(np.full((96, 128, 3), 100, np.uint8))
"""


def test_the_engine_writes_nothing_outside_the_apps_folders(tmp_path):
    from engine.nets.lite_openvino import openvino_available

    if not openvino_available():
        pytest.skip("needs the openvino package")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ADAIN_"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local" / "share"), PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    engine = subprocess.run([sys.executable, "-c", HOME_SCRIPT, str(STYLE)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert engine.returncode == 0, engine.stderr[-2000:]
    out = tmp_path / "out.png"
    cli = run_main("stylize", str(STYLE), "--style", str(STYLE), "-o", str(out), "--size", "64", "--model", "lite",
                   env=env)
    assert cli.returncode == 0, cli.stderr[-2000:]
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    allowed = (os.path.join(".cache", "adain-live") + os.sep, os.path.join(".config", "adain-live") + os.sep)
    assert [p for p in written if not p.startswith(allowed)] == []  # was intel/openvino_ga_cid, intel/stats


# --- items 17, 18: help text and success lines ---------------------------------------------------

def test_help_has_no_markup():
    proc = run_main("--help", timeout=120)
    assert proc.returncode == 0
    assert "``" not in proc.stdout and ":class:" not in proc.stdout


def test_stylize_says_where_the_picture_went(tmp_path):
    out = tmp_path / "out.png"
    proc = run_main("stylize", str(STYLE), "--style", str(STYLE), "-o", str(out), "--size", "64", "--device", "cpu",
                    "--model", "vgg")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{out}: 64×64, ") and lines[0].endswith(" s"), lines
    assert proc.stderr.strip() == "", proc.stderr
    assert out.is_file()


def test_video_on_a_cpu_with_vgg_says_how_long_and_names_the_faster_model():
    import io
    from fractions import Fraction

    from engine.cli.video import announce_cpu_time
    from engine.media.video import VideoInfo
    from engine.runtime.stylizer import Stylizer

    stylizer = Stylizer(device="cpu", model="vgg")
    stylizer.set_styles([np.full((64, 64, 3), 90, np.uint8)])
    info = VideoInfo(96, 64, Fraction(25), 250, 10.0, None)
    text = io.StringIO()
    per_frame = announce_cpu_time(stylizer, info, None, out=text)
    assert per_frame is not None and per_frame > 0
    line = text.getvalue()
    assert line.count("\n") == 1 and "96×64" in line and "for 250 frames" in line and "--model lite" in line, line
