"""The embedded server's own CPU per task: one claim plus one write-back, as a worker sends them.

A tight client loop on one kept-alive raw socket (so the client's cost stays out of the
figures) claims a no-op task (``GET /tasks/next_scheduled``) and writes it back done
(``PUT /task/{uid}`` with the revision it got), N times; the server process's user + system
CPU (``/proc/PID/stat``) is read before and after. The server runs as ``eventix server --db
FILE --log-level warning``, as an operator starts it (SQLite file, WAL).

With ``--baseline REF`` the same loop runs against a second server started from the code of
git revision REF (``git archive``), both servers up at once, rounds interleaved (this code
first in even rounds, the baseline first in odd ones); medians per side and their ratio.

    ./dev bench server_cpu [--tasks 2000] [--rounds 5] [--baseline REF]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _common import REPO_ROOT, machine_note, table

from tests.support.servers import child_env, free_port, wait_healthy


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def server(source: Path, workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``eventix server`` from the code in ``source``, on a database file in ``workdir``."""
    port = free_port()
    cmd = [sys.executable, "-m", "eventix_cli", "server", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--db", str(workdir / "bench.sqlite3"), "--log-level", "warning"]
    env = {**child_env(), "PYTHONPATH": str(source)}
    with (workdir / "server.log").open("wb") as log:
        process = subprocess.Popen(cmd, cwd=source, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class Wire:
    """One kept-alive HTTP/1.1 connection, read and written by hand (the thinnest client)."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + (body or b""))
        status = int(self.reader.readline().split()[1])
        length = 0
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, self.reader.read(length)


def enqueue(url: str, namespace: str, count: int) -> None:
    wire = Wire(url)
    try:
        for _ in range(count):
            body = json.dumps({"task": "noop", "namespace": namespace}).encode()
            status, answer = wire.request("POST", "/task", body)
            assert status == 200, answer
    finally:
        wire.close()


def claim_and_write_back(url: str, namespace: str, count: int) -> None:
    wire = Wire(url)
    claim = f"/tasks/next_scheduled?worker_id=bench&namespace={namespace}"
    try:
        for _ in range(count):
            status, answer = wire.request("GET", claim)
            assert status == 200, (status, answer)
            doc = json.loads(answer)
            doc["status"] = "done"
            doc["worker_expires"] = None
            doc["result"] = None
            status, answer = wire.request("PUT", f"/task/{doc['uid']}", json.dumps(doc).encode())
            assert status == 200, (status, answer)
    finally:
        wire.close()


def per_task(url: str, pid: int, namespace: str, count: int) -> tuple[float, float]:
    """(server CPU µs per task, tasks per second) of one loop over ``count`` fresh tasks."""
    enqueue(url, namespace, count)
    before, started = process_cpu(pid), time.perf_counter()
    claim_and_write_back(url, namespace, count)
    elapsed = time.perf_counter() - started
    return 1e6 * (process_cpu(pid) - before) / count, count / elapsed


def export(ref: str, target: Path) -> Path:
    """The files of git revision ``ref`` in ``target``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", ref], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", metavar="REF", help="git revision to compare with")
    args = parser.parse_args()
    print(machine_note())
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="eventix-bench-")))
        sides: dict[str, tuple[str, int]] = {}
        for label, source in (
            ("this code", REPO_ROOT),
            *(
                [(f"baseline {args.baseline}", export(args.baseline, tmp / "baseline"))]
                if args.baseline
                else []
            ),
        ):
            workdir = tmp / f"db-{len(sides)}"
            workdir.mkdir()
            url, process = stack.enter_context(server(source, workdir))
            per_task(url, process.pid, "warmup", 200)
            sides[label] = (url, process.pid)
        figures: dict[str, list[float]] = {label: [] for label in sides}
        labels = list(sides)
        for round_ in range(args.rounds):
            for label in labels if round_ % 2 == 0 else reversed(labels):
                url, pid = sides[label]
                us, rate = per_task(url, pid, f"round-{round_}", args.tasks)
                figures[label].append(us)
                print(
                    f"round {round_ + 1} {label:>20}: {us:6.0f} µs server CPU per task, {rate:,.0f} tasks/s"
                )
        print(machine_note())
        rows = [
            [label, f"{statistics.median(v):,.0f} µs", " ".join(f"{x:.0f}" for x in v)]
            for label, v in figures.items()
        ]
        print(table(["server", "CPU per claim + write-back (median)", "rounds"], rows))
        if args.baseline:
            ours, base = (statistics.median(figures[label]) for label in labels)
            print(f"this code / baseline = {ours / base:.2f}x")


if __name__ == "__main__":
    main()
