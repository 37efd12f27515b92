"""Soak test of ``main.py live``: does memory or the thread count grow while clients come and go?

    nice python tools/soak_live.py --minutes 10 --json runs/soak_live.json

Starts the live mode as a user would (the shipped model, the generated source, the stream on
127.0.0.1), then holds three stream clients for the whole run: a **fast** one that reads every
frame, a **slow** one that reads one frame every ``--slow-every`` seconds through a tiny receive
buffer (the server must drop frames for it alone), and a **churn** one that connects, reads one
frame and hangs up, once a second (disconnects are normal events). Every ``--sample-every``
seconds it reads the live process's resident memory, thread count and open file descriptors from
/proc. At the end it sends SIGTERM and checks the exit code and the port. Prints a JSON summary:
samples, the RSS slope after the warm-up (MB per minute, least squares), frames per client.
Linux only (/proc).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOUNDARY = b"--adainliveframe"


def proc_stats(pid: int) -> dict:
    """Resident memory (MB), threads and open file descriptors of ``pid`` from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return {"rss_mb": int(fields["VmRSS"].split()[0]) / 1024, "threads": int(fields["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def free_port() -> int:
    """A port nobody listens on now (``--serve`` takes 1–65535, not 0 for "any")."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client(threading.Thread):
    """A stream client: reads frames (``delay`` s apart), counts them; ``churn`` hangs up after each."""

    def __init__(self, port: int, name: str, delay: float = 0.0, rcvbuf: int | None = None, churn: bool = False):
        super().__init__(name=name, daemon=True)
        self.port, self.delay, self.rcvbuf, self.churn = port, delay, rcvbuf, churn
        self.frames = 0
        self.connections = 0
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self._session()
                if self.churn:
                    self.stop.wait(self.delay)
            except OSError as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                self.stop.wait(1.0)

    def _session(self) -> None:
        with socket.socket() as sock:
            if self.rcvbuf:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
            sock.settimeout(30)
            sock.connect(("127.0.0.1", self.port))
            sock.sendall(f"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n\r\n".encode())
            self.connections += 1
            stream = sock.makefile("rb")
            while stream.readline() not in (b"\r\n", b""):
                pass
            while not self.stop.is_set():
                if not self._read_frame(stream):
                    return
                self.frames += 1
                if self.churn:
                    return  # hang up mid-stream
                if self.delay:
                    self.stop.wait(self.delay)

    @staticmethod
    def _read_frame(stream) -> bool:
        if stream.readline().strip() != BOUNDARY:
            return False
        length = 0
        while (line := stream.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode().partition(":")
            if key.strip().lower() == "content-length":
                length = int(value)
        data = stream.read(length)
        stream.readline()
        return len(data) == length > 0


def start_live(args) -> tuple[subprocess.Popen, int, list[str]]:
    cmd = [sys.executable, str(ROOT / "main.py"), "live", "--source", args.source, "--style", args.style,
           "--size", str(args.size), "--device", "cpu", "--serve", f"127.0.0.1:{free_port()}", "--status-every", "10"]
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for line in list(lines):
            if line.startswith("stream: "):
                return proc, int(line.split()[1].rsplit(":", 1)[1].strip("/")), lines
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the live mode did not start: {''.join(lines)[-2000:]}")


def slope_per_minute(samples: list[dict], key: str) -> float:
    ts = [s["t"] / 60 for s in samples]
    vs = [s[key] for s in samples]
    if len(ts) < 2:
        return 0.0
    mt, mv = statistics.fmean(ts), statistics.fmean(vs)
    return sum((t - mt) * (v - mv) for t, v in zip(ts, vs)) / sum((t - mt) ** 2 for t in ts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=60.0, help="seconds before the samples that count")
    p.add_argument("--sample-every", type=float, default=10.0)
    p.add_argument("--source", default="pattern:640x360")
    p.add_argument("--style", default=str(ROOT / "assets" / "styles" / "mosaic.jpg"))
    p.add_argument("--size", type=int, default=128, help="processing size (shorter side)")
    p.add_argument("--slow-every", type=float, default=2.0, help="the slow client's seconds per frame")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    proc, port, lines = start_live(args)
    clients = [Client(port, "fast"), Client(port, "slow", delay=args.slow_every, rcvbuf=4096),
               Client(port, "churn", delay=1.0, churn=True)]
    for c in clients:
        c.start()
    samples, t0 = [], time.monotonic()
    try:
        while (t := time.monotonic() - t0) < args.minutes * 60:
            samples.append({"t": round(t, 1), **proc_stats(proc.pid),
                            **{f"{c.name}_frames": c.frames for c in clients}})
            time.sleep(args.sample_every)
    finally:
        for c in clients:
            c.stop.set()
        t_stop = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = None
    stop_s = time.monotonic() - t_stop
    with socket.socket() as s:
        port_closed = s.connect_ex(("127.0.0.1", port)) != 0
    counted = [s for s in samples if s["t"] >= args.warmup]
    status = [line.strip() for line in lines if " FPS" in line]
    result = {
        "minutes": args.minutes, "source": args.source, "size": args.size, "port": port,
        "rss_mb_first": counted[0]["rss_mb"] if counted else None,
        "rss_mb_last": counted[-1]["rss_mb"] if counted else None,
        "rss_mb_max": max(s["rss_mb"] for s in counted) if counted else None,
        "rss_slope_mb_per_min": round(slope_per_minute(counted, "rss_mb"), 3),
        "threads_min": min(s["threads"] for s in counted) if counted else None,
        "threads_max": max(s["threads"] for s in counted) if counted else None,
        "fds_min": min(s["fds"] for s in counted) if counted else None,
        "fds_max": max(s["fds"] for s in counted) if counted else None,
        "frames": {c.name: c.frames for c in clients},
        "connections": {c.name: c.connections for c in clients},
        "client_errors": {c.name: c.errors[:3] for c in clients},
        "exit_code": code, "stop_seconds": round(stop_s, 2), "port_closed": port_closed,
        "status_first": status[0] if status else None, "status_last": status[-1] if status else None,
        "samples": samples,
    }
    text = json.dumps(result)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    return 0 if code == 0 and port_closed else 1


if __name__ == "__main__":
    raise SystemExit(main())
