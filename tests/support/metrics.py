"""Scrape a Prometheus endpoint and parse it with prometheus_client's own parser."""

from __future__ import annotations

import threading
import urllib.request
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from eventix_cli.client.api import EventixClient

# loopback only, never through a proxy; built once (building one loads a TLS context, ~20 ms)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def scrape(url: str, timeout: float = 5.0) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample at ``url``: ``{(name, frozenset(labels.items())): value}``."""
    with _OPENER.open(url, timeout=timeout) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


class CountingClient(EventixClient):
    """An EventixClient that records every request it sends: (method, path, response bytes)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[str, str, int]] = []
        self._count_lock = threading.Lock()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = super().request(method, path, **kwargs)
        with self._count_lock:
            self.sent.append((method, path, len(response.content)))
        return response
