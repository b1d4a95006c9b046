"""The embedded dev server: the Eventix API on SQLite. No Typer, no rich: a library."""

from __future__ import annotations

import functools
import logging
import signal
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import uvicorn
from platformdirs import user_data_dir

from eventix_cli.server.app import create_app
from eventix_cli.server.backup import BackupSchedule
from eventix_cli.server.protocol import REQUEST_TIMEOUT, HttpProtocol
from eventix_cli.server.store import DEFAULT_DURABILITY, TaskStore
from eventix_cli.server.upkeep import Retention

log = logging.getLogger(__name__)

DB_FILENAME = "eventix.sqlite3"
#: seconds between two checkpoints of the database's write-ahead log
CHECKPOINT_INTERVAL = 10.0
#: seconds a connection may stay idle (before a request, or between two)
KEEP_ALIVE_TIMEOUT = 5.0
#: open connections at most; a request on one more is answered 503 and the connection closed
MAX_CONNECTIONS = 512
#: seconds requests in flight get to finish after SIGTERM/SIGINT (docs/deploy/ units wait longer)
GRACEFUL_SHUTDOWN = 10


def default_db_path() -> Path:
    return Path(user_data_dir("eventix", appauthor=False)) / DB_FILENAME


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; raises ``OSError`` (e.g. address in use) before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted sockets only when it does,
    # and without it every response waits ~40 ms for a delayed ACK (Nagle)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def check_tls(certfile: str, keyfile: str) -> None:
    """Raise ``ValueError`` with one line when the certificate chain and key cannot serve TLS
    (a missing file, not PEM, a key that does not match): checked before the server starts,
    as uvicorn would only fail once it has begun."""
    for what, path in (("certificate", certfile), ("key", keyfile)):
        if not Path(path).is_file():
            raise ValueError(f"cannot serve TLS: {what} file {path}: no such file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
        raise ValueError(
            f"cannot serve TLS with certificate {certfile} and key {keyfile}: they must be a PEM "
            f"certificate and its own private key ({reason})"
        ) from None


def keep_checkpointing(store: TaskStore, interval: float, stop: threading.Event) -> None:
    """Checkpoint ``store`` every ``interval`` seconds until ``stop`` is set (a thread's
    target: a checkpoint may wait for listings, never on the event loop)."""
    while not stop.wait(interval):
        try:
            store.checkpoint()
        except Exception:
            log.exception("checkpoint of the write-ahead log failed; retrying in %.0fs", interval)


class Server(uvicorn.Server):
    """uvicorn's server, minus re-raising SIGTERM/SIGINT after the graceful shutdown: we
    still have the database to close, and a clean stop exits 0."""

    def handle_exit(self, sig: int, frame: object) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


def serve(
    sock: socket.socket,
    db: str,
    *,
    token: str | None = None,
    cleanup_interval: float | None = 10.0,
    log_level: str = "info",
    on_ready: Callable[[], None] | None = None,
    triggers: object = None,
    trigger_time_limit: float = 30.0,
    request_timeout: float = REQUEST_TIMEOUT,
    keep_alive_timeout: float = KEEP_ALIVE_TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
    checkpoint_interval: float = CHECKPOINT_INTERVAL,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    durability: str = DEFAULT_DURABILITY,
    retention: Retention | None = None,
    backup_dir: str | None = None,
    backup_every: float = 3600.0,
    backup_keep: int = 24,
) -> None:
    """Run the server on ``sock`` until SIGINT/SIGTERM; in-flight requests finish, the database
    is checkpointed and closed. A client has ``request_timeout`` seconds to send a whole
    request, a connection may stay idle ``keep_alive_timeout`` seconds, and at most
    ``max_connections`` are open at once (see :mod:`eventix_cli.server.protocol`). Meanwhile the
    write-ahead log is checkpointed and truncated every ``checkpoint_interval`` seconds, so it
    stays bounded whatever the listings. ``durability`` is SQLite's ``synchronous`` setting
    (:data:`~eventix_cli.server.store.DURABILITY`); the cleanup deletes finished tasks past their
    ``retention``; with ``backup_dir``, a backup is taken there every ``backup_every`` seconds
    and the newest ``backup_keep`` are kept. With ``tls_cert`` and ``tls_key`` (PEM files, see
    :func:`check_tls`) it speaks HTTPS only."""
    store = TaskStore(db, durability=durability)
    stop_threads = threading.Event()
    threads = [
        threading.Thread(
            target=keep_checkpointing,
            args=(store, checkpoint_interval, stop_threads),
            name="checkpoints",
            daemon=True,
        )
    ]
    backups = None
    if backup_dir is not None:
        backups = BackupSchedule(store.file, backup_dir, backup_every, backup_keep)
        threads.append(
            threading.Thread(target=backups.run, args=(stop_threads,), name="backups", daemon=True)
        )
    for thread in threads:
        thread.start()
    try:
        app = create_app(
            store,
            token=token,
            cleanup_interval=cleanup_interval,
            triggers=triggers,
            trigger_time_limit=trigger_time_limit,
            retention=retention,
            backups=backups,
        )
        config = uvicorn.Config(
            app,
            # httptools, each answer in one write, the request bounded
            http=functools.partial(HttpProtocol, request_timeout=request_timeout),  # type: ignore[arg-type]
            timeout_keep_alive=keep_alive_timeout,  # type: ignore[arg-type]
            limit_concurrency=max_connections,
            log_level=log_level.lower(),
            access_log=log_level.lower() == "debug",
            log_config=None,  # logging is configured by setup_logging, not by uvicorn
            lifespan="on",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
            ssl_certfile=tls_cert,
            ssl_keyfile=tls_key,
        )
        server = Server(config)
        if on_ready is not None:
            on_ready()
        server.run(sockets=[sock])
    finally:
        stop_threads.set()
        for thread in threads:
            thread.join()  # a backup under way ends first: the database stays open for it
        store.close()
        log.info("database %s closed", db)
