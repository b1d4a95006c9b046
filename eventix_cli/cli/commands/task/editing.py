"""Edit-and-retry: a failed task's args and kwargs opened in the user's editor, the task retried
with what is saved (``task retry ID --edit``; the view calls :func:`edit_and_retry` too).

The file is a JSON object ``{"args": [...], "kwargs": {...}}``. What is saved is checked as
``task add`` checks JSON; a file that does not pass is kept, its path named in the error, so
``--edit-file PATH`` opens it again. A file saved unchanged sends nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eventix_cli.cli.commands.task.retrying import retried_document, write_retry
from eventix_cli.core.edits import FieldEdit, edits_from_arguments
from eventix_cli.core.errors import EventixCliError, UsageError
from eventix_cli.core.jsonrules import loads
from eventix_cli.journal.writer import NO_ENTRY, Entry, NoEntry

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.view import TaskView

FALLBACK_EDITOR = "vi"


def editor_command() -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, else vi; split as a shell would (``code --wait``)."""
    chosen = os.environ.get("VISUAL") or os.environ.get("EDITOR") or FALLBACK_EDITOR
    return shlex.split(chosen)


def arguments_text(document: dict[str, Any]) -> str:
    """What the editor shows: the task's args and kwargs as indented JSON."""
    shown = {"args": document.get("args", []), "kwargs": document.get("kwargs", {})}
    return json.dumps(shown, indent=2, ensure_ascii=False) + "\n"


def write_arguments_file(document: dict[str, Any]) -> Path:
    """A new private file (mode 0600) holding :func:`arguments_text` of the task."""
    fd, name = tempfile.mkstemp(prefix=f"eventix-retry-{document['uid'][:16]}-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(arguments_text(document))
    return Path(name)


def run_editor(path: Path) -> None:
    """Open ``path`` in the editor and wait for it; the file is kept when the editor fails."""
    command = [*editor_command(), str(path)]
    try:
        code = subprocess.run(command, check=False).returncode
    except OSError as exc:
        raise EventixCliError(
            f"cannot run the editor {command[0]!r}: {exc.strerror or exc}; nothing was sent",
            hint=f"set VISUAL or EDITOR; the file is kept: {path}",
        ) from None
    if code != 0:
        raise EventixCliError(
            f"the editor exited with status {code}; nothing was sent (the file is kept: {path})"
        )


def read_edits(path: Path, before: dict[str, Any], retry_hint: str) -> tuple[FieldEdit, ...] | None:
    """The edits saved in ``path``, or None when args and kwargs are as they were; bad JSON or
    a wrong shape is a usage error that names the kept file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    try:
        edited = loads(text, str(path))
        edits = edits_from_arguments(edited, str(path))
    except ValueError as exc:  # malformed JSON
        raise UsageError(f"{path}: invalid JSON: {exc}; nothing was sent", hint=retry_hint) from None
    except UsageError as exc:
        raise UsageError(f"{exc.message}; nothing was sent", hint=retry_hint) from None
    if edited["args"] == before.get("args") and edited["kwargs"] == before.get("kwargs"):
        return None
    return edits


def edit_and_retry(
    client: EventixClient,
    uid: str,
    *,
    eta: dt.datetime | None = None,
    force: bool = False,
    kept: Path | None = None,
    entry: Entry | NoEntry = NO_ENTRY,
) -> TaskView | None:
    """Read the task, open its args and kwargs in the editor (``kept``: a file saved by an
    earlier try, opened as it is), and retry it with what is saved, in one revision-checked
    write. Returns the stored task, or None when nothing changed (nothing sent).

    Raises ``Skip`` (already scheduled) before the editor opens, ``WrongTaskStatus`` for a
    task that cannot be retried, :class:`UsageError` for a saved file that is not valid (kept,
    its path in the message), ``RevisionConflict`` when the task changed while being edited.
    """
    before = client.get_task(uid).to_wire()
    retried_document(before, (), eta, force)  # a task that cannot be retried: say so first
    path = kept if kept is not None else write_arguments_file(before)
    retry_hint = f"fix it, then: eventix task retry {uid} --edit-file {shlex.quote(str(path))}"
    run_editor(path)
    edits = read_edits(path, before, retry_hint)
    if edits is None:
        path.unlink(missing_ok=True)
        return None
    after = retried_document(before, edits, eta, force)
    entry.before("change", [before])  # the old arguments, for `eventix undo`
    try:
        stored = write_retry(client, before, after)
    except EventixCliError as exc:
        exc.message = f"{exc.message} (the edited file is kept: {path})"
        raise
    entry.after(uid, "change", stored.revision)
    path.unlink(missing_ok=True)
    return stored
