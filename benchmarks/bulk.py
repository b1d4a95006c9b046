"""Bulk operations: purge against a tight DELETE loop, upstream's CLI, and listing memory.

Against the upstream reference server and the embedded server, in the same run:
  1. the ceiling: a tight client loop deleting 5,000 tasks with 8 concurrent requests;
  2. `eventix task purge --yes` deleting 5,000 tasks (8 concurrent requests, the default);
  3. upstream's CLI deleting tasks one process per task (`eventixcli delete task UID`),
     timed on a sample of 100 and extrapolated to 5,000.
Target: purge >= 80 % of the ceiling.

And, against the embedded server: `eventix task list --all -o jsonl` over 2,000 and over
20,000 tasks. Targets: peak memory (max RSS of the process) at 20,000 within 1.2x of that
at 2,000, and time growing linearly (20,000 within ~10x of 2,000 plus start-up).

    ./dev bench bulk [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import BIN, machine_note, verdict

from eventix_cli.client.api import EventixClient
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow
from eventix_cli.server.store import TaskStore
from tests.support.servers import running_server

NAMESPACE = "bulk"


def seed_done(url: str, count: int, namespace: str) -> list[str]:
    """``count`` done tasks, posted with 8 concurrent clients; their uids."""

    def post(n: int) -> list[str]:
        with EventixClient(url) as client:
            return [
                client.post_task(Task(task="b", namespace=namespace, status=TaskStatus.done).to_wire()).uid
                for _ in range(n)
            ]

    with ThreadPoolExecutor(8) as pool:
        parts = pool.map(post, [count // 8 + (1 if i < count % 8 else 0) for i in range(8)])
    return [uid for part in parts for uid in part]


def ceiling(url: str, uids: list[str], concurrency: int = 8) -> float:
    """Deletes per second of a tight loop with 8 requests in flight."""
    chunks = [uids[i::concurrency] for i in range(concurrency)]

    def delete(chunk: list[str]) -> None:
        with EventixClient(url) as client:
            for uid in chunk:
                client.delete_task(uid)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(delete, chunks))
    return len(uids) / (time.perf_counter() - started)


def purge_rate(url: str, count: int, namespace: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "eventix"), "task", "purge", "--url", url, "-n", namespace, "--status", "done", "--yes"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0 or f"{count:,} purged" not in proc.stderr:
        raise RuntimeError(f"purge failed ({proc.returncode}): {proc.stderr[-400:]}")
    return count / seconds


def upstream_cli_rate(url: str, uids: list[str]) -> float:
    started = time.perf_counter()
    for uid in uids:
        subprocess.run(
            [str(BIN / "eventixcli"), "-s", url, "delete", "task", uid],
            capture_output=True,
            check=True,
        )
    return len(uids) / (time.perf_counter() - started)


def prefill(path: Path, count: int) -> None:
    store = TaskStore(path)
    now = utcnow()
    store.insert_all(
        (
            Task(task="listed", namespace=NAMESPACE, kwargs={"i": i, "pad": "x" * 200}).to_wire()
            for i in range(count)
        ),
        now,
    )
    store.close()


def list_all_stats(url: str) -> tuple[float, int, int]:
    """(seconds, max RSS in KiB, lines) of `eventix task list --all -o jsonl`."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as sink:
        proc = subprocess.Popen(
            [str(BIN / "eventix"), "task", "list", "--url", url, "-n", NAMESPACE, "--all", "-o", "jsonl"],
            stdout=sink,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"list exited {proc.returncode}")
        sink.seek(0)
        lines = sum(1 for _ in sink)
    return seconds, usage.ru_maxrss, lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count = 1000 if args.quick else 5000
    sample = 20 if args.quick else 100

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print(f"purge of {count:,} done tasks (8 concurrent requests)")
        print("(upstream: eventix 4.3's routers over the mongomock stand-in, not MongoDB)")
        print(
            f"{'server':<10} {'ceiling/s':>10} {'purge/s':>10} {'purge/ceiling':>14} {'upstream CLI/s':>15}"
        )
        for kind in ("upstream", "embedded"):
            extra = (
                ["--db", str(tmp / "bulk.sqlite3"), "--log-level", "warning"] if kind == "embedded" else ()
            )
            with running_server(kind, tmp, extra_args=extra) as srv:
                top = ceiling(srv.url, seed_done(srv.url, count, f"{NAMESPACE}-c"))
                seed_done(srv.url, count, f"{NAMESPACE}-p")
                purge = purge_rate(srv.url, count, f"{NAMESPACE}-p")
                cli_rate = upstream_cli_rate(srv.url, seed_done(srv.url, sample, f"{NAMESPACE}-u"))
            ratio = purge / top
            print(
                f"{kind:<10} {top:>10.0f} {purge:>10.0f} {ratio:>13.0%} {cli_rate:>15.1f}"
                f"  {verdict(ratio, 0.8, higher_is_better=True)}"
            )
            print(
                f"{'':<10} upstream's CLI would take {count / cli_rate:,.0f}s for {count:,}; purge took "
                f"{count / purge:,.1f}s ({purge / cli_rate:,.0f}x faster)"
            )

        print()
        print("task list --all -o jsonl (embedded server)")
        results = {}
        for size in (2_000, 20_000):
            db = tmp / f"list-{size}.sqlite3"
            prefill(db, size)
            with running_server(
                "embedded", tmp, extra_args=["--db", str(db), "--log-level", "warning"]
            ) as srv:
                list_all_stats(srv.url)  # warm-up
                seconds, rss, lines = list_all_stats(srv.url)
            if lines != size:
                raise RuntimeError(f"listed {lines} of {size}")
            results[size] = (seconds, rss)
            print(f"  {size:>6,} tasks: {seconds:6.2f}s, peak RSS {rss / 1024:6.1f} MiB")
        mem_ratio = results[20_000][1] / results[2_000][1]
        time_ratio = results[20_000][0] / results[2_000][0]
        mem_verdict = verdict(mem_ratio, 1.2, higher_is_better=False)
        print(f"  peak memory 20,000 / 2,000: {mem_ratio:.2f}x  {mem_verdict}")
        print(
            f"  time 20,000 / 2,000: {time_ratio:.1f}x  {verdict(time_ratio, 10.0, higher_is_better=False)}"
            " (10x tasks: linear or better)"
        )


if __name__ == "__main__":
    main()
    print(machine_note())
