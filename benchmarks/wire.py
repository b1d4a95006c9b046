"""The worker's wire: client CPU per no-op task (one claim, one write-back) by way of sending.

One embedded server; for each way, a tight in-process loop claims a task
(``GET /tasks/next_scheduled``), marks it done and writes it back (``PUT /task/{uid}``), as a
worker does for a no-op task. Measured: this process's CPU (user + system, rusage) per task,
and tasks per second. Rounds interleave the ways (the order rotates), each on a fresh namespace;
the table gives medians.

Ways, from the client every command uses to the worker's:
  - ``EventixClient`` (urllib3's pool under httpx's request/response types, pydantic models);
  - urllib3's pool used directly (``urlopen`` with a prebuilt path and headers), dicts;
  - ``http.client`` (one connection), dicts;
  - h11 over a socket (the protocol library under httpx's own transport), dicts;
  - the worker's kept-alive pool (``eventix_cli/client/keepalive.py``: httptools parsing), used
    directly, dicts: like for like with the three above;
  - ``EventixClient(keepalive=True)``: what ``eventix worker`` uses (``eventix_cli/client/keepalive.py``:
    httptools parsing, pydantic models).

    ./dev bench wire [--tasks 1500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import h11
import httpx
import urllib3
from _common import machine_note, table
from worker import enqueue

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import TaskStatus
from tests.support.servers import running_server

HEADERS = {"Accept": "application/json", "User-Agent": "bench"}
JSON_HEADERS = {**HEADERS, "Content-Type": "application/json"}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def finished(body: bytes) -> tuple[str, bytes]:
    """The claimed task's uid and the document to write back (done, no lease)."""
    doc = json.loads(body)
    doc["status"] = "done"
    doc["worker_expires"] = None
    return doc["uid"], json.dumps(doc).encode()


def host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def claim_path(namespace: str) -> str:
    return f"/tasks/next_scheduled?worker_id=bench&namespace={namespace}"


def eventix_client(url: str, namespace: str, n: int, *, keepalive: bool = False) -> None:
    # the worker's client reads its answers through the model (``models=True``), as it edits
    # every task it claims; the commands' client reads views
    with EventixClient(url, keepalive=keepalive, models=keepalive) as client:
        for _ in range(n):
            task = client.next_scheduled("bench", namespace).to_task()
            assert task is not None
            task.status = TaskStatus.done
            task.worker_expires = None
            client.put_task(task.to_wire())


def kept_alive(url: str, namespace: str, n: int) -> None:
    eventix_client(url, namespace, n, keepalive=True)


def keepalive_pool(url: str, namespace: str, n: int) -> None:
    from eventix_cli.client.keepalive import KeepAlivePool

    pool = KeepAlivePool(httpx.URL(url), HEADERS.items())
    claim = pool.encode("GET", claim_path(namespace), None, None)
    for _ in range(n):
        uid, body = finished(pool.send(claim, time.monotonic() + 10, "GET", "/").content)
        put = pool.encode("PUT", f"/task/{uid}", body, "application/json")
        json.loads(pool.send(put, time.monotonic() + 10, "PUT", "/").content)
    pool.close()


def urllib3_pool(url: str, namespace: str, n: int) -> None:
    host, port = host_port(url)
    pool = urllib3.HTTPConnectionPool(host, port, maxsize=1, retries=False)
    timeout = urllib3.Timeout(connect=10, read=10)
    options = {"retries": False, "redirect": False, "timeout": timeout, "decode_content": False}
    path = claim_path(namespace)
    for _ in range(n):
        uid, body = finished(pool.urlopen("GET", path, headers=HEADERS, **options).data)
        json.loads(pool.urlopen("PUT", f"/task/{uid}", body=body, headers=JSON_HEADERS, **options).data)
    pool.close()


def stdlib(url: str, namespace: str, n: int) -> None:
    conn = http.client.HTTPConnection(*host_port(url), timeout=10)
    path = claim_path(namespace)
    for _ in range(n):
        conn.request("GET", path, headers=HEADERS)
        uid, body = finished(conn.getresponse().read())
        conn.request("PUT", f"/task/{uid}", body=body, headers=JSON_HEADERS)
        json.loads(conn.getresponse().read())
    conn.close()


def h11_socket(url: str, namespace: str, n: int) -> None:
    sock = socket.create_connection(host_port(url), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = h11.Connection(h11.CLIENT)
    host = url.removeprefix("http://")

    def exchange(method: str, target: str, body: bytes = b"") -> bytes:
        headers = [("Host", host), *HEADERS.items()]
        if body:
            headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        data = conn.send(h11.Request(method=method, target=target, headers=headers))
        if body:
            data += conn.send(h11.Data(data=body))
        sock.sendall(data + conn.send(h11.EndOfMessage()))
        chunks = []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
            elif isinstance(event, h11.Data):
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
        conn.start_next_cycle()
        return b"".join(chunks)

    path = claim_path(namespace)
    for _ in range(n):
        uid, body = finished(exchange("GET", path))
        json.loads(exchange("PUT", f"/task/{uid}", body))
    sock.close()


WAYS: dict[str, Callable[[str, str, int], None]] = {
    "EventixClient (urllib3, the commands' client)": eventix_client,
    "urllib3 pool, used directly": urllib3_pool,
    "http.client": stdlib,
    "h11 over a socket": h11_socket,
    "eventix_cli.client.keepalive's pool, used directly": keepalive_pool,
    "EventixClient(keepalive=True) (the worker's)": kept_alive,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n = args.tasks
    names = list(WAYS)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "wire.sqlite3")
        with running_server("embedded", Path(tmp), extra_args=["--db", db, "--log-level", "warning"]) as srv:
            for name in names:  # warm-up
                enqueue(srv.url, f"warm-{names.index(name)}", "noop", 50)
                WAYS[name](srv.url, f"warm-{names.index(name)}", 50)
            print(machine_note(), flush=True)
            for r in range(args.rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                for name in order:
                    namespace = f"wire-{names.index(name)}-{r}"
                    enqueue(srv.url, namespace, "noop", n)
                    cpu0, wall0 = cpu(), time.perf_counter()
                    WAYS[name](srv.url, namespace, n)
                    cpu1, wall1 = cpu(), time.perf_counter()
                    results[name].append(((cpu1 - cpu0) / n * 1e6, n / (wall1 - wall0)))
    base = statistics.median(c for c, _ in results[names[-1]])
    rows = []
    for name in names:
        cpu_per_task = statistics.median(c for c, _ in results[name])
        rate = statistics.median(r for _, r in results[name])
        rows.append([name, f"{cpu_per_task:,.0f} µs", f"{cpu_per_task / base:.1f}x", f"{rate:,.0f}/s"])
    print(f"\nclient CPU per no-op task (a claim and a write-back), {n:,} tasks, median of {args.rounds}")
    print(table(["way", "client CPU/task", "vs the worker's", "tasks/s"], rows))
    print(machine_note())


if __name__ == "__main__":
    main()
