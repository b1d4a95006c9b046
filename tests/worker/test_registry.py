"""Task registration: upstream task objects are recognised without importing upstream eagerly."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from eventix_cli.worker import registry as registry_module
from eventix_cli.worker.registry import RegistrationError, TaskRegistry


@pytest.fixture
def upstream_not_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a fresh worker process whose task modules never imported upstream's package."""
    monkeypatch.delitem(sys.modules, registry_module.UPSTREAM_CORE, raising=False)


def test_upstream_tasks_are_recognised_once_their_module_loads_upstream() -> None:
    registry = TaskRegistry()
    registry.register_all(["tests.support.sample_tasks", "tests.support.plain_tasks:plain_noop"])
    assert registry.get("add").upstream
    assert not registry.get("plain_noop").upstream


def test_a_plain_function_registers_while_upstream_is_not_loaded(upstream_not_loaded) -> None:
    registry = TaskRegistry()
    (entry,) = registry.register("tests.support.plain_tasks:plain_noop")
    assert (entry.name, entry.upstream) == ("plain_noop", False)
    assert registry_module.UPSTREAM_CORE not in sys.modules


def test_a_module_without_task_objects(upstream_not_loaded) -> None:
    with pytest.raises(RegistrationError, match="no Eventix task objects in json"):
        TaskRegistry().register("json")


def test_a_whole_module_needs_upstream_installed(upstream_not_loaded, monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "eventix" else real(name, *a)
    )
    with pytest.raises(RegistrationError, match="registering a whole module needs the eventix package"):
        TaskRegistry().register("json")


def test_a_module_of_plain_functions_gets_a_hint(upstream_not_loaded) -> None:
    with pytest.raises(RegistrationError) as caught:
        TaskRegistry().register("tests.support.plain_tasks")
    message = str(caught.value)
    assert "no Eventix task objects in tests.support.plain_tasks" in message
    assert "tests.support.plain_tasks:plain_noop" in message
    assert "tests.support.plain_tasks:*" in message


def test_module_star_registers_every_public_function_defined_there(upstream_not_loaded) -> None:
    registry = TaskRegistry()
    added = registry.register("tests.support.plain_tasks:*")
    names = {entry.name for entry in added}
    assert {"plain_noop", "delay_add_later"} <= names
    assert not any(name.startswith("_") for name in names)
    assert all(not entry.upstream for entry in added)
    with pytest.raises(RegistrationError, match=r"no public functions defined in tests\.support"):
        TaskRegistry().register("tests.support:*")
