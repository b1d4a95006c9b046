"""``eventix exporter``: queue figures of an Eventix server in the Prometheus text format."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from eventix_cli.cli import output
from eventix_cli.cli.options import AllNamespacesOption, NamespaceOption, TimeoutOption, UrlOption
from eventix_cli.cli.state import state_of
from eventix_cli.cli.stop_signals import StopSignals
from eventix_cli.core.errors import UsageError
from eventix_cli.logging import setup_logging
from eventix_cli.metrics.http import serve_registry

EPILOG = """\
[bold]Examples[/bold]

  [dim]# every namespace, on the default port 9464[/dim]
  eventix exporter -A --url http://eventix:8000

  [dim]# one namespace, refreshed every 30 s, reachable from other hosts[/dim]
  eventix exporter -n billing --interval 30 --host 0.0.0.0

  [dim]# look at what Prometheus sees[/dim]
  curl -s http://127.0.0.1:9464/metrics | grep '^eventix_tasks'
"""


def exporter(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port of /metrics (0 picks a free one).")
    ] = 9464,
    host: Annotated[str, typer.Option("--host", help="Address to bind; loopback by default.")] = "127.0.0.1",
    all_namespaces: AllNamespacesOption = False,
    namespace: NamespaceOption = None,
    interval: Annotated[
        float,
        typer.Option("--interval", "-i", min=0.2, help="Seconds between refreshes from the Eventix server."),
    ] = 15.0,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
) -> None:
    """Serve queue figures at /metrics for Prometheus, from any Eventix server.

    The figures are refreshed in the background every --interval seconds, so a scrape never
    waits on the Eventix server; each refresh sends a fixed number of requests (six per
    namespace) however many tasks there are. When a refresh fails the last values stay and
    eventix_exporter_up drops to 0. Metrics: eventix_tasks{namespace,status},
    eventix_oldest_due_seconds{namespace}, eventix_exporter_up, eventix_exporter_refresh_seconds,
    eventix_exporter_last_success_timestamp_seconds, eventix_exporter_refresh_failures_total.
    Ctrl-C or SIGTERM stops it (exit 0).
    """
    # deferred: prometheus_client, kept off `exporter --help` (tests/test_startup.py)
    from eventix_cli.metrics.exporter import QueueCollector, make_registry

    state = state_of(ctx)
    settings = state.settings(url=url, timeout=timeout, namespace=namespace)
    if not state.debug:
        setup_logging("INFO")
    client = state.client(settings, retries=1)
    collector = QueueCollector(client, None if all_namespaces else settings.namespace)
    try:
        served = serve_registry(make_registry(collector), host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    where = "every namespace" if all_namespaces else f"namespace {settings.namespace}"
    output.message(f"eventix exporter serving {served.url}")
    output.message(f"reading {settings.url} ({where}) every {interval:g}s; press Ctrl-C to stop")
    if host not in ("127.0.0.1", "localhost", "::1"):
        output.warn(f"listening on {host}: anyone who can reach it can read the queue figures")

    stop = threading.Event()
    try:
        with StopSignals(stop.set), client:
            collector.run(stop, interval)
    finally:
        served.close()
        collector.close()
    output.message("eventix exporter stopped")
