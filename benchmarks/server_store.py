"""The embedded server's database under production settings, at the store (no HTTP):

1. durability: claims + write-backs per second with ``--durability full`` against ``normal``,
   two files side by side, rounds interleaved;
2. backup: p99 claim latency while an online backup of a 100,000-task file runs, against the
   same claimer with no backup running (windows interleaved), for ``VACUUM INTO`` (what
   ``eventix server backup`` uses) and SQLite's backup API in one step; and the backup's time
   per 100,000 tasks;
3. retention: deleting 100,000 finished tasks (and giving their pages back) while a claimer
   runs: the longest claim, against the longest claim with no deletion running.

The claimer is a thread claiming a task and writing it back as done, in a loop, as a worker
lane would through the server; the backup and the deletion run in threads of the same
process, as the server's scheduled backups and cleanup do.

    ./dev bench server_store [--tasks 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from _common import machine_note, table, verdict

from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow
from eventix_cli.server.backup import backup
from eventix_cli.server.errors import RevisionConflict
from eventix_cli.server.store import TaskStore
from eventix_cli.server.upkeep import Cleanup, Retention

PADDING = "x" * 800  # ~1.2 KB documents, like a task with a few arguments


def fill(file: Path, count: int, status: str) -> None:
    """A database of ``count`` tasks of ``status`` (done tasks ended long ago)."""
    store = TaskStore(file, durability="normal")
    docs = [Task(task="job", status=status, kwargs={"padding": PADDING}).to_wire() for _ in range(count)]
    for doc in docs:
        store.post(doc)
    store.close()


class Claimer:
    """Claims and writes back in a loop; records each claim's latency (seconds)."""

    def __init__(self, store: TaskStore, namespace: str = "default") -> None:
        self.store = store
        self.namespace = namespace
        self.latencies: list[float] = []
        self.done = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            doc = self.store.claim("bench", self.namespace)
            self.latencies.append(time.perf_counter() - started)
            if doc is None:
                time.sleep(0.001)
                continue
            doc = dict(doc)
            doc["status"] = "done"
            doc["worker_id"] = None
            doc["worker_expires"] = None
            try:
                self.store.put(doc["uid"], doc)
            except RevisionConflict:
                # the claim was lost (a cleanup run "a day later" releases every lease): the
                # write-back is refused, as a worker's is, and claiming goes on
                continue
            self.done += 1

    @contextlib.contextmanager
    def running(self) -> Iterator[Claimer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


# -- 1. durability --------------------------------------------------------------------------


def durability(work: Path, rounds: int, per_round: int) -> None:
    stores = {}
    for mode in ("full", "normal"):
        file = work / f"durability-{mode}.sqlite3"
        fill(file, per_round * rounds + 100, "scheduled")
        stores[mode] = TaskStore(file, durability=mode)
    rates: dict[str, list[float]] = {"full": [], "normal": []}
    order = ["full", "normal"]
    for i in range(rounds):
        for mode in order if i % 2 == 0 else order[::-1]:
            store = stores[mode]
            started = time.perf_counter()
            for _ in range(per_round):
                doc = dict(store.claim("bench", "default"))
                doc["status"] = "done"
                doc["worker_id"] = doc["worker_expires"] = None
                store.put(doc["uid"], doc)
            rates[mode].append(per_round / (time.perf_counter() - started))
    for store in stores.values():
        store.close()
    full, normal = statistics.median(rates["full"]), statistics.median(rates["normal"])
    print("\n### durability: claims + write-backs per second (one thread, at the store)\n")
    print(machine_note())
    print(
        table(
            ["durability", "claims + write-backs/s (median of rounds)", "rounds"],
            [
                ["full", f"{full:,.0f}", ", ".join(f"{r:,.0f}" for r in rates["full"])],
                ["normal", f"{normal:,.0f}", ", ".join(f"{r:,.0f}" for r in rates["normal"])],
            ],
        )
    )
    print(f"\nfull / normal: {full / normal:.2f}")


# -- 2. backup ------------------------------------------------------------------------------


def backup_api(source: Path, dest: Path) -> None:
    """The alternative measured: SQLite's backup API, all pages in one step."""
    src = sqlite3.connect(f"file:{quote(str(source))}?mode=rw", uri=True)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst, pages=-1)
    finally:
        dst.close()
        src.close()


def claims_during(
    store: TaskStore, action: Callable[[], object] | None, window: float
) -> tuple[list[float], float]:
    """Claim latencies while ``action`` runs (or for ``window`` seconds with none); the action's time."""
    claimer = Claimer(store)
    with claimer.running():
        started = time.perf_counter()
        if action is None:
            time.sleep(window)
        else:
            action()
        took = time.perf_counter() - started
    return claimer.latencies, took


def backups(work: Path, tasks: int, rounds: int) -> None:
    file = work / "backup.sqlite3"
    fill(file, tasks, "scheduled")
    store = TaskStore(file)
    dest = work / "copy.sqlite3"
    methods: dict[str, Callable[[], object]] = {
        "VACUUM INTO (eventix server backup)": lambda: backup(file, dest),
        "backup API, one step": lambda: backup_api(file, dest),
    }
    without: list[float] = []
    during: dict[str, list[float]] = {name: [] for name in methods}
    times: dict[str, list[float]] = {name: [] for name in methods}
    for i in range(rounds):
        names = list(methods) if i % 2 == 0 else list(methods)[::-1]
        for name in names:
            latencies, took = claims_during(store, methods[name], 0)
            during[name] += latencies
            times[name].append(took)
            latencies, _ = claims_during(store, None, took)  # the same time, no backup
            without += latencies
    store.close()
    base = p99(without)
    print(f"\n### backup: p99 claim latency at {tasks:,} tasks, with and without a backup running\n")
    print(machine_note())
    rows = [
        [
            "no backup",
            f"{len(without):,}",
            f"{statistics.median(without) * 1e3:.2f} ms",
            f"{base * 1e3:.2f} ms",
            f"{max(without) * 1e3:.1f} ms",
            "",
            "",
            "",
        ]
    ]
    for name in methods:
        value = p99(during[name])
        per = statistics.median(times[name]) * 100_000 / tasks
        rows.append(
            [
                name,
                f"{len(during[name]):,}",
                f"{statistics.median(during[name]) * 1e3:.2f} ms",
                f"{value * 1e3:.2f} ms",
                f"{max(during[name]) * 1e3:.1f} ms",
                f"{value / base:.2f}",
                verdict(value / base, 2.0, higher_is_better=False),
                f"{per:.1f} s",
            ]
        )
    print(
        table(
            ["while", "claims", "p50", "p99", "max", "p99 ratio", "verdict", "backup time per 100,000 tasks"],
            rows,
        )
    )


# -- 3. retention ---------------------------------------------------------------------------


class HeldLock:
    """How long each transaction of one job (run by :meth:`run`) held the store's write lock:
    the longest a claim can wait for that job, whatever the machine's scheduling adds."""

    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self.seconds: list[float] = []

    def run(self, job: Callable[..., object], **kwargs: object) -> None:
        real = self.store.transaction
        job_thread = threading.get_ident()
        seconds = self.seconds

        class Timed:
            def __init__(self) -> None:
                self.inner = real()

            def __enter__(self) -> sqlite3.Connection:
                db = self.inner.__enter__()
                self.started = time.perf_counter()
                return db

            def __exit__(self, *exc: object) -> None:
                try:
                    self.inner.__exit__(*exc)
                finally:
                    seconds.append(time.perf_counter() - self.started)

        def transaction() -> object:
            return Timed() if threading.get_ident() == job_thread else real()

        self.store.transaction = transaction  # type: ignore[method-assign]
        try:
            job(**kwargs)
        finally:
            del self.store.transaction


def retention(work: Path, tasks: int) -> None:
    file = work / "retention.sqlite3"
    fill(file, tasks, "done")
    fill_more = TaskStore(file)
    for _ in range(20_000):  # work for the claimer
        fill_more.post(Task(task="job", kwargs={"padding": PADDING}).to_wire())
    fill_more.close()
    filled = utcnow()  # the claimer's tasks end later, and are kept
    store = TaskStore(file)
    size_before = file.stat().st_size
    before, _ = claims_during(store, None, 5.0)
    cleanup = Cleanup(store, Retention(keep_done=dt.timedelta(days=1)))
    holds = HeldLock(store)
    during, took = claims_during(store, lambda: holds.run(cleanup.run, now=filled + dt.timedelta(days=1)), 0)
    after, _ = claims_during(store, None, 5.0)
    store.checkpoint()
    size_after = file.stat().st_size
    store.close()
    longest = max(holds.seconds)
    print(f"\n### retention: deleting {tasks:,} finished tasks while a claimer runs\n")
    print(machine_note())
    print(
        table(
            ["while", "claims", "p99", "longest claim", "cleanup transactions", "longest", "verdict"],
            [
                [
                    "no deletion (5 s before and after)",
                    f"{len(before) + len(after):,}",
                    f"{p99(before + after) * 1e3:.2f} ms",
                    f"{max(before + after) * 1e3:.1f} ms",
                    "",
                    "",
                    "",
                ],
                [
                    f"deleting {cleanup.figures.retention_deleted:,} and giving back "
                    f"{cleanup.figures.pages_given_back:,} pages ({took:.1f} s)",
                    f"{len(during):,}",
                    f"{p99(during) * 1e3:.2f} ms",
                    f"{max(during) * 1e3:.1f} ms",
                    f"{len(holds.seconds):,}, p99 {p99(holds.seconds) * 1e3:.1f} ms",
                    f"{longest * 1e3:.1f} ms",
                    "PASS (target <= 100 ms)" if longest <= 0.1 else "FAIL (target <= 100 ms)",
                ],
            ],
        )
    )
    print(
        f"\nfile: {size_before / 1e6:.1f} MB before, {size_after / 1e6:.1f} MB after the cleanup"
        " and a checkpoint"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["durability", "backup", "retention"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eventix-bench-", dir=Path.home()) as tmp:
        work = Path(tmp)
        print(f"database files in {work} ({sys.version.split()[0]})")
        if args.only in (None, "durability"):
            durability(work, args.rounds * 2, 1000)
        if args.only in (None, "backup"):
            backups(work, args.tasks, args.rounds)
        if args.only in (None, "retention"):
            retention(work, args.tasks)


if __name__ == "__main__":
    main()
