"""Embedded server vs the upstream reference server, side by side in the same run.

Measures, against both servers (fresh, on loopback ports):
  - POST /task: tasks/s from 1 client and from 8 concurrent clients;
  - claim (GET /tasks/next_scheduled) + write-back (PUT /task) with 10,000 tasks queued;
  - PUT /tasks/by_status listing all 10,000 tasks of a namespace;
and, for the embedded server only, the claim + write-back latency at 1,000, 10,000 and
100,000 queued tasks (the curve must stay flat). Prints ratios embedded/upstream.

Targets: >= 2x on POST and listing, >= 20x on claims at 10,000 queued, and claim time at
100,000 queued within 1.5x of that at 1,000.

    ./dev bench server [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import verdict

from eventix_cli.client import EventixClient
from eventix_cli.models import Task, TaskStatus, utcnow
from eventix_cli.server.store import TaskStore
from tests.support.servers import running_server

NAMESPACE = "bench"


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def in_parallel(url: str, clients: int, total: int, job: Callable[[EventixClient, int], None]) -> float:
    """Run ``job(client, count)`` on ``clients`` threads with ``total`` items split; wall seconds."""

    def run(count: int) -> None:
        with EventixClient(url, timeout=600) as client:
            job(client, count)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, _split(total, clients)))
    return time.perf_counter() - started


def post_tasks(client: EventixClient, count: int, namespace: str = NAMESPACE) -> None:
    for i in range(count):
        client.post_task(Task(task="bench", namespace=namespace, priority=-(i % 5), kwargs={"i": i}))


def claim_and_complete(client: EventixClient, count: int, namespace: str = NAMESPACE) -> None:
    for _ in range(count):
        task = client.next_scheduled("bench-worker", namespace)
        if task is None:
            raise RuntimeError("queue ran dry during the claim benchmark")
        task.status = TaskStatus.done
        task.worker_id = None
        task.worker_expires = None
        client.put_task(task)


def list_all(client: EventixClient, count: int) -> None:
    for _ in range(count):
        page = client.by_status(namespace=NAMESPACE)
        if page.max_results < 10_000:
            raise RuntimeError(f"expected >= 10,000 tasks, listed {page.max_results}")


def measure(url: str, *, posts: int, claims: int, listings: int) -> dict[str, float]:
    """Rates (per second) for one server; leaves 10,000 tasks queued in NAMESPACE after posting."""
    out: dict[str, float] = {}
    out["post x1"] = posts / in_parallel(url, 1, posts, post_tasks)
    out["post x8"] = posts / in_parallel(url, 8, posts, post_tasks)
    remaining = 10_000 - 2 * posts
    if remaining > 0:
        in_parallel(url, 8, remaining, post_tasks)
    # the listing before claims: all 10,000 are queued
    out["list 10k x1"] = listings / in_parallel(url, 1, listings, list_all)
    out["list 10k x8"] = listings / in_parallel(url, 8, listings, list_all)
    # top the queue up again after each claim round so it stays at >= 10,000
    out["claim+put x1"] = claims / in_parallel(url, 1, claims, claim_and_complete)
    in_parallel(url, 8, claims, post_tasks)
    out["claim+put x8"] = claims / in_parallel(url, 8, claims, claim_and_complete)
    return out


def prefill(path: Path, queued: int) -> None:
    """A database file with ``queued`` due tasks, written directly (one transaction)."""
    store = TaskStore(path)
    now = utcnow()
    with store.transaction():
        for i in range(queued):
            store._insert(Task(task="bench", namespace=NAMESPACE, priority=-(i % 5), eta=now).to_wire(), now)
    store.close()


def claim_latency_curve(tmp: Path, sizes: list[int], claims: int) -> dict[int, float]:
    """Mean seconds per claim + write-back with ``size`` tasks queued, for each size."""
    curve: dict[int, float] = {}
    for size in sizes:
        db = tmp / f"curve-{size}.sqlite3"
        prefill(db, size)
        args = ["--db", str(db), "--log-level", "warning"]
        with running_server("embedded", tmp, extra_args=args) as srv, EventixClient(srv.url) as client:
            claim_and_complete(client, 50)  # warm-up
            samples = []
            for _ in range(5):
                started = time.perf_counter()
                claim_and_complete(client, claims // 5)
                samples.append((time.perf_counter() - started) / (claims // 5))
        curve[size] = statistics.median(samples)
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller samples (for a smoke run)")
    args = parser.parse_args()
    posts = 1000 if args.quick else 2000
    listings = 4 if args.quick else 8

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        results: dict[str, dict[str, float]] = {}
        for kind, claims in (
            ("upstream", 16 if args.quick else 40),
            ("embedded", 1000 if args.quick else 4000),
        ):
            extra = (
                ["--db", str(tmp / "bench.sqlite3"), "--log-level", "warning"] if kind == "embedded" else ()
            )
            with running_server(kind, tmp, extra_args=extra) as srv:
                print(f"measuring {kind} at {srv.url} ...", flush=True)
                results[kind] = measure(srv.url, posts=posts, claims=claims, listings=listings)

        targets = {"post": 2.0, "list": 2.0, "claim": 20.0}
        print()
        print(f"{'operation':<16} {'embedded/s':>12} {'upstream/s':>12} {'ratio':>8}")
        for op in results["embedded"]:
            mine, theirs = results["embedded"][op], results["upstream"][op]
            ratio = mine / theirs
            target = targets[op.split()[0].split("+")[0]]
            result = verdict(ratio, target, higher_is_better=True)
            print(f"{op:<16} {mine:>12.1f} {theirs:>12.1f} {ratio:>7.1f}x  {result}")

        sizes = [1_000, 10_000, 100_000]
        curve = claim_latency_curve(tmp, sizes, claims=500)  # the same count at every size (< 1,000)
        print()
        print("embedded claim + write-back latency by queue size (median of 5 batches)")
        for size in sizes:
            print(f"  {size:>7,} queued: {curve[size] * 1000:6.2f} ms")
        ratio = curve[sizes[-1]] / curve[sizes[0]]
        print(f"  100,000 / 1,000: {ratio:.2f}x  {verdict(ratio, 1.5, higher_is_better=False)}")


if __name__ == "__main__":
    main()
