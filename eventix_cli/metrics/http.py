"""Serving a Prometheus registry over HTTP, for ``eventix exporter`` and ``eventix worker``.

prometheus_client's WSGI app (``make_wsgi_app``: it negotiates OpenMetrics and gzip) behind
a path check, on the standard library's WSGI server with a thread per request; it reports
the bound port and stops cleanly. The app answers at ``/metrics`` and ``/``; every other path
is 404 (``start_http_server`` served the metrics at any path). prometheus_client is imported
only when a server is started, so nothing else pays for it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

LOOPBACK = "127.0.0.1"

#: the paths that answer with the metrics
METRICS_PATHS = ("/metrics", "/")

_App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def only_metrics_paths(app: _App) -> _App:
    """``app`` at :data:`METRICS_PATHS`; 404 with a pointer to /metrics anywhere else."""

    def routed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (environ.get("PATH_INFO") or "/") in METRICS_PATHS:
            return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: the metrics are at /metrics\n"]

    return routed


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress never holds the process at exit


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None  # no access log on stderr for every scrape


@dataclass
class MetricsServer:
    """A running ``/metrics`` endpoint; :meth:`close` stops it and frees the port."""

    host: str
    port: int
    _httpd: Any
    _thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


def serve_registry(registry: CollectorRegistry, host: str = LOOPBACK, port: int = 0) -> MetricsServer:
    """Serve ``registry`` on ``host:port`` (0 picks a free port) in a background thread.

    Raises OSError when the address cannot be bound.
    """
    # deferred: prometheus_client only to serve, kept off a worker without --metrics-port
    # (tests/test_startup.py)
    from prometheus_client import make_wsgi_app

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("MetricsHTTPServer", (_ThreadingServer,), {"address_family": family})
    app = only_metrics_paths(make_wsgi_app(registry))
    httpd = make_server(host, port, app, server_class=server_class, handler_class=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return MetricsServer(host, httpd.server_address[1], httpd, thread)
