"""What a lane needs from the worker around it, named in one object.

The supervisor builds one :class:`LaneSupport` and hands it to every lane: the collaborators a
lane works with, and the supervisor's accounting as plain callables. A lane therefore never
sees the supervisor (which owns the lanes), and the two modules do not need each other.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eventix_cli.core.task import Task
from eventix_cli.worker.claimed import Claimed
from eventix_cli.worker.config import WorkerConfig
from eventix_cli.worker.metrics import WorkerMetrics
from eventix_cli.worker.outage import Outage
from eventix_cli.worker.writeback import Writer

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.worker.registry import TaskRegistry


@dataclass(frozen=True, slots=True)
class LaneSupport:
    config: WorkerConfig
    client: EventixClient
    registry: TaskRegistry
    writer: Writer
    outage: Outage
    metrics: WorkerMetrics
    #: True once the worker stops claiming (a signal, burst done or --max-tasks reached)
    done_claiming: Callable[[], bool]
    #: sleep up to the given seconds, less when a signal comes
    wait_stop: Callable[[float], None]
    #: count a claim about to be sent; False once --max-tasks is reached
    reserve: Callable[[], int | None]
    #: a claim that brought no task; True when nothing at all is busy
    unreserve: Callable[..., bool]
    #: a claimed task enters the books (the task, the lane's serial)
    register: Callable[[Task, int], Claimed]
    #: a burst worker found nothing due while nothing else runs
    burst_done: Callable[[], None]
    #: the outcome of a run goes to the write-back: written at once (None) or in flight (its future)
    hand_off: Callable[[Claimed, Task], Future[None] | None]
    #: a lane ended (returned or died): the supervisor looks at once
    lane_ended: Callable[[], None]
    #: a claim request failed after it may have reached the server (its task may be claimed)
    claim_unanswered: Callable[[], None]
