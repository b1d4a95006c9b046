"""Loopback servers, some misbehaving on purpose: one that records every request and answers
from a script (an HTML page, a deep document, or one fixed response), one that drips its
answer a byte at a time, and a TLS server with a throwaway CA."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.servers import PROXY_VARIABLES

Answer = tuple[int, str, bytes]  # status, content type, body


def clear_proxy_variables(monkeypatch) -> None:
    """Loopback stays direct: no proxy variable of the developer's shell is seen."""
    for name in list(os.environ):
        if name.upper() in PROXY_VARIABLES:
            monkeypatch.delenv(name)


@dataclass
class Recorded:
    url: str
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)


@contextlib.contextmanager
def recording_server(
    answer: Answer | Callable[[str, str, bytes], Answer], *, ssl_context: ssl.SSLContext | None = None
) -> Iterator[Recorded]:
    """Answers every request with ``answer`` (or what it returns) and records method and path."""
    recorded = Recorded(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorded.requests.append((self.command, self.path))
            status, content_type, content = (
                answer(self.command, self.path, body) if callable(answer) else answer
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_PUT = do_POST = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    if ssl_context is not None:
        httpd.socket = ssl_context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if ssl_context is not None else "http"
    recorded.url = f"{scheme}://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield recorded
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def scripted_server(status: int, body: bytes, content_type: str = "application/json") -> Iterator[str]:
    """A loopback server that answers every request with one response; yields its URL."""
    with recording_server((status, content_type, body)) as recorded:
        yield recorded.url


@contextlib.contextmanager
def drip_server(*, headers_too: bool, interval: float = 0.5) -> Iterator[str]:
    """Answers every request with a valid response sent one byte every ``interval`` seconds
    (the body only, or the status line and headers as well)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                body = b'{"status": "healthy"}' * 20
                head = (
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    % len(body)
                )
                if not headers_too:
                    conn.sendall(head)
                for byte in (head + body) if headers_too else body:
                    if stop.wait(interval):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        time.sleep(0)  # let the drip threads see the stop
