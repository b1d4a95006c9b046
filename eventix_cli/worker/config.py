"""How a worker is set up: namespace, identity, threads, stop rules, health file, backoff."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: the claim lease upstream's server gives (claim time + 300 s), when a claim carries none
DEFAULT_LEASE = 300.0


@dataclass
class WorkerConfig:
    namespace: str
    worker_id: str
    concurrency: int = 1
    burst: bool = False
    max_tasks: int | None = None
    poll_interval: float = 1.0
    shutdown_timeout: float = 30.0
    health_file: Path | None = None
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    #: seconds each renewal extends a running task's lease; None: the lease the claim carried
    lease: float | None = None
    #: task threads that may die (a defect, never a task's doing) within ``death_window``
    #: seconds before the worker gives up, releases what it holds and exits 1
    max_thread_deaths: int = 5
    death_window: float = 60.0
