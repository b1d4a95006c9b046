"""A task this worker has claimed, from the claim until its outcome is written (or it is let go)."""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass, field

from eventix_cli.core.task import Task


class Stage(enum.Enum):
    RUNNING = "running"  # the attempt runs: its lease is renewed (and while FINISHED)
    FINISHED = "finished"  # ran; the outcome waits for (or is in) the write-back
    RELEASED = "released"  # handed back to the queue by this worker: any outcome is dropped
    LOST = "lost"  # the claim is no longer ours (cancelled, taken over, deleted): outcome dropped
    WRITTEN = "written"  # the outcome is stored


@dataclass
class Claimed:
    """``task`` is the latest stored document this worker knows (its revision is what the next
    revision-checked write sends); ``lock`` guards ``task`` and ``stage``."""

    task: Task
    lease: float
    lane: int
    renewed_at: float = field(default_factory=time.monotonic)
    renew_failures: int = 0
    next_renewal: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    duration_ms: float = 0.0
    stage: Stage = Stage.RUNNING
    lost_reason: str = ""
    submitted: bool = False  # handed to the write-back (a dead thread's unsubmitted claims are released)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def uid(self) -> str:
        return self.task.uid

    def lose(self, reason: str) -> bool:
        """Mark the claim gone; False when it had already ended otherwise."""
        with self.lock:
            if self.stage in (Stage.RELEASED, Stage.LOST, Stage.WRITTEN):
                return False
            self.stage = Stage.LOST
            self.lost_reason = reason
            return True
