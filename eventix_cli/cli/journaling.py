"""How a command that changes tasks opens its journal entry (:mod:`eventix_cli.journal`).

:func:`journaled` opens the entry (its header on disk before anything is sent; exit 1 when it
cannot be written), hands it to the command, which passes it down to its per-task actions,
and closes it however the command ends. ``--no-journal`` gives an entry that records nothing,
after saying so.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from eventix_cli.cli import output
from eventix_cli.cli.state import COMMAND_LINE
from eventix_cli.config import mask_token, state_dir
from eventix_cli.core.errors import JournalUnwritable
from eventix_cli.journal.writer import NO_ENTRY, Entry, NoEntry, open_entry

if TYPE_CHECKING:
    from eventix_cli.config import Settings

NoJournalOption = Annotated[
    bool,
    typer.Option(
        "--no-journal", help="Do not record this change in the journal: `eventix undo` cannot undo it."
    ),
]

#: options whose value is a secret, never written to the journal
SECRET_OPTIONS = ("--token",)


def journal_dir() -> Path:
    return state_dir() / "journal"


def masked_command(argv: Sequence[str], token: str | None) -> list[str]:
    """The command line with every secret masked: values of ``--token`` and the token itself."""
    masked: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            masked.append(mask_token(arg))
            hide_next = False
            continue
        name, eq, value = arg.partition("=")
        if name in SECRET_OPTIONS:
            if eq:
                masked.append(f"{name}={mask_token(value)}")
            else:
                masked.append(arg)
                hide_next = True
            continue
        masked.append(arg.replace(token, mask_token(token)) if token else arg)
    return masked


def command_line(ctx: typer.Context | None) -> list[str]:
    if ctx is not None and COMMAND_LINE in ctx.meta:
        return list(ctx.meta[COMMAND_LINE])
    return ["eventix", *sys.argv[1:]]


@contextlib.contextmanager
def journaled(
    ctx: typer.Context | None,
    settings: Settings,
    action: str,
    *,
    no_journal: bool,
    namespace: str | None,
    dry_run: bool = False,
    **extra: Any,
) -> Iterator[Entry | NoEntry]:
    """An open journal entry for one command (see the module docstring); a dry run records
    nothing, and says nothing about it. ``namespace`` is the one the command acts in (``None``:
    every namespace, or the ones its input names)."""
    if dry_run:
        yield NO_ENTRY
        return
    if no_journal:
        output.warn("--no-journal: this change is not recorded in the journal; `eventix undo` cannot undo it")
        yield NO_ENTRY
        return
    entry = open_entry(
        journal_dir(),
        action=action,
        url=settings.url,
        namespace=namespace,
        command=masked_command(command_line(ctx), settings.token),
        limit=settings.journal_limit,
        **extra,
    )
    try:
        yield entry
    finally:
        try:
            entry.close()
        except JournalUnwritable as exc:
            output.warn(f"the end of journal entry {entry.id} could not be written: {exc.message}")
        if entry.overflowed:
            output.warn(overflow_text(entry.id, settings.journal_limit))


def overflow_text(entry_id: int | None, limit: int) -> str:
    return (
        f"journal entry {entry_id} went over the journal's limit ({limit:,} bytes): it keeps "
        "its counts but cannot be undone; `eventix task dump` keeps a copy of tasks before such a change"
    )


def warn_if_too_large(entry: Entry | NoEntry, count: int, sample: Sequence[Any]) -> None:
    """Before a bulk change: warn when its before-images (estimated from the sample) would not
    fit in the journal, so it could not be undone."""
    if not entry.enabled or not count or not sample:
        return
    mean = sum(len(json.dumps(task.to_wire(), default=str)) for task in sample) / len(sample)
    limit = entry.limit
    if mean * count > limit:
        output.warn(
            f"{count:,} tasks of ~{mean:,.0f} bytes will not fit in the journal's limit ({limit:,} bytes): "
            "this change cannot be undone; `eventix task dump` first to keep a copy "
            "(journal_limit, EVENTIX_JOURNAL_LIMIT raise the limit)"
        )
