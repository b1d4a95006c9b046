"""Run one request per task concurrently, keep going past failures, stop cleanly on Ctrl-C.

No terminal code here: progress is reported through a callback, so commands decide how to
show it (a rich bar on a terminal, nothing in a pipe).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from eventix_cli.errors import EventixCliError


class Skip(Exception):
    """Raised by an action: this item needs nothing done (counted, not a failure)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class BulkResult:
    action: str
    done: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return len(self.done) + len(self.failed) + len(self.skipped)

    @property
    def rate(self) -> float:
        return len(self.done) / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "done": self.done,
            "failed": self.failed,
            "skipped": self.skipped,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3),
        }

    def rows(self) -> Iterator[dict[str, Any]]:
        """One record per item: uid, outcome, and the reason where there is one."""
        for uid in self.done:
            yield {"uid": uid, "outcome": "done", "error_class": None, "reason": None}
        for item in self.skipped:
            yield {"uid": item["uid"], "outcome": "skipped", "error_class": None, "reason": item["reason"]}
        for item in self.failed:
            yield {"uid": item["uid"], "outcome": "failed", **{k: item[k] for k in ("error_class", "reason")}}


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
    :class:`~eventix_cli.errors.EventixCliError` for items that failed; anything else is a
    bug and propagates, as does an error of the item source (e.g. a listing request). Items
    are streamed: none is read before a worker is free for it. On KeyboardInterrupt no new
    item is started, the ones in flight finish (each is a single
    request: nothing is left half-written), and the result says ``interrupted``.
    """
    result = BulkResult(action_name)
    lock = threading.Lock()  # guards the result lists
    source_lock = threading.Lock()  # one worker at a time reads the next item
    iterator = iter(items)
    stop = threading.Event()
    errors: list[BaseException] = []
    started = time.perf_counter()

    def one(item: T) -> None:
        uid = key(item)
        try:
            action(item)
        except Skip as skip:
            with lock:
                result.skipped.append({"uid": uid, "reason": skip.reason})
        except EventixCliError as exc:
            with lock:
                result.failed.append({"uid": uid, "error_class": exc.error_class, "reason": exc.message})
        else:
            with lock:
                result.done.append(uid)
        if on_done is not None:
            on_done(1)

    def worker() -> None:
        # Workers pull items themselves: no hand-off through a queue, and a listing that
        # pages lazily is read by whichever worker needs the next item.
        try:
            while not stop.is_set():
                with source_lock:
                    if stop.is_set():
                        return
                    try:
                        item = next(iterator)
                    except StopIteration:
                        return
                one(item)
        except BaseException as exc:  # noqa: BLE001 - a bug, or a listing that failed: re-raised below
            errors.append(exc)
            stop.set()

    threads = [
        threading.Thread(target=worker, name=f"{action_name}-{i}", daemon=True) for i in range(concurrency)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.1)  # short waits keep Ctrl-C responsive in the main thread
    except KeyboardInterrupt:
        result.interrupted = True
        stop.set()
        for thread in threads:
            if thread.ident is not None:
                thread.join()  # the requests in flight finish
    finally:
        result.seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return result
