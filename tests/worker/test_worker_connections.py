"""A worker keeps its connections alive: thousands of tasks, a handful of TCP connections.

Each connection the worker opens is counted by a TCP relay between the worker and the server,
so the test sees what happens on the wire, not what the client believes it does.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

from tests.support.tasks import seed, statuses
from tests.support.workers import WorkerProcess


class CountingRelay:
    """Relays 127.0.0.1:port to ``target`` and counts the connections it accepts."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                thread = threading.Thread(target=self._pipe, args=(a, b), daemon=True)
                thread.start()
                self._threads.append(thread)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.listener.close()


@contextlib.contextmanager
def relay_to(url: str) -> Iterator[CountingRelay]:
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    relay = CountingRelay((host, int(port)))
    try:
        yield relay
    finally:
        relay.close()


def test_a_worker_runs_many_tasks_over_a_few_connections(server, namespace, tmp_path) -> None:
    seed(server.url, namespace, 60, task="add", args=[1, 2])
    with relay_to(server.url) as relay:
        worker = WorkerProcess(f"http://127.0.0.1:{relay.port}", namespace, tmp_path, ["--burst"])
        assert worker.wait() == 0, worker.log()
    assert set(statuses(server.url, namespace).values()) == {"done"}
    # 60 claims and 60 write-backs (and the empty claim that ends the burst): one connection
    # per lane and one for the supervisor would do; a new connection per request would be 121
    assert 1 <= relay.accepted <= 4, relay.accepted
