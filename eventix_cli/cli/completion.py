"""Shell completion: the scripts, and dynamic values (namespaces, task ids) from the server.

Dynamic lookups use a short timeout and no retries, so a slow or absent server never blocks
typing: completion then simply offers nothing.
"""

from __future__ import annotations

import os
from typing import Any

import typer

# Typer's private modules, on purpose: typer has no public function that renders the completion
# script of a named shell or registers its completion classes. Its one public route is the
# --install-completion/--show-completion pair of options, which would add two options to
# `eventix --help` and guess the shell rather than take it as an argument; copying the two
# modules instead would be 484 lines (typer 0.28.0) that drift from the protocol typer speaks
# at completion time. Both names are the same in typer 0.27 and 0.28; pyproject.toml pins
# typer to 0.28 and tests/cli/test_typer_api.py fails when they move or change.
from typer._completion_classes import completion_init
from typer._completion_shared import get_completion_script

from eventix_cli.config import load_settings
from eventix_cli.core.errors import EventixCliError
from eventix_cli.core.statuses import TaskStatus

COMPLETE_VAR = "_EVENTIX_COMPLETE"
SHELLS = ("bash", "zsh", "fish")
LOOKUP_TIMEOUT = 0.5


def script(shell: str) -> str:
    """The completion script of ``shell`` (bash, zsh or fish) for ``eventix``."""
    return get_completion_script(prog_name="eventix", complete_var=COMPLETE_VAR, shell=shell) + "\n"


def complete_shells(incomplete: str) -> list[str]:
    """``eventix completion <TAB>``: the shells a script is made for."""
    return [shell for shell in SHELLS if shell.startswith(incomplete)]


def complete_statuses(incomplete: str) -> list[str]:
    """``--status <TAB>``: the statuses, also after a comma (``error,r`` gives ``error,retry``),
    leaving out those already in the list."""
    given, _, last = incomplete.rpartition(",")
    prefix = f"{given}," if given else ""
    taken = set(given.split(",")) if given else set()
    return [prefix + s.value for s in TaskStatus if s.value.startswith(last) and s.value not in taken]


def enable_if_completing() -> None:
    """Register typer's completion classes when the shell asks for completions."""
    if os.environ.get(COMPLETE_VAR):
        completion_init()


def _client(ctx: Any) -> Any:
    # deferred: the client brings httpx, which only a lookup needs (tests/test_startup.py)
    from eventix_cli.client.api import EventixClient

    params = getattr(ctx, "params", {}) or {}
    settings = load_settings(overrides={"url": params.get("url"), "namespace": params.get("namespace")})
    return settings, EventixClient(
        settings.url, token=settings.token, timeout=LOOKUP_TIMEOUT, verify=settings.tls_verify, retries=0
    )


def complete_namespaces(ctx: typer.Context, incomplete: str) -> list[str]:
    try:
        _, client = _client(ctx)
        with client:
            return [n for n in client.namespaces() if n.startswith(incomplete)]
    except EventixCliError:
        return []


def complete_task_ids(ctx: typer.Context, incomplete: str) -> list[str]:
    """Uids of the namespace starting with what was typed (the 50 most recent)."""
    try:
        settings, client = _client(ctx)
        query: dict[str, Any] = {"namespace": settings.namespace}
        if incomplete:
            query["_id"] = {"$regex": "^" + "".join(c for c in incomplete if c.isalnum())}
        with client:
            return client.by_status(filter=query, sort="-created_time", limit=50).ids
    except EventixCliError:
        return []
