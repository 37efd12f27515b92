"""Local MJPEG stream: the stylized frames over HTTP, for OBS, a browser or any program.

Three paths and nothing else (no listing; 404 for any other path, 501 for other methods):
``/`` a page that shows the stream, ``/stream.mjpg`` the stream (``multipart/x-mixed-replace``
JPEG frames), ``/snapshot.jpg`` the newest frame.

Privacy: the server binds to 127.0.0.1 unless told otherwise, and binding to any other address
needs a token (:func:`check_access`). With a token every request must carry it, as ``?token=T``
or ``Authorization: Bearer T``: none gets 401, a wrong one 403. Without a token a request whose
``Host`` names anything but this computer gets 403, so a web page elsewhere cannot read the stream
through DNS rebinding.

Threads: one accepts connections, each client has its own (stdlib ``ThreadingHTTPServer``). A
client thread waits on the newest-frame slot and writes the newest frame as JPEG, encoded at most
once per frame by whichever client needs it first, never by the caller of :meth:`MjpegServer.put`
(the inference thread). A slow client gets the newest frame whenever it is ready for one, so frames
are dropped for it alone; a client that takes longer than :data:`SEND_TIMEOUT_S` for one frame is
disconnected; a disconnect is a normal event, never an error.

Bounds (:class:`ServerLimits`), all before the token is looked at: open connections in total and
per client address (one over a cap gets 503 without a thread), a deadline for the whole request
line and headers (408) and a cap on their bytes (431) (:mod:`.http_guard`), a listen backlog at
least as large as the connection cap; at most ``max_viewers`` stream viewers, where a newcomer
takes the slot of a viewer stuck in one write for ``evict_after`` s (:mod:`.viewers`). Every
response says that no other site may embed it (``Cross-Origin-Resource-Policy``,
``frame-ancestors``).
"""
from __future__ import annotations

import hmac
import html
import io
import ipaddress
import re
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

import numpy as np

from engine.slots import NewestSlot

from .base import OutputError
from .http_guard import (SECURITY_HEADERS, ConnectionLimiter, RequestRefused, plain_response,
                         read_request_head, send_quietly)
from .viewers import ViewerSlots

DEFAULT_HOST = "127.0.0.1"
SEND_TIMEOUT_S = 10.0  # a client that takes longer to accept one frame is dropped
EVICT_AFTER_S = 1.0  # with every slot taken, a viewer this long in one write gives its slot to a newcomer
ADMIT_WAIT_S = 1.5  # how long a newcomer waits for a slot before 503
REQUEST_DEADLINE_S = 5.0  # the request line and headers must all arrive within this (else 408)
MAX_REQUEST_BYTES = 16 * 1024  # … and fit in this (else 431)
MAX_CONNECTIONS = 32  # open connections at once (over: 503, no thread)
MAX_CONNECTIONS_PER_CLIENT = 16  # … from one address
LISTEN_BACKLOG = 512  # connects the kernel queues for the accepting thread (a burst, at least MAX_CONNECTIONS)
KEEPALIVE_S = 2.0  # resend the newest frame this often while no new one comes (stalled source)
POLL_S = 0.25  # how often a waiting client thread looks at the stop flag
SEND_BUFFER_BYTES = 64 * 1024  # kernel send buffer per client (Linux doubles it): see _Handler.setup
MAX_STREAM_CLIENTS = 8
_PORT = re.compile(r"[0-9]{1,5}")
MIN_TOKEN_LENGTH = 8
JPEG_QUALITY = 85
BOUNDARY = "adainliveframe"
TOKEN_HINT = "python -c \"import secrets; print(secrets.token_urlsafe(16))\""
PATHS = ("/", "/stream.mjpg", "/snapshot.jpg")


def parse_bind(text: str) -> tuple[str, int]:
    """``PORT``, ``:PORT``, ``HOST:PORT`` or ``[IPv6]:PORT`` → (host, port); default host 127.0.0.1.
    The port is ASCII digits, 1 to 65535 (not ``²`` or ``٣``, which ``str.isdigit`` accepts)."""
    raw = text.strip()
    host, sep, port = raw.rpartition(":")
    if not sep:
        host, port = "", raw
    host = host.strip("[]") or DEFAULT_HOST
    if not _PORT.fullmatch(port) or not 1 <= int(port) <= 65535:
        shown = text if text.isprintable() and text else ascii(text)
        raise OutputError(f"--serve {shown}: expected HOST:PORT with a port from 1 to 65535, "
                          f"for example 127.0.0.1:8080")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """True for an address only this computer can reach (a host name other than localhost may
    resolve anywhere, so it counts as not loopback)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_access(host: str, port: int, token: str | None) -> None:
    """Refuse a stream other computers could watch without a token, and a guessable token."""
    if token is not None and (len(token) < MIN_TOKEN_LENGTH or not token.isascii()
                              or not token.isprintable() or " " in token):
        raise OutputError(f"--token: use at least {MIN_TOKEN_LENGTH} printable ASCII characters without "
                          f"spaces, for example from: {TOKEN_HINT}")
    if not token and not is_loopback(host):
        raise OutputError(f"--serve {host}:{port}: other computers could watch this stream; add "
                          f"--token T (clients then open …/stream.mjpg?token=T), or serve on 127.0.0.1")


@dataclass(frozen=True)
class ServerLimits:
    """What one client may cost the server (the defaults suit a user; tests set them small)."""

    max_viewers: int = MAX_STREAM_CLIENTS  # stream clients at once
    send_timeout: float = SEND_TIMEOUT_S  # seconds for one frame's write, else the viewer is dropped
    evict_after: float = EVICT_AFTER_S  # seconds in one write after which a newcomer may take the slot
    admit_wait: float = ADMIT_WAIT_S  # seconds a newcomer waits for a slot before 503
    max_connections: int = MAX_CONNECTIONS  # open connections at once (the listen backlog is at least this)
    max_connections_per_client: int = MAX_CONNECTIONS_PER_CLIENT  # … from one address
    request_deadline: float = REQUEST_DEADLINE_S  # seconds for the request line and all headers
    max_request_bytes: int = MAX_REQUEST_BYTES  # bytes of request line and headers


class MjpegServer:
    """The stream server. ``start()`` binds (raises :class:`OutputError` with the reason),
    ``put(frame)`` offers an ``HxWx3`` uint8 BGR frame (never blocks), ``stop()`` ends every
    client and releases the port."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0, token: str | None = None,
                 quality: int = JPEG_QUALITY, limits: ServerLimits | None = None):
        check_access(host, port, token)
        self.host, self.requested_port, self.token = host, port, token or None
        self.quality, self.limits = quality, limits or ServerLimits()
        self.frames = NewestSlot()
        self.frames_served = 0  # JPEG frames written to stream clients, all together
        self._jpeg_lock = threading.Lock()
        self._jpeg: tuple[int, bytes] = (0, b"")
        self.viewers = ViewerSlots(self.limits.max_viewers, self.limits.evict_after, self.limits.admit_wait)
        self.connections = ConnectionLimiter(self.limits.max_connections, self.limits.max_connections_per_client)
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "MjpegServer":
        server_class = _Server6 if ":" in self.host else _Server
        httpd = server_class((self.host, self.requested_port), _Handler, bind_and_activate=False)
        httpd.owner = self
        # A burst of connects waits in the kernel's queue until the accepting thread takes it (which
        # then answers those over the caps at once); a full queue drops them for a 1-s SYN retry.
        httpd.request_queue_size = max(LISTEN_BACKLOG, self.limits.max_connections)
        try:
            httpd.server_bind()
            httpd.server_activate()
        except OSError as exc:
            httpd.server_close()
            reason = exc.strerror or str(exc)
            raise OutputError(f"{self.host}:{self.requested_port}: cannot serve the stream ({reason})") from exc
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": POLL_S},
                                        name="mjpeg-server", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        """Disconnect every client, stop accepting and close the listening socket."""
        self._stopping.set()
        self.frames.close()
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()  # returns once serve_forever has ended
        self.viewers.close()  # unblocks a client thread stuck in sendall
        self.connections.shutdown_all()  # … and one still reading its request
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout)

    def put(self, frame_bgr: np.ndarray) -> None:
        """Offer the newest ``HxWx3`` uint8 BGR frame."""
        self.frames.put(frame_bgr)

    # --- state -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1] if self._httpd is not None else self.requested_port

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def clients(self) -> int:
        """Stream clients connected now."""
        return len(self.viewers)

    @property
    def url(self) -> str:
        """The page's address (with the token, when there is one)."""
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = socket.gethostname()
        elif ":" in host:
            host = f"[{host}]"
        query = f"?token={quote(self.token, safe='')}" if self.token else ""
        return f"http://{host}:{self.port}/{query}"

    def stream_url(self) -> str:
        base, _, query = self.url.partition("?")
        return base + "stream.mjpg" + (f"?{query}" if query else "")

    # --- used by the client threads ------------------------------------------------------------
    def authorize(self, headers, query: str) -> int:
        """0 when the request may proceed, else the HTTP status to answer (401, 403)."""
        if self.token is None:
            host = headers.get("Host")
            return 0 if host is None or is_loopback(_host_name(host)) else 403
        given = parse_qs(query).get("token", [""])[-1]
        auth = headers.get("Authorization", "")
        if not given and auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        if not given:
            return 401
        return 0 if hmac.compare_digest(given.encode(), self.token.encode()) else 403

    def newest_jpeg(self) -> tuple[int, bytes] | None:
        """(seq, JPEG bytes) of the newest frame, encoded once per frame; None before the first."""
        seq, frame = self.frames.latest()
        if frame is None:
            return None
        with self._jpeg_lock:
            if self._jpeg[0] != seq:
                import cv2

                ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(self.quality)])
                if not ok:
                    return None
                self._jpeg = (seq, buf.tobytes())
            return self._jpeg

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: MjpegServer

    def process_request(self, request, client_address) -> None:
        """On the accepting thread: a connection over a cap gets 503 and no thread."""
        if not self.owner.connections.acquire(request, client_address[0]):
            send_quietly(request, plain_response(503, {"Retry-After": "5"}))
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)  # starts the client's thread
        except BaseException:
            self.owner.connections.release(request)
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.owner.connections.release(request)

    def handle_error(self, request, client_address) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # a client went away: normal
        print(f"stream: request from {client_address[0]} failed: {type(exc).__name__}: {exc}",
              file=sys.stderr)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server_version = "adain-live"
    sys_version = ""
    protocol_version = "HTTP/1.0"  # one request per connection; the stream ends with the connection
    timeout = None  # handle() sets the socket's timeouts: the request's deadline, then send_timeout
    server: _Server

    def setup(self) -> None:
        # A small send buffer: what the kernel holds for a slow client is about one frame, so it
        # gets the newest frame when it reads, not one from seconds ago (autotuned buffers on
        # loopback grow to megabytes, dozens of frames).
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        super().setup()

    def log_message(self, format, *args) -> None:  # noqa: A002 - no line per request on the console
        pass

    def handle(self) -> None:
        """Read the request head within the deadline and byte cap, then answer it from memory."""
        limits = self.server.owner.limits
        try:
            head = read_request_head(self.connection, limits.request_deadline, limits.max_request_bytes)
        except RequestRefused as exc:
            return send_quietly(self.connection, plain_response(exc.status), timeout=1.0)
        except OSError:
            return  # reset or shut down while reading: nothing to answer
        if not head:
            return
        self.connection.settimeout(limits.send_timeout)  # each frame's write must end within it
        self.rfile.close()
        self.rfile = io.BytesIO(head)
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            pass  # disconnects and stalled clients end their own thread quietly

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch(send_body=False)

    def _dispatch(self, send_body: bool) -> None:
        owner = self.server.owner
        url = urlsplit(self.path)
        status = owner.authorize(self.headers, url.query)
        if status == 401:
            return self._reply(401, b"token required\n", send_body,
                               {"WWW-Authenticate": 'Bearer realm="adain-live"'})
        if status:
            return self._reply(status, b"forbidden\n", send_body)
        if url.path == "/":
            return self._reply(200, _page(owner.token), send_body, content_type="text/html; charset=utf-8")
        if url.path == "/snapshot.jpg":
            item = owner.newest_jpeg()
            if item is None:
                return self._reply(503, b"no frame yet\n", send_body, {"Retry-After": "1"})
            return self._reply(200, item[1], send_body, content_type="image/jpeg")
        if url.path == "/stream.mjpg":
            return self._stream(owner, send_body)
        return self._reply(404, b"not found\n", send_body)

    def _reply(self, status: int, body: bytes, send_body: bool, headers: dict | None = None,
               content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self._common_headers(content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _common_headers(self, content_type: str) -> None:
        self.send_header("Content-Type", content_type)
        for key, value in SECURITY_HEADERS.items():
            self.send_header(key, value)

    def _stream(self, owner: MjpegServer, send_body: bool) -> None:
        viewer = None if owner.stopping else owner.viewers.enter(self.connection)
        if viewer is None:
            return self._reply(503, b"too many stream clients\n", send_body, {"Retry-After": "5"})
        try:
            with viewer.writing():
                self.send_response(200)
                self._common_headers(f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Connection", "close")
                self.end_headers()
            if send_body:
                self._send_frames(owner, viewer)
        finally:
            owner.viewers.leave(viewer)

    def _send_frames(self, owner: MjpegServer, viewer) -> None:
        sent_seq, idle = 0, 0.0
        while not owner.stopping:
            if owner.frames.wait_newer(sent_seq, POLL_S) is None:
                idle += POLL_S
                if sent_seq == 0 or idle < KEEPALIVE_S:
                    continue
            item = owner.newest_jpeg()  # the newest, not the one that woke us: never fall behind
            if item is None:
                continue
            sent_seq, jpeg = item
            idle = 0.0
            head = (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n").encode()
            with viewer.writing():
                self.wfile.write(head + jpeg + b"\r\n")
            owner.frames_served += 1


def _page(token: str | None) -> bytes:
    query = html.escape(f"?token={quote(token, safe='')}") if token else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>adain-live stream</title>
<style>
html, body {{ margin: 0; height: 100%; background: #151518; color: #c8c8d0; font: 14px sans-serif; }}
body {{ display: flex; flex-direction: column; align-items: center; justify-content: center; }}
img {{ max-width: 100vw; max-height: calc(100vh - 3em); image-rendering: auto; }}
p {{ margin: 0.6em; }} a {{ color: #8fb4ff; }}
</style></head>
<body><img src="/stream.mjpg{query}" alt="the stylized camera">
<p>adain-live · <a href="/snapshot.jpg{query}">snapshot</a> · stream: /stream.mjpg</p></body></html>
""".encode()


def _host_name(host_header: str) -> str:
    """The host part of a Host header: ``[::1]:8080`` → ``::1``, ``localhost:80`` → ``localhost``."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0]
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header

