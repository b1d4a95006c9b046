"""Claim-checked writes of a claimed task: its outcome, or its release back to the queue.

Every write sends the revision this worker last saw. A ``RevisionConflict`` means someone
else wrote: the task is re-read, and the write is re-applied only while the task is still
``processing`` under this worker's id. Otherwise (cancelled, released by the server's lease
cleanup, taken by another worker, deleted) the outcome is discarded with a warning naming
the task: a write-back never undoes someone else's write. The hot path is one PUT.

A document the server refuses, or the wire cannot carry, is replaced by a smaller one: the
attempt without its result, or, when the task's own fields are the cause, the task ended
(:mod:`eventix_cli.worker.poison`). A server that cannot write at all is waited for.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from eventix_cli.core.errors import (
    ApiError,
    RevisionConflict,
    ServerError,
    TaskNotFound,
    TransportError,
)
from eventix_cli.core.fields import OUTCOME_FIELDS
from eventix_cli.core.outcome import apply_failure, apply_release, describe, not_storable
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow
from eventix_cli.worker.claimed import Claimed, Stage
from eventix_cli.worker.poison import ENCODING_ERRORS, end_unstorable, ended_unstorable, unsendable_fields

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.worker.outage import Outage

log = logging.getLogger(__name__)

#: a result the server refuses (422: too deeply nested, invalid; 413: too large) is not stored
NOT_STORABLE_STATUS = frozenset({413, 422})
#: re-reads after conflicts before a write-back gives up (someone keeps writing the task)
MAX_CONFLICTS = 10
#: failures in a row (a 500, or the connection dropped) of one write-back before the server is
#: asked to write the task without its outcome: when it can, the outcome is taken for the cause
SERVER_FAILURES_BEFORE_FALLBACK = 3
#: answers that say the server (or a gateway before it) cannot write now, whatever is sent:
#: never the document's fault, so the outcome is kept and sent again after a pause
SERVER_CANNOT_WRITE_STATUS = frozenset({502, 503, 504, 507})
#: how often an outcome is replaced by a smaller one before the worker gives up on the task:
#: the result left out, then the task ended without the fields the server cannot take back
MAX_FALLBACKS = 2


def still_ours(task: Task, worker_id: str) -> bool:
    return task.status == TaskStatus.processing and task.worker_id == worker_id


def merged(base: Task, outcome: Task) -> Task:
    """``base`` (the freshest stored copy) carrying the outcome's fields (``OUTCOME_FIELDS``);
    the originals untouched."""
    return base.model_copy(update={name: getattr(outcome, name) for name in OUTCOME_FIELDS})


@dataclass(slots=True)
class _Tries:
    """One write-back's state across its tries."""

    outcome: Task  #: what is written: the task's outcome, or the error that replaced its result
    base: Task  #: the freshest stored copy the outcome is put onto
    #: fields of the task itself written as these values (those the server cannot take back)
    replaced: dict[str, Any] = field(default_factory=dict)
    pauses: int = 0  #: back-offs so far (the next one waits longer)
    fallbacks: int = 0  #: outcomes replaced by a smaller one
    conflicts: int = 0
    server_failures: int = 0


class Writer:
    """Writes outcomes and releases for one worker; safe to share between threads."""

    def __init__(self, client: EventixClient, worker_id: str, outage: Outage, forced: threading.Event):
        self.client = client
        self.worker_id = worker_id
        self.outage = outage
        self.forced = forced

    # -- outcome ----------------------------------------------------------------------------

    def write_outcome(self, claimed: Claimed, outcome: Task) -> str:
        """Write ``outcome`` while the claim is ours; the status written, or why it was not.

        One PUT in the common case. Each way a try can end has its handler below: it returns
        the final word (a status, or why nothing was written) or ``None`` to try again with
        what it changed in ``tries``."""
        with claimed.lock:
            tries = _Tries(outcome=outcome, base=claimed.task)
        while True:
            ended = self._no_longer_ours(claimed, tries)
            if ended is not None:
                return ended
            doc = merged(tries.base, tries.outcome).model_copy(update=tries.replaced)
            try:
                sent = time.monotonic()
                stored = self.client.put_task(doc.to_wire()).to_task()
                self.outage.recovered(sent)
            except RevisionConflict:
                verdict = self._on_conflict(claimed, tries)
            except TaskNotFound:
                verdict = self._on_deleted(claimed)
            except (TransportError, ServerError) as exc:
                verdict = self._on_failure(claimed, tries, exc)
            except ApiError as exc:
                verdict = self._on_refusal(claimed, tries, exc)
            except ValidationError:
                verdict = self._on_unreadable_answer(claimed, tries)
            except ENCODING_ERRORS as exc:
                verdict = self._on_unencodable(claimed, tries, exc)
            else:
                return self._on_written(claimed, doc, stored)
            if verdict is not None:
                return verdict

    def _no_longer_ours(self, claimed: Claimed, tries: _Tries) -> str | None:
        """Before each try: why the outcome is dropped (released, lost), or None to write it.
        A lease renewal that wrote meanwhile becomes the base of the next try."""
        with claimed.lock:
            stage = claimed.stage
            if claimed.task.revision != tries.base.revision:
                tries.base = claimed.task
        if stage is Stage.RELEASED:
            log.warning("task %s finished after it was released; its outcome is dropped", claimed.uid)
            return "released"
        if stage is Stage.LOST:
            log.warning(
                "task %s is no longer this worker's (%s); its outcome is dropped",
                claimed.uid,
                claimed.lost_reason,
            )
            return "discarded"
        return None

    def _on_written(self, claimed: Claimed, doc: Task, stored: Task) -> str:
        status = doc.status.value
        if doc.expires is not None and doc.expires < utcnow():
            # written with the claim checked, and already past its expiry: deleted, as upstream does
            with contextlib.suppress(TaskNotFound, TransportError, ServerError):
                self.client.delete_task(claimed.uid)
            status = "deleted"
        with claimed.lock:
            claimed.task, claimed.stage = stored, Stage.WRITTEN
        return status

    def _on_conflict(self, claimed: Claimed, tries: _Tries) -> str | None:
        """Someone else wrote: re-read, and try again only while the task is still ours."""
        uid = claimed.uid
        outcome = tries.outcome
        current = self._reread(uid)
        if current is None:
            return "discarded"
        if current is _UNREACHABLE:
            return self._pause(uid, tries)
        if _already_written(current, outcome):
            # an earlier try was stored, only its answer got lost on the way back
            with claimed.lock:
                claimed.task, claimed.stage = current, Stage.WRITTEN
            return outcome.status.value
        if not still_ours(current, self.worker_id):
            claimed.lose(f"now {current.status.value} on worker {current.worker_id or 'none'}")
            log.warning(
                "task %s was changed while it ran (now %s, worker %s); its outcome (%s) is discarded",
                uid,
                current.status.value,
                current.worker_id or "none",
                outcome.status.value,
            )
            return "discarded"
        tries.conflicts += 1
        if tries.conflicts > MAX_CONFLICTS:
            log.error("write-back of task %s keeps meeting conflicts; its lease will expire", uid)
            return "abandoned"
        with claimed.lock:
            claimed.task = tries.base = current
        return None

    def _on_deleted(self, claimed: Claimed) -> str:
        log.warning("task %s was deleted while it ran; its outcome is dropped", claimed.uid)
        return "discarded"

    def _on_failure(self, claimed: Claimed, tries: _Tries, exc: TransportError | ServerError) -> str | None:
        """The server failed or could not be reached. While it cannot write (it says so, or it
        fails writing this task without the outcome too: its disk full, its database locked)
        the outcome is kept and sent again after a pause, for as long as the claim is ours;
        when it writes the task but keeps failing on the outcome (a database that refuses
        its depth or size, a connection dropped while a huge body was sent, say), the error
        without the result is stored instead."""
        if self.forced.is_set():
            log.error("write-back of task %s abandoned (forced stop): %s", claimed.uid, exc.message)
            return "abandoned"
        tries.server_failures += 1
        if (
            tries.server_failures >= SERVER_FAILURES_BEFORE_FALLBACK
            and tries.fallbacks == 0
            and tries.outcome.result is not None
            and not _server_cannot_write(exc)
        ):
            tries.server_failures = 0  # asked again after as many failures more
            if self._writes_without_outcome(claimed, tries):
                tries.fallbacks += 1
                tries.outcome = self._not_storable(claimed, f"the server failed storing it: {exc.message}")
                return None
        self.outage.started(exc)
        return self._pause(claimed.uid, tries)

    def _on_refusal(self, claimed: Claimed, tries: _Tries, exc: ApiError) -> str | None:
        """A 4xx: a document the server cannot store is replaced by a smaller one; the rest
        gives up."""
        if exc.status_code not in NOT_STORABLE_STATUS:
            log.error(
                "write-back of task %s refused: %s (%s); its lease will expire on the server",
                claimed.uid,
                exc.message,
                exc.error_class,
            )
            return "abandoned"
        return self._fall_back(claimed, tries, f"the server refused it: {exc.message}")

    def _on_unreadable_answer(self, claimed: Claimed, tries: _Tries) -> str:
        # written (the server said 200) but its answer is unreadable: nothing more to do
        log.warning("task %s written, but the server's answer could not be read", claimed.uid)
        with claimed.lock:
            claimed.stage = Stage.WRITTEN
        return tries.outcome.status.value

    def _on_unencodable(self, claimed: Claimed, tries: _Tries, exc: BaseException) -> str | None:
        """The document cannot be encoded for the wire: a smaller one instead."""
        return self._fall_back(claimed, tries, f"{type(exc).__name__}: {describe(exc)}")

    def _fall_back(self, claimed: Claimed, tries: _Tries, reason: str) -> str | None:
        """The next smaller document after a refusal: when the task's own fields break the
        rules, the task ended without them (no retry would be stored either); else the
        failed attempt without its result. "abandoned" when both were refused already."""
        if tries.fallbacks >= MAX_FALLBACKS:
            log.error("write-back of task %s failed: %s; its lease will expire", claimed.uid, reason)
            return "abandoned"
        tries.fallbacks += 1
        with claimed.lock:
            task = claimed.task
        dropped = unsendable_fields(task)
        if not dropped:
            tries.outcome = self._not_storable(claimed, reason)
            return None
        tries.fallbacks = MAX_FALLBACKS  # nothing smaller is left to try
        tries.outcome, tries.replaced = ended_unstorable(task, dropped, reason)
        return None

    def _not_storable(self, claimed: Claimed, reason: str) -> Task:
        """The failed attempt written instead: same retry rules, the result left out."""
        log.warning("result of task %s cannot be stored (%s); writing an error instead", claimed.uid, reason)
        with claimed.lock:
            failed = claimed.task.model_copy()  # as claimed: this attempt's retry counters untouched
        apply_failure(failed, not_storable(claimed.uid, reason[:500]))
        return failed

    def _writes_without_outcome(self, claimed: Claimed, tries: _Tries) -> bool:
        """Whether the server writes this task as stored (claim-checked, the outcome left
        out): when it does, a write-back that keeps failing fails on its own outcome; when it
        does not, the server cannot write at all (or someone else wrote: the next try sees)."""
        try:
            stored = self.client.put_task(tries.base.to_wire()).to_task()
        except (TransportError, ApiError, ValidationError, *ENCODING_ERRORS):
            return False
        with claimed.lock:
            claimed.task = tries.base = stored
        return True

    def _reread(self, uid: str) -> Task | object | None:
        try:
            return self.client.get_task(uid).to_task()
        except TaskNotFound:
            log.warning("task %s was deleted while it ran; its outcome is dropped", uid)
            return None
        except (TransportError, ServerError) as exc:
            self.outage.started(exc)
            return _UNREACHABLE

    def _pause(self, uid: str, tries: _Tries) -> str | None:
        """Back off before the next try (capped); "abandoned" when a forced stop ends the waiting."""
        delay = self.outage.delay(tries.pauses)
        log.debug("write-back of task %s waits %.1fs", uid, delay)
        if self.forced.wait(delay):
            log.error("write-back of task %s abandoned (forced stop)", uid)
            return "abandoned"
        tries.pauses += 1
        return None

    # -- release ----------------------------------------------------------------------------

    def release(self, claimed: Claimed, reason: str) -> bool:
        """Back to ``scheduled``, unclaimed, while still ours; True when released. A task whose
        own fields the server cannot take back is ended instead (:mod:`eventix_cli.worker.poison`)."""
        with claimed.lock:
            if claimed.stage in (Stage.LOST, Stage.WRITTEN, Stage.RELEASED):
                return False  # not ours any more, or its outcome is stored, or already released
            claimed.stage = Stage.RELEASED  # an outcome that comes later is dropped
            doc = claimed.task.model_copy()
        uid = doc.uid
        for _ in range(5):
            apply_release(doc)
            try:
                self.client.put_task(doc.to_wire())
            except RevisionConflict:
                try:
                    doc = self.client.get_task(uid).to_task()
                except TaskNotFound:
                    return False
                except (TransportError, ApiError) as exc:
                    log.error("could not release task %s: %s; its lease will expire", uid, exc.message)
                    return False
                if not still_ours(doc, self.worker_id):
                    return False  # finished, cancelled or taken over meanwhile: nothing to release
                continue
            except TaskNotFound:
                return False
            except (TransportError, ApiError, *ENCODING_ERRORS) as exc:
                message = exc.message if isinstance(exc, TransportError | ApiError) else describe(exc)
                if isinstance(exc, TransportError | ServerError) or not end_unstorable(
                    self.client, doc, message
                ):
                    log.error(
                        "could not release task %s: %s; its lease will expire on the server", uid, message
                    )
                return False  # a task that can never be released is ended instead
            log.warning("released task %s (%s) back to the queue: %s", uid, doc.task, reason)
            return True
        log.error("could not release task %s: it keeps changing; its lease will expire", uid)
        return False


def _server_cannot_write(exc: TransportError | ServerError) -> bool:
    return isinstance(exc, ServerError) and exc.status_code in SERVER_CANNOT_WRITE_STATUS


def _already_written(current: Task, outcome: Task) -> bool:
    return current.status != TaskStatus.processing and all(
        getattr(current, name) == getattr(outcome, name) for name in ("status", "result", "worker_id", "eta")
    )


_UNREACHABLE = object()
