"""Bounded attacks on the stream server, on 127.0.0.1 only: what do they cost it, and who still gets served?

    nice python tools/stream_attack.py flood --json runs/attack_flood.json
    nice python tools/stream_attack.py slowloris
    nice python tools/stream_attack.py slow-viewers [--slow-rate 0]
    nice python tools/stream_attack.py backlog

Each run starts its own :class:`engine.media.outputs.mjpeg.MjpegServer` in a child process (with a
token for ``flood`` and ``slowloris``, so the attackers are never authorized), puts a 320×240 frame
into it 15 times a second, attacks it, samples the child's resident memory and thread count from
/proc every 0.5 s, then stops the child. Every attack is bounded in connections and seconds and ends
by itself; a run takes under a minute. Linux only (/proc).

- ``flood``: a good viewer (with the token) reads the stream for ``--baseline`` s; then ``--count``
  connections each send a request line and 97 header lines of 65,000 bytes (~6 MB) and drip one byte
  every 4 s for ``--seconds``; then they close and the server gets 3 s to settle. Reports RSS and
  threads before, at the peak, after, and the good viewer's frame rate before and during the attack.
- ``slowloris``: ``--count`` connections each send a request line, then one header line every 4 s,
  for ``--seconds``; reports how many the server still holds over time and its threads.
- ``slow-viewers``: 8 viewers read the stream at ``--slow-rate`` bytes/s (0: not at all, through an
  8 KB receive buffer) and reconnect 0.2 s after the server drops them; every 0.5 s for
  ``--seconds`` a new, well-behaved viewer connects and waits up to 3 s for a frame. Reports how
  many new viewers were served, and how fast.
- ``backlog``: ``--count`` connections opened back to back (connect only, kept open); reports the
  time they took and the kernel's listen-queue overflows (``TcpExtListenOverflows``).
"""
from __future__ import annotations

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "attack-test-token"
MAX_CHILD_S = 150  # the server child ends by itself after this, whatever happens to this process

CHILD = r"""
import sys, threading, time
import cv2, numpy as np
from engine.media.outputs.mjpeg import MjpegServer
token = sys.argv[1] or None
server = MjpegServer("127.0.0.1", 0, token=token).start()
rng = np.random.default_rng(0)
base = cv2.resize(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8), (320, 240))
ok, jpeg = cv2.imencode(".jpg", base, [cv2.IMWRITE_JPEG_QUALITY, 85])
print(server.port, len(jpeg), flush=True)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
end, i = time.monotonic() + float(sys.argv[2]), 0
while not stop.is_set() and time.monotonic() < end:
    server.put(np.roll(base, i % 320, axis=1))
    i += 1
    stop.wait(1 / 15)
server.stop()
"""


def proc_stats(pid: int) -> dict:
    """Resident memory (MB) and thread count of ``pid`` from /proc."""
    fields = dict(line.partition(":")[::2] for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {"rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1), "threads": int(fields["Threads"])}


class Child:
    """The server in a child process; ``samples`` fills from a sampler thread."""

    def __init__(self, token: str | None):
        env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, token or "", str(MAX_CHILD_S)], cwd=ROOT,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        port, jpeg_bytes = self.proc.stdout.readline().split()
        self.port, self.jpeg_bytes = int(port), int(jpeg_bytes)
        self.t0 = time.monotonic()
        self.samples: list[dict] = []
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.is_set() and self.proc.poll() is None:
            try:
                self.samples.append({"t": round(time.monotonic() - self.t0, 2), **proc_stats(self.proc.pid)})
            except (OSError, KeyError, ValueError):
                return
            self._stop.wait(0.5)

    def between(self, t_from: float, t_to: float) -> list[dict]:
        return [s for s in self.samples if t_from <= s["t"] <= t_to]

    def now(self) -> float:
        return time.monotonic() - self.t0

    def close(self) -> None:
        self._stop.set()
        try:
            self.proc.stdin.close()  # the child stops its server and exits
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def read_response_head(sock: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("closed")
        head += chunk
    return head


def read_frame(sock: socket.socket, pending: bytearray) -> bool:
    """Read one multipart part (boundary, headers, JPEG); False when the stream ended."""
    while b"\r\n\r\n" not in pending:
        chunk = sock.recv(65536)
        if not chunk:
            return False
        pending += chunk
    head, _, rest = bytes(pending).partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    pending[:] = rest
    while len(pending) < length + 2:
        chunk = sock.recv(65536)
        if not chunk:
            return False
        pending += chunk
    del pending[: length + 2]
    return True


class GoodViewer(threading.Thread):
    """Reads every frame as fast as it can; ``times`` holds when each arrived."""

    def __init__(self, port: int, token: str | None, child: Child):
        super().__init__(daemon=True)
        self.port, self.token, self.child = port, token, child
        self.times: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        query = f"?token={self.token}" if self.token else ""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
                sock.sendall(f"GET /stream.mjpg{query} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
                read_response_head(sock)
                pending = bytearray()
                while not self.stop.is_set() and read_frame(sock, pending):
                    self.times.append(self.child.now())
        except OSError:
            pass

    def fps(self, t_from: float, t_to: float) -> float:
        return round(sum(t_from <= t < t_to for t in self.times) / (t_to - t_from), 2)


def flood(args) -> dict:
    child = Child(TOKEN)
    viewer = GoodViewer(child.port, TOKEN, child)
    viewer.start()
    time.sleep(args.baseline)
    t_attack = child.now()
    stop = threading.Event()
    outcome = {"sent_6mb": 0, "cut_by_server": 0}
    lock = threading.Lock()

    def attacker() -> None:
        pad = b"a" * 65_000
        try:
            with socket.create_connection(("127.0.0.1", child.port), timeout=10) as sock:
                sock.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                for i in range(97):
                    sock.sendall(b"X-Pad-%d: " % i + pad + b"\r\n")
                with lock:
                    outcome["sent_6mb"] += 1
                while not stop.wait(4):
                    sock.sendall(b"a")
                    if select.select([sock], [], [], 0)[0] and not sock.recv(4096):
                        raise ConnectionError("closed")
        except OSError:
            with lock:
                outcome["cut_by_server"] += 1

    threads = [threading.Thread(target=attacker, daemon=True) for _ in range(args.count)]
    for t in threads:
        t.start()
    stop.wait(args.seconds)
    stop.set()
    for t in threads:
        t.join(15)
    t_closed = child.now()
    time.sleep(3)
    t_end = child.now()
    viewer.stop.set()
    child.close()
    before = child.between(0, t_attack)
    during = child.between(t_attack, t_closed)
    after = child.between(t_closed + 2.5, t_end)
    return {"attack": "flood", "connections": args.count, "seconds": args.seconds, **outcome,
            "jpeg_bytes": child.jpeg_bytes,
            "rss_mb_before": before[-1]["rss_mb"], "rss_mb_peak": max(s["rss_mb"] for s in during),
            "rss_mb_after": after[-1]["rss_mb"] if after else None,
            "threads_before": before[-1]["threads"], "threads_peak": max(s["threads"] for s in during),
            "viewer_fps_before": viewer.fps(1.0, t_attack), "viewer_fps_during": viewer.fps(t_attack, t_closed)}


def slowloris(args) -> dict:
    child = Child(TOKEN)
    time.sleep(1.0)
    t_attack = child.now()
    socks = []
    for _ in range(args.count):
        sock = socket.create_connection(("127.0.0.1", child.port), timeout=10)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        socks.append(sock)
    opened = {s: time.monotonic() for s in socks}
    held_for: dict[socket.socket, float] = {}
    held_over_time = []
    end, next_line = time.monotonic() + args.seconds, time.monotonic() + 4
    while time.monotonic() < end and len(held_for) < len(socks):
        live = [s for s in socks if s not in held_for]
        for s in select.select(live, [], [], 0.25)[0]:  # readable: the server answered or closed
            held_for[s] = time.monotonic() - opened[s]
        if time.monotonic() >= next_line:
            next_line += 4
            held_over_time.append({"t": round(child.now() - t_attack, 1), "held": len(socks) - len(held_for)})
            for s in socks:
                if s not in held_for:
                    try:
                        s.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        held_for[s] = time.monotonic() - opened[s]
    still_held = len(socks) - len(held_for)
    for s in socks:
        s.close()
    time.sleep(1.0)
    child.close()
    during = child.between(t_attack, t_attack + args.seconds)
    return {"attack": "slowloris", "connections": args.count, "seconds": args.seconds,
            "held_at_end": still_held, "held_over_time": held_over_time,
            "longest_closed_by_server_s": round(max(held_for.values()), 1) if held_for else None,
            "threads_before": child.between(0, t_attack)[-1]["threads"],
            "threads_peak": max(s["threads"] for s in during)}


def slow_viewers(args) -> dict:
    child = Child(None)
    time.sleep(1.0)
    stop = threading.Event()

    def slow_viewer() -> None:  # reconnects when dropped, as a player set to retry does
        while not stop.is_set():
            with socket.socket() as sock:
                if args.slow_rate == 0:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
                sock.settimeout(30)
                try:
                    sock.connect(("127.0.0.1", child.port))
                    sock.sendall(b"GET /stream.mjpg HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    while not stop.wait(0.1):
                        if args.slow_rate and not sock.recv(max(1, int(args.slow_rate / 10))):
                            break
                except OSError:
                    pass
            stop.wait(0.2)

    threads = [threading.Thread(target=slow_viewer, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(2.0)  # the slow ones hold every slot and their buffers are full
    probes = []
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        probe = {"t": round(child.now(), 1), "status": None, "first_frame_s": None}
        try:
            with socket.create_connection(("127.0.0.1", child.port), timeout=3) as sock:
                sock.sendall(b"GET /stream.mjpg HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                head = read_response_head(sock)
                probe["status"] = int(head.split()[1])
                if probe["status"] == 200 and read_frame(sock, bytearray()):
                    probe["first_frame_s"] = round(time.monotonic() - t0, 2)
        except OSError as exc:
            probe["status"] = type(exc).__name__
        probes.append(probe)
        time.sleep(max(0.0, 0.5 - (time.monotonic() - t0)))
    stop.set()
    for t in threads:
        t.join(5)
    child.close()
    served = [p["first_frame_s"] for p in probes if p["first_frame_s"] is not None]
    return {"attack": "slow-viewers", "slow_rate_bytes_s": args.slow_rate, "seconds": args.seconds,
            "jpeg_bytes": child.jpeg_bytes, "new_viewers": len(probes), "served": len(served),
            "served_within_2s": sum(s <= 2.0 for s in served),
            "statuses": sorted({str(p["status"]) for p in probes}),
            "first_served_at_s": next((p["t"] for p in probes if p["first_frame_s"] is not None), None),
            "slowest_first_frame_s": max(served) if served else None}


def listen_overflows() -> int:
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split(), values.split()))["ListenOverflows"])
    return 0


def backlog(args) -> dict:
    child = Child(None)
    time.sleep(1.0)
    overflows = listen_overflows()
    socks, slowest = [], 0.0
    t0 = time.monotonic()
    for _ in range(args.count):
        t = time.monotonic()
        try:
            socks.append(socket.create_connection(("127.0.0.1", child.port), timeout=10))
        except OSError:
            pass
        slowest = max(slowest, time.monotonic() - t)
    took = time.monotonic() - t0
    overflows = listen_overflows() - overflows
    threads_peak = proc_stats(child.proc.pid)["threads"]
    for s in socks:
        s.close()
    child.close()
    return {"attack": "backlog", "connections": args.count, "connected": len(socks), "took_s": round(took, 2),
            "slowest_connect_s": round(slowest, 2), "listen_overflows": overflows, "threads_after": threads_peak}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("attack", choices=["flood", "slowloris", "slow-viewers", "backlog"])
    p.add_argument("--count", type=int, default=None, help="connections (flood/slowloris 40, backlog 150)")
    p.add_argument("--seconds", type=float, default=20.0, help="how long the attack lasts (at most 45)")
    p.add_argument("--baseline", type=float, default=6.0, help="flood: seconds of the good viewer alone")
    p.add_argument("--slow-rate", type=float, default=6000.0, help="slow-viewers: bytes/s each reads (0: none)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    args.count = min(args.count or (150 if args.attack == "backlog" else 40), 200)
    args.seconds = min(args.seconds, 45.0)
    run = {"flood": flood, "slowloris": slowloris, "slow-viewers": slow_viewers, "backlog": backlog}[args.attack]
    result = run(args)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
