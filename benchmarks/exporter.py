"""`eventix exporter` refresh cost as the queue grows, against a full walk of the tasks.

For 1,000 and 100,000 tasks (one namespace, spread over every status, written straight into a
fresh embedded server's database), measures side by side in the same run:
  - the exporter's refresh (six limit=1 queries per namespace): requests, bytes, median time;
  - the baseline, counting by walking every task (the keyset walk `eventix stats --by task`
    uses): requests, bytes, time;
  - a scrape of the exporter's /metrics (served from the last refresh).

Targets: the refresh sends the same number of requests at 100,000 tasks as at 1,000, and its
bytes stay within 1.5x (one-item pages whatever the count); a scrape stays under 10 ms.

    ./dev bench exporter [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import verdict

from eventix_cli.client.monitor import STATUS_ORDER
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow
from eventix_cli.metrics.exporter import QueueCollector, make_registry
from eventix_cli.metrics.http import serve_registry
from eventix_cli.server.store import TaskStore
from tests.support.metrics import CountingClient, scrape, value
from tests.support.servers import running_server

NAMESPACE = "bench"
# one in ten of each: the rest done, as on a queue that has run for a while
MIX = (
    (TaskStatus.scheduled, 2),
    (TaskStatus.processing, 1),
    (TaskStatus.retry, 1),
    (TaskStatus.error, 1),
    (TaskStatus.done, 5),
)


def prefill(path: Path, total: int) -> dict[str, int]:
    """A database with ``total`` tasks in MIX proportions (one transaction); the counts."""
    store = TaskStore(path)
    now = utcnow()
    pattern = [status for status, weight in MIX for _ in range(weight)]
    counts: Counter[str] = Counter()
    docs = []
    for i in range(total):
        status = pattern[i % len(pattern)]
        worker = "w1" if status is TaskStatus.processing else None
        docs.append(
            Task(task="bench", namespace=NAMESPACE, status=status, worker_id=worker, eta=now).to_wire()
        )
        counts[status.value] += 1
    store.insert_all(docs, now)
    store.close()
    return dict(counts)


def exporter_refresh(url: str, runs: int) -> tuple[int, int, float, dict[str, int]]:
    """(requests, bytes) of one refresh, its median seconds over ``runs``, and what it counted."""
    with CountingClient(url, retries=0) as client:
        collector = QueueCollector(client, NAMESPACE)
        collector.refresh()  # warm-up
        client.sent.clear()
        assert collector.refresh()
        requests, size = len(client.sent), sum(b for _, _, b in client.sent)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            assert collector.refresh()
            times.append(time.perf_counter() - started)
        counted = collector.figures.counts[NAMESPACE]
    return requests, size, statistics.median(times), counted


def full_walk(url: str) -> tuple[int, int, float, dict[str, int]]:
    """The baseline: count by reading every task of the namespace."""
    with CountingClient(url, retries=0) as client:
        started = time.perf_counter()
        counts = Counter(task.status.value for task in client.iter_tasks(namespace=NAMESPACE))
        elapsed = time.perf_counter() - started
        return len(client.sent), sum(b for _, _, b in client.sent), elapsed, dict(counts)


def scrape_time(url: str, runs: int) -> float:
    with CountingClient(url, retries=0) as client:
        collector = QueueCollector(client, NAMESPACE)
        assert collector.refresh()
        served = serve_registry(make_registry(collector))
        try:
            scrape(served.url)
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                samples = scrape(served.url)
                times.append(time.perf_counter() - started)
            assert value(samples, "eventix_exporter_up") == 1
        finally:
            served.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer timed runs (for a smoke run)")
    args = parser.parse_args()
    runs = 3 if args.quick else 9
    sizes = [1_000, 100_000]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for size in sizes:
            db = tmp / f"exporter-{size}.sqlite3"
            print(f"prefilling {size:,} tasks ...", flush=True)
            expected = prefill(db, size)
            extra = ["--db", str(db), "--log-level", "warning", "--cleanup-interval", "0"]
            with running_server("embedded", tmp, extra_args=extra) as srv:
                refresh = exporter_refresh(srv.url, runs)
                walk = full_walk(srv.url)
                scraped = scrape_time(srv.url, runs * 5)
            for status in STATUS_ORDER:
                assert refresh[3][status] == expected.get(status, 0) == walk[3].get(status, 0), status
            rows[size] = (refresh, walk, scraped)

    print()
    print(f"{'tasks':>8}  {'refresh':>28}  {'full walk (baseline)':>30}  {'scrape':>8}")
    for size, (refresh, walk, scraped) in rows.items():
        print(
            f"{size:>8,}  {refresh[0]:>3} req {refresh[1]:>8,} B {refresh[2] * 1000:>8.1f} ms"
            f"  {walk[0]:>4} req {walk[1]:>11,} B {walk[2] * 1000:>9.0f} ms"
            f"  {scraped * 1000:>5.2f} ms"
        )
    small, large = rows[sizes[0]], rows[sizes[-1]]
    same = large[0][0] == small[0][0]
    print()
    print(
        f"requests per refresh at 100,000 vs 1,000: {large[0][0]} vs {small[0][0]}",
        "PASS" if same else "FAIL",
    )
    byte_ratio = large[0][1] / small[0][1]
    print(
        f"bytes per refresh 100,000 / 1,000: {byte_ratio:.2f}x",
        verdict(byte_ratio, 1.5, higher_is_better=False),
    )
    time_ratio = large[0][2] / small[0][2]
    print(f"refresh time 100,000 / 1,000: {time_ratio:.1f}x (the server counts index entries)")
    walk_ratio = large[1][2] / large[0][2]
    print(f"at 100,000 tasks the full walk takes {walk_ratio:,.0f}x the refresh")
    worst = max(scraped for _, _, scraped in rows.values()) * 1000
    print(f"slowest median scrape: {worst:.2f} ms", verdict(worst, 10, higher_is_better=False))


if __name__ == "__main__":
    main()
