"""Embedded server vs the upstream reference server, side by side in the same run.

Both servers run at once (fresh, on loopback ports) and every operation is measured on one
then the other, alternating which goes first, with the same sample size and a warm-up on
both sides:
  - POST /task: tasks/s from 1 client and from 8 concurrent clients;
  - PUT /tasks/by_status listing all 10,000 tasks of a namespace;
  - claim (GET /tasks/next_scheduled) + write-back (PUT /task) with 10,000 tasks queued.
The upstream reference is eventix 4.3's routers over the mongomock stand-in, not MongoDB:
its claim scans the collection in Python, so the claim ratios measure the stand-in, not
upstream's design. They are kept, labelled as such.

The embedded server's absolute figures sit next to a physical reference: the same store
calls (the same SQL statements, plus the store's JSON handling) in a tight loop in one
process, on a database file of the same kind, without HTTP. And the claim + write-back
latency of the embedded server at 1,000, 10,000 and 100,000 queued tasks (the curve must
stay flat).

Targets: >= 2x on POST and listing, >= 20x on claims at 10,000 queued, and claim time at
100,000 queued within 1.5x of that at 1,000.

    ./dev bench server [--quick] [--claims 80]
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from _common import machine_note, table, verdict

from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow
from eventix_cli.server.store import TaskStore
from tests.support.servers import running_server

NAMESPACE = "bench"


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class RawClient:
    """A minimal keep-alive JSON client over ``http.client``, the same for both servers, so
    the figures are the servers' and not a client's model building and parsing."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=600)

    def call(self, method: str, path: str, doc: Any = None) -> tuple[int, bytes]:
        body = None if doc is None else json.dumps(doc).encode()
        headers = {} if body is None else {"Content-Type": "application/json"}
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {response.status}: {data[:300]!r}")
        return response.status, data

    def close(self) -> None:
        self.conn.close()


def in_parallel(url: str, clients: int, total: int, job: Callable[[RawClient, int], None]) -> float:
    """Run ``job(client, count)`` on ``clients`` threads with ``total`` items split; wall seconds."""

    def run(count: int) -> None:
        client = RawClient(url)
        try:
            job(client, count)
        finally:
            client.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, _split(total, clients)))
    return time.perf_counter() - started


def post_tasks(client: RawClient, count: int, namespace: str = NAMESPACE) -> None:
    template = Task(task="bench", namespace=namespace).to_wire()
    for i in range(count):
        doc = template | {"uid": uuid.uuid4().hex, "priority": -(i % 5), "kwargs": {"i": i}}
        client.call("POST", "/task", doc)


def claim_and_complete(client: RawClient, count: int, namespace: str = NAMESPACE) -> None:
    query = urlencode({"worker_id": "bench-worker", "namespace": namespace})
    for _ in range(count):
        status, body = client.call("GET", f"/tasks/next_scheduled?{query}")
        if status != 200 or not body.strip() or body.strip() == b"null":
            raise RuntimeError("queue ran dry during the claim benchmark")
        doc = json.loads(body)
        doc.update(status="done", worker_id=None, worker_expires=None)
        client.call("PUT", f"/task/{doc['uid']}", doc)


_MAX_RESULTS = re.compile(rb'"max_results":\s*(\d+)')


def list_all(client: RawClient, count: int) -> None:
    for _ in range(count):
        _, body = client.call("PUT", "/tasks/by_status", {"namespace": NAMESPACE})
        found = _MAX_RESULTS.search(body)
        listed = int(found.group(1)) if found else 0
        if listed < 10_000:
            raise RuntimeError(f"expected >= 10,000 tasks, listed {listed}")


def warm_up(url: str) -> None:
    """The same first requests on each server before anything is timed."""
    client = RawClient(url)
    try:
        post_tasks(client, 20, namespace="warm-up")
        claim_and_complete(client, 5, namespace="warm-up")
        client.call("PUT", "/tasks/by_status", {"namespace": "warm-up", "limit": 10})
    finally:
        client.close()


def measure(urls: dict[str, str], *, posts: int, claims: int, listings: int) -> dict[str, dict[str, float]]:
    """Rates (per second) per server and operation. The servers take turns on every
    operation (who goes first alternates), each doing the same work on its own data; each
    ends with 10,000 tasks queued in NAMESPACE before the listings and claims."""
    out: dict[str, dict[str, float]] = {kind: {} for kind in urls}
    turn = 0

    def each(label: str, clients: int, total: int, job: Callable[[RawClient, int], None]) -> None:
        nonlocal turn
        kinds = list(urls) if turn % 2 == 0 else list(reversed(urls))
        turn += 1
        for kind in kinds:
            seconds = in_parallel(urls[kind], clients, total, job)
            if label:
                out[kind][label] = total / seconds
        if label:
            print(f"  {label:<14} " + "  ".join(f"{k} {out[k][label]:9.1f}/s" for k in urls), flush=True)

    for url in urls.values():
        warm_up(url)
    each("post x1", 1, posts, post_tasks)
    each("post x8", 8, posts, post_tasks)
    remaining = 10_000 - 2 * posts
    if remaining > 0:
        each("", 8, remaining, post_tasks)
    # the listing before claims: all 10,000 are queued
    each("list 10k x1", 1, listings, list_all)
    each("list 10k x8", 8, listings, list_all)
    # top the queue up again after each claim round so it stays at >= 10,000
    each("claim+put x1", 1, claims, claim_and_complete)
    each("", 8, claims, post_tasks)
    each("claim+put x8", 8, claims, claim_and_complete)
    return out


def store_reference(tmp: Path, *, posts: int, claims: int, listings: int) -> dict[str, float]:
    """Rates (per second) of the same store calls in a tight single-threaded loop, no HTTP:
    what the SQL statements and the store's JSON handling cost by themselves."""
    store = TaskStore(tmp / "reference.sqlite3")
    docs = [
        Task(task="bench", namespace=NAMESPACE, priority=-(i % 5), kwargs={"i": i}).to_wire()
        for i in range(10_000)
    ]
    out: dict[str, float] = {}
    try:
        started = time.perf_counter()
        for doc in docs[:posts]:
            store.post(doc)
        out["post"] = posts / (time.perf_counter() - started)
        for doc in docs[posts:]:
            store.post(doc)
        started = time.perf_counter()
        for _ in range(listings):
            rows, total = store.query({"namespace": NAMESPACE})
            body = ",".join(f'"{uid}":{doc}' for uid, doc in rows)
            if total < 10_000 or not body:
                raise RuntimeError(f"reference listing saw {total} tasks")
        out["list 10k"] = listings / (time.perf_counter() - started)
        count = max(claims, 500)
        started = time.perf_counter()
        for _ in range(count):
            claimed = store.claim("bench-worker", NAMESPACE)
            if claimed is None:
                raise RuntimeError("reference queue ran dry")
            doc = dict(claimed)
            doc.update(status="done", worker_id=None, worker_expires=None)
            store.put(doc["uid"], doc)
        out["claim+put"] = count / (time.perf_counter() - started)
    finally:
        store.close()
    return out


def prefill(path: Path, queued: int) -> None:
    """A database file with ``queued`` due tasks, written directly (one transaction)."""
    store = TaskStore(path)
    now = utcnow()
    store.insert_all(
        (
            Task(task="bench", namespace=NAMESPACE, priority=-(i % 5), eta=now).to_wire()
            for i in range(queued)
        ),
        now,
    )
    store.close()


def claim_latency_curve(tmp: Path, sizes: list[int], claims: int) -> dict[int, float]:
    """Mean seconds per claim + write-back with ``size`` tasks queued, for each size."""
    curve: dict[int, float] = {}
    for size in sizes:
        db = tmp / f"curve-{size}.sqlite3"
        prefill(db, size)
        args = ["--db", str(db), "--log-level", "warning"]
        with running_server("embedded", tmp, extra_args=args) as srv:
            client = RawClient(srv.url)
            claim_and_complete(client, 50)  # warm-up
            samples = []
            for _ in range(5):
                started = time.perf_counter()
                claim_and_complete(client, claims // 5)
                samples.append((time.perf_counter() - started) / (claims // 5))
            client.close()
        curve[size] = statistics.median(samples)
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller samples (for a smoke run)")
    parser.add_argument("--claims", type=int, help="claims per server and client count (default 80)")
    args = parser.parse_args()
    posts = 1000 if args.quick else 2000
    listings = 4 if args.quick else 8
    claims = args.claims or (16 if args.quick else 80)

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        embedded_args = ["--db", str(tmp / "bench.sqlite3"), "--log-level", "warning"]
        with (
            running_server("upstream", tmp) as upstream,
            running_server("embedded", tmp, extra_args=embedded_args) as embedded,
        ):
            print(machine_note(), flush=True)
            print(f"{posts:,} posts, {listings} listings, {claims} claims per server, interleaved ...")
            results = measure(
                {"embedded": embedded.url, "upstream": upstream.url},
                posts=posts,
                claims=claims,
                listings=listings,
            )
        reference = store_reference(tmp, posts=posts, claims=claims, listings=listings)

        targets = {"post": 2.0, "list": 2.0, "claim": 20.0}
        rows = []
        for op in results["embedded"]:
            mine, theirs = results["embedded"][op], results["upstream"][op]
            ratio = mine / theirs
            target = targets[op.split()[0].split("+")[0]]
            stand_in = " (measures mongomock)" if op.startswith("claim") else ""
            rows.append(
                [
                    op,
                    f"{mine:,.1f}/s",
                    f"{theirs:,.1f}/s",
                    f"{ratio:,.1f}x{stand_in}",
                    verdict(ratio, target, higher_is_better=True),
                ]
            )
        print()
        print(
            table(
                ["operation", "embedded", "upstream on mongomock (not MongoDB)", "ratio", "verdict"],
                rows,
            )
        )

        rows = []
        for op in ("post", "list 10k", "claim+put"):
            http = results["embedded"][f"{op} x1"]
            rows.append(
                [
                    op,
                    f"{http:,.1f}/s ({1000 / http:.3f} ms)",
                    f"{reference[op]:,.1f}/s ({1000 / reference[op]:.3f} ms)",
                    f"{http / reference[op]:.0%}",
                ]
            )
        print()
        print("embedded server, 1 client, against the same store calls without HTTP (one process):")
        print(
            table(
                ["operation", "embedded over HTTP", "store calls, no HTTP", "HTTP rate / no-HTTP rate"], rows
            )
        )

        sizes = [1_000, 10_000, 100_000]
        curve = claim_latency_curve(tmp, sizes, claims=500)  # the same count at every size (< 1,000)
        print()
        print("embedded claim + write-back latency by queue size (median of 5 batches of 100)")
        for size in sizes:
            print(f"  {size:>7,} queued: {curve[size] * 1000:6.2f} ms")
        ratio = curve[sizes[-1]] / curve[sizes[0]]
        print(f"  100,000 / 1,000: {ratio:.2f}x  {verdict(ratio, 1.5, higher_is_better=False)}")


if __name__ == "__main__":
    main()
    print(machine_note())
