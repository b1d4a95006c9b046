"""The application object every command receives through the Typer context, and how a command
gets from its context to its settings and a client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventix_cli.cli import output
from eventix_cli.config import Settings, load_settings

if TYPE_CHECKING:
    import typer

    from eventix_cli.client.api import EventixClient


#: the key under which the root command keeps its arguments in the click context's ``meta``
COMMAND_LINE = "eventix.command_line"


@dataclass(slots=True)
class AppState:
    """Global options (``--profile``, ``--debug``) and the factories commands build on."""

    profile: str | None = None
    debug: bool = False

    def settings(self, **overrides: Any) -> Settings:
        """Resolved settings; ``overrides`` are this command's flags (``None`` = not given)."""
        settings = load_settings(profile=self.profile, overrides=overrides)
        for note in settings.warnings:
            output.warn(note)
        return settings

    def client(self, settings: Settings, **kwargs: Any) -> EventixClient:
        """A client for the server ``settings`` point at."""
        # deferred: the client brings httpx, kept off every --help (tests/test_startup.py)
        from eventix_cli.client.api import EventixClient

        return EventixClient(
            settings.url,
            token=settings.token,
            timeout=settings.timeout,
            verify=settings.tls_verify,
            **kwargs,
        )


def state_of(ctx: typer.Context) -> AppState:
    """The application object of the command line this context belongs to."""
    return ctx.find_root().obj


def connect(ctx: typer.Context, **overrides: Any) -> tuple[Settings, EventixClient]:
    """Settings from this command's flags, and a client for them."""
    state = state_of(ctx)
    settings = state.settings(**overrides)
    return settings, state.client(settings)
