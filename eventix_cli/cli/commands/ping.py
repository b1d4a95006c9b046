"""``eventix ping``: is the server up, which version, how far away."""

from __future__ import annotations

import time

import typer

from eventix_cli.cli.options import ReportOutputOption, TimeoutOption, UrlOption
from eventix_cli.cli.output import Output, refuse_ids
from eventix_cli.core.errors import ApiError, ExitCode

EPILOG = """\
[bold]Examples[/bold]

  eventix ping
  eventix ping --url https://eventix.example.com -o json | jq .rtt_ms
"""


class ServerUnhealthy(ApiError):
    """``/healthz`` answered, but not with ``healthy``."""

    exit_code = ExitCode.SERVER_ERROR


def ping(
    ctx: typer.Context,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: ReportOutputOption = None,
) -> None:
    """Check that the server answers [bold]/healthz[/bold] and [bold]/version[/bold].

    Prints the server URL, its version and the round-trip time. Exits 0 when healthy,
    3 when unreachable or timed out, 5 when the server reports itself unhealthy.
    """
    state = ctx.find_root().obj
    settings = state.settings(url=url, timeout=timeout, output=output)
    refuse_ids(settings.output, "ping reports a server, not tasks", "-o json or -o table")
    # a ping reports the state right now: no retries
    with state.client(settings, retries=0) as client:
        started = time.perf_counter()
        health = client.health()
        status = str(health.get("status", "unknown"))
        rtt_ms = (time.perf_counter() - started) * 1000
        try:
            version = client.version()
        except ApiError:
            if status == "healthy":
                raise
            version = "unknown"  # an unhealthy server's reason matters more than its version

    reason = health.get("reason")
    result = {
        "url": settings.url,
        "status": status,
        **({"reason": str(reason)} if reason else {}),
        "version": version,
        "rtt_ms": round(rtt_ms, 1),
    }
    Output(settings.output).document(result)
    if status != "healthy":
        why = f": {reason}" if reason else ""
        raise ServerUnhealthy(
            f"{settings.url} reports status {status!r}{why}", status_code=200, payload=health
        )
