"""``eventix top`` on a terminal opens the interactive view with the command's settings."""

from __future__ import annotations

import pytest

from eventix_cli.cli.commands import top as top_command
from eventix_cli.cli.top.app import TopApp


@pytest.fixture
def opened(monkeypatch) -> list[TopApp]:
    """The apps `eventix top` ran, as if stdin and stdout were a terminal."""
    apps: list[TopApp] = []
    monkeypatch.setattr(top_command, "is_terminal", lambda stream=None: True)
    monkeypatch.setattr(TopApp, "run", lambda self: apps.append(self))
    return apps


def test_on_a_terminal_top_opens_the_tasks_of_the_namespace(cli, embedded_url, opened) -> None:
    result = cli("top", "--url", embedded_url, "-n", "billing", "--interval", "5")
    assert result.exit_code == 0, result.stderr
    (app,) = opened
    assert app.start_namespace == "billing"
    assert app.interval == 5
    assert app.settings.url == embedded_url
    assert not app.settings.read_only


def test_all_namespaces_opens_the_namespaces_view(cli, embedded_url, opened) -> None:
    assert cli("top", "--url", embedded_url, "-A").exit_code == 0
    assert opened[0].start_namespace is None


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--read-only"], {}), ([], {"EVENTIX_READ_ONLY": "1"})],
    ids=["flag", "environment"],
)
def test_read_only_reaches_the_view(cli, embedded_url, opened, args, env) -> None:
    assert cli("top", "--url", embedded_url, *args, env=env).exit_code == 0
    assert opened[0].settings.read_only


def test_a_profile_sets_where_the_view_connects(cli, embedded_url, opened) -> None:
    assert cli("config", "set", "url", embedded_url, "--profile", "ops").exit_code == 0
    assert cli("config", "set", "read_only", "true", "--profile", "ops").exit_code == 0
    assert cli("--profile", "ops", "top", "-n", "x").exit_code == 0
    assert opened[0].settings.url == embedded_url
    assert opened[0].settings.read_only
