"""The stream server's bounds, tried with real sockets on 127.0.0.1 (each test bounded in connections
and seconds): connection caps, the request deadline and byte cap (all before the token is looked at),
viewer slots that slow viewers cannot keep from a newcomer, the listen backlog, and the headers that
keep other sites from embedding any response. ``tools/stream_attack.py`` runs the full-size attacks.
"""
from __future__ import annotations

import select
import socket
import threading
import time

import numpy as np
import pytest

from engine.media.outputs.mjpeg import ServerLimits
from tests.media.test_mjpeg import Producer, server  # noqa: F401 - the fixture: servers on 127.0.0.1, stopped after

TOKEN = "limits-token-123"
REQUEST = b"GET /stream.mjpg HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"


def connect(port: int, source: str = "127.0.0.1", rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    return sock


def answer(sock: socket.socket, wait: float = 0.0) -> bytes | None:
    """All the server sent before closing (``b""``: closed or reset without a word), or None when it
    has sent nothing within ``wait`` s and still holds the connection."""
    if not select.select([sock], [], [], wait)[0]:
        return None
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except OSError:
        pass
    return data


def response_headers(data: bytes) -> tuple[int, dict]:
    lines = data.partition(b"\r\n\r\n")[0].decode().split("\r\n")
    return int(lines[0].split()[1]), {k.strip().lower(): v.strip() for k, _, v in
                                      (line.partition(":") for line in lines[1:])}


def wait_until(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


class Viewer(threading.Thread):
    """A stream client that reads ``rate`` bytes/s (None: as fast as it can; 0: nothing at all)."""

    def __init__(self, port: int, rate: float | None = None):
        super().__init__(daemon=True)
        self.sock = connect(port, rcvbuf=4096 if rate is not None else None)
        self.sock.sendall(REQUEST)
        self.rate, self.received, self.closed_by_server = rate, 0, False
        self.first_byte_s: float | None = None
        self._t0 = time.monotonic()
        self._halt = threading.Event()
        self.start()

    def run(self):
        try:
            if self.rate == 0:
                return  # reads nothing (so it cannot notice being dropped: see reaches_end)
            while not self._halt.is_set():
                chunk = self.sock.recv(65536 if self.rate is None else max(1, int(self.rate / 10)))
                if not chunk:
                    break
                if self.first_byte_s is None:
                    self.first_byte_s = time.monotonic() - self._t0
                self.received += len(chunk)
                if self.rate:
                    self._halt.wait(0.1)
        except OSError:
            pass
        self.closed_by_server = not self._halt.is_set()

    def stop_reading(self):
        self._halt.set()
        self.join(2)

    def reaches_end(self, seconds: float) -> bool:
        """Reads what is left: True when the server has closed the stream (EOF or reset)."""
        self.stop_reading()
        self.sock.settimeout(seconds)
        try:
            while self.sock.recv(65536):
                pass
        except TimeoutError:
            return False
        except OSError:
            pass
        return True

    def close(self):
        self.stop_reading()
        self.sock.close()


def test_connections_over_the_caps_get_503_at_once_and_no_thread(server):
    s = server(token=TOKEN, limits=ServerLimits(max_connections=6, max_connections_per_client=4,
                                                request_deadline=3.0))
    try:
        connect(s.port, "127.0.0.2").close()
    except OSError:
        pytest.skip("needs 127.0.0.2 (the loopback network) to be a second client address")
    threads = threading.active_count()
    first = [connect(s.port) for _ in range(6)]  # 4 held, 2 over the per-address cap
    second = [connect(s.port, "127.0.0.2") for _ in range(3)]  # 2 held (6 in all), 1 over the total
    time.sleep(1.0)
    answers = [answer(c) for c in first + second]
    held = [i for i, a in enumerate(answers) if a is None]
    assert held == [0, 1, 2, 3, 6, 7], answers
    assert all(answers[i].startswith(b"HTTP/1.0 503 ") for i in (4, 5, 8)), answers
    assert threading.active_count() - threads <= 6  # one thread per held connection, none for the rest
    for c in first[:1]:
        c.close()  # a slot comes free
    assert wait_until(lambda: len(s.connections) == 5, 2)
    s.put(np.zeros((48, 64, 3), np.uint8))
    again = connect(s.port)
    again.sendall(f"GET /snapshot.jpg?token={TOKEN} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert (answer(again, 3) or b"").startswith(b"HTTP/1.0 200 ")
    for c in first + second + [again]:
        c.close()
    assert wait_until(lambda: len(s.connections) == 0, 4)  # every thread released its count


@pytest.mark.parametrize("trickle", [b"X-Slow: 1\r\n", b"a"], ids=["header-lines", "one-byte-drip"])
def test_a_request_must_arrive_whole_within_the_deadline(server, trickle):
    s = server(token=TOKEN, limits=ServerLimits(request_deadline=1.0))
    sock = connect(s.port)
    sock.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    t0, reply = time.monotonic(), None
    while reply is None and time.monotonic() - t0 < 4.0:
        reply = answer(sock, 0.2)  # a line or a byte every 0.2 s: each read is quick, the whole is not
        try:
            sock.sendall(trickle)
        except OSError:
            reply = answer(sock, 1.0) or b""
    took = time.monotonic() - t0
    assert reply is not None and reply.startswith(b"HTTP/1.0 408 "), reply
    assert took < 2.0
    assert wait_until(lambda: len(s.connections) == 0, 2)
    sock.close()


@pytest.mark.parametrize("shape", ["one-long-line", "many-lines"])
def test_headers_over_the_byte_cap_get_431_before_the_token_is_checked(server, shape):
    s = server(token=TOKEN)  # the default cap: 16 KB for the request line and headers
    sock = connect(s.port)
    sock.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    pad = b"X-Pad: " + b"a" * 20_000 if shape == "one-long-line" else b"X-Pad: " + b"a" * 1000 + b"\r\n"
    try:
        for _ in range(1 if shape == "one-long-line" else 20):
            sock.sendall(pad)  # never the empty line that would end the headers
    except OSError:
        pass
    reply = answer(sock, 2.0)
    assert reply is not None and reply.startswith(b"HTTP/1.0 431 "), reply
    sock.close()
    # under the cap, a request with large headers (cookies, a long user agent) is served as before
    s.put(np.zeros((48, 64, 3), np.uint8))
    sock = connect(s.port)
    sock.sendall(f"GET /snapshot.jpg?token={TOKEN} HTTP/1.0\r\nHost: 127.0.0.1\r\n".encode()
                 + b"Cookie: " + b"c" * 12_000 + b"\r\n\r\n")
    assert (answer(sock, 3) or b"").startswith(b"HTTP/1.0 200 ")
    sock.close()


@pytest.mark.parametrize("slow_rate", [0, 6000], ids=["reads-nothing", "reads-6KB-per-s"])
def test_a_new_viewer_is_served_within_2_s_while_slow_viewers_hold_every_slot(server, slow_rate):
    s = server(limits=ServerLimits(max_viewers=3))  # the default eviction, admission and send timeout
    with Producer(s, rate=20, size=(320, 240), noise=True):  # large JPEGs: socket buffers fill fast
        slow = [Viewer(s.port, rate=slow_rate) for _ in range(3)]
        assert wait_until(lambda: s.clients == 3, 3)
        time.sleep(1.5)  # their buffers are full: each one sits in a write
        newcomers = []
        for _ in range(3):  # newcomers take the slow viewers' slots, one each
            viewer = Viewer(s.port)
            assert wait_until(lambda: viewer.received > 70_000, 2.0), "not served within 2 s"
            newcomers.append(viewer)
        assert s.viewers.evicted == 3 and s.clients == 3
        assert all(v.reaches_end(2) for v in slow)  # the server dropped them
        # every slot now holds a viewer that keeps up: a fourth is refused and nobody is evicted
        before = [v.received for v in newcomers]
        late = connect(s.port)
        late.sendall(REQUEST)
        reply = answer(late, 3.0)
        assert reply is not None and reply.startswith(b"HTTP/1.0 503 "), reply
        time.sleep(0.5)
        assert s.viewers.evicted == 3
        assert all(v.received > b + 70_000 and not v.closed_by_server for v, b in zip(newcomers, before))
        for v in slow + newcomers:
            v.close()
        late.close()


def test_a_burst_of_connects_waits_in_the_listen_queue_not_for_a_syn_retry(server):
    s = server()
    socks, missed = [], 0
    t0 = time.monotonic()
    for _ in range(150):  # back to back: faster than one Python thread accepts them
        try:
            socks.append(socket.create_connection(("127.0.0.1", s.port), timeout=0.9))
        except OSError:
            missed += 1  # a full listen queue drops the SYN; the retry comes after 1 s
    took = time.monotonic() - t0
    for sock in socks:
        sock.close()
    assert missed == 0 and took < 0.9


def test_no_other_site_may_embed_any_response(server):
    s = server(token=TOKEN, limits=ServerLimits(max_connections_per_client=2))
    requests = {f"/?token={TOKEN}": 200, f"/stream.mjpg?token={TOKEN}": 200, "/snapshot.jpg": 401,
                "/snapshot.jpg?token=wrong-token": 403, f"/nope?token={TOKEN}": 404,
                f"/snapshot.jpg?token={TOKEN}": 503}  # no frame yet
    replies = []
    for path, status in requests.items():
        sock = connect(s.port)
        sock.sendall(f"HEAD {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        replies.append((status, answer(sock, 3)))
        sock.close()
    sock = connect(s.port)
    sock.sendall(b"GET / HTTP/1.0\r\nX-Pad: " + b"a" * 20_000)
    replies.append((431, answer(sock, 3)))
    sock.close()
    assert wait_until(lambda: len(s.connections) == 0, 2)
    held = [connect(s.port) for _ in range(2)]
    sock = connect(s.port)
    replies.append((503, answer(sock, 3)))  # over the per-address cap
    for c in held + [sock]:
        c.close()
    for status, reply in replies:
        got, headers = response_headers(reply)
        assert got == status
        assert headers["cross-origin-resource-policy"] == "same-origin", (status, headers)
        assert "frame-ancestors 'none'" in headers["content-security-policy"], (status, headers)
