"""The worker loop: claim, run, write back; with concurrency, lease renewal and no lost work.

The main thread claims tasks (``next_scheduled``) while a slot is free and hands them to a
fixed pool of threads that run them and write the outcome back. Signals only set flags:

- first SIGTERM/SIGINT: stop claiming, let running tasks finish and write back, exit 0;
- second signal, or ``shutdown_timeout`` passing: release the tasks still running (a
  revision-checked write back to ``scheduled``) and exit 1. No task is left ``processing``
  by a worker that exited, except after SIGKILL: then the server's lease cleanup requeues it.

No Typer, no rich: the command in :mod:`eventix_cli.commands.worker` starts this.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from eventix_cli.errors import ApiError, RevisionConflict, ServerError, TaskNotFound, TransportError
from eventix_cli.models import Task, TaskStatus, utcnow
from eventix_cli.worker.context import task_context
from eventix_cli.worker.metrics import NO_METRICS, WorkerMetrics
from eventix_cli.worker.outcome import (
    apply_failure,
    apply_release,
    apply_success,
    error_result,
    not_registered,
)

if TYPE_CHECKING:
    from eventix_cli.client import EventixClient
    from eventix_cli.worker.registry import TaskRegistry

log = logging.getLogger(__name__)

#: fields a worker's outcome changes; re-applied onto a fresh copy after a RevisionConflict
OUTCOME_FIELDS = (
    "status",
    "result",
    "expires",
    "eta",
    "error_eta_inc",
    "max_retries",
    "worker_id",
    "worker_expires",
)
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


@dataclass
class Running:
    """A claimed task and what the worker knows of it; ``lock`` guards ``task`` and the flags."""

    task: Task
    lease: float
    renewed_at: float = field(default_factory=time.monotonic)
    started: float = field(default_factory=time.perf_counter)
    finished: bool = False  # ran; its outcome waits for (or is in) the write-back
    released: bool = False
    duration_ms: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Worker:
    def __init__(
        self,
        client: EventixClient,
        registry: TaskRegistry,
        config: WorkerConfig,
        metrics: WorkerMetrics = NO_METRICS,
    ) -> None:
        self.client = client
        self.metrics = metrics  # metrics hooks: busy (_run_claimed), outcome (_finish), outage
        self.registry = registry
        self.config = config
        self.running: dict[str, Running] = {}
        self.started_count = 0
        self.completed = 0
        self._lock = threading.Lock()
        self._busy = 0  # claims in flight + tasks running: a burst worker is drained at 0
        self._stopping = threading.Event()  # a signal: stop claiming
        self._forced = threading.Event()  # a second signal: release what runs
        self._drained = threading.Event()  # burst done or --max-tasks reached
        self._wake = threading.Event()  # wakes the supervising main thread (signal, threads done)
        self._alive = 0
        self._writer = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="write-back")
        self._outage_since: float | None = None
        self._outage_attempts = 0

    # -- control (called from signal handlers: only set flags) -----------------------------

    def request_stop(self) -> None:
        """First signal: graceful; a second one forces the stop."""
        if self._stopping.is_set():
            self._forced.set()
        self._stopping.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- supervision (main thread) ----------------------------------------------------------

    def run(self) -> int:
        """Work until told to stop (or burst/max-tasks says so); the exit code.

        Each of the ``concurrency`` threads claims, runs and writes back on its own, so no
        task waits for a hand-off; the main thread only supervises: health file, lease
        renewal, signals and the shutdown.
        """
        cfg = self.config
        log.info(
            "worker %s on namespace %s: %d task(s) registered, concurrency %d%s",
            cfg.worker_id,
            cfg.namespace,
            len(self.registry),
            cfg.concurrency,
            ", burst" if cfg.burst else "",
        )
        threads = [
            threading.Thread(target=self._thread, name=f"task-{i}", daemon=True)
            for i in range(cfg.concurrency)
        ]
        self._alive = len(threads)
        for thread in threads:
            thread.start()
        while self._alive and not self.stopping:
            self._touch_health()
            self._renew_leases()
            self._wake.wait(0.2)
            self._wake.clear()
        if not self.stopping:
            for thread in threads:
                thread.join()
            self._touch_health()
            log.info("worker stopped: %d task(s) run", self.completed)
            return 0
        return self._shutdown()

    def _shutdown(self) -> int:
        cfg = self.config
        with self._lock:
            waiting = len(self.running)
        if waiting:
            log.info("stopping: waiting up to %gs for %d running task(s)", cfg.shutdown_timeout, waiting)
        deadline = time.monotonic() + cfg.shutdown_timeout
        while True:
            with self._lock:
                left = list(self.running.values())
            if not left:
                self._touch_health()
                log.info("worker stopped: %d task(s) run", self.completed)
                return 0
            if self._forced.is_set() or time.monotonic() >= deadline:
                break
            self._touch_health()
            self._renew_leases()
            self._forced.wait(0.1)
        reason = (
            "second signal"
            if self._forced.is_set()
            else f"--shutdown-timeout {cfg.shutdown_timeout:g}s passed"
        )
        log.warning("%s: releasing %d running task(s) back to the queue", reason, len(left))
        for running in left:
            self._release(running)
        return 1

    # -- claiming and running (one loop per thread) -----------------------------------------

    def _thread(self) -> None:
        pending: list[Future[None]] = []
        try:
            self._loop(pending)
        finally:
            for future in pending:
                future.result()
            with self._lock:
                self._alive -= 1
            self._wake.set()

    def _loop(self, pending: list[Future[None]]) -> None:
        cfg = self.config
        while not (self.stopping or self._drained.is_set()):
            with self._lock:
                if cfg.max_tasks is not None and self.started_count >= cfg.max_tasks:
                    if not self._drained.is_set():
                        log.info("reached --max-tasks %d", cfg.max_tasks)
                    self._drained.set()
                    return
                self.started_count += 1  # reserved; given back when nothing is claimed
                self._busy += 1
            sent = time.monotonic()
            try:
                task = self.client.next_scheduled(cfg.worker_id, cfg.namespace)
            except (TransportError, ServerError) as exc:
                self._unreserve()
                self._outage(exc)
                continue
            except ApiError as exc:
                self._unreserve()
                log.error("claim rejected by the server: %s (%s)", exc.message, exc.error_class)
                self._stopping.wait(cfg.poll_interval)
                continue
            self._recovered(sent)
            if task is None:
                drained = self._unreserve()
                if cfg.burst:
                    if drained:
                        if not self._drained.is_set():
                            log.info("nothing due in namespace %s: burst done", cfg.namespace)
                        self._drained.set()
                        return
                    self._stopping.wait(0.02)  # a running task may still schedule more
                else:
                    self._stopping.wait(cfg.poll_interval)
                continue
            running = self._run_claimed(task)
            # The write-back goes out while this thread claims the next task (one in flight per
            # thread): claim and write-back overlap instead of queueing behind each other.
            for future in pending:
                future.result()
            pending[:] = [self._writer.submit(self._finish, running)]

    def _unreserve(self) -> bool:
        """Give back a reservation that claimed nothing; True when nothing is busy at all."""
        with self._lock:
            self.started_count -= 1
            self._busy -= 1
            return self._busy == 0

    def _run_claimed(self, task: Task) -> Running:
        lease = DEFAULT_LEASE
        if task.worker_expires is not None:
            lease = max(1.0, (task.worker_expires - utcnow()).total_seconds())
        running = Running(task=task, lease=lease)
        with self._lock:
            self.running[task.uid] = running
        with self.metrics.busy():  # metrics hook
            self._execute(running)
        return running

    def _execute(self, running: Running) -> None:
        """Run the task and record its outcome on ``running.task`` (written back by _finish)."""
        cfg = self.config
        task = running.task
        extra = {"task_uid": task.uid, "task_name": task.task, "namespace": cfg.namespace}
        log.info("start %s %s", task.uid, task.task, extra=extra)
        entry = self.registry.get(task.task)
        outcome = task.model_copy()
        if entry is None:
            log.error("task %s: %r is not registered in this worker", task.uid, task.task, extra=extra)
            apply_failure(outcome, not_registered(task.task))
        else:
            try:
                with task_context(task, cfg.namespace, cfg.worker_id):
                    result = entry.run(list(task.args), dict(task.kwargs))
            except Exception as exc:
                # one line for the log; the traceback is stored with the task (and logged at DEBUG)
                log.warning(
                    "task %s %s raised %s: %s", task.uid, task.task, type(exc).__name__, exc, extra=extra
                )
                log.debug("traceback of task %s", task.uid, exc_info=exc)
                apply_failure(outcome, error_result(exc))
            else:
                apply_success(outcome, result)
        running.duration_ms = (time.perf_counter() - running.started) * 1000
        with running.lock:
            running.finished = True
            if not running.released:
                for name in OUTCOME_FIELDS:
                    setattr(running.task, name, getattr(outcome, name))

    def _finish(self, running: Running) -> None:
        """Write the outcome back, log the end line, and forget the task."""
        task = running.task
        extra = {"task_uid": task.uid, "task_name": task.task, "namespace": self.config.namespace}
        try:
            if running.released:
                log.warning(
                    "task %s finished after it was released; its outcome is dropped", task.uid, extra=extra
                )
                status = "released"
            else:
                status = running.task.status.value if self._write_back(running) else "lost"
            log.info(
                "end %s %s %s in %.1f ms",
                task.uid,
                task.task,
                status,
                running.duration_ms,
                extra={**extra, "status": status, "duration_ms": round(running.duration_ms, 1)},
            )
            self.metrics.record_outcome(task.task, status, running.duration_ms / 1000)  # metrics hook
        finally:
            with self._lock:
                self.running.pop(task.uid, None)
                self.completed += 1
                self._busy -= 1
            self._wake.set()

    # -- writing back -----------------------------------------------------------------------

    def _write_back(self, running: Running) -> bool:
        """PUT the outcome until it sticks; True when written (or deleted as expired)."""
        uid = running.task.uid
        attempt = 0
        while True:
            with running.lock:
                if running.released:
                    return False
                doc = running.task.model_copy()
            try:
                if doc.expires is not None and doc.expires < utcnow():
                    # already past its expiry: deleted instead of stored, as upstream does
                    with contextlib.suppress(TaskNotFound):
                        self.client.delete_task(uid)
                    return True
                sent = time.monotonic()
                stored = self.client.put_task(doc)
                self._recovered(sent)
                with running.lock:
                    running.task.revision = stored.revision
                return True
            except RevisionConflict:
                if not self._reapply(running):
                    return False
            except TaskNotFound:
                log.warning("task %s was deleted while it ran; its outcome is dropped", uid)
                return False
            except (TransportError, ServerError) as exc:
                if self._forced.is_set():
                    log.error("write-back of task %s abandoned (forced stop): %s", uid, exc.message)
                    return False
                self._outage_started(exc)
                delay = self._backoff(attempt)
                attempt += 1
                log.debug("write-back of task %s failed (%s); retrying in %.1fs", uid, exc.message, delay)
                self._forced.wait(delay)

    def _reapply(self, running: Running) -> bool:
        """After a RevisionConflict: re-read; re-apply the outcome only if the claim is still ours."""
        uid = running.task.uid
        try:
            current = self.client.get_task(uid)
        except TaskNotFound:
            log.warning("task %s was deleted while it ran; its outcome is dropped", uid)
            return False
        except (TransportError, ServerError):
            return True  # try again; the write-back loop backs off on the next failure
        if current.status != TaskStatus.processing or current.worker_id != self.config.worker_id:
            log.warning(
                "task %s was changed by someone else while it ran (now %s, worker %s); outcome dropped",
                uid,
                current.status.value,
                current.worker_id,
            )
            return False
        with running.lock:
            for name in OUTCOME_FIELDS:
                setattr(current, name, getattr(running.task, name))
            running.task = current
        return True

    def _release(self, running: Running) -> None:
        with running.lock:
            # a write-back may be under way: the revision check decides who wins
            running.released = True
            doc = running.task.model_copy()
        for _ in range(5):
            apply_release(doc)
            try:
                self.client.put_task(doc)
                log.warning("released task %s (%s) back to the queue", doc.uid, doc.task)
                return
            except RevisionConflict:
                try:
                    doc = self.client.get_task(doc.uid)
                except TaskNotFound:
                    return
                if doc.status != TaskStatus.processing or doc.worker_id != self.config.worker_id:
                    return  # finished or taken over meanwhile: nothing to release
            except TaskNotFound:
                return
            except (TransportError, ServerError) as exc:
                log.error(
                    "could not release task %s: %s; its lease will expire on the server", doc.uid, exc.message
                )
                return

    # -- leases, health, outages ------------------------------------------------------------

    def _renew_leases(self) -> None:
        now = time.monotonic()
        with self._lock:
            candidates = [r for r in self.running.values() if now - r.renewed_at > r.lease / 2]
        for running in candidates:
            with running.lock:
                if running.finished or running.released:
                    continue
                doc = running.task.model_copy()
            doc.worker_expires = utcnow() + dt.timedelta(seconds=running.lease)
            try:
                stored = self.client.put_task(doc)
            except RevisionConflict:
                current = self._safe_get(doc.uid)
                if current is not None and current.worker_id == self.config.worker_id:
                    with running.lock:
                        if not running.finished:
                            running.task.revision = current.revision
                continue
            except (TransportError, ServerError) as exc:
                self._outage_started(exc)
                continue  # tried again on the next loop
            except TaskNotFound:
                log.warning("task %s was deleted while it ran", doc.uid)
                continue
            with running.lock:
                if not running.finished:
                    running.task.revision = stored.revision
                    running.task.worker_expires = stored.worker_expires
                running.renewed_at = now
            log.info("renewed the lease of task %s until %s", doc.uid, stored.worker_expires)

    def _safe_get(self, uid: str) -> Task | None:
        try:
            return self.client.get_task(uid)
        except (TransportError, ApiError):
            return None

    def _touch_health(self) -> None:
        path = self.config.health_file
        if path is None:
            return
        try:
            path.touch()
        except OSError as exc:
            log.warning("cannot touch health file %s: %s", path, exc)

    def _backoff(self, attempt: int) -> float:
        base = min(self.config.backoff_max, self.config.backoff_base * (2**attempt))
        return base * (0.5 + random.random() / 2)

    def _outage(self, exc: TransportError | ServerError) -> None:
        """A claim failed: note the outage, back off (a signal cuts the wait short)."""
        self._outage_started(exc)
        with self._lock:
            attempt = self._outage_attempts
            self._outage_attempts += 1
        self._stopping.wait(self._backoff(attempt))

    def _outage_started(self, exc: TransportError | ServerError) -> None:
        """Logged once per outage, whichever request (claim, write-back, renewal) noticed it."""
        with self._lock:
            if self._outage_since is not None:
                return
            self._outage_since = time.monotonic()
            self._outage_attempts = 0
        self.metrics.outage()  # metrics hook
        log.warning("server unreachable: %s; retrying with backoff", exc.message)

    def _recovered(self, sent: float) -> None:
        """A request sent at ``sent`` succeeded. It ends an outage only if it was sent after the
        outage began: one that was already in flight says nothing about the server now (at a
        shutdown, it would log a recovery between two halves of the same outage)."""
        with self._lock:
            since = self._outage_since
            if since is None or sent < since:
                return
            self._outage_since = None
        log.info("server reachable again after %.0fs", time.monotonic() - since)
