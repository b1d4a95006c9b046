"""Run one request per task concurrently, keep going past failures, stop cleanly on Ctrl-C.

No terminal code here: progress is reported through a callback, so commands decide how to
show it (a rich bar on a terminal, nothing in a pipe).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventix_cli.core.errors import EventixCliError


class Skip(Exception):
    """Raised by an action: this item needs nothing done (counted, not a failure)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class BulkResult:
    """What a bulk run did, item by item, and why it stopped early if it did.

    ``not_attempted`` lists the items that were known (an id list) but never started when the
    run stopped early; ``None`` means the rest is not known without asking the server again
    (the unread part of a listing). ``error`` is what stopped the run (an outage, a listing
    that failed); ``interrupted`` means Ctrl-C.
    """

    action: str
    done: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    not_attempted: list[str] | None = field(default_factory=list)
    interrupted: bool = False
    error: EventixCliError | None = None
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Items handled (done, skipped or failed)."""
        return len(self.done) + len(self.failed) + len(self.skipped)

    @property
    def stopped_early(self) -> bool:
        return self.interrupted or self.error is not None

    @property
    def rate(self) -> float:
        return len(self.done) / self.seconds if self.seconds > 0 else 0.0

    def not_attempted_count(self, expected: int | None = None) -> int | None:
        """How many were not attempted: known from the list, or from the expected total."""
        if self.not_attempted is not None:
            return len(self.not_attempted)
        return max(0, expected - self.total) if expected is not None else None

    def to_json(self, expected: int | None = None) -> dict[str, Any]:
        return {
            "action": self.action,
            "done": self.done,
            "failed": self.failed,
            "skipped": self.skipped,
            "not_attempted": self.not_attempted,
            "not_attempted_count": self.not_attempted_count(expected),
            "interrupted": self.interrupted,
            "error": None
            if self.error is None
            else {"error_class": self.error.error_class, "message": self.error.message},
            "seconds": round(self.seconds, 3),
        }

    def summary(self, verb: str, expected: int | None = None, shown: int = 20) -> list[str]:
        """What the run did, in words: done, skipped, failed (and not attempted), then the
        reason of each of the first ``shown`` skipped or failed items."""
        rate = f" ({self.rate:,.0f}/s)" if self.seconds > 0 and self.done else ""
        parts = [f"{len(self.done):,} {verb}"]
        if self.skipped:
            parts.append(f"{len(self.skipped):,} skipped")
        if self.failed:
            parts.append(f"{len(self.failed):,} failed")
        if self.stopped_early:
            left = self.not_attempted_count(expected)
            parts.append("the rest not attempted" if left is None else f"{left:,} not attempted")
        lines = [f"{', '.join(parts)} in {self.seconds:.2f}s{rate}"]
        lines += [f"  {item['uid']}: {item['reason']}" for item in (self.skipped + self.failed)[:shown]]
        hidden = len(self.skipped) + len(self.failed) - shown
        if hidden > 0:
            lines.append(f"  ... and {hidden:,} more (-o json lists them all)")
        return lines

    def rows(self) -> Iterator[dict[str, Any]]:
        """One record per item: uid, outcome, and the reason where there is one."""
        for uid in self.done:
            yield {"uid": uid, "outcome": "done", "error_class": None, "reason": None}
        for item in self.skipped:
            yield {"uid": item["uid"], "outcome": "skipped", "error_class": None, "reason": item["reason"]}
        for item in self.failed:
            yield {"uid": item["uid"], "outcome": "failed", **{k: item[k] for k in ("error_class", "reason")}}
        for uid in self.not_attempted or ():
            yield {"uid": uid, "outcome": "not_attempted", "error_class": None, "reason": None}


def run_bulk[T](
    action_name: str,
    items: Iterable[T],
    action: Callable[[T], object],
    *,
    key: Callable[[T], str] = str,
    concurrency: int = 8,
    on_done: Callable[[int], None] | None = None,
) -> BulkResult:
    """Apply ``action(item)`` to every item with up to ``concurrency`` requests in flight.

    ``key(item)`` is the uid the result reports (items are uids by default). ``action``
    raises :class:`Skip` for items that need nothing, and an
    :class:`~eventix_cli.core.errors.EventixCliError` for items that failed; anything else is a
    bug and propagates. Items are streamed: none is read before a worker is free for it.

    The run stops early, and the result says what was done up to then, when:

    - the server cannot be reached or the journal cannot be written (an error whose class
      ``stops_a_run``, e.g. :class:`~eventix_cli.core.errors.TransportError`, from an action:
      the item counts as failed) or the item source fails with an
      :class:`~eventix_cli.core.errors.EventixCliError` (a listing request): ``result.error``;
    - Ctrl-C (KeyboardInterrupt in the main thread): ``result.interrupted``.

    Either way no new item is started and the ones in flight finish (each is a single
    request: nothing is left half-written). When ``items`` is a sequence, the items never
    started are listed in ``result.not_attempted``; for a lazy source it is ``None``.
    """
    run = _BulkRun(action_name, items, action, key, on_done)
    run.run_threads(concurrency)
    if run.bugs:
        raise run.bugs[0]
    result = run.result
    if result.stopped_early:
        # a list of items: name the ones never started; a lazy source (a listing) is not read on
        result.not_attempted = [key(item) for item in run.source] if isinstance(items, Sequence) else None
    close = getattr(run.source, "close", None)
    if close is not None:
        close()  # a generator left unfinished cleans up now, not when it is collected (at exit)
    return result


_END = object()  # what _BulkRun.next_item returns when there is no item to start


class _BulkRun[T]:
    """One :func:`run_bulk` call: its result, its item source and the signal to stop, shared
    by the worker threads."""

    def __init__(
        self,
        action_name: str,
        items: Iterable[T],
        action: Callable[[T], object],
        key: Callable[[T], str],
        on_done: Callable[[int], None] | None,
    ) -> None:
        self.result = BulkResult(action_name)
        self.source = iter(items)
        self.action = action
        self.key = key
        self.on_done = on_done
        self.lock = threading.Lock()  # guards the result lists
        self.source_lock = threading.Lock()  # one worker at a time reads the next item
        self.stop = threading.Event()
        self.bugs: list[BaseException] = []

    def run_threads(self, concurrency: int) -> None:
        """Run ``concurrency`` workers until the items run out or the run stops; on Ctrl-C
        stop starting items and let the ones in flight finish."""
        started = time.perf_counter()
        threads = [
            threading.Thread(target=self.work, name=f"{self.result.action}-{i}", daemon=True)
            for i in range(concurrency)
        ]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.1)  # short waits keep Ctrl-C responsive in the main thread
        except KeyboardInterrupt:
            self.result.interrupted = True
            self.stop.set()
            for thread in threads:
                if thread.ident is not None:
                    thread.join()  # the requests in flight finish
        finally:
            self.result.seconds = time.perf_counter() - started

    def work(self) -> None:
        """One worker thread. Workers pull items themselves: no hand-off through a queue, and a
        listing that pages lazily is read by whichever worker needs the next item."""
        try:
            while not self.stop.is_set():
                item = self.next_item()
                if item is _END:
                    return
                self.apply(item)  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - a bug: re-raised by run_bulk
            self.bugs.append(exc)
            self.stop.set()

    def next_item(self) -> T | object:
        """The next item to start, or ``_END`` when the run stops or the source is exhausted."""
        with self.source_lock:
            if self.stop.is_set():
                return _END
            try:
                return next(self.source)
            except StopIteration:
                return _END
            except EventixCliError as exc:  # the listing failed: stop, report what was done
                self.stop_for(exc)
                return _END

    def apply(self, item: T) -> None:
        """Run the action on one item and record its outcome."""
        uid = self.key(item)
        try:
            self.action(item)
        except Skip as skip:
            with self.lock:
                self.result.skipped.append({"uid": uid, "reason": skip.reason})
        except EventixCliError as exc:
            with self.lock:
                self.result.failed.append({"uid": uid, "error_class": exc.error_class, "reason": exc.message})
            if exc.stops_a_run:
                self.stop_for(exc)  # an outage, a journal that cannot be written: all would fail
        else:
            with self.lock:
                self.result.done.append(uid)
        if self.on_done is not None:
            self.on_done(1)

    def stop_for(self, exc: EventixCliError) -> None:
        """Stop starting items; the first error that stopped the run is the one reported."""
        with self.lock:
            if self.result.error is None:
                self.result.error = exc
        self.stop.set()
