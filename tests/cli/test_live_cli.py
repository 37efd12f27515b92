"""``main.py live`` as a user runs it: a subprocess with the shipped model on the generated
source, read by OpenCV over HTTP, stopped with Ctrl-C (SIGINT) or SIGTERM."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from glob import glob
from pathlib import Path

import cv2
import pytest

ROOT = Path(__file__).resolve().parents[2]
STYLE = ROOT / "assets" / "styles" / "mosaic.jpg"
TOKEN = "test-token-1234"


def live(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), "live", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Lines:
    """Collects a pipe's lines from a thread (reading never blocks the test)."""

    def __init__(self, pipe):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=lambda: self.lines.extend(iter(pipe.readline, "")), daemon=True)
        self._thread.start()

    def wait_for(self, text: str, seconds: float, start: int = 0) -> tuple[int, str]:
        """(index, line) of the first line from ``start`` on that contains ``text``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for i, line in enumerate(list(self.lines)[start:], start):
                if text in line:
                    return i, line
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r} in {self.lines}")


def free_port() -> int:
    """A port nobody listens on now (``--serve`` takes 1–65535, not 0 for "any")."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Nobody listens on ``port`` and a new server can bind it at once (with SO_REUSEADDR, as
    every server does: connections closed by the server leave TIME_WAIT entries behind)."""
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
    return True


def test_serving_beyond_this_computer_without_a_token_is_refused_in_one_line():
    proc = live("--source", "pattern", "--style", str(STYLE), "--serve", "0.0.0.0:8099")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.count("\n") == 1 and err.startswith("error: --serve 0.0.0.0:8099:") and "--token" in err


@pytest.mark.skipif(sys.platform != "linux" or bool(glob("/dev/video*")), reason="needs Linux without /dev/video")
def test_virtual_cam_without_a_device_is_one_line_with_the_fix():
    proc = live("--source", "pattern", "--style", str(STYLE), "--virtual-cam")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.count("\n") == 1
    assert 'sudo modprobe v4l2loopback exclusive_caps=1 card_label="adain-live"' in err


@pytest.mark.parametrize("sig, token", [(signal.SIGINT, None), (signal.SIGTERM, TOKEN)])
def test_live_serves_a_stream_opencv_reads_and_stops_cleanly_on_a_signal(sig, token):
    args = ["--source", "pattern:160x120", "--style", str(STYLE), "--size", "48", "--device", "cpu",
            "--serve", f"127.0.0.1:{free_port()}", "--status-every", "1"] + (["--token", token] if token else [])
    proc = live(*args)
    out, err = Lines(proc.stdout), Lines(proc.stderr)
    try:
        url = out.wait_for("stream: ", 120)[1].split()[1]
        port = int(url.split(":")[2].split("/")[0])
        base = url.partition("?")[0]
        if token:
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(base + "stream.mjpg", timeout=5)
            assert info.value.code == 401
        out.wait_for(" FPS", 120)  # the model is loaded and frames flow
        cap = cv2.VideoCapture(base + "stream.mjpg" + (f"?token={token}" if token else ""), cv2.CAP_FFMPEG)
        frames = [f for ok, f in (cap.read() for _ in range(3)) if ok]
        _, status = out.wait_for("stream 1 client", 10, start=len(out.lines))  # counted while connected
        cap.release()
        assert len(frames) == 3 and all(f.shape == (48, 64, 3) for f in frames)
        assert " FPS" in status
        t0 = time.monotonic()
        proc.send_signal(sig)
        proc.wait(timeout=10)
        stop_s = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.lines
    assert stop_s < 5
    assert port_is_free(port)
    assert any("stopped after" in line for line in out.lines)
    assert not [line for line in err.lines if "Traceback" in line or "Error" in line], err.lines
