"""``eventix server``: the embedded dev server (the Eventix API on SQLite)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Annotated

import typer

from eventix_cli.cli import output
from eventix_cli.config import FILE_SUFFIX, secret_from_env
from eventix_cli.core.errors import UsageError, WriteFailed
from eventix_cli.core.text import sendable_token
from eventix_cli.core.times import format_typed_duration, parse_duration
from eventix_cli.logging import parse_level, setup_logging

EPILOG = """\
[bold]Examples[/bold]

  [dim]# a throwaway server for a test run[/dim]
  eventix server --db :memory: --port 8123

  [dim]# a shared dev server with a token[/dim]
  EVENTIX_SERVER_TOKEN=s3cret eventix server --host 0.0.0.0 \\
      --db ./eventix.sqlite3

  [dim]# over HTTPS, the token read from a file (systemd: LoadCredential)[/dim]
  EVENTIX_SERVER_TOKEN_FILE=/run/credentials/eventix-server/token \\
    eventix server --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem

  [dim]# turn posted events into tasks with the trigger files in ./triggers[/dim]
  eventix server --db :memory: --triggers ./triggers

  [dim]# for real: hourly backups (24 kept), finished tasks kept a week[/dim]
  eventix server --db /var/lib/eventix/eventix.sqlite3 \\
    --backup-dir /var/backups/eventix --backup-every 1h --backup-keep 24 \\
    --keep-done 7d --keep-error 30d

  [dim]# a consistent copy, taken while the server runs[/dim]
  eventix server backup --db ./eventix.sqlite3 ./eventix-copy.sqlite3
"""

BACKUP_EPILOG = """\
[bold]Examples[/bold]

  [dim]# copy the server's database while it runs and workers claim[/dim]
  eventix server backup --db /var/lib/eventix/eventix.sqlite3 \\
      /tmp/copy.sqlite3

  [dim]# serve exactly the tasks the copy holds[/dim]
  eventix server --db /tmp/copy.sqlite3 --port 8124
"""

#: the server itself is the group's callback, so `eventix server` runs it; `backup` is its one command
app = typer.Typer(name="server", add_completion=False)

ENV_SERVER_TOKEN = "EVENTIX_SERVER_TOKEN"
BACKUP_EVERY = "1h"
BACKUP_KEEP = 24
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def exposure_warnings(host: str, *, token: bool, tls: bool) -> list[str]:
    """What a server reachable from other hosts (``host`` is not loopback) lacks."""
    warnings = []
    if not token:
        warnings.append(f"listening on {host} without a token: anyone who can reach it can change tasks")
    if not tls:
        secret = "the token and the tasks" if token else "the tasks"
        warnings.append(
            f"listening on {host} without TLS: {secret} cross the network in clear (--tls-cert and --tls-key)"
        )
    return warnings


def _retention(status: str, keep: dt.timedelta | None) -> str:
    """How long finished tasks of ``status`` are kept, for the start-up lines."""
    if keep is None:
        return f"{status} tasks kept"
    if not keep:
        return f"{status} tasks deleted as soon as they end"
    return f"{status} tasks deleted {format_typed_duration(keep.total_seconds())} after they ended"


@app.callback(invoke_without_command=True, epilog=EPILOG)
def server(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to bind; loopback by default.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0 picks a free one).")] = 8000,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="SQLite database file, or :memory: for a throwaway server "
            "(default: eventix.sqlite3 in the platform's user data directory).",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help=f"Require Authorization: Bearer TOKEN on every request (env: {ENV_SERVER_TOKEN}, "
            f"or {ENV_SERVER_TOKEN}{FILE_SUFFIX} naming a file that holds it).",
            show_default=False,
        ),
    ] = None,
    cleanup_interval: Annotated[
        float,
        typer.Option(
            "--cleanup-interval",
            min=0.0,
            help="Seconds between cleanups (expired claims back to the queue, expired tasks and "
            "those past --keep-done/--keep-error deleted, free space given back); 0 turns "
            "cleanup off.",
        ),
    ] = 10.0,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error; debug adds an access log.")
    ] = "info",
    triggers_dir: Annotated[
        str | None,
        typer.Option(
            "--triggers",
            metavar="DIR",
            help="Directory of trigger files (*.yaml, upstream's format) that turn posted events "
            "into tasks (env: see above).",
            show_default=False,
        ),
    ] = None,
    trigger_time_limit: Annotated[
        float,
        typer.Option(
            "--trigger-time-limit",
            min=0.01,
            metavar="SECONDS",
            help="How long POST /event waits for an event's triggers; a trigger still running "
            "then is answered with 500 TriggersTooSlow, and the server goes on serving.",
        ),
    ] = 30.0,
    request_timeout: Annotated[
        float,
        typer.Option(
            "--request-timeout",
            min=0.01,
            metavar="SECONDS",
            help="How long a client has to send a whole request (head and body); a request "
            "still incomplete then is answered 408 and its connection closed.",
        ),
    ] = 60.0,
    keep_alive_timeout: Annotated[
        float,
        typer.Option(
            "--keep-alive-timeout",
            min=0.01,
            metavar="SECONDS",
            help="How long a connection may stay idle, before its first request or between two.",
        ),
    ] = 5.0,
    tls_cert: Annotated[
        str | None,
        typer.Option(
            "--tls-cert",
            metavar="FILE",
            help="Serve HTTPS with this certificate (PEM, the chain after it); needs --tls-key.",
            show_default=False,
        ),
    ] = None,
    tls_key: Annotated[
        str | None,
        typer.Option(
            "--tls-key", metavar="FILE", help="The certificate's private key (PEM).", show_default=False
        ),
    ] = None,
    max_connections: Annotated[
        int,
        typer.Option(
            "--max-connections",
            min=1,
            help="Open connections at most; a request on one more is answered 503.",
        ),
    ] = 512,
    durability: Annotated[
        str | None,
        typer.Option(
            "--durability",
            metavar="MODE",
            help="normal (the default): a power loss can undo the writes of the last seconds, "
            "never corrupt the file; a crash of the server loses nothing. full: every write "
            "is on disk before it is answered (2-4x fewer writes a second). No effect on :memory:.",
            show_default=False,
        ),
    ] = None,
    backup_dir: Annotated[
        str | None,
        typer.Option(
            "--backup-dir",
            metavar="DIR",
            help="Take scheduled backups of the database into DIR (off by default).",
            show_default=False,
        ),
    ] = None,
    backup_every: Annotated[
        str | None,
        typer.Option(
            "--backup-every",
            metavar="DURATION",
            help=f"Time between two backups in --backup-dir (default {BACKUP_EVERY}).",
            show_default=False,
        ),
    ] = None,
    backup_keep: Annotated[
        int | None,
        typer.Option(
            "--backup-keep",
            min=1,
            help=f"Backups kept in --backup-dir; older ones are removed (default {BACKUP_KEEP}).",
            show_default=False,
        ),
    ] = None,
    keep_done: Annotated[
        str | None,
        typer.Option(
            "--keep-done",
            metavar="DURATION",
            help="Delete done tasks this long after they ended, e.g. 7d (default: keep them; "
            "a task's own expires still applies).",
            show_default=False,
        ),
    ] = None,
    keep_error: Annotated[
        str | None,
        typer.Option(
            "--keep-error",
            metavar="DURATION",
            help="Delete error tasks this long after they ended (default: keep them).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the embedded Eventix server: every endpoint of the API, stored in SQLite.

    Nothing to install. Ctrl-C or SIGTERM stops it cleanly: requests in flight finish and the
    database is closed intact. The cleanup (--cleanup-interval) also deletes the tasks past
    --keep-done and --keep-error and gives their space back to the filesystem.

    --triggers can also come from EVENTIX_TRIGGER_CONFIG_DIRECTORY, upstream's variable.
    """
    if ctx.invoked_subcommand is not None:
        return
    # deferred: the server package brings fastapi, uvicorn and sqlite3, kept off `server --help`
    # (tests/test_startup.py)
    from eventix_cli.server import bind, check_tls, default_db_path, serve
    from eventix_cli.server.backup import BackupFailed, make_directory
    from eventix_cli.server.errors import StoreError
    from eventix_cli.server.store import DEFAULT_DURABILITY, DURABILITY
    from eventix_cli.server.upkeep import Retention

    try:
        level = parse_level(log_level)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    setup_logging(level)
    for name, seconds in (
        ("--trigger-time-limit", trigger_time_limit),
        ("--request-timeout", request_timeout),
        ("--keep-alive-timeout", keep_alive_timeout),
    ):
        if math.isnan(seconds):
            raise UsageError(f"{name} must be a number of seconds, got nan")
    durability = durability or DEFAULT_DURABILITY
    if durability not in DURABILITY:
        raise UsageError(f"--durability must be full or normal, got {durability!r}")
    retention = Retention(
        keep_done=None if keep_done is None else parse_duration(keep_done, "--keep-done"),
        keep_error=None if keep_error is None else parse_duration(keep_error, "--keep-error"),
    )
    if backup_dir is None:
        for name, given in (("--backup-every", backup_every), ("--backup-keep", backup_keep)):
            if given is not None:
                raise UsageError(f"{name} needs --backup-dir: name the directory the backups go to")
    backup_keep = backup_keep or BACKUP_KEEP
    every = parse_duration(backup_every or BACKUP_EVERY, "--backup-every").total_seconds()
    if every < 1:
        raise UsageError(f"--backup-every must be at least 1s, got {backup_every!r}")
    if token is not None and not token.strip():
        raise UsageError("--token '' would turn authentication off: give a token, or leave --token out")

    # deferred: the trigger command module (and task add's, which it imports) only to run, kept
    # off `server --help` (tests/test_startup.py)
    from eventix_cli.cli.commands.trigger import load_for_server

    triggers = load_for_server(triggers_dir)
    if (tls_cert is None) != (tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together: give both, or neither")
    if tls_cert is not None and tls_key is not None:
        try:
            check_tls(tls_cert, tls_key)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if backup_dir is not None:
        backup_dir = str(Path(backup_dir).expanduser().resolve())
        try:
            make_directory(backup_dir)
        except BackupFailed as exc:
            raise UsageError(f"--backup-dir: {exc}") from None
    token = token or secret_from_env(ENV_SERVER_TOKEN)
    if token is not None and not sendable_token(token):
        raise UsageError(
            "the server's token holds a line break, a control character or non-ASCII text: "
            "no client could send it in a header",
            hint=f"check --token and {ENV_SERVER_TOKEN}",
        )
    db_path = db or str(default_db_path())
    if db_path != ":memory:":
        db_path = str(Path(db_path).expanduser().resolve())
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"{'https' if tls_cert else 'http'}://{shown_host}:{bound_port}"

    def ready() -> None:
        output.message(f"eventix server listening on {url}")
        output.message(
            f"database: {db_path}" + ("" if db_path == ":memory:" else f" (durability {durability})")
        )
        if backup_dir is not None:
            output.message(
                f"backups: every {format_typed_duration(every)} into {backup_dir},"
                f" the newest {backup_keep} kept"
            )
        kept = (
            _retention(name, keep)
            for name, keep in (("done", retention.keep_done), ("error", retention.keep_error))
        )
        output.message(f"retention: {'; '.join(kept)}")
        if token:
            output.message("authentication: bearer token required")
        if host not in _LOOPBACK:
            for warning in exposure_warnings(host, token=bool(token), tls=bool(tls_cert)):
                output.warn(warning)
        output.message("press Ctrl-C to stop")

    try:
        serve(
            sock,
            db_path,
            token=token,
            cleanup_interval=cleanup_interval or None,
            log_level=log_level,
            on_ready=ready,
            triggers=triggers,
            trigger_time_limit=trigger_time_limit,
            request_timeout=request_timeout,
            keep_alive_timeout=keep_alive_timeout,
            max_connections=max_connections,
            tls_cert=tls_cert,
            tls_key=tls_key,
            durability=durability,
            retention=retention,
            backup_dir=backup_dir,
            backup_every=every,
            backup_keep=backup_keep,
        )
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    output.message("eventix server stopped")


@app.command("backup", epilog=BACKUP_EPILOG)
def backup(
    dest: Annotated[
        str,
        typer.Argument(
            metavar="DEST",
            help="The backup file to write (replaced if it exists); not a directory, "
            "nor the database or its -wal, -shm or -journal file.",
        ),
    ],
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="FILE",
            help="The server's database file (default: eventix.sqlite3 in the platform's user "
            "data directory).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Copy a server's database consistently, while the server runs and workers claim.

    The copy is checked (SQLite's integrity check) and written atomically: DEST is either the
    previous file or the whole new copy. A server started on it serves exactly its tasks.
    """
    # deferred: sqlite3 and the server package, kept off `server --help` (tests/test_startup.py)
    from eventix_cli.server import default_db_path
    from eventix_cli.server.backup import BackupFailed, destination_refusal
    from eventix_cli.server.backup import backup as take_backup

    source = Path(db or default_db_path()).expanduser()
    if str(source) == ":memory:":
        raise UsageError("a :memory: database lives in its server only: back up a database file")
    if not source.is_file():
        raise UsageError(f"no database file at {source}", hint="give the server's --db")
    target = Path(dest).expanduser()
    refusal = destination_refusal(source, target)
    if refusal is not None:
        raise UsageError(refusal)
    if not target.parent.is_dir():
        raise UsageError(f"no directory {target.parent} for the backup")
    output.message(f"backing up {source} ...")
    try:
        copy = take_backup(source, target)
    except BackupFailed as exc:
        raise WriteFailed(str(exc)) from None
    output.message(
        f"backup written: {copy.path} ({copy.tasks:,} task(s), {copy.bytes / 1e6:.1f} MB,"
        f" {copy.seconds:.1f} s)"
    )
