"""Shell completion: the scripts, and dynamic values (namespaces, task ids) from the server.

Dynamic lookups use a short timeout and no retries, so a slow or absent server never blocks
typing: completion then simply offers nothing.
"""

from __future__ import annotations

import os
from typing import Any

COMPLETE_VAR = "_EVENTIX_COMPLETE"
SHELLS = ("bash", "zsh", "fish")
LOOKUP_TIMEOUT = 0.5


def script(shell: str) -> str:
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name="eventix", complete_var=COMPLETE_VAR, shell=shell) + "\n"


def enable_if_completing() -> None:
    """Register typer's completion classes when the shell asks for completions."""
    if os.environ.get(COMPLETE_VAR):
        from typer._completion_classes import completion_init

        completion_init()


def _client(ctx: Any) -> Any:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.config import load_settings

    params = getattr(ctx, "params", {}) or {}
    settings = load_settings(overrides={"url": params.get("url"), "namespace": params.get("namespace")})
    return settings, EventixClient(
        settings.url, token=settings.token, timeout=LOOKUP_TIMEOUT, verify=settings.tls_verify, retries=0
    )


def complete_namespaces(ctx: Any, incomplete: str) -> list[str]:
    from eventix_cli.core.errors import EventixCliError

    try:
        _, client = _client(ctx)
        with client:
            return [n for n in client.namespaces() if n.startswith(incomplete)]
    except EventixCliError:
        return []


def complete_task_ids(ctx: Any, incomplete: str) -> list[str]:
    """Uids of the namespace starting with what was typed (the 50 most recent)."""
    from eventix_cli.core.errors import EventixCliError

    try:
        settings, client = _client(ctx)
        query: dict[str, Any] = {"namespace": settings.namespace}
        if incomplete:
            query["_id"] = {"$regex": "^" + "".join(c for c in incomplete if c.isalnum())}
        with client:
            return client.by_status(filter=query, sort="-created_time", limit=50).ids
    except EventixCliError:
        return []
