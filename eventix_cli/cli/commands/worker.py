"""``eventix worker``: run tasks of a namespace with upstream semantics."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from eventix_cli.cli.options import (
    LogFormatOption,
    LogLevelOption,
    NamespaceOption,
    TimeoutOption,
    UrlOption,
    log_options,
)
from eventix_cli.cli.stop_signals import StopSignals
from eventix_cli.config import require_writable
from eventix_cli.core.errors import UsageError
from eventix_cli.logging import setup_logging
from eventix_cli.worker.config import WorkerConfig
from eventix_cli.worker.context import point_upstream_client_at
from eventix_cli.worker.metrics import NO_METRICS, PrometheusWorkerMetrics
from eventix_cli.worker.registry import RegistrationError, TaskRegistry

if TYPE_CHECKING:
    from eventix_cli.worker.metrics import WorkerMetrics

log = logging.getLogger(__name__)

EPILOG = """\
[bold]Examples[/bold]

  eventix worker -n billing --tasks myapp.tasks --concurrency 4
  eventix worker -n billing --tasks myapp.tasks:send_mail --burst \\
      --log-format json

  [dim]# one process for a small deployment: run tasks, enqueue schedules' slots[/dim]
  eventix worker -n billing --tasks myapp.tasks --schedules schedules.toml
  [dim]# Prometheus metrics at http://127.0.0.1:9465/metrics[/dim]
  eventix worker -n billing --tasks myapp.tasks --metrics-port 9465
"""

ENV_WORKER_ID = "EVENTIX_TASK_WORKER_ID"
ENV_LOCAL = ".env.local"


def resolve_worker_id(flag: str | None) -> str:
    """--worker-id, else EVENTIX_TASK_WORKER_ID (``K8S_HOSTNAME``: the last dash-separated part
    of $HOSTNAME, as upstream), else host-pid."""
    if flag:
        return flag
    value = os.environ.get(ENV_WORKER_ID, "")
    if value == "K8S_HOSTNAME":
        return os.environ.get("HOSTNAME", socket.gethostname()).split("-")[-1]
    if value:
        return value
    return f"{socket.gethostname()}-{os.getpid()}"


def load_env_local(path: str = ENV_LOCAL) -> None:
    """Read ``.env.local`` as upstream's worker does (python-dotenv; never overrides variables
    already set). Where there is no such file python-dotenv reads nothing: it is not imported."""
    if not os.path.exists(path):
        return
    from dotenv import load_dotenv  # deferred: only with a .env.local (tests/test_startup.py)

    load_dotenv(path)


def _start_metrics(host: str, port: int | None, task_names: Iterable[str]) -> WorkerMetrics:
    """The worker's metrics recorder: a no-op without --metrics-port (prometheus_client stays
    unloaded), else Prometheus counters served on host:port."""
    if port is None:
        return NO_METRICS
    metrics = PrometheusWorkerMetrics(task_names)
    try:
        served = metrics.serve(host, port)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port} for --metrics-port: {exc.strerror or exc}"
        ) from None
    log.info("metrics at %s", served.url)
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("metrics listen on %s: anyone who can reach it can read them", host)
    return metrics


def worker(
    ctx: typer.Context,
    tasks: Annotated[
        list[str],
        typer.Option(
            "--tasks",
            "-t",
            help="MODULE (every Eventix task in it), MODULE:FUNCTION, or MODULE:* (every public "
            "function defined in it); repeatable.",
            show_default=False,
        ),
    ],
    namespace: NamespaceOption = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=256, help="Tasks run at once (threads).")
    ] = 1,
    worker_id: Annotated[
        str | None,
        typer.Option(
            "--worker-id",
            help="Worker id (env: EVENTIX_TASK_WORKER_ID; K8S_HOSTNAME takes it "
            "from $HOSTNAME; default: host-pid).",
            show_default=False,
        ),
    ] = None,
    log_level: LogLevelOption = None,
    log_format: LogFormatOption = "text",
    burst: Annotated[
        bool, typer.Option("--burst", help="Exit 0 once the namespace has nothing due.")
    ] = False,
    max_tasks: Annotated[
        int | None, typer.Option("--max-tasks", min=1, help="Exit after this many tasks.", show_default=False)
    ] = None,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", min=0.01, help="Seconds between polls when nothing is due.")
    ] = 1.0,
    shutdown_timeout: Annotated[
        float,
        typer.Option(
            "--shutdown-timeout",
            min=0.0,
            help="On SIGTERM/SIGINT, seconds to let running tasks "
            "finish before they are released back to the queue.",
        ),
    ] = 30.0,
    health_file: Annotated[
        Path | None,
        typer.Option(
            "--health-file",
            help="Touched while the worker can work (all task threads alive, server reachable), "
            "for liveness probes.",
            show_default=False,
        ),
    ] = None,
    lease: Annotated[
        float | None,
        typer.Option(
            "--lease",
            min=1.0,
            help="Seconds each renewal extends a running task's claim, renewed at half of it "
            "(default: the lease the server gave at the claim, 300 s upstream).",
            show_default=False,
        ),
    ] = None,
    max_backoff: Annotated[
        float,
        typer.Option(
            "--max-backoff",
            min=0.1,
            help="Longest wait between retries while the server is unreachable (seconds).",
        ),
    ] = 30.0,
    schedules_file: Annotated[
        Path | None,
        typer.Option(
            "--schedules",
            help="Also run the scheduler of this schedules file in the worker (see 'eventix scheduler').",
            show_default=False,
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            help="Serve Prometheus metrics at /metrics on this port (off by default).",
            show_default=False,
        ),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option("--metrics-host", help="Address for --metrics-port; loopback by default.")
    ] = "127.0.0.1",
    url: UrlOption = None,
    timeout: TimeoutOption = None,
) -> None:
    """Run the tasks of a namespace: claim, run, write back done/retry/error as upstream does.

    SIGTERM or Ctrl-C: stop claiming, let running tasks finish and write back, exit 0. A
    second signal, or --shutdown-timeout passing, releases the tasks still running back to
    the queue and exits 1. A worker killed with SIGKILL loses nothing either: the server puts
    its tasks back when their lease runs out (at-least-once). Whatever a task raises or returns,
    its attempt is stored (a result that cannot be stored as ResultNotStorable), and an outcome
    is written only while the claim is still this worker's. `.env.local` in the working
    directory is read first, as upstream's worker does.
    """
    # deferred: the supervisor brings the pydantic task model, which `worker --help` does without
    # (tests/test_startup.py)
    from eventix_cli.worker.supervisor import Supervisor, exit_despite_stray_threads

    load_env_local()
    level = log_options(log_level, log_format)
    wid = resolve_worker_id(worker_id)
    setup_logging(level, log_format, prefix=f"[WORKER-{wid}]", fields={"worker_id": wid})  # type: ignore[arg-type]

    state = ctx.find_root().obj
    settings = state.settings(url=url, timeout=timeout, namespace=namespace)
    require_writable(settings, "run a worker (it writes task results)")
    registry = TaskRegistry()
    try:
        registry.register_all(tasks)
    except RegistrationError as exc:
        raise UsageError(str(exc)) from None
    if point_upstream_client_at(settings.url, settings.token):
        log.info("upstream EventixClient points at %s (for .delay())", settings.url)

    metrics = _start_metrics(metrics_host, metrics_port, registry.tasks)
    client = state.client(settings, retries=0, max_connections=concurrency + 2, keepalive=True, models=True)
    config = WorkerConfig(
        namespace=settings.namespace,
        worker_id=wid,
        concurrency=concurrency,
        burst=burst,
        max_tasks=max_tasks,
        poll_interval=poll_interval,
        shutdown_timeout=shutdown_timeout,
        health_file=health_file,
        lease=lease,
        backoff_max=max_backoff,
        backoff_base=min(0.5, max_backoff),
    )
    runner = Supervisor(client, registry, config, metrics)
    embedded_scheduler = None
    if schedules_file is not None:
        # deferred: a worker without --schedules loads nothing of schedules (tests/test_startup.py)
        from eventix_cli.cli.schedule_files import start_in_worker

        embedded_scheduler = start_in_worker(state, settings, schedules_file)
    with StopSignals(runner.request_stop):
        try:
            with client:
                code = runner.run()
        finally:
            if embedded_scheduler is not None:
                embedded_scheduler.stop()
            metrics.close()
    exit_despite_stray_threads(code)
    if code:
        raise typer.Exit(code)
