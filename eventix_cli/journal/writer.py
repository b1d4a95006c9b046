"""Appending one journal entry, durable before the change it records is sent.

The format: one file per entry, ``<id>.jsonl`` (ids count up), of JSON lines, the first of
which is the header. Why this shape:

- append-only: a command only ever appends to its own file, so two commands never share a
  file, and a crash mid-write leaves at most a torn last line, which a reader ignores;
- bounded cheaply: the journal keeps the newest entries within its size limit by deleting
  whole files, oldest first (one JSON lines file for everything would have to be rewritten);
- one format: header, before-images and results are all lines of the same file.

Lines (``kind``): ``entry`` (the header: id, time, server, namespace, command line, action),
``before`` (an ``op`` and the documents of the tasks about to be changed or deleted),
``after`` (per task: the ``op`` done and the revision it left), ``overflow`` (the images went
over the size limit: the entry is kept for its counts but cannot be undone) and ``end``
(counts). A ``before`` line is fsynced before the request it covers goes out (the first
time, with the directory, so the file's name is durable too); many threads asking at once
share one fsync (group commit), so a bulk command of 5,000 tasks does not fsync 5,000 times.
The other lines are written as they come (a full disk or a read-only directory fails the
header, before anything is sent) and reach the disk with the next fsync or the system's own
write-back: a killed command keeps them all; only a machine that dies within seconds may lose
the last ``after`` lines, which undo does without for deletes and changes it finds unconfirmed
(it re-creates a deleted task only where none exists). A command that records no before-image
(``task add``) pays no fsync.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from eventix_cli.core.durable import sync_path
from eventix_cli.core.errors import JournalUnwritable
from eventix_cli.core.times import format_wire_time, utcnow

#: what an ``op`` may be: a task deleted (undo re-creates it), changed (undo writes the
#: before-image back over the revision the command left) or added (undo deletes it if unchanged)
OPS = ("delete", "change", "add")
#: how many chunks of before-images :func:`chunks_recorded` records ahead of the requests
CHUNKS_AHEAD = 2
SUFFIX = ".jsonl"


def _encode(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode()


def _unwritable(directory: Path, exc: OSError) -> JournalUnwritable:
    return JournalUnwritable(
        f"cannot write the journal in {directory}: {exc.strerror or exc}; nothing was changed",
        hint="free space or fix the directory (EVENTIX_STATE_DIR sets it), or pass --no-journal "
        "to change tasks without a way back",
    )


class Entry:
    """One command's journal entry, open for appending. Thread-safe."""

    def __init__(self, directory: Path, entry_id: int, fd: int, limit: int) -> None:
        self.directory = directory
        self.id = entry_id
        self._fd = fd
        self.limit = limit
        self._size = 0
        self._lock = threading.Lock()  # guards the pending lines and the counters
        self._flush_lock = threading.Lock()  # one writer of the file at a time
        self._pending: list[bytes] = []
        self._queued = 0  # lines handed over so far
        self._written = 0  # lines written so far
        self._durable = 0  # lines written and fsynced so far
        self._synced_directory = False
        self._error: JournalUnwritable | None = None
        self.overflowed = False
        self.counts = {op: 0 for op in OPS}
        self._recorded = 0  # before and after lines: an entry that recorded none is removed

    @property
    def enabled(self) -> bool:
        return True

    @property
    def path(self) -> Path:
        return self.directory / f"{self.id}{SUFFIX}"

    def write_header(self, header: Mapping[str, Any]) -> None:
        """The first line, written (not fsynced) before this returns."""
        with self._lock:
            seq = self._queue(_encode(header))
        self._flush(seq, sync=False)

    def before(self, op: str, documents: Sequence[Mapping[str, Any]]) -> None:
        """Record the before-images of tasks about to be changed (``op``) and return once they
        are on disk. Over the size limit the images are dropped (the entry says it cannot be
        undone) and the change goes ahead. Raises :class:`JournalUnwritable`."""
        record = _encode({"kind": "before", "op": op, "tasks": list(documents)})
        with self._lock:
            if self._size + len(record) > self.limit:
                if self.overflowed:
                    return
                self.overflowed = True
                record = _encode({"kind": "overflow", "limit": self.limit})
            seq = self._queue(record)
            self._recorded += 1
        self._flush(seq)

    def after(self, uid: str, op: str, revision: str | None = None) -> None:
        """Record that task ``uid`` was changed (``op``), and the revision it was left at;
        written with the next flush."""
        with self._lock:
            self.counts[op] += 1
            self._recorded += 1
            self._queue(_encode({"kind": "after", "uid": uid, "op": op, "revision": revision}))

    def close(self, **counts: int) -> None:
        """Write the end of the entry (its counts) and close the file; an entry that recorded
        nothing (a command that changed nothing) is removed."""
        if not self._recorded:
            with contextlib.suppress(OSError):
                os.close(self._fd)
                self.path.unlink()
            return
        with self._lock:
            seq = self._queue(_encode({"kind": "end", "changed": self.counts, **counts}))
        try:
            self._flush(seq, sync=False)
        finally:
            with contextlib.suppress(OSError):
                os.close(self._fd)

    def _queue(self, record: bytes) -> int:
        self._pending.append(record)
        self._size += len(record)
        self._queued += 1
        return self._queued

    def _flush(self, seq: int, *, sync: bool = True) -> None:
        """Write every line up to ``seq`` (and fsync it, with ``sync``): the first caller writes
        all that is pending; callers waiting meanwhile usually find their lines already done."""
        with self._flush_lock:
            if self._error is not None:
                raise self._error
            if (self._durable if sync else self._written) >= seq:
                return
            with self._lock:
                lines, self._pending = self._pending, []
                upto = self._queued
            try:
                if lines:
                    write_all(self._fd, b"".join(lines))
                self._written = upto
                if sync:
                    os.fsync(self._fd)
                    if not self._synced_directory:
                        sync_path(self.directory, directory=True)  # the new file's name is durable too
                        self._synced_directory = True
                    self._durable = upto
            except OSError as exc:
                self._error = _unwritable(self.directory, exc)
                raise self._error from None


class NoEntry:
    """What a command records into with ``--no-journal``: nothing."""

    enabled = False
    id = None
    overflowed = False
    limit = 0

    def before(self, op: str, documents: Sequence[Mapping[str, Any]]) -> None:
        return None

    def after(self, uid: str, op: str, revision: str | None = None) -> None:
        return None

    def close(self, **counts: int) -> None:
        return None


NO_ENTRY = NoEntry()


def record_posted(entry: Entry | NoEntry, sent_uid: str, uid: str, revision: str | None) -> None:
    """Record a posted task: added under the uid sent, or, when the server answered with
    another task (a pending task with the same unique key was updated instead), changed, with
    no before-image (undo skips it and says why)."""
    entry.after(uid, "add" if uid == sent_uid else "change", revision)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (``os.write`` may write fewer); the file-write boundary of the journal."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def open_entry(
    directory: Path,
    *,
    action: str,
    url: str,
    namespace: str | None,
    command: Sequence[str],
    limit: int,
    **extra: Any,
) -> Entry:
    """Create the next entry, its header written before this returns, and drop the oldest
    entries beyond ``limit`` bytes. Raises :class:`JournalUnwritable`."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, entry_id = _create_next(directory)
    except OSError as exc:
        raise _unwritable(directory, exc) from None
    entry = Entry(directory, entry_id, fd, limit)
    header = {
        "kind": "entry",
        "id": entry_id,
        "time": format_wire_time(utcnow()),
        "action": action,
        "url": url,
        "namespace": namespace,
        "command": list(command),
        **extra,
    }
    try:
        entry.write_header(header)
    except (OSError, JournalUnwritable) as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            entry.path.unlink()
        raise exc if isinstance(exc, JournalUnwritable) else _unwritable(directory, exc) from None
    prune(directory, limit, keep=entry_id)
    return entry


def entry_ids(directory: Path) -> list[int]:
    """The ids of the entries in the journal, oldest first."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(int(n[: -len(SUFFIX)]) for n in names if n.endswith(SUFFIX) and n[: -len(SUFFIX)].isdigit())


def _create_next(directory: Path) -> tuple[int, int]:
    """Open a new entry file under the next free id (another command may take it first)."""
    ids = entry_ids(directory)
    entry_id = (ids[-1] if ids else 0) + 1
    for _ in range(1000):
        try:
            path = directory / f"{entry_id}{SUFFIX}"
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600), entry_id
        except FileExistsError:
            entry_id += 1
    raise FileExistsError(f"no free journal id after {entry_id}")


def prune(directory: Path, limit: int, *, keep: int) -> None:
    """Delete the oldest entries until the journal fits in ``limit`` bytes (``keep`` stays)."""
    sizes: list[tuple[int, int]] = []
    for entry_id in entry_ids(directory):
        with contextlib.suppress(FileNotFoundError):
            sizes.append((entry_id, (directory / f"{entry_id}{SUFFIX}").stat().st_size))
    total = sum(size for _, size in sizes)
    for entry_id, size in sizes:
        if total <= limit:
            return
        if entry_id != keep:
            try:
                (directory / f"{entry_id}{SUFFIX}").unlink()
            except FileNotFoundError:
                pass
            except OSError:  # not a file (a directory in an entry's place): history shows it
                continue
            total -= size


def chunks_recorded[T: Mapping[str, Any]](
    entry: Entry | NoEntry, op: str, documents: Iterable[T], size: int = 500
) -> Iterator[T]:
    """``documents`` again, each chunk of ``size`` recorded as before-images (one fsync per
    chunk) before any of it is handed on: for a bulk command whose items are the documents.

    A thread reads and records ahead (at most :data:`CHUNKS_AHEAD` chunks), so the requests of
    one chunk go out while the next is written and fsynced, rather than all waiting for it. An
    error of the source or the journal is raised here, where the next document was asked for.
    """
    if not entry.enabled:
        yield from documents
        return
    ready: queue.Queue[list[T] | BaseException | None] = queue.Queue(maxsize=CHUNKS_AHEAD)
    stop = threading.Event()

    def hand_on(item: list[T] | BaseException | None) -> bool:
        while not stop.is_set():  # bounded: the consumer takes items or sets ``stop``
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read_ahead() -> None:
        try:
            for chunk in itertools.batched(documents, size, strict=False):
                entry.before(op, chunk)
                if not hand_on(list(chunk)):
                    return
        except BaseException as exc:  # noqa: BLE001 - raised again in the consumer's thread
            hand_on(exc)
        else:
            hand_on(None)

    reader = threading.Thread(target=read_ahead, name=f"journal-{op}", daemon=True)
    reader.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        reader.join()
