"""`eventix exporter` as a real process: survives the Eventix server going away and coming back."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.metrics import scrape, value
from tests.support.servers import REPO_ROOT, child_env, free_port, start_server
from tests.support.signal_bursts import has_proc, other_threads, send_burst, signal_thread
from tests.support.tasks import seed
from tests.support.workers import wait_for


def _start_exporter(url: str, port: int, log: Path, *args: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "eventix_cli", "exporter", "--url", url, "--port", str(port), *args]
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env(),
        )


def _samples(url: str) -> dict:
    try:
        return scrape(url, timeout=2.0)
    except OSError:  # not listening yet (URLError is an OSError)
        return {}


def test_exporter_survives_the_server_going_away_and_coming_back(tmp_path: Path) -> None:
    db = tmp_path / "eventix.sqlite3"
    server_port = free_port()
    server = start_server("embedded", tmp_path, port=server_port, extra_args=["--db", str(db)])
    seed(server.url, "billing", 3)
    metrics_port = free_port()
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    log = tmp_path / "exporter.log"
    exporter = _start_exporter(server.url, metrics_port, log, "-n", "billing", "--interval", "0.2")
    try:

        def seen(up: int, scheduled: int) -> bool:
            got = _samples(metrics)
            return (
                value(got, "eventix_exporter_up") == up
                and value(got, "eventix_tasks", namespace="billing", status="scheduled") == scheduled
            )

        wait_for(lambda: seen(1, 3), timeout=30, what=log.read_text)

        server.stop()
        wait_for(lambda: seen(0, 3), timeout=30, what=log.read_text)  # down, last values kept
        down = _samples(metrics)
        assert value(down, "eventix_exporter_refresh_failures_total") >= 1
        assert value(down, "eventix_oldest_due_seconds", namespace="billing") > 0
        assert exporter.poll() is None

        server = start_server("embedded", tmp_path, port=server_port, extra_args=["--db", str(db)])
        seed(server.url, "billing", 2)
        wait_for(lambda: seen(1, 5), timeout=30, what=log.read_text)

        exporter.send_signal(signal.SIGTERM)
        assert exporter.wait(10) == 0
    finally:
        if exporter.poll() is None:
            exporter.kill()
            exporter.wait(5)
        server.stop()
    text = log.read_text()
    assert text.count("refresh failed") == 1  # logged once per outage, not on every refresh
    assert "refresh succeeded again" in text
    assert "Traceback" not in text


def _serving(url: str) -> bool:
    """The first refresh is done: the exporter waits for the next one, its stop signals handled."""
    return value(_samples(url), "eventix_exporter_up") == 1


def _exit_code(exporter: subprocess.Popen[bytes], log: Path, timeout: float) -> int:
    try:
        return exporter.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the exporter did not stop within {timeout}s:\n{log.read_text()}") from None


#: exporters run side by side, each given one burst of stop signals: enough to catch the race
BURST_EXPORTERS = 8


@pytest.mark.slow
def test_a_burst_of_stop_signals_never_freezes_the_exporter(tmp_path: Path, embedded_url: str) -> None:
    ports = [free_port() for _ in range(BURST_EXPORTERS)]
    logs = [tmp_path / f"exporter-{port}.log" for port in ports]
    exporters = [_start_exporter(embedded_url, port, log) for port, log in zip(ports, logs, strict=True)]
    try:
        for exporter, port, log in zip(exporters, ports, logs, strict=True):
            wait_for(
                lambda port=port: _serving(f"http://127.0.0.1:{port}/metrics"), timeout=60, what=log.read_text
            )
            send_burst(exporter.pid)
        for exporter, log in zip(exporters, logs, strict=True):
            assert _exit_code(exporter, log, 20) == 0, log.read_text()
    finally:
        for exporter in exporters:
            if exporter.poll() is None:
                exporter.kill()
                exporter.wait(5)


@pytest.mark.skipif(not has_proc(), reason="needs /proc and tgkill (Linux)")
def test_the_exporter_stops_promptly_whichever_thread_the_signal_reaches(
    tmp_path: Path, embedded_url: str
) -> None:
    port = free_port()
    log = tmp_path / "exporter.log"
    # the next refresh is a minute away: the main thread waits for it all that time
    exporter = _start_exporter(embedded_url, port, log, "--interval", "60")
    try:
        wait_for(lambda: _serving(f"http://127.0.0.1:{port}/metrics"), timeout=60, what=log.read_text)
        signal_thread(exporter.pid, other_threads(exporter.pid)[0], signal.SIGTERM)
        assert _exit_code(exporter, log, 10) == 0, log.read_text()
    finally:
        if exporter.poll() is None:
            exporter.kill()
            exporter.wait(5)
    assert "eventix exporter stopped" in log.read_text()


def test_port_in_use_is_one_line_and_exit_2(tmp_path: Path, embedded_url: str) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "eventix_cli", "exporter", "--url", embedded_url, "--port", str(port)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            env=child_env(),
        )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "(UsageError)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_prometheus_client_stays_out_of_other_commands() -> None:
    """Loading every other command (and the worker without --metrics-port) imports no
    prometheus_client: only the exporter and a worker asked for metrics pay for it."""
    code = """
import sys
from eventix_cli.cli.app import COMMANDS, load_command
for name in COMMANDS:
    if name != "exporter":
        load_command(name)
import eventix_cli.worker.supervisor, eventix_cli.metrics.http
try:
    import eventix_cli.worker.metrics
except ImportError:
    pass
loaded = sorted(m for m in sys.modules if m.startswith("prometheus_client"))
assert not loaded, loaded
load_command("exporter")
import eventix_cli.metrics.exporter
assert "prometheus_client" in sys.modules
"""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
    )
    assert proc.returncode == 0, proc.stderr
