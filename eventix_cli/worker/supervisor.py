"""The supervisor: owns the task threads, lease renewal, signals, health file and shutdown.

It trusts nothing: a task thread that dies anyway has its claimed tasks released (revision-
checked) and is replaced, up to ``max_thread_deaths`` within ``death_window`` seconds, after
which the worker releases everything and exits 1. Leases are renewed while a claim is held (its
attempt runs, or its outcome waits for a server that cannot write); a claim whose answer was
lost is released once the server answers again (see ``unanswered``). The health file is
touched only while every thread lives and the server answers. Stop requests come from an
ordinary thread (``eventix_cli.cli.stop_signals`` relays the signals: a handler taking the
locks below could deadlock the main thread) and only set flags:

- first SIGTERM/SIGINT: stop claiming, let running tasks finish and write back, exit 0;
- second signal, or ``shutdown_timeout`` passing: release the tasks still running (a
  revision-checked write back to ``scheduled``) and exit 1. No task is left ``processing``
  by a worker that exited, except after SIGKILL: then the server's lease cleanup requeues it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from eventix_cli.core.task import Task
from eventix_cli.core.times import format_elapsed, utcnow
from eventix_cli.worker.claimed import Claimed, Stage
from eventix_cli.worker.config import DEFAULT_LEASE, WorkerConfig
from eventix_cli.worker.lane import Lane
from eventix_cli.worker.lanesupport import LaneSupport
from eventix_cli.worker.leases import LeaseKeeper
from eventix_cli.worker.metrics import NO_METRICS, WorkerMetrics
from eventix_cli.worker.outage import Outage
from eventix_cli.worker.unanswered import Books, UnansweredClaims
from eventix_cli.worker.writeback import Writer

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.worker.registry import TaskRegistry

log = logging.getLogger(__name__)

#: how long a forced stop waits for claims already sent to come back before it releases
SETTLE_SECONDS = 5.0


class Supervisor:
    def __init__(
        self,
        client: EventixClient,
        registry: TaskRegistry,
        config: WorkerConfig,
        metrics: WorkerMetrics = NO_METRICS,
    ) -> None:
        self.client = client
        self.metrics = metrics
        self.registry = registry
        self.config = config
        self.claims: dict[str, Claimed] = {}
        self.started_count = 0
        self.completed = 0
        self._inflight = 0  # claim requests under way
        self._activity = 0  # tasks started and ended so far (a burst ends on a quiet claim)
        self._claims_sent = 0  # claim requests sent, ever
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # a signal: stop claiming
        self._forced = threading.Event()  # a second signal: release what runs
        self._drained = threading.Event()  # burst done or --max-tasks reached
        self._wake = threading.Event()
        self.outage = Outage(config.backoff_base, config.backoff_max, on_start=metrics.outage)
        self.writer = Writer(client, config.worker_id, self.outage, self._forced)
        self.leases = LeaseKeeper(client, config.worker_id, self.outage, config.lease)
        self.unanswered = UnansweredClaims(
            client, self.writer, self.outage, config.namespace, config.worker_id
        )
        self._pool = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="write-back")
        self._closed = False  # run() has returned: outcomes that finish now are dropped
        #: one lane writes back itself (see write_now); more hand write-backs to the pool
        self.inline_writes = config.concurrency == 1
        self.lanes: list[Lane] = []
        self._lane_support = LaneSupport(
            config=config,
            client=client,
            registry=registry,
            writer=self.writer,
            outage=self.outage,
            metrics=metrics,
            done_claiming=self.done_claiming,
            wait_stop=self.wait_stop,
            reserve=self.reserve,
            unreserve=self.unreserve,
            register=self.register,
            burst_done=self.burst_done,
            hand_off=self.write_now if self.inline_writes else self.submit_write,
            lane_ended=self.wake,
            claim_unanswered=self.unanswered.note,
        )
        self._serial = 0
        self._deaths: list[float] = []

    # -- control (only set flags) ------------------------------------------------------------

    def request_stop(self) -> None:
        """First request (signal): graceful; a second one forces the stop. Takes locks: call it
        from a thread, never from a signal handler."""
        if self._stopping.is_set():
            self._forced.set()
        self._stopping.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def drained(self) -> bool:
        return self._drained.is_set()

    def done_claiming(self) -> bool:
        return self._stopping.is_set() or self._drained.is_set()

    def wake(self) -> None:
        self._wake.set()

    def wait_stop(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    # -- accounting the lanes use ------------------------------------------------------------

    def reserve(self) -> int | None:
        """Count a claim about to be sent; None once --max-tasks is reached, else the activity
        count (tasks started and ended so far) as the claim goes out, for :meth:`unreserve`."""
        cfg = self.config
        with self._lock:
            if cfg.max_tasks is not None and self.started_count >= cfg.max_tasks:
                if not self._drained.is_set():
                    log.info("reached --max-tasks %d", cfg.max_tasks)
                self._drained.set()
                self._wake.set()
                return None
            self.started_count += 1
            self._inflight += 1
            self._claims_sent += 1
            return self._activity

    def unreserve(self, sent_at: int | None = None) -> bool:
        """A claim that brought no task; True when the queue is drained for a burst: nothing is
        held, and nothing started or ended since this claim (sent at activity ``sent_at``) went
        out, so it saw all a task could have scheduled. Other lanes' claims under way do not
        count: with slow claims, one lane's is always out when another's comes back empty,
        and a burst waiting for none to be out never ended (those claims still run what they
        bring)."""
        with self._lock:
            self.started_count -= 1
            self._inflight -= 1
            if self.claims:
                return False
            return self._inflight == 0 or sent_at == self._activity

    def books(self) -> Books:
        """Claim requests sent so far and the uids held; None while a claim is under way."""
        with self._lock:
            return None if self._inflight else (self._claims_sent, frozenset(self.claims))

    def burst_done(self) -> None:
        if not self._drained.is_set():
            log.info("nothing due in namespace %s: burst done", self.config.namespace)
        self._drained.set()
        self._wake.set()

    def register(self, task: Task, lane: int) -> Claimed:
        lease = DEFAULT_LEASE
        if task.worker_expires is not None:
            lease = max(1.0, (task.worker_expires - utcnow()).total_seconds())
        claimed = Claimed(task=task, lease=lease, lane=lane)
        with self._lock:
            self.claims[task.uid] = claimed
            self._inflight -= 1
            self._activity += 1
        log.info(
            "start %s %s",
            task.uid,
            task.task,
            extra={"task_uid": task.uid, "task_name": task.task, "namespace": self.config.namespace},
        )
        return claimed

    def submit_write(self, claimed: Claimed, outcome: Task) -> Future[None] | None:
        claimed.submitted = True
        try:
            return self._pool.submit(self._close, claimed, outcome)
        except RuntimeError:  # the worker is exiting after a forced stop: the task was released
            log.warning("task %s finished after the worker stopped; its outcome is dropped", claimed.uid)
            self._forget(claimed)
            return None

    def write_now(self, claimed: Claimed, outcome: Task) -> None:
        """The write-back on the calling lane's thread: at ``--concurrency 1`` handing it to a
        pool thread costs more CPU (a hand-off and two thread wake-ups per task) than the
        overlap with the next claim gains."""
        claimed.submitted = True
        if self._closed:  # the worker is exiting after a forced stop: the task was released
            log.warning("task %s finished after the worker stopped; its outcome is dropped", claimed.uid)
            self._forget(claimed)
            return
        self._close(claimed, outcome)

    def _close(self, claimed: Claimed, outcome: Task) -> None:
        """Write the outcome back, log the end line, forget the task; never raises."""
        task = claimed.task
        extra = {"task_uid": task.uid, "task_name": task.task, "namespace": self.config.namespace}
        status = "lost"
        try:
            status = self.writer.write_outcome(claimed, outcome)
        except BaseException as exc:
            log.critical("write-back of task %s failed: %s", task.uid, type(exc).__name__, exc_info=exc)
            self._release_quietly(claimed, "its write-back failed")
        finally:
            log.info(
                "end %s %s -> %s (%s)",
                task.uid,
                task.task,
                status,
                format_elapsed(claimed.duration_ms / 1000),
                extra={**extra, "status": status, "duration_ms": round(claimed.duration_ms, 1)},
            )
            # written, then deleted as already expired: counted by what was written
            written = outcome.status.value if status == "deleted" else status
            self.metrics.record_outcome(task.task, written, claimed.duration_ms / 1000)
            self._forget(claimed)

    def _forget(self, claimed: Claimed) -> None:
        with self._lock:
            # the same task may have been claimed again meanwhile (released by a dead thread):
            # only this claim is forgotten
            if self.claims.get(claimed.uid) is claimed:
                del self.claims[claimed.uid]
                self.completed += 1
                self._activity += 1
        if self._stopping.is_set() or self._drained.is_set():
            # the main thread waits for the last claims to end: tell it at once. While the
            # worker simply works it looks every 0.2 s anyway, and waking it on every task cost
            # ~140 us of CPU per task (a GIL hand-off to the main thread and back)
            self._wake.set()

    def _release_quietly(self, claimed: Claimed, reason: str) -> None:
        try:
            self.writer.release(claimed, reason)
        except BaseException as exc:
            log.critical("release of task %s failed: %s", claimed.uid, type(exc).__name__, exc_info=exc)

    # -- supervision (main thread) -----------------------------------------------------------

    def run(self) -> int:
        """Work until told to stop (or burst/--max-tasks says so); the exit code."""
        cfg = self.config
        log.info(
            "worker %s on namespace %s: %d task(s) registered, concurrency %d%s",
            cfg.worker_id,
            cfg.namespace,
            len(self.registry),
            cfg.concurrency,
            ", burst" if cfg.burst else "",
        )
        try:
            return self._supervise()
        except Exception as exc:
            log.critical("the worker's supervision failed: %s", type(exc).__name__, exc_info=exc)
            return self._give_up()
        finally:
            self._closed = True
            self._pool.shutdown(wait=False, cancel_futures=False)

    def _supervise(self) -> int:
        for _ in range(self.config.concurrency):
            self._start_lane()
        while not self.stopping:
            if not self._bury_dead_lanes():
                return self._give_up()
            if all(lane.ended for lane in self.lanes) and not self.claims:
                if self.unanswered.pending:
                    self.unanswered.release(self.books)
                self._touch_health()
                log.info("worker stopped: %d task(s) run", self.completed)
                return 0
            self._tend()
            self._wake.wait(0.2)
            self._wake.clear()
        return self._shutdown()

    def _start_lane(self) -> None:
        self._serial += 1
        lane = Lane(self._serial, self._lane_support)
        self.lanes.append(lane)
        lane.start()

    def _bury_dead_lanes(self) -> bool:
        """Release what dead lanes held and replace them; False when they die too often."""
        dead = [lane for lane in self.lanes if lane.died is not None]
        if not dead:
            return True
        for lane in dead:
            self.lanes.remove(lane)
            with self._lock:
                held = [c for c in self.claims.values() if c.lane == lane.serial and not c.submitted]
            for claimed in held:
                self._release_quietly(claimed, f"task thread {lane.thread.name} died")
                self._forget(claimed)
            now = time.monotonic()
            self._deaths = [t for t in self._deaths if now - t < self.config.death_window] + [now]
            if len(self._deaths) > self.config.max_thread_deaths:
                log.error(
                    "%d task threads died within %gs: giving up",
                    len(self._deaths),
                    self.config.death_window,
                )
                return False
            if not (self.stopping or self.drained):
                self._start_lane()
                log.warning("replaced task thread %s", lane.thread.name)
        return True

    def _give_up(self) -> int:
        self._stopping.set()
        self._forced.set()
        self._release_all("the worker gives up")
        return 1

    def _tend(self) -> None:
        """Health file and lease renewals, once per supervision round."""
        if not self.outage.ongoing and all(lane.died is None for lane in self.lanes):
            self._touch_health()
        now = time.monotonic()
        with self._lock:
            due = [c for c in self.claims.values() if self.leases.due(c, now)]
        for claimed in due:
            self.leases.renew(claimed)
        if self.unanswered.pending and not self.outage.ongoing:
            self.unanswered.release(self.books)

    def _shutdown(self) -> int:
        cfg = self.config
        with self._lock:
            waiting = len(self.claims)
        if waiting:
            log.info("stopping: waiting up to %gs for %d running task(s)", cfg.shutdown_timeout, waiting)
        deadline = time.monotonic() + cfg.shutdown_timeout
        while True:
            self._bury_dead_lanes()
            with self._lock:
                left = len(self.claims)
            if not left:
                self._touch_health()
                log.info("worker stopped: %d task(s) run", self.completed)
                return 0
            if self._forced.is_set() or time.monotonic() >= deadline:
                break
            self._tend()
            self._forced.wait(0.1)
        reason = (
            "second signal"
            if self._forced.is_set()
            else f"--shutdown-timeout {cfg.shutdown_timeout:g}s passed"
        )
        self._forced.set()
        self._release_all(reason)
        return 1

    def _release_all(self, reason: str) -> None:
        # a claim already sent lands in ``claims`` (or comes back empty) before anything is
        # released: otherwise its task would stay processing after the worker exited
        deadline = time.monotonic() + SETTLE_SECONDS
        while self._inflight and time.monotonic() < deadline:
            self._wake.wait(0.02)
            self._wake.clear()
        with self._lock:
            left = [c for c in self.claims.values() if c.stage in (Stage.RUNNING, Stage.FINISHED)]
        if left:
            log.warning("%s: releasing %d running task(s) back to the queue", reason, len(left))
        for claimed in left:
            self._release_quietly(claimed, reason)

    def _touch_health(self) -> None:
        path = self.config.health_file
        if path is None:
            return
        try:
            path.touch()
        except OSError as exc:
            log.warning("cannot touch health file %s: %s", path, exc)


def stray_threads() -> list[threading.Thread]:
    """Non-daemon threads still alive that the worker did not start: started by task code."""
    main = threading.main_thread()
    return [
        t
        for t in threading.enumerate()
        if t is not main and not t.daemon and t.is_alive() and not t.name.startswith("write-back")
    ]


def exit_despite_stray_threads(code: int) -> None:
    """The interpreter would wait for threads a task left running (forever, maybe): when there
    are any, flush the logs and end the process with ``code`` now. Returns when there are none."""
    stray = stray_threads()
    if not stray:
        return
    names = ", ".join(t.name for t in stray[:5])
    log.warning("%d thread(s) started by tasks still run (%s); exiting without them", len(stray), names)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
