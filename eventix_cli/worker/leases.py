"""Lease renewal of the claims this worker holds: attempts running, and outcomes waiting for
a server that cannot write yet (the claim is kept while the write-back retries).

A renewal reads the task first: upstream's ``PUT /task/{uid}`` inserts a missing document,
so a blind renewal would bring back a task deleted while it ran. Renewals are rare (at half
of the lease), so the read costs nothing on the hot path. The write that follows is
revision-checked; a claim found gone (cancelled, taken over, deleted) is marked lost and
never renewed again, and its outcome is discarded.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING

from eventix_cli.core.errors import ApiError, RevisionConflict, ServerError, TaskNotFound, TransportError
from eventix_cli.core.outcome import describe
from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow
from eventix_cli.worker.claimed import Claimed, Stage
from eventix_cli.worker.poison import ENCODING_ERRORS, end_unstorable
from eventix_cli.worker.writeback import still_ours

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.worker.outage import Outage

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(self, client: EventixClient, worker_id: str, outage: Outage, lease: float | None) -> None:
        self.client = client
        self.worker_id = worker_id
        self.outage = outage
        self.lease = lease  # seconds per renewal; None: the lease each claim carried

    def lease_of(self, claimed: Claimed) -> float:
        return self.lease if self.lease is not None else claimed.lease

    def due(self, claimed: Claimed, now: float) -> bool:
        return (
            claimed.stage in (Stage.RUNNING, Stage.FINISHED)  # FINISHED: the outcome waits to be written
            and now >= claimed.next_renewal
            and now - claimed.renewed_at > min(self.lease_of(claimed), claimed.lease) / 2
        )

    def renew(self, claimed: Claimed) -> None:
        """Extend the lease of one running task (a failure is retried later, with backoff)."""
        uid = claimed.uid
        now = time.monotonic()
        current = None
        try:
            current = self.client.get_task(uid).to_task()
            if not still_ours(current, self.worker_id):
                self._lost(claimed, f"now {current.status.value} on worker {current.worker_id or 'none'}")
                return
            lease = self.lease_of(claimed)
            current.worker_expires = utcnow() + dt.timedelta(seconds=lease)
            stored = self.client.put_task(current.to_wire()).to_task()
        except TaskNotFound:
            self._lost(claimed, "deleted")
            return
        except RevisionConflict:
            claimed.next_renewal = now + 0.1  # written in between: read again on the next round
            return
        except (TransportError, ServerError) as exc:
            self.outage.started(exc)
            claimed.next_renewal = now + self.outage.delay(claimed.renew_failures)
            claimed.renew_failures += 1
            return
        except ApiError as exc:
            if current is None or not self._end_unstorable(claimed, current, exc.message):
                log.error("lease renewal of task %s refused: %s (%s)", uid, exc.message, exc.error_class)
                claimed.next_renewal = now + self.lease_of(claimed) / 4
            return
        except ENCODING_ERRORS as exc:  # an answer the client cannot read, or a document it cannot send
            if current is None or not self._end_unstorable(claimed, current, describe(exc)):
                log.error("lease renewal of task %s failed: %s", uid, type(exc).__name__)
                claimed.next_renewal = now + self.lease_of(claimed) / 4
            return
        self.outage.recovered(now)
        with claimed.lock:
            if claimed.stage in (Stage.RUNNING, Stage.FINISHED):
                claimed.task = stored
            claimed.renewed_at = now
            claimed.renew_failures = 0
        log.info("renewed the lease of task %s until %s", uid, stored.worker_expires)

    def _end_unstorable(self, claimed: Claimed, current: Task, reason: str) -> bool:
        """A task whose own fields the server cannot take back cannot keep its lease either:
        ended now (its outcome will be discarded), not left to expire and run again. True
        when it was such a task and is ended."""
        if not end_unstorable(self.client, current, reason):
            return False
        self._lost(claimed, "ended: its document cannot be stored back")
        return True

    def _lost(self, claimed: Claimed, reason: str) -> None:
        if claimed.lose(reason):
            log.warning(
                "task %s is no longer claimed by this worker (%s): its lease is not renewed, "
                "its outcome will be discarded",
                claimed.uid,
                reason,
            )
