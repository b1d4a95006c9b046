"""One task thread: claim, run one attempt, hand the outcome to the write-back, again.

With more than one lane, the write-back of a task goes out while the lane claims the next
one (one in flight per lane), so claim and write-back overlap instead of queueing behind each
other; a single lane (``--concurrency 1``) writes back itself, which costs less CPU. A lane never
lets a task's behaviour end it; if it dies anyway (a defect), the supervisor sees it.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING

from eventix_cli.core.errors import ApiError, ServerError, TransportError, UnreadableTask
from eventix_cli.worker.attempt import run_attempt
from eventix_cli.worker.claimed import Stage

if TYPE_CHECKING:
    from eventix_cli.worker.supervisor import Supervisor

log = logging.getLogger(__name__)


class Lane:
    def __init__(self, serial: int, supervisor: Supervisor) -> None:
        self.serial = serial
        self.sup = supervisor
        self.thread = threading.Thread(target=self._main, name=f"task-{serial}", daemon=True)
        self.died: BaseException | None = None
        self.ended = False
        self._pending: Future[None] | None = None

    def start(self) -> None:
        self.thread.start()

    def _main(self) -> None:
        try:
            self._loop()
        except BaseException as exc:
            self.died = exc
            log.critical("task thread %s died: %s", self.thread.name, type(exc).__name__, exc_info=exc)
        finally:
            self.ended = True
            self.sup.wake()

    def _loop(self) -> None:
        sup = self.sup
        cfg = sup.config
        client = sup.client
        while not (sup.stopping or sup.drained):
            if not sup.reserve():
                return
            sent = time.monotonic()
            try:
                claim = client.next_scheduled(cfg.worker_id, cfg.namespace)
            except UnreadableTask as exc:
                sup.unreserve()
                if not sup.writer.end_unreadable(exc):
                    sup.wait_stop(cfg.poll_interval)  # e.g. a proxy's page: no hot loop
                continue
            except (TransportError, ServerError) as exc:
                sup.unreserve()
                sup.outage.started(exc)
                sup.wait_stop(sup.outage.next_delay())
                continue
            except ApiError as exc:
                sup.unreserve()
                log.error("claim rejected by the server: %s (%s)", exc.message, exc.error_class)
                sup.wait_stop(cfg.poll_interval)
                continue
            except BaseException:
                sup.unreserve()
                raise
            sup.outage.recovered(sent)
            if claim is None:
                idle = sup.unreserve()
                if not cfg.burst:
                    sup.wait_stop(cfg.poll_interval)
                elif idle:
                    sup.burst_done()
                    return
                else:
                    sup.wait_stop(0.02)  # a running task may still schedule more
                continue
            task = claim.to_task()
            claimed = sup.register(task, self.serial)
            with sup.metrics.busy():
                outcome = run_attempt(task, sup.registry, cfg.namespace, cfg.worker_id)
            claimed.duration_ms = (time.perf_counter() - claimed.started) * 1000
            with claimed.lock:
                if claimed.stage is Stage.RUNNING:
                    claimed.stage = Stage.FINISHED
            if sup.inline_writes:
                sup.write_now(claimed, outcome)
                continue
            if self._pending is not None:
                self._pending.result()
            self._pending = sup.submit_write(claimed, outcome)
