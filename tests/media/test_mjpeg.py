"""The MJPEG stream server with real clients: OpenCV's VideoCapture, raw sockets, urllib.

Frames carry their number in two grey bands (JPEG keeps them within a few levels), so a client can
tell which frame it got: every client must get the newest frame, a slow one drops frames without
slowing the producer or the other clients.
"""
from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from engine.media.outputs.base import OutputError
from engine.media.outputs.mjpeg import BOUNDARY, MjpegServer, ServerLimits, check_access, is_loopback, parse_bind


def numbered_frame(i: int, size=(160, 120), noise: bool = False) -> np.ndarray:
    """BGR frame: red left half; rows 0-15 grey 10·(i mod 20)+20, rows 16-31 grey 10·(i//20 mod 20)+20;
    with ``noise`` the rest is random (large JPEGs, to fill socket buffers)."""
    w, h = size
    rng = np.random.default_rng(i)
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8) if noise else np.zeros((h, w, 3), np.uint8)
    frame[32:, : w // 2] = (0, 0, 255)
    frame[:16] = 20 + 10 * (i % 20)
    frame[16:32] = 20 + 10 * ((i // 20) % 20)
    return frame


def frame_number(bgr: np.ndarray) -> int:
    low, high = (round((float(np.median(bgr[a:b, 4:-4])) - 20) / 10) for a, b in ((4, 12), (20, 28)))
    return low + 20 * high


class Producer:
    """Puts numbered frames into a server at ``rate`` from its own thread; records put times."""

    def __init__(self, server, rate=20.0, size=(160, 120), noise=False):
        self.server, self.rate, self.size, self.noise = server, rate, size, noise
        self.count, self.put_times = 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(2)

    def _run(self):
        while not self._stop.is_set():
            frame = numbered_frame(self.count, self.size, self.noise)
            t0 = time.perf_counter()
            self.server.put(frame)
            self.put_times.append(time.perf_counter() - t0)
            self.count += 1
            self._stop.wait(1.0 / self.rate)


@pytest.fixture
def server():
    servers = []

    def make(**kw):
        s = MjpegServer("127.0.0.1", 0, **kw).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


def get(url: str, headers: dict | None = None, method: str = "GET") -> tuple[int, bytes, dict]:
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def wait_until(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


class StreamReader:
    """A raw-socket stream client that parses the multipart stream; ``delay`` s between frames."""

    def __init__(self, port: int, delay: float = 0.0, rcvbuf: int | None = None, path="/stream.mjpg"):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        self.file = self.sock.makefile("rb")
        self.status = self.file.readline()
        while self.file.readline() not in (b"\r\n", b""):
            pass
        self.delay, self.numbers = delay, []

    def read_frame(self) -> np.ndarray:
        assert self.file.readline().strip() == f"--{BOUNDARY}".encode()
        headers = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode().partition(":")
            headers[key.strip().lower()] = value.strip()
        data = self.file.read(int(headers["content-length"]))
        self.file.readline()
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)

    def run_for(self, seconds: float) -> "StreamReader":
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.numbers.append(frame_number(self.read_frame()))
            if self.delay:
                time.sleep(self.delay)
        return self

    def close(self):
        self.file.close()
        self.sock.close()


def test_opencv_reads_the_stream_with_the_right_size_colours_and_newest_frames(server):
    s = server()
    with Producer(s, rate=20) as producer:
        cap = cv2.VideoCapture(s.stream_url(), cv2.CAP_FFMPEG)
        assert cap.isOpened()
        frames = []
        t_end = time.monotonic() + 3
        while time.monotonic() < t_end:
            ok, frame = cap.read()
            if ok:
                frames.append((frame, producer.count))
        cap.release()
    assert len(frames) >= 20  # ~60 were produced
    frame, produced = frames[-1]
    assert frame.shape == (120, 160, 3)
    red = frame[40:, 10:70].reshape(-1, 3).mean(0)
    assert red[2] > 230 and red[0] < 25 and red[1] < 25  # red stays red (BGR order kept)
    numbers = [frame_number(f) for f, _ in frames]
    assert numbers == sorted(numbers) and len(set(numbers)) >= 20
    assert produced - 1 - numbers[-1] <= 12  # OpenCV buffers a little; never far behind


def test_a_slow_client_drops_frames_without_slowing_the_producer_or_other_clients(server):
    s = server()
    with Producer(s, rate=20, size=(640, 480), noise=True) as producer:  # ~230 KB JPEGs
        slow = StreamReader(s.port, delay=0.5, rcvbuf=4096)
        fast = StreamReader(s.port)
        threads = [threading.Thread(target=r.run_for, args=(4,)) for r in (slow, fast)]
        first = producer.count
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        produced = producer.count - first
    assert max(producer.put_times) < 0.05  # put never waits for a client (a blocked one takes 0.5 s)
    assert len(fast.numbers) >= 0.7 * produced  # the fast client got nearly every frame
    assert len(slow.numbers) <= 4 / 0.5 + 2  # the slow one got one per read…
    gaps = np.diff(slow.numbers)
    assert gaps.min() > 0 and gaps.mean() >= 0.25 * produced / len(slow.numbers)  # …skipping the rest
    # and it is never far behind: a read's worth of frames plus what the socket buffers hold (about
    # 2 s at 20 fps on a loaded machine; a server that queued every frame falls further behind each read)
    assert first + produced - slow.numbers[-1] <= 0.5 * 20 + 30
    slow.close()
    fast.close()


def test_a_stalled_client_is_dropped_and_disconnects_leave_no_threads(server):
    s = server(limits=ServerLimits(send_timeout=1.0))
    before = threading.active_count()
    with Producer(s, rate=30, size=(320, 240), noise=True) as producer:
        stalled = StreamReader(s.port, rcvbuf=4096)  # never reads a frame
        for _ in range(10):  # clients that hang up mid-stream: normal events
            r = StreamReader(s.port)
            r.read_frame()
            r.sock.shutdown(socket.SHUT_RDWR)
            r.close()
            wait_until(lambda: s.clients <= 1, 3)  # the server notices at its next write
        fast = StreamReader(s.port)
        first = producer.count
        fast.run_for(3)
        assert len(fast.numbers) >= 0.7 * (producer.count - first)  # the stalled one slows nobody
        deadline = time.monotonic() + 5
        while s.clients > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert s.clients == 1  # only the fast one is left
        fast.close()
        stalled.close()
        deadline = time.monotonic() + 3
        while (s.clients or threading.active_count() > before + 1) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert s.clients == 0 and threading.active_count() <= before


def test_snapshot_page_and_nothing_else(server):
    s = server()
    assert get(s.url + "snapshot.jpg")[0] == 503  # no frame yet
    s.put(numbered_frame(7))
    status, body, headers = get(s.url + "snapshot.jpg")
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert frame_number(cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)) == 7
    status, body, headers = get(s.url)
    assert status == 200 and b'src="/stream.mjpg"' in body and headers["Cache-Control"] == "no-store"
    for path in ("index.html", "stream", "snapshot.jpg/", "../etc/passwd", "%2e%2e/", "engine/", "?"):
        assert get(s.url + path)[0] == (200 if path == "?" else 404), path
    assert get(s.url + "snapshot.jpg", method="POST")[0] == 501
    assert get(s.url + "snapshot.jpg", method="HEAD")[0] == 200


def test_token_rules(server):
    token = "s3cret-t0ken"
    s = server(token=token)
    s.put(numbered_frame(3))
    base = s.url.partition("?")[0]
    for path in ("", "snapshot.jpg", "stream.mjpg", "nope"):
        assert get(base + path)[0] == 401, path
        assert get(base + path + "?token=wrong-token")[0] == 403, path
        assert get(base + path, {"Authorization": "Bearer wrong-token"})[0] == 403, path
    assert get(base + "snapshot.jpg?token=" + token)[0] == 200
    assert get(base + "snapshot.jpg", {"Authorization": "Bearer " + token})[0] == 200
    assert get(base + "nope?token=" + token)[0] == 404
    status, body, _ = get(s.url)
    assert status == 200 and f'src="/stream.mjpg?token={token}"'.encode() in body
    cap = cv2.VideoCapture(s.stream_url(), cv2.CAP_FFMPEG)
    ok, frame = cap.read()
    cap.release()
    assert ok and frame_number(frame) == 3


def test_without_a_token_a_foreign_host_header_is_refused(server):
    s = server()
    s.put(numbered_frame(1))
    assert get(s.url + "snapshot.jpg", {"Host": "attacker.example:80"})[0] == 403
    assert get(s.url + "snapshot.jpg", {"Host": f"localhost:{s.port}"})[0] == 200


def test_binding_beyond_loopback_needs_a_token_and_enforces_it():
    with pytest.raises(OutputError, match="--token"):
        MjpegServer("0.0.0.0", 0)
    with pytest.raises(OutputError, match="at least 8"):
        MjpegServer("0.0.0.0", 0, token="short")
    s = MjpegServer("0.0.0.0", 0, token="long-enough-token").start()
    try:
        s.put(numbered_frame(2))
        assert get(f"http://127.0.0.1:{s.port}/snapshot.jpg")[0] == 401
        assert get(f"http://127.0.0.1:{s.port}/snapshot.jpg?token=long-enough-token")[0] == 200
    finally:
        s.stop()


def test_bind_parsing_and_loopback_rules():
    assert parse_bind("8080") == ("127.0.0.1", 8080)
    assert parse_bind(":8080") == ("127.0.0.1", 8080)
    assert parse_bind("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_bind("[::1]:9000") == ("::1", 9000)
    assert parse_bind("127.0.0.1:1") == ("127.0.0.1", 1) and parse_bind(":65535") == ("127.0.0.1", 65535)
    # ports are ASCII digits 1-65535: str.isdigit() also takes "²" (int() then fails) and "٣٣٣" (333)
    for bad in ("host:", "127.0.0.1:99999", "abc", "127.0.0.1:²", "127.0.0.1:٣٣٣", "127.0.0.1:８０", ":0",
                ":70000", "", " ", "127.0.0.1:", "127.0.0.1:+80", "127.0.0.1:-1", "127.0.0.1: 80",
                "127.0.0.1:8080\n9090", "127.0.0.1:0x50", "127.0.0.1:800000"):
        with pytest.raises(OutputError) as info:
            parse_bind(bad)
        assert str(info.value).startswith("--serve ") and "\n" not in str(info.value), bad
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("myhost")
    check_access("127.0.0.1", 80, None)
    with pytest.raises(OutputError):
        check_access("myhost", 80, None)


def test_a_port_in_use_is_one_line_and_stop_releases_the_port(server):
    s = server()
    port = s.port
    with pytest.raises(OutputError) as info:
        MjpegServer("127.0.0.1", port).start()
    assert str(port) in str(info.value) and "\n" not in str(info.value)
    s.put(numbered_frame(0))
    reader = StreamReader(port)
    reader.read_frame()
    t0 = time.monotonic()
    s.stop()
    assert time.monotonic() - t0 < 1.5
    reader.sock.settimeout(2)
    assert reader.file.read() is not None  # the client sees the end of the stream (EOF)
    reader.close()
    again = MjpegServer("127.0.0.1", port).start()  # the port is free at once
    again.stop()
