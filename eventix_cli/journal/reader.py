"""Reading the journal: the entries as a summary each, and one entry's plan for ``undo``.

Only the last line of an entry can be torn (a crash while it was written): it is left out.
An unreadable line with more lines after it is damage (the file was cut or overwritten
later): the entry is read on past it, and marked damaged, so ``history`` shows it and
``undo`` refuses it unless told to restore what is readable. So is an entry whose header does
not read (its server unknown) and a directory in an entry's place. A file holding nothing but
the start of a header is the crash of a command before it sent anything: it is no entry.
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
    damage: str | None = None  # what is wrong with the file ("line 7 is unreadable")
    undone_by: int | None = None  # the newest undo entry that undid this one

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
    def header_read(self) -> bool:
        return self.header.get("kind") == "entry"

    @property
    def undoable(self) -> bool:
        return not self.overflowed and self.damage is None and any(c.recorded for c in self.to_undo())

    @property
    def undo_state(self) -> str:
        """Can it be undone, in a word or three: yes, no, damaged, undone by N."""
        if self.damage is not None:
            return "damaged"
        if self.undone_by is not None:
            return f"undone by {self.undone_by}"
        return "yes" if self.undoable else "no"

    @property
    def images(self) -> int:
        """How many before-images were read."""
        return sum(1 for change in self.changes.values() if change.image is not None)

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
            # None is every namespace; a header that does not read tells none
            "namespace": self.header.get("namespace") if self.header_read else "?",
            "command": self.header.get("command", []),
            "undoes": self.header.get("undoes"),
            "changed": ops,
            "images": self.images,
            "complete": self.complete,
            "undoable": self.undoable,
            "undone_by": self.undone_by,
            "damage": self.damage,
            "undo": self.undo_state,
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


def _record(raw: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _torn_header(entry_id: int, line: bytes) -> bool:
    """Is ``line`` the header of this entry cut short? It begins as the writer begins every
    header (see ``writer._encode``), as far as it goes."""
    start = f'{{"kind":"entry","id":{entry_id},'.encode()
    length = min(len(start), len(line))
    return line[:length] == start[:length]


def read_entry(path: Path) -> JournalEntry | None:
    """One entry (see the module docstring); ``None`` for a file that holds no more than the
    start of its header."""
    entry = JournalEntry(int(path.name.removesuffix(SUFFIX)), {})
    unreadable: list[int] = []  # lines that did not parse
    lines = 0
    first = b""
    try:
        with path.open("rb") as handle:
            for lines, raw in enumerate(handle, 1):
                record = _record(raw)
                if lines == 1:
                    first = raw
                if record is None:
                    unreadable.append(lines)
                elif lines == 1 and record.get("kind") == "entry":
                    entry.header = record
                else:
                    try:
                        _apply(entry, record)
                    except (KeyError, TypeError, ValueError):  # JSON, but not a line of ours
                        unreadable.append(lines)
            entry.size = path.stat().st_size
    except IsADirectoryError:
        entry.damage = "it is a directory, not a file"
        return entry
    except PermissionError as exc:
        entry.damage = f"it cannot be read: {exc.strerror}"
        return entry
    if lines == 0 or (lines == 1 and unreadable and _torn_header(entry.id, first)):
        return None  # created, its header not (whole): the command stopped before it sent anything
    damaged = [n for n in unreadable if n < lines]
    if not entry.header_read:
        entry.damage = "its header (line 1) is unreadable"
    elif damaged:
        entry.damage = f"line {damaged[0]} is unreadable"
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
    """Every entry of the journal, the damaged ones too, each with the undo that undid it."""
    ids = entry_ids(directory)
    undone = undone_by(directory, ids)
    for entry_id in reversed(ids) if newest_first else ids:
        try:
            entry = read_entry(directory / f"{entry_id}{SUFFIX}")
        except FileNotFoundError:  # pruned meanwhile
            continue
        if entry is not None:
            entry.undone_by = undone.get(entry.id)
            yield entry


def find_entry(directory: Path, entry_id: int) -> JournalEntry | None:
    path = directory / f"{entry_id}{SUFFIX}"
    try:
        found = read_entry(path)
    except FileNotFoundError:
        return None
    if found is not None:
        found.undone_by = undone_by(directory, entry_ids(directory)).get(entry_id)
    return found


def undone_by(directory: Path, ids: list[int]) -> dict[int, int]:
    """Which entry the newest undo of each undone entry is, from the headers of the undos."""
    undone: dict[int, int] = {}
    for entry_id in ids:  # oldest first: a newer undo of the same entry replaces an older one
        undoes = _header(directory / f"{entry_id}{SUFFIX}").get("undoes")
        if isinstance(undoes, int):
            undone[undoes] = entry_id
    return undone


def _header(path: Path) -> dict[str, Any]:
    """An entry's header, ``{}`` when it cannot be read (the entry itself says why)."""
    try:
        with path.open("rb") as handle:
            record = _record(handle.readline())
    except OSError:
        return {}
    return record if record is not None and record.get("kind") == "entry" else {}
