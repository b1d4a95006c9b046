"""A loopback server that runs a script per connection: it reads requests and writes raw
bytes, so it can answer oddly, slowly, wrongly or not at all (plain or TLS, IPv4 or IPv6)."""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator

#: seconds a server waits, at its end, for its scripts to end (a script that still runs
#: then is a test's fault: it waits for something that never comes)
SCRIPTS_END_WITHIN = 10.0


class Peer:
    """One accepted connection, seen from the server: read requests, write raw bytes."""

    def __init__(self, sock: socket.socket, index: int) -> None:
        self.sock = sock
        self.index = index
        self.buffer = b""
        self.done = threading.Event()  # the script's part before the client's next move is done

    def request(self, timeout: float = 10.0) -> tuple[str, str, dict[str, str], bytes] | None:
        """The next request (method, target, headers, body), or None at EOF."""
        self.sock.settimeout(timeout)
        while b"\r\n\r\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buffer += data
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        line, *fields = head.decode("latin-1").split("\r\n")
        method, target, _ = line.split(" ")
        headers = {}
        for field in fields:
            name, value = field.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buffer += data
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return method, target, headers, body

    def pipelined(self) -> bool:
        """Bytes of another request already there: two requests share the connection."""
        if self.buffer:
            return True
        readable, _, _ = select.select([self.sock], [], [], 0)
        if not readable:
            return False
        return bool(self.sock.recv(1, socket.MSG_PEEK))

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def wait_closed(self, timeout: float = 5.0) -> bool:
        """True once the client closed its end (EOF)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buffer += data
        except (TimeoutError, OSError):
            return False

    def reset(self) -> None:
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


class RawServer:
    def __init__(self, url: str) -> None:
        self.url = url
        self.peers: list[Peer] = []
        self.errors: list[BaseException] = []

    @property
    def connections(self) -> int:
        return len(self.peers)


def answer(
    body: bytes = b"{}", status: str = "200 OK", headers: str = "", version: str = "HTTP/1.1"
) -> bytes:
    head = f"{version} {status}\r\nContent-Type: application/json\r\n"
    return f"{head}Content-Length: {len(body)}\r\n{headers}\r\n".encode("latin-1") + body


@contextlib.contextmanager
def raw_server(
    script: Callable[[Peer], None],
    *,
    host: str = "127.0.0.1",
    family: socket.AddressFamily = socket.AF_INET,
    tls: ssl.SSLContext | None = None,
) -> Iterator[RawServer]:
    """Runs ``script`` in a thread for every connection; the connection is closed when it returns."""
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    server = RawServer(f"{'https' if tls else 'http'}://{shown}:{port}")
    stop = threading.Event()
    handlers: list[threading.Thread] = []

    def handle(peer: Peer) -> None:
        try:
            if tls is not None:
                peer.sock = tls.wrap_socket(peer.sock, server_side=True)
            script(peer)
        except OSError:
            pass
        except BaseException as exc:
            server.errors.append(exc)
        finally:
            peer.sock.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            peer = Peer(sock, len(server.peers))
            server.peers.append(peer)
            handler = threading.Thread(target=handle, args=(peer,), daemon=True)
            handlers.append(handler)
            handler.start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        listener.close()
        # each script's end is waited for (a hang detector's time at most), so that what a
        # script records (a connection seen closed, an assertion) is there for the test
        deadline = time.monotonic() + SCRIPTS_END_WITHIN
        for handler in list(handlers):
            handler.join(max(0.0, deadline - time.monotonic()))
    assert not server.errors, server.errors


def serve_all(make: Callable[[str, str, bytes], bytes]) -> Callable[[Peer], None]:
    """A script answering every request on the connection with ``make(method, target, body)``."""

    def script(peer: Peer) -> None:
        while (request := peer.request()) is not None:
            method, target, _, body = request
            peer.send(make(method, target, body))

    return script
