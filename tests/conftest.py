"""Shared fixtures: isolated environment, CLI runner, and real servers on loopback ports."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.support.servers import PROXY_VARIABLES, RunningServer, start_server

#: Servers every contract test runs against.
SERVER_KINDS = ("upstream", "embedded")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's EVENTIX_* variables, proxy settings or config file."""
    for name in list(os.environ):
        if name.startswith("EVENTIX_") or name == "NO_COLOR" or name in PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EVENTIX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "100")


class _TerminalRunner(CliRunner):
    """A runner whose stdout and stderr say they are a terminal, as a person's would."""

    @contextlib.contextmanager
    def isolation(self, *args, **kwargs):  # type: ignore[override]
        with super().isolation(*args, **kwargs) as streams:
            sys.stdout.isatty = lambda: True  # type: ignore[method-assign]
            sys.stderr.isatty = lambda: True  # type: ignore[method-assign]
            yield streams


class Cli:
    """Runs the real Typer app in-process with stdout and stderr kept apart.

    Its output is a pipe; ``cli.terminal(..., columns=80)`` runs it as on a terminal that wide
    (without colour unless ``color=True``)."""

    def __init__(self) -> None:
        self.runner = CliRunner()
        self.terminal_runner = _TerminalRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        from eventix_cli.cli.app import app

        return self.runner.invoke(app, list(args), input=input, env=env, prog_name="eventix")

    def terminal(
        self,
        *args: str,
        columns: int,
        color: bool = False,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Result:
        from eventix_cli.cli.app import app

        env = {"COLUMNS": str(columns), **({} if color else {"NO_COLOR": "1"}), **(env or {})}
        return self.terminal_runner.invoke(app, list(args), input=input, env=env, prog_name="eventix")


@pytest.fixture
def cli() -> Cli:
    return Cli()


class ServerPool:
    """Starts each kind of server once per session, on first use."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.servers: dict[str, RunningServer] = {}

    def get(self, kind: str) -> RunningServer:
        server = self.servers.get(kind)
        if server is None or server.process.poll() is not None:
            server = start_server(kind, self.log_dir)
            self.servers[kind] = server
        return server

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="session")
def server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    pool = ServerPool(tmp_path_factory.mktemp("server-logs"))
    yield pool
    pool.close()


@pytest.fixture(params=SERVER_KINDS)
def server(request: pytest.FixtureRequest, server_pool: ServerPool) -> RunningServer:
    """A running server of each kind in SERVER_KINDS (the test runs once per kind)."""
    return server_pool.get(request.param)


@pytest.fixture
def upstream(server_pool: ServerPool) -> RunningServer:
    return server_pool.get("upstream")


@pytest.fixture
def namespace() -> str:
    """A namespace no other test uses, so tests can share one server."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def client(server: RunningServer) -> Iterator:
    from eventix_cli.client.api import EventixClient

    with EventixClient(server.url, retries=0) as c:
        yield c


@pytest.fixture
def embedded_url(server_pool: ServerPool) -> str:
    return server_pool.get("embedded").url


@pytest.fixture(scope="module")
def ca():
    """A throwaway certificate authority (trustme) for TLS tests."""
    import trustme

    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The throwaway CA's certificate as a PEM file (for EVENTIX_CA_BUNDLE, SSL_CERT_FILE, ...)."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path
