"""Ctrl-C and SIGTERM at any moment end a command cleanly (issue #29, items 6 and 7).

Real subprocesses and real signals, bounded in count and time:

- ``main.py live`` with the Real-time model, stopped while it imports, while the model loads,
  while OpenVINO builds its graph (the first second after the ``live:`` line) and later: exit 0
  (it used to abort with exit 134 when the compile thread was still running), in a few seconds,
  the port free again, no traceback;
- a second Ctrl-C during the clean-up: exit 130 at once;
- Ctrl-C while a command starts (the parser imports torch): one line, exit 130, no traceback.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.test_live_cli import Lines, port_is_free

ROOT = Path(__file__).resolve().parents[2]
STYLE = ROOT / "assets" / "styles" / "mosaic.jpg"
STOP_LIMIT_S = 5.0  # the issue asks for 3 s; measured 0.5–2.9 s on the loaded 2-core machine (docs/TESTING.md)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def live_lite(port: int) -> subprocess.Popen:
    return start("live", "--source", "pattern", "--model", "lite", "--device", "cpu", "--style", str(STYLE),
                 "--serve", f"127.0.0.1:{port}", "--status-every", "1")


def stop_and_wait(proc: subprocess.Popen, *signals: int, gap: float = 0.05) -> float:
    """Send ``signals`` (``gap`` s apart); seconds until the process ended."""
    t0 = time.monotonic()
    for i, sig in enumerate(signals):
        if i:
            time.sleep(gap)
        proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return time.monotonic() - t0


def clean(lines: list[str]) -> bool:
    text = "".join(lines)
    return "Traceback" not in text and "terminate called" not in text


# (what to wait for on stdout, then how long): importing, loading the model, compiling, running
MOMENTS = [(None, 0.6), ("stream: ", 0.0), ("live: test pattern", 0.3), ("live: test pattern", 1.0),
           ("live: test pattern", 1.6)]


@pytest.mark.parametrize("wait_for, delay", MOMENTS)
def test_live_with_the_real_time_model_stops_with_exit_0_at_any_moment(wait_for, delay):
    port = free_port()
    proc = live_lite(port)
    out, err = Lines(proc.stdout), Lines(proc.stderr)
    try:
        if wait_for:
            out.wait_for(wait_for, 120)
        time.sleep(delay)
    finally:
        stop_s = stop_and_wait(proc, signal.SIGTERM)
    time.sleep(0.2)  # let the pipes drain
    assert proc.returncode == 0, (proc.returncode, out.lines, err.lines)
    assert stop_s < STOP_LIMIT_S, stop_s
    assert clean(err.lines), err.lines
    assert any("stopped" in line for line in out.lines), out.lines
    assert port_is_free(port)


def test_a_second_ctrl_c_ends_live_at_once_with_130():
    """Two Ctrl-Cs in a row end live at once, cleanly: 130 when the second lands while the first
    one's clean-up runs, 0 when that clean-up was already over (a quiet machine: < 0.1 s; two
    SIGINTs that arrive before Python runs its handler also count as one). Which of the two
    happens is timing; the handler's rule itself is checked in-process below."""
    port = free_port()
    proc = live_lite(port)
    out, err = Lines(proc.stdout), Lines(proc.stderr)
    try:
        out.wait_for("live: test pattern", 120)
        time.sleep(0.3)  # the graph compiles now
    finally:
        stop_s = stop_and_wait(proc, signal.SIGINT, signal.SIGINT, gap=0.05)
    time.sleep(0.2)
    assert proc.returncode in (0, 130), (proc.returncode, err.lines)
    assert stop_s < STOP_LIMIT_S, stop_s
    assert clean(err.lines), err.lines
    assert port_is_free(port)


def test_the_second_signal_interrupts_the_clean_up():
    """The first signal sets the stop and raises Interrupted (the command's normal end); the
    second raises KeyboardInterrupt wherever the clean-up is, which main() ends with 130."""
    from engine.cli.signals import Interrupted, StopSignals

    signals = StopSignals()
    with pytest.raises(Interrupted) as first:
        signals._handler(signal.SIGINT, None)
    assert first.value.exit_code == 130 and signals.stop.is_set()
    with pytest.raises(KeyboardInterrupt):
        signals._handler(signal.SIGINT, None)


@pytest.mark.parametrize("delay", [0.2, 0.7, 1.5])
def test_ctrl_c_while_a_command_starts_is_one_line_and_130(tmp_path, delay):
    proc = start("stylize", str(STYLE), "--style", str(STYLE), "-o", str(tmp_path / "out.png"), "--device", "cpu")
    time.sleep(delay)
    stop_and_wait(proc, signal.SIGINT)
    err = proc.stderr.read()
    assert proc.returncode == 130, err
    assert err == "interrupted\n", err
    assert not (tmp_path / "out.png").exists()


def test_sigterm_while_a_style_is_being_learned_ends_live_and_the_learning_process(tmp_path):
    """Issue #29 item 6 with issue #28: the learning child process ends with live (exit 0)."""
    port = free_port()
    env_cache = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "live", "--source", "pattern", "--model", "lite",
                             "--device", "cpu", "--style", str(STYLE), "--serve", f"127.0.0.1:{port}",
                             "--status-every", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "ADAIN_CACHE_DIR": str(env_cache), "PYTHONUNBUFFERED": "1"})
    out, err = Lines(proc.stdout), Lines(proc.stderr)
    try:
        out.wait_for("learn: learning", 120)
        time.sleep(1.0)
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert children  # the learning process (and multiprocessing's resource tracker)
    finally:
        stop_s = stop_and_wait(proc, signal.SIGTERM)
    time.sleep(0.5)
    assert proc.returncode == 0, (proc.returncode, err.lines)
    assert stop_s < STOP_LIMIT_S, stop_s
    assert clean(err.lines), err.lines
    running = [c for c in children if Path(f"/proc/{c}/stat").is_file()
               and Path(f"/proc/{c}/stat").read_text().split()[2] not in ("Z", "X")]
    assert not running, running  # none left working (an exited one may wait to be reaped)
    assert port_is_free(port)
