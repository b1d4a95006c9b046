"""Start and stop Eventix servers on free loopback ports, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from eventix_cli.server.store import TaskStore

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Proxy settings a developer's shell may carry; test servers and their clients never use them.
PROXY_VARIABLES = tuple(
    name for base in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY") for name in (base, base.lower())
)


def child_env(extra: dict | None = None) -> dict[str, str]:
    """The environment for a server or worker process: ours, without proxy settings."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    return {**env, "PYTHONPATH": str(REPO_ROOT), **(extra or {})}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningServer:
    kind: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def wait_healthy(
    url: str,
    process: subprocess.Popen[bytes],
    timeout: float = 30.0,
    token: str | None = None,
    verify: ssl.SSLContext | bool = True,
) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before becoming healthy")
        try:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            answer = httpx.get(f"{url}/healthz", timeout=1.0, headers=headers, trust_env=False, verify=verify)
            if answer.status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} not healthy after {timeout}s: {last}")


def start_server(
    kind: str,
    log_dir: Path,
    *,
    port: int | None = None,
    extra_args: Sequence[str] = (),
    env: dict | None = None,
    token: str | None = None,
) -> RunningServer:
    """Start ``upstream`` (the reference) or ``embedded`` (``eventix server``) and wait until healthy."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    if kind == "upstream":
        cmd = [sys.executable, "-m", "tests.support.upstream_server", str(port)]
    elif kind == "embedded":
        cmd = [
            sys.executable,
            "-m",
            "eventix_cli",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *(extra_args or ["--db", ":memory:"]),
            *(["--token", token] if token else []),
        ]
    else:
        raise ValueError(kind)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{kind}-{port}.log"
    full_env = child_env(env)
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=full_env)
    server = RunningServer(kind, url, process, log_path)
    try:
        wait_healthy(url, process, token=token)
    except RuntimeError as exc:
        server.stop(signal.SIGKILL)
        raise RuntimeError(f"{exc}\n--- server log ---\n{server.log()}") from None
    return server


@contextlib.contextmanager
def running_server(kind: str, log_dir: Path, **kwargs) -> Iterator[RunningServer]:
    server = start_server(kind, log_dir, **kwargs)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def serving_in_thread(store: TaskStore) -> Iterator[str]:
    """The embedded server of ``store`` in a thread of this process, at the URL yielded: a test
    can then hold what the server does (a store method, a SQL function) at a point it chooses."""
    import uvicorn

    from eventix_cli.server import bind
    from eventix_cli.server.app import create_app

    app = create_app(store, cleanup_interval=None)
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on", log_level="critical"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.01)
    try:
        if not server.started:
            raise RuntimeError("the server in a thread did not start")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
