"""The write-ahead log stays bounded under writes with overlapping listings, and shrinks back
once the load stops: a checkpoint on a schedule, with listings held back for it, truncates it
(without one, readers that always overlap keep SQLite from ever restarting the log)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx

from eventix_cli.core.task import Task
from tests.support.servers import running_server

#: the load, counted (load-independent): writes of 4 kB, and listings scanning every row
LOAD_WRITES = 3000
LOAD_LISTINGS = 5
#: a hang detector: the load takes some seconds on a quiet machine
LOAD_PATIENCE = 300.0
#: the WAL once the load has stopped and a checkpoint has run
SETTLED_WAL_BYTES = 1024 * 1024
#: how long after the load the WAL may take to settle (the schedule is 10 s; the machine is loaded)
SETTLE_SECONDS = 60.0


def _wal_size(db: Path) -> int:
    try:
        return os.stat(f"{db}-wal").st_size
    except FileNotFoundError:
        return 0


def test_the_wal_stays_bounded_under_writes_and_overlapping_listings(tmp_path: Path) -> None:
    db = tmp_path / "eventix.sqlite3"
    stop = threading.Event()
    errors: list[BaseException] = []
    counts = {"writes": 0, "listings": 0}

    def writes(url: str) -> None:
        with httpx.Client(base_url=url, trust_env=False, timeout=60) as http:
            while not stop.is_set():
                task = Task(task="w", namespace="wal", kwargs={"blob": "x" * 4000})
                http.post("/task", json=task.to_wire()).raise_for_status()
                counts["writes"] += 1

    def listings(url: str) -> None:
        # a scan of every row: each listing takes a while and they overlap one another
        query = {"filter": {"kwargs.blob": {"$regex": "z$"}}}
        with httpx.Client(base_url=url, trust_env=False, timeout=120) as http:
            while not stop.is_set():
                http.put("/tasks/dump", json=query).raise_for_status()
                counts["listings"] += 1

    def guarded(work, url: str) -> None:
        try:
            work(url)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    with running_server("embedded", tmp_path / "logs", extra_args=["--db", str(db)]) as server:
        threads = [
            threading.Thread(target=guarded, args=(work, server.url), daemon=True)
            for work in (writes, writes, listings, listings, listings)
        ]
        for thread in threads:
            thread.start()
        peak = 0
        give_up = time.monotonic() + LOAD_PATIENCE
        while (counts["writes"] < LOAD_WRITES or counts["listings"] < LOAD_LISTINGS) and not errors:
            assert time.monotonic() < give_up, counts
            peak = max(peak, _wal_size(db))
            stop.wait(0.2)
        stop.set()
        for thread in threads:
            thread.join(120)
        assert not errors, errors

        settle_by = time.monotonic() + SETTLE_SECONDS
        while _wal_size(db) > SETTLED_WAL_BYTES and time.monotonic() < settle_by:
            time.sleep(0.5)
        settled = _wal_size(db)
        database = os.stat(db).st_size
        with httpx.Client(base_url=server.url, trust_env=False) as http:
            assert http.get("/healthz").status_code == 200
    figures = f"{counts}; WAL peak {peak:,} B, settled {settled:,} B; database {database:,} B"
    print(figures)
    assert settled <= SETTLED_WAL_BYTES, figures
