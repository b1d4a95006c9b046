"""Changes to a failed task as it is retried (``task retry --set`` and ``--edit``).

An edit names a field (``args``, ``kwargs``, ``kwargs.KEY``, ``priority``, ``eta``) and the value
it takes; values are read as ``task add`` reads them (:mod:`eventix_cli.core.jsonrules`, the
logical priority of :func:`~eventix_cli.core.fields.stored_priority`, the ETAs of
:func:`~eventix_cli.core.times.parse_eta`). :func:`rescheduled` is the document the retry writes:
the edits applied, and the fields upstream's reschedule resets (status, eta, worker id).
Pure functions over JSON documents: nothing here sends anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eventix_cli.core.errors import UsageError
from eventix_cli.core.fields import stored_priority
from eventix_cli.core.jsonrules import MAX_JSON_DEPTH, fits_int64, loads, parse_value, unstorable_reason
from eventix_cli.core.times import format_wire_time, parse_eta

#: What ``--set`` may change, as users write it.
SETTABLE = ("args=JSON", "kwargs=JSON", "kwargs.KEY=VALUE", "priority=N", "eta=TIME")


@dataclass(frozen=True, slots=True)
class FieldEdit:
    """One change: ``field`` (``args``, ``kwargs``, ``priority``, ``eta``), the ``key`` of one
    keyword argument (``kwargs.KEY``), and the ``value`` as the document stores it."""

    field: str
    value: Any
    key: str | None = None

    @property
    def path(self) -> str:
        return self.field if self.key is None else f"{self.field}.{self.key}"


def parse_edit(spec: str, now: dt.datetime | None = None) -> FieldEdit:
    """``FIELD=VALUE`` as ``--set`` takes it; a usage error names what is wrong, a value no
    server can store included."""
    edit = _parse_edit(spec, now)
    # the task is the request body (level 1), a field is level 2, a keyword's value level 3
    reason = unstorable_reason(edit.value, MAX_JSON_DEPTH - (1 if edit.key is None else 2))
    if reason is not None:
        raise UsageError(f"--set {edit.path}: {reason}")
    return edit


def _parse_edit(spec: str, now: dt.datetime | None) -> FieldEdit:
    path, sep, text = spec.partition("=")
    path = path.strip()
    if not sep or not path:
        raise UsageError(f"--set {spec!r}: expected FIELD=VALUE, FIELD one of {', '.join(SETTABLE)}")
    field, dot, key = path.partition(".")
    what = f"--set {path}"
    if dot:
        if field != "kwargs":
            raise UsageError(f"{what}: only kwargs takes a key (kwargs.KEY=VALUE); {field} is set whole")
        if not key or "." in key:
            raise UsageError(
                f"{what}: give one keyword name (kwargs.KEY=VALUE); "
                "set a nested value with kwargs.KEY=JSON of the whole value"
            )
        return FieldEdit("kwargs", parse_value(text), key)
    if field == "args":
        return FieldEdit("args", _json_of(text, what, list, "a JSON array"))
    if field == "kwargs":
        return FieldEdit("kwargs", _json_of(text, what, dict, "a JSON object"))
    if field == "priority":
        try:
            logical = int(text.strip())
        except ValueError:
            raise UsageError(f"{what}: {text!r} is not an integer") from None
        if not fits_int64(logical) or not fits_int64(stored_priority(logical)):
            raise UsageError(f"{what}: {text} is out of range (64-bit integers)")
        return FieldEdit("priority", stored_priority(logical))
    if field == "eta":
        return FieldEdit("eta", format_wire_time(parse_eta(text, now)))
    raise UsageError(f"--set {path}: unknown field; use one of {', '.join(SETTABLE)}")


def parse_edits(specs: Iterable[str], now: dt.datetime | None = None) -> tuple[FieldEdit, ...]:
    """Every ``--set``, checked before anything is sent; a field set twice is refused, as is a
    key of ``kwargs`` next to ``kwargs`` set whole (which would win is not obvious)."""
    edits = tuple(parse_edit(spec, now) for spec in specs)
    paths = [edit.path for edit in edits]
    for path in paths:
        if paths.count(path) > 1:
            raise UsageError(f"--set {path} is given twice")
    if "kwargs" in paths and any(edit.key is not None for edit in edits):
        raise UsageError("--set kwargs=JSON replaces every keyword argument: give it or kwargs.KEY, not both")
    return edits


def edits_from_arguments(document: Any, source: str) -> tuple[FieldEdit, ...]:
    """The edits an edited ``{"args": [...], "kwargs": {...}}`` document asks for (``--edit``)."""
    if not isinstance(document, dict) or set(document) != {"args", "kwargs"}:
        raise UsageError(f"{source}: expected an object with exactly the keys args and kwargs")
    if not isinstance(document["args"], list):
        raise UsageError(f"{source}: args must be a JSON array")
    if not isinstance(document["kwargs"], dict):
        raise UsageError(f"{source}: kwargs must be a JSON object")
    return FieldEdit("args", document["args"]), FieldEdit("kwargs", document["kwargs"])


def apply_edits(document: dict[str, Any], edits: Sequence[FieldEdit]) -> dict[str, Any]:
    """A new document with ``edits`` applied (``document`` itself is left as it is)."""
    out = dict(document)
    for edit in edits:
        if edit.key is None:
            out[edit.field] = edit.value
        else:
            out["kwargs"] = {**(out.get("kwargs") or {}), edit.key: edit.value}
    return out


def rescheduled(document: dict[str, Any], eta: dt.datetime, *, release_claim: bool = False) -> dict[str, Any]:
    """The document as a reschedule leaves it: ``scheduled`` at ``eta`` with no worker, the
    three fields upstream's ``task_reschedule`` sets (edits applied after it win, ``eta`` too).
    ``release_claim`` also clears the lease of a task taken from a worker (``--force``)."""
    out = dict(document)
    out["status"] = "scheduled"
    out["eta"] = format_wire_time(eta)
    out["worker_id"] = None
    if release_claim:
        out["worker_expires"] = None
    return out


def changed_fields(before: dict[str, Any], after: dict[str, Any], edits: Sequence[FieldEdit]) -> list[dict]:
    """What ``edits`` change, field by field, for a dry run: priorities shown logical."""
    rows = []
    for edit in edits:
        if edit.key is None:
            old, new = before.get(edit.field), after.get(edit.field)
        else:
            old = (before.get("kwargs") or {}).get(edit.key, _ABSENT)
            new = after["kwargs"][edit.key]
        if edit.field == "priority":
            old, new = -old, -new
        if old != new:
            rows.append({"field": edit.path, "before": None if old is _ABSENT else old, "after": new})
    return rows


_ABSENT = object()


def _json_of(text: str, what: str, kind: type, described: str) -> Any:
    try:
        value = loads(text, what)
    except ValueError as exc:
        raise UsageError(f"{what}: invalid JSON: {exc}") from None
    if not isinstance(value, kind):
        raise UsageError(f"{what}: expected {described}, got {type(value).__name__}")
    return value
