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

from eventix_cli.core.errors import ApiError, ServerError, ServerUnreachable, TransportError, UnreadableTask
from eventix_cli.worker.attempt import run_attempt
from eventix_cli.worker.claimed import Stage
from eventix_cli.worker.lanesupport import LaneSupport
from eventix_cli.worker.poison import end_unreadable

log = logging.getLogger(__name__)


class Lane:
    def __init__(self, serial: int, support: LaneSupport) -> None:
        self.serial = serial
        self.support = support
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
            self.support.lane_ended()

    def _loop(self) -> None:
        support = self.support
        cfg = support.config
        client = support.client
        while not support.done_claiming():
            sent_at = support.reserve()
            if sent_at is None:
                return
            sent = time.monotonic()
            try:
                claim = client.next_scheduled(cfg.worker_id, cfg.namespace)
            except UnreadableTask as exc:
                support.unreserve()
                if not end_unreadable(client, cfg.worker_id, exc):
                    support.wait_stop(cfg.poll_interval)  # e.g. a proxy's page: no hot loop
                continue
            except (TransportError, ServerError) as exc:
                support.unreserve()
                if not isinstance(exc, ServerUnreachable):  # it reached the server: claimed, maybe
                    support.claim_unanswered()
                support.outage.started(exc)
                delay = support.outage.next_delay()
                log.debug("claim failed: %s; next claim in %.3fs", exc.message, delay)
                support.wait_stop(delay)
                continue
            except ApiError as exc:
                support.unreserve()
                log.error("claim rejected by the server: %s (%s)", exc.message, exc.error_class)
                support.wait_stop(cfg.poll_interval)
                continue
            except BaseException:
                support.unreserve()
                raise
            support.outage.recovered(sent)
            if claim is None:
                idle = support.unreserve(sent_at)
                if not cfg.burst:
                    support.wait_stop(cfg.poll_interval)
                elif idle:
                    support.burst_done()
                    return
                else:
                    support.wait_stop(0.02)  # a running task may still schedule more
                continue
            task = claim.to_task()
            claimed = support.register(task, self.serial)
            with support.metrics.busy():
                outcome = run_attempt(task, support.registry, cfg.namespace, cfg.worker_id)
            claimed.duration_ms = (time.perf_counter() - claimed.started) * 1000
            with claimed.lock:
                if claimed.stage is Stage.RUNNING:
                    claimed.stage = Stage.FINISHED
            # one write-back in flight per lane (none when the lane writes back itself)
            if self._pending is not None:
                self._pending.result()
            self._pending = support.hand_off(claimed, outcome)
