"""Claims the server may have made for this worker whose answer never arrived (the server
crashed, or the connection dropped, after it set the task ``processing`` under this worker's
id): found once the server answers again, and released instead of waiting out their lease.

A claim request that failed after it reached the server (a timeout, a dropped connection, a
5xx) is noted; a refused connection never reached it. Once the server answers, the tasks
``processing`` under this worker's id are listed, and those the worker does not hold are
released (revision-checked, as every release). The listing counts only when no claim request
was under way or sent while it ran: such a claim's task could be listed before the worker
holds it. The worker id must name this process alone, as it does upstream (the default,
host-pid, does).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from eventix_cli.core.errors import ApiError, ServerError, TransportError
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.worker.claimed import Claimed
from eventix_cli.worker.writeback import still_ours

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.worker.outage import Outage
    from eventix_cli.worker.writeback import Writer

log = logging.getLogger(__name__)

#: the worker's books at one moment: claim requests sent so far, and the uids it holds; None
#: while a claim request is under way
Books = tuple[int, frozenset[str]] | None


class UnansweredClaims:
    def __init__(
        self, client: EventixClient, writer: Writer, outage: Outage, namespace: str, worker_id: str
    ) -> None:
        self.client = client
        self.writer = writer
        self.outage = outage
        self.namespace = namespace
        self.worker_id = worker_id
        self._noted = threading.Event()

    def note(self) -> None:
        """A claim request failed after it may have reached the server."""
        self._noted.set()

    @property
    def pending(self) -> bool:
        return self._noted.is_set()

    def release(self, books: Callable[[], Books]) -> None:
        """Release the tasks the server holds for this worker that it does not hold; a later
        round tries again when a claim request overlaps the listing, or once a server that
        failed answers again. A server that refuses the listing (4xx) is not asked again."""
        before = books()
        if before is None:
            return
        self._noted.clear()  # a claim that fails from now on is noted again
        try:
            found = [
                view.to_task()
                for view in self.client.iter_tasks(
                    namespace=self.namespace,
                    status=TaskStatus.processing,
                    filter={"worker_id": self.worker_id},
                )
            ]
        except (TransportError, ServerError) as exc:
            self.outage.started(exc)  # asked again once the server answers
            self._noted.set()
            return
        except (ApiError, ValueError) as exc:
            log.warning(
                "tasks claimed by this worker could not be listed (%s): a claim whose answer "
                "was lost waits out its lease",
                type(exc).__name__,
            )
            return
        after = books()
        if after is None or after[0] != before[0]:
            self._noted.set()  # a claim went out meanwhile: its task may be in the listing
            return
        held = before[1] | after[1]
        for task in found:
            if task.uid not in held and still_ours(task, self.worker_id):
                claimed = Claimed(task=task, lease=0.0, lane=0)
                self.writer.release(claimed, "claimed by this worker, but the claim's answer was lost")
