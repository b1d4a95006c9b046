"""The metrics endpoint answers only at /metrics (and /): any other path is 404."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Counter

from eventix_cli.metrics.http import serve_registry


@pytest.fixture
def served():
    registry = CollectorRegistry()
    Counter("eventix_test_total", "a counter for the test", registry=registry).inc()
    server = serve_registry(registry, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.port}"
    server.close()


@pytest.mark.parametrize("path", ["/metrics", "/", "/metrics?name[]=eventix_test_total"])
def test_metrics_at_metrics_and_root(served, path) -> None:
    with urllib.request.urlopen(served + path, timeout=10) as answer:
        assert answer.status == 200
        assert b"eventix_test_total 1.0" in answer.read()


@pytest.mark.parametrize("path", ["/favicon.ico", "/admin", "/metrics/extra", "/metricsx"])
def test_any_other_path_is_404(served, path) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(served + path, timeout=10)
    assert caught.value.code == 404
    assert b"/metrics" in caught.value.read()
