"""Huge task documents posted at once: what the embedded server's event-loop tests and
``benchmarks/event_loop.py`` put it through."""

from __future__ import annotations

import json
import threading

import httpx

from eventix_cli.core.task import Task


def huge_body(items: int = 600_000) -> bytes:
    """A task document of about 15 MB made of many small objects (costly to parse and encode),
    a new uid each."""
    doc = Task(task="huge", namespace="big").to_wire()
    doc["kwargs"] = {"items": [{"k": i, "v": "x"} for i in range(items)]}
    return json.dumps(doc).encode()


def posting(
    url: str, bodies: list[bytes], answers: list[int], timeout: float = 300
) -> list[threading.Thread]:
    """Threads, started, each posting one of ``bodies`` to ``url``/task; their status codes go
    to ``answers``."""

    def post(body: bytes) -> None:
        answer = httpx.post(
            url + "/task",
            content=body,
            headers={"content-type": "application/json"},
            timeout=timeout,
            trust_env=False,
        )
        answers.append(answer.status_code)

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    return threads
