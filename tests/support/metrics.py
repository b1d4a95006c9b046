"""Scrape a Prometheus endpoint and parse it with prometheus_client's own parser."""

from __future__ import annotations

import os

import httpx
from prometheus_client.parser import text_string_to_metric_families

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def scrape(url: str, timeout: float = 5.0) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample at ``url``: ``{(name, frozenset(labels.items())): value}``."""
    response = httpx.get(url, timeout=timeout, trust_env=False)
    response.raise_for_status()
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without proxy variables (loopback only), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in PROXY_VARIABLES}
    return {**env, **extra}
