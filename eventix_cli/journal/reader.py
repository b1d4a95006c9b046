"""Reading the journal: the entries as a summary each, and one entry's plan for ``undo``.

A line that does not parse ends the reading of its entry: only the last line can be torn (a
crash while it was written), and everything before it was written whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventix_cli.journal.writer import SUFFIX, entry_ids


@dataclass
class Change:
    """What undo knows of one task: the last ``op`` done to it, the revision it was left at,
    and its before-image (``None`` for an added task)."""

    uid: str
    op: str
    revision: str | None = None
    image: dict[str, Any] | None = None
    confirmed: bool = False  # an ``after`` line says the change was made

    @property
    def recorded(self) -> bool:
        """Does undo have what it needs? An added task needs nothing; a deleted or changed one
        its before-image (a post that updated the task with its unique key records none)."""
        return self.op == "add" or self.image is not None


@dataclass
class JournalEntry:
    id: int
    header: dict[str, Any]
    changes: dict[str, Change] = field(default_factory=dict)
    counts: dict[str, Any] | None = None  # from the end line; None when the command did not finish
    overflowed: bool = False
    size: int = 0

    @property
    def action(self) -> str:
        return str(self.header.get("action", "?"))

    @property
    def url(self) -> str | None:
        return self.header.get("url")

    @property
    def complete(self) -> bool:
        return self.counts is not None

    @property
    def undoable(self) -> bool:
        return not self.overflowed and any(change.recorded for change in self.to_undo())

    def to_undo(self) -> list[Change]:
        """What undo acts on: the changes the command made; of a command that did not finish
        (killed), also those it was about to make, as it may have made them."""
        return [c for c in self.changes.values() if c.confirmed or not self.complete]

    def summary(self) -> dict[str, Any]:
        """The entry as ``eventix history`` lists it."""
        ops: dict[str, int] = {}
        for change in self.changes.values():
            if change.confirmed:
                ops[change.op] = ops.get(change.op, 0) + 1
        return {
            "id": self.id,
            "time": self.header.get("time"),
            "action": self.action,
            "url": self.url,
            "namespace": self.header.get("namespace"),
            "command": self.header.get("command", []),
            "undoes": self.header.get("undoes"),
            "changed": ops,
            "images": sum(1 for change in self.changes.values() if change.image is not None),
            "complete": self.complete,
            "undoable": self.undoable,
            "bytes": self.size,
        }

    def to_json(self) -> dict[str, Any]:
        """The entry in full, as ``eventix history show`` prints it."""
        return {
            **self.summary(),
            "counts": self.counts,
            "tasks": [
                {
                    "uid": c.uid,
                    "op": c.op,
                    "revision": c.revision,
                    "confirmed": c.confirmed,
                    "before": c.image,
                }
                for c in self.changes.values()
            ],
        }


def read_entry(path: Path) -> JournalEntry | None:
    """One entry, ``None`` when its header was never written whole."""
    entry: JournalEntry | None = None
    with path.open("rb") as handle:
        for raw in handle:
            try:
                record = json.loads(raw)
            except ValueError:
                break  # a torn last line
            if not isinstance(record, dict):
                break
            if entry is None:
                if record.get("kind") != "entry":
                    return None
                entry = JournalEntry(int(record["id"]), record)
            else:
                _apply(entry, record)
    if entry is not None:
        entry.size = path.stat().st_size
    return entry


def _apply(entry: JournalEntry, record: dict[str, Any]) -> None:
    kind = record.get("kind")
    if kind == "before":
        # the image taken last before a change is the one that change was made from
        for document in record.get("tasks", []):
            entry.changes[document["uid"]] = Change(document["uid"], record["op"], image=document)
    elif kind == "after":
        change = entry.changes.get(record["uid"])
        if change is None or change.op != record["op"]:
            change = entry.changes[record["uid"]] = Change(record["uid"], record["op"])
        change.revision = record.get("revision")
        change.confirmed = True
    elif kind == "overflow":
        entry.overflowed = True
    elif kind == "end":
        entry.counts = record


def entries(directory: Path, newest_first: bool = True) -> Iterator[JournalEntry]:
    """Every readable entry of the journal."""
    ids = entry_ids(directory)
    for entry_id in reversed(ids) if newest_first else ids:
        try:
            entry = read_entry(directory / f"{entry_id}{SUFFIX}")
        except FileNotFoundError:  # pruned meanwhile
            continue
        if entry is not None:
            yield entry


def find_entry(directory: Path, entry_id: int) -> JournalEntry | None:
    path = directory / f"{entry_id}{SUFFIX}"
    return read_entry(path) if path.exists() else None
