"""What the stream server spends on a connection before it knows who is asking, and the bounds on it.

A connection costs a thread from its accept until it ends, so the server counts them: at most
``total`` at once and at most ``per_client`` from one address (:class:`ConnectionLimiter`); one over
either cap is answered 503 on the accepting thread and closed, without a thread. A request's line
and headers must arrive whole within a deadline (for all of them together, not per read) and within
a byte cap (:func:`read_request_head`), else 408 or 431 and the connection closes. All of this
happens before the token is looked at, so a client without one can hold at most ``per_client``
threads for at most the deadline each, and at most the byte cap of memory each.

The headers every response carries (:data:`SECURITY_HEADERS`) live here too, so the refusals sent
from this module carry them as well.
"""
from __future__ import annotations

import socket
import threading
import time

# Every response: never cached, never sniffed, no referrer, and no other site may embed it (an <img>
# on another origin's page would learn that the stream runs, and put its frames in that page's process).
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
                               "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}
REASONS = {408: "Request Timeout", 431: "Request Header Fields Too Large", 503: "Service Unavailable"}
_END_OF_HEAD = (b"\n\r\n", b"\n\n")  # an empty line after the request line and headers


class RequestRefused(Exception):
    """The request was not read: ``status`` (408 or 431) says why."""

    def __init__(self, status: int):
        super().__init__(f"{status} {REASONS[status]}")
        self.status = status


def read_request_head(conn: socket.socket, deadline_s: float, max_bytes: int) -> bytes:
    """The request line and headers, up to and including the empty line that ends them; ``b""`` when
    the client closed before sending any. Raises :class:`RequestRefused` (408) when they have not all
    arrived ``deadline_s`` after the call, (431) when they exceed ``max_bytes``. Bytes after the head
    (a body, a pipelined request) are not read: the server answers one GET or HEAD per connection."""
    deadline = time.monotonic() + deadline_s
    head = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RequestRefused(408)
        conn.settimeout(remaining)
        try:
            chunk = conn.recv(min(4096, max_bytes + 1 - len(head)))
        except TimeoutError:
            raise RequestRefused(408) from None
        if not chunk:  # the client closed: before a request, or in the middle of one
            if head:
                raise RequestRefused(408)
            return b""
        start = max(0, len(head) - 2)
        head += chunk
        ends = [i for i in (head.find(mark, start) for mark in _END_OF_HEAD) if i >= 0]
        if ends:
            end = min(ends)
            end += 3 if head[end:end + 3] == b"\n\r\n" else 2
            if end > max_bytes:
                raise RequestRefused(431)
            return bytes(head[:end])
        if len(head) > max_bytes:
            raise RequestRefused(431)


def plain_response(status: int, headers: dict | None = None) -> bytes:
    """A complete HTTP/1.0 response with a one-line text body and :data:`SECURITY_HEADERS`."""
    body = f"{REASONS[status].lower()}\n".encode()
    lines = [f"HTTP/1.0 {status} {REASONS[status]}", "Content-Type: text/plain; charset=utf-8",
             f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in {**SECURITY_HEADERS, **(headers or {})}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def send_quietly(conn: socket.socket, data: bytes, timeout: float = 0.0) -> None:
    """Send ``data`` if the socket takes it within ``timeout`` (0: only what fits at once); a client
    that went away or reads nothing is not waited for."""
    try:
        conn.settimeout(timeout)
        conn.sendall(data)
    except OSError:
        pass


class ConnectionLimiter:
    """Counts open connections, in total and per client address, and can end them all."""

    def __init__(self, total: int, per_client: int):
        if total < 1 or per_client < 1:
            raise ValueError("connection caps must be at least 1")
        self.total, self.per_client = total, per_client
        self.refused = 0  # connections turned away at a cap, all together
        self._lock = threading.Lock()
        self._open: dict[socket.socket, str] = {}
        self._per_address: dict[str, int] = {}

    def acquire(self, conn: socket.socket, address: str) -> bool:
        """Count ``conn`` from ``address``; False (and not counted) when a cap is reached."""
        with self._lock:
            if len(self._open) >= self.total or self._per_address.get(address, 0) >= self.per_client:
                self.refused += 1
                return False
            self._open[conn] = address
            self._per_address[address] = self._per_address.get(address, 0) + 1
            return True

    def release(self, conn: socket.socket) -> None:
        with self._lock:
            address = self._open.pop(conn, None)
            if address is None:
                return
            left = self._per_address[address] - 1
            if left:
                self._per_address[address] = left
            else:
                del self._per_address[address]

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)

    def shutdown_all(self) -> None:
        """Shut every counted connection down (its thread then ends at its next read or write)."""
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            shutdown_socket(conn)


def shutdown_socket(conn: socket.socket) -> None:
    """Shut both directions (wakes a thread blocked in a read or write on it); errors mean it is gone."""
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
