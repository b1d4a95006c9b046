"""Schedules files: TOML tables ``[schedules.NAME]`` and upstream's ``schedule`` entries.

```toml
[schedules.nightly_report]
cron = "0 3 * * *"          # or: every = "15m"
task = "rebuild_report"
kwargs = { scope = "all" }
namespace = "billing"       # default: the active namespace
priority = 0                # logical: higher runs first
timezone = "Europe/Berlin"  # default UTC; cron is read in it (DST handled)
catch_up = "latest"         # none | latest | all

[[schedule]]                # upstream's worker config entry, accepted unchanged
schedule = "*/5 * * * *"
task = "poll_inbox"
```

YAML and JSON files with the same structure are read too (``.yaml``/``.yml``/``.json``), so
the ``schedule`` list of an upstream worker config can be used as it is.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic_core import to_jsonable_python

from eventix_cli.core.errors import UnsendableValue, UsageError
from eventix_cli.core.fields import stored_priority
from eventix_cli.core.jsonrules import encode_json
from eventix_cli.core.times import parse_duration

CatchUp = Literal["none", "latest", "all"]
CATCH_UP_VALUES: tuple[str, ...] = ("none", "latest", "all")

#: cron's @-macros, which cronsim leaves to the caller
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

#: the other keys of an upstream worker config: ignored, so such a file can be used as it is
UPSTREAM_WORKER_KEYS = ("register_tasks", "namespace")
_FIELDS = {"cron", "every", "task", "args", "kwargs", "namespace", "priority", "timezone", "catch_up"}
_UPSTREAM_FIELDS = {
    "schedule",
    "task",
    "name",
    "args",
    "kwargs",
    "priority",
    "namespace",
    "timezone",
    "catch_up",
}


class ScheduleFileError(Exception):
    """A schedules file cannot be used; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0] if problems else "invalid schedules file")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Schedule:
    """One recurring task: when (``cron`` in ``timezone``, or ``every`` seconds), and what."""

    name: str
    task: str
    cron: str | None = None
    every: int | None = None  # seconds, slots aligned to the Unix epoch
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    namespace: str | None = None  # None: the active namespace
    priority: int = 0  # logical
    timezone: str = "UTC"
    catch_up: CatchUp = "latest"

    @property
    def tz(self) -> ZoneInfo | dt.timezone:
        return dt.UTC if self.timezone == "UTC" else ZoneInfo(self.timezone)

    @property
    def when(self) -> str:
        if self.cron is not None:
            return self.cron if self.timezone == "UTC" else f"{self.cron} ({self.timezone})"
        return f"every {_format_seconds(self.every or 0)}"

    def unique_key(self, slot: dt.datetime) -> str:
        """``schedule:<name>:<slot, ISO UTC>``: the same for every scheduler of this file."""
        return f"{self.key_prefix}{slot_text(slot)}"

    @property
    def key_prefix(self) -> str:
        return f"schedule:{self.name}:"


def slot_text(slot: dt.datetime) -> str:
    return slot.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _format_seconds(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        import yaml  # only for YAML files: ~16 ms of import a TOML or JSON file does without

        return yaml.safe_load(text)
    if suffix == ".json":
        return json.loads(text)
    return tomllib.loads(text)


class _Problem(Exception):
    """What is wrong with one field of a schedule: :func:`parse_entry` returns its text."""


def parse_entry(name: str, data: Any, *, upstream: bool) -> Schedule | str:
    """One schedule, or the problem with it (the first one found, field by field)."""
    try:
        _check_table(name, data, upstream)
        task = _task(data)
        cron, every = _when(data, upstream)
        args = _args(data)
        kwargs = _kwargs(data)
        namespace = _namespace(data)
        priority = _priority(data)
        timezone = _timezone(data)
        catch_up = _catch_up(data)
        _check_sendable(args, kwargs, priority)
    except _Problem as problem:
        return str(problem)
    return Schedule(
        name=name,
        task=task,
        cron=cron,
        every=every,
        args=tuple(args),
        kwargs=dict(kwargs),
        namespace=namespace,
        priority=priority,
        timezone=timezone,
        catch_up=catch_up,
    )


def _check_table(name: str, data: Any, upstream: bool) -> None:
    if not isinstance(data, dict):
        raise _Problem(f"expected a table of fields, got {type(data).__name__}")
    if ":" in name or not name.strip():
        raise _Problem("a name must be non-empty and hold no ':' (it is part of the unique key)")
    known = _UPSTREAM_FIELDS if upstream else _FIELDS
    unknown = sorted(set(data) - known)
    if unknown:
        raise _Problem(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")


def _task(data: dict[str, Any]) -> str:
    task = data.get("task")
    if not isinstance(task, str) or not task:
        raise _Problem("task: missing (the name of the registered task function)")
    return task


def _when(data: dict[str, Any], upstream: bool) -> tuple[str | None, int | None]:
    """``(cron, every)``: exactly one given; upstream's entries know only ``schedule`` (cron)."""
    cron_value = data.get("schedule") if upstream else data.get("cron")
    every_value = None if upstream else data.get("every")
    if (cron_value is None) == (every_value is None):
        raise _Problem(
            "schedule: missing (a cron string)" if upstream else "give exactly one of cron or every"
        )
    if cron_value is not None:
        if not isinstance(cron_value, str):
            raise _Problem(f"cron must be a string, got {cron_value!r}")
        return _cron(cron_value, upstream), None
    return None, _every(every_value)


def _cron(expr: str, upstream: bool) -> str:
    """The expression normalised: single spaces, macros expanded, five fields."""
    expr = " ".join(expr.split())
    expr = MACROS.get(expr.lower(), expr)
    parts = expr.split()
    if upstream and len(parts) == 6:
        # upstream reads cron with croniter, whose optional sixth field is the seconds
        parts = [parts[5], *parts[:5]]
    elif len(parts) != 5:
        hint = "5 fields: minute hour day-of-month month day-of-week"
        raise _Problem(f"cron {expr!r}: {len(parts)} field(s), expected {hint}")
    normal = " ".join(parts)
    try:
        CronSim(normal, dt.datetime(2000, 1, 1))
    except CronSimError as exc:
        raise _Problem(f"cron {expr!r}: {exc}") from None
    return normal


def _every(value: Any) -> int:
    """Whole seconds, at least one."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Problem(f"every must be a duration like '15m', got {value!r}")
    try:
        seconds = parse_duration(str(value), "every").total_seconds()
    except UsageError as exc:
        raise _Problem(exc.message) from None
    if seconds < 1 or seconds != int(seconds):
        raise _Problem(f"every {value!r}: use whole seconds, at least 1s")
    return int(seconds)


def _args(data: dict[str, Any]) -> list[Any]:
    args = data.get("args", [])
    if args is None:
        return []
    if not isinstance(args, list | tuple):
        raise _Problem(f"args must be a list, got {type(args).__name__}")
    return list(args)


def _kwargs(data: dict[str, Any]) -> dict[str, Any]:
    kwargs = data.get("kwargs", {})
    if kwargs is None:
        return {}
    if not isinstance(kwargs, dict):
        raise _Problem(f"kwargs must be a table, got {type(kwargs).__name__}")
    return dict(kwargs)


def _namespace(data: dict[str, Any]) -> str | None:
    namespace = data.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or not namespace):
        raise _Problem(f"namespace must be a non-empty string, got {namespace!r}")
    return namespace


def _priority(data: dict[str, Any]) -> int:
    priority = data.get("priority", 0)
    if priority is None:
        return 0
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise _Problem(f"priority must be an integer, got {priority!r}")
    return priority


def _timezone(data: dict[str, Any]) -> str:
    timezone = data.get("timezone", "UTC")
    if not isinstance(timezone, str) or not timezone:
        raise _Problem(f"timezone must be a name like 'Europe/Berlin', got {timezone!r}")
    if timezone != "UTC":
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise _Problem(
                f"timezone {timezone!r}: unknown (use an IANA name like 'Europe/Berlin')"
            ) from None
    return timezone


def _catch_up(data: dict[str, Any]) -> CatchUp:
    catch_up = data.get("catch_up", "latest")
    if catch_up not in CATCH_UP_VALUES:
        raise _Problem(f"catch_up {catch_up!r}: use one of {', '.join(CATCH_UP_VALUES)}")
    return catch_up


def _check_sendable(args: list[Any], kwargs: dict[str, Any], priority: int) -> None:
    """The task's values must be postable (no NaN, no integers beyond 64 bits, ...): checked at
    load, since found when a slot comes it would stop the scheduler and every other schedule."""
    try:
        # TOML and YAML dates and times become ISO text, as when the task is posted
        encode_json(
            to_jsonable_python({"args": args, "kwargs": kwargs, "priority": stored_priority(priority)})
        )
    except UnsendableValue as exc:
        raise _Problem(str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise _Problem(f"args/kwargs cannot be sent as JSON: {exc}") from None


def load_schedules(path: str | Path) -> list[Schedule]:
    """Every schedule of the file; raises :class:`ScheduleFileError` listing every problem."""
    path = Path(path).expanduser()
    label = path.name
    data = _read_file(path)
    problems: list[str] = []
    schedules: list[Schedule] = []
    seen: set[str] = set()
    for name, value, upstream in _entries(data, label, problems):
        if upstream and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "name"}
        if name in seen:
            problems.append(f"{label}: schedule {name}: defined twice (names make the unique keys)")
            continue
        seen.add(name)
        result = parse_entry(name, value, upstream=upstream)
        if isinstance(result, str):
            problems.append(f"{label}: schedule {name}: {result}")
        else:
            schedules.append(result)
    if not problems and not schedules:
        problems.append(f"{label}: defines no schedules")
    if problems:
        raise ScheduleFileError(problems)
    return schedules


def _read_file(path: Path) -> dict[str, Any]:
    """The file's top-level table; :class:`ScheduleFileError` when it cannot be read as one."""
    label = path.name
    try:
        data = _read(path)
    except FileNotFoundError:
        raise ScheduleFileError([f"{path}: no such file"]) from None
    except OSError as exc:
        raise ScheduleFileError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ScheduleFileError([f"{label}: not UTF-8 text: {exc.reason}"]) from None
    except Exception as exc:  # noqa: BLE001 - tomllib, yaml and json each raise their own error types
        raise ScheduleFileError([f"{label}: cannot parse: {' '.join(str(exc).split())}"]) from None
    if not isinstance(data, dict):
        raise ScheduleFileError([f"{label}: expected [schedules.NAME] tables or [[schedule]] entries"])
    return data


def _entries(data: dict[str, Any], label: str, problems: list[str]) -> list[tuple[str, Any, bool]]:
    """``(name, fields, upstream)`` of every entry: the named tables, then upstream's list
    (named by ``name`` or ``task``, else by position). Problems of the file's shape go to
    ``problems``."""
    unknown = sorted(set(data) - {"schedules", "schedule", *UPSTREAM_WORKER_KEYS})
    if unknown:
        problems.append(f"{label}: unknown top-level key(s) {', '.join(unknown)} (use schedules or schedule)")
    entries: list[tuple[str, Any, bool]] = []
    tables = data.get("schedules") or {}
    if not isinstance(tables, dict):
        problems.append(f"{label}: 'schedules' must be a table of named schedules")
        tables = {}
    entries += [(str(name), value, False) for name, value in tables.items()]
    listed = data.get("schedule") or []
    if not isinstance(listed, list):
        problems.append(f"{label}: 'schedule' must be a list of entries (upstream's format)")
        listed = []
    for index, entry in enumerate(listed):
        name = entry.get("name") or entry.get("task") if isinstance(entry, dict) else None
        entries.append((str(name) if name else f"#{index + 1}", entry, True))
    return entries
