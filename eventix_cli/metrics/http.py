"""Serving a Prometheus registry over HTTP, for ``eventix exporter`` and ``eventix worker``.

A thin wrapper over ``prometheus_client.start_http_server`` (its threaded WSGI server, which
also negotiates OpenMetrics and gzip) that reports the bound port and stops cleanly.
prometheus_client is imported only when a server is started, so nothing else pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import threading

    from prometheus_client.registry import CollectorRegistry

LOOPBACK = "127.0.0.1"


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
    from prometheus_client import start_http_server

    httpd, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(host, httpd.server_address[1], httpd, thread)
