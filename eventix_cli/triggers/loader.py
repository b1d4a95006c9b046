"""Load trigger files: every ``*.yaml`` in a directory, upstream's format.

A file holds ``triggers: {NAME: {event_name, namespace, trigger_type, code}}``. Loading
checks what upstream's loader checks (the YAML, the fields) and more: that the code compiles
and defines ``execute``, and that no two files define the same trigger for one event (upstream
would keep whichever file the directory listing returned last). Every problem names its file
and trigger; nothing runs trigger code at load time.
"""

from __future__ import annotations

import ast
import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import Any

import yaml
from pydantic import ValidationError

from eventix_cli.triggers.sandbox import TEventixEventTrigger

log = logging.getLogger(__name__)

#: the environment variable upstream's server reads its trigger directory from
ENV_TRIGGER_DIR = "EVENTIX_TRIGGER_CONFIG_DIRECTORY"
CALL_SUFFIX = "\n\ntask = execute(self, event)"
KNOWN_FIELDS = frozenset(TEventixEventTrigger.model_fields)


@dataclass(frozen=True, slots=True)
class TriggerProblem:
    """Something wrong with one file or one trigger in it."""

    file: str
    trigger: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: trigger {self.trigger}" if self.trigger else self.file
        return f"{where}: {self.message}"


@dataclass(slots=True)
class Trigger:
    """A loaded trigger: upstream's model (``self`` in its code), where it came from, its code compiled."""

    model: TEventixEventTrigger
    file: str
    compiled: CodeType

    @property
    def name(self) -> str:
        return str(self.model.name)

    @property
    def event_name(self) -> str:
        return self.model.event_name


@dataclass(slots=True)
class TriggerSet:
    """Triggers by event name, in load order (files sorted by name, triggers in file order)."""

    by_event: dict[str, list[Trigger]] = field(default_factory=dict)
    problems: list[TriggerProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def for_event(self, name: str) -> list[Trigger]:
        return self.by_event.get(name, [])

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_event.values())

    def add(self, trigger: Trigger) -> None:
        same = self.by_event.setdefault(trigger.event_name, [])
        for other in same:
            if other.name == trigger.name:
                self.problems.append(
                    TriggerProblem(
                        trigger.file,
                        trigger.name,
                        f"also defined for event {trigger.event_name} in {other.file}",
                    )
                )
                return
        same.append(trigger)


def _field_errors(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in error["loc"]) or "trigger"
        parts.append(f"{loc}: {error['msg']}")
    return "; ".join(parts)


def _code_problem(code: Any) -> str | None:
    if not isinstance(code, str) or not code.strip():
        return "code: missing (a Python block that defines execute(self, event))"
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return f"code does not compile: {exc.msg} (line {exc.lineno})"
    defines = any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "execute"
        for node in tree.body
    )
    if not defines:
        return "code does not define execute(self, event) at its top level"
    return None


def load_trigger(name: Any, data: Any, file: str) -> Trigger | TriggerProblem:
    """One trigger from its YAML mapping, or the problem with it."""
    label = str(name)
    if not isinstance(data, dict):
        return TriggerProblem(file, label, f"expected a mapping of fields, got {type(data).__name__}")
    try:
        model = TEventixEventTrigger.model_validate({**data, "name": label})
    except ValidationError as exc:
        return TriggerProblem(file, label, _field_errors(exc))
    problem = _code_problem(model.code)
    if problem is not None:
        return TriggerProblem(file, label, problem)
    assert model.code is not None
    compiled = compile(model.code + CALL_SUFFIX, f"<trigger {label} in {file}>", "exec")
    return Trigger(model=model, file=file, compiled=compiled)


def load_file(path: Path, into: TriggerSet) -> None:
    """Add the triggers of one YAML file to ``into`` (problems included)."""
    file = path.name
    into.files.append(file)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        into.problems.append(TriggerProblem(file, None, f"cannot read: {exc.strerror or exc}"))
        return
    except UnicodeDecodeError as exc:
        into.problems.append(TriggerProblem(file, None, f"not UTF-8 text: {exc.reason}"))
        return
    except yaml.YAMLError as exc:
        into.problems.append(TriggerProblem(file, None, f"not valid YAML: {' '.join(str(exc).split())}"))
        return
    except RecursionError:
        into.problems.append(TriggerProblem(file, None, "nested too deeply to read"))
        return
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        into.problems.append(TriggerProblem(file, None, f"expected a mapping with 'triggers:', got {kind}"))
        return
    triggers = data.get("triggers", {})
    if triggers is None:
        triggers = {}
    if not isinstance(triggers, dict):
        into.problems.append(
            TriggerProblem(
                file, None, f"'triggers' must map names to triggers, got {type(triggers).__name__}"
            )
        )
        return
    if not triggers:
        into.notes.append(f"{file}: defines no triggers")
    for name, trigger_data in triggers.items():
        result = load_trigger(name, trigger_data, file)
        if isinstance(result, TriggerProblem):
            into.problems.append(result)
            continue
        into.add(result)
        unknown = sorted(str(k) for k in trigger_data if k not in KNOWN_FIELDS)
        if unknown:
            into.notes.append(
                f"{file}: trigger {name}: unknown field(s) {', '.join(unknown)} ignored, as upstream"
            )


def load_directory(directory: str | Path) -> TriggerSet:
    """Every ``*.yaml`` file in ``directory`` (as upstream: other names are not read)."""
    path = Path(directory).expanduser()
    result = TriggerSet()
    if not path.is_dir():
        result.problems.append(TriggerProblem(str(directory), None, "not a directory"))
        return result
    for entry in sorted(path.iterdir()):
        if entry.suffix == ".yml" and entry.is_file():
            result.notes.append(f"{entry.name}: not loaded (only *.yaml files are, as upstream)")
        if entry.suffix != ".yaml" or not entry.is_file():
            continue
        load_file(entry, result)
    for triggers in result.by_event.values():
        for trigger in triggers:
            log.info(
                "registered %s/%s -> %s (%s)",
                trigger.model.namespace,
                trigger.event_name,
                trigger.name,
                trigger.file,
            )
    return result
