"""Helpers to put tasks into a server in a given state for command tests."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from eventix_cli.client.api import EventixClient
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow
from eventix_cli.core.view import TaskView
from eventix_cli.server.store import TaskStore


def seed(url: str, namespace: str, count: int = 1, **fields: Any) -> list[TaskView]:
    """Store ``count`` tasks with ``fields`` (status, created_time, ... as given)."""
    fields.setdefault("task", "job")
    with EventixClient(url) as client:
        return [client.post_task(Task(namespace=namespace, **fields).to_wire()) for _ in range(count)]


def seed_db(path: Path, namespace: str, count: int, **fields: Any) -> set[str]:
    """``count`` tasks written straight into a database file (fast: no HTTP)."""
    store = TaskStore(path)
    uids: set[str] = set()
    try:
        for _ in range(count):
            uids.add(store.post(Task(task="job", namespace=namespace, **fields).to_wire())["uid"])
    finally:
        store.close()
    return uids


def post(url: str, namespace: str, name: str, *args: Any, **fields: Any) -> TaskView:
    """Store one task ``name(*args)`` with ``fields`` as given."""
    with EventixClient(url) as client:
        return client.post_task(Task(task=name, namespace=namespace, args=list(args), **fields).to_wire())


def post_once(url: str, namespace: str, name: str, *args: Any, **fields: Any) -> TaskView:
    """Store one task that is not retried unless ``fields`` say so: its first outcome is final."""
    fields.setdefault("retry", False)
    return post(url, namespace, name, *args, **fields)


def get(url: str, uid: str) -> TaskView:
    with EventixClient(url) as client:
        return client.get_task(uid)


def stored(url: str, namespace: str) -> dict[str, TaskView]:
    """Every task of ``namespace`` by uid."""
    with EventixClient(url) as client:
        return {t.uid: t for t in client.iter_tasks(namespace=namespace)}


def failed(url: str, namespace: str, count: int = 1, **fields: Any) -> list[TaskView]:
    result = {
        "error_class": "ValueError",
        "error_message": "bad input 42",
        "error_status_code": 500,
        "error_traceback": [
            "Traceback (most recent call last):\n",
            '  File "job.py", line 3\n',
            "ValueError: bad input 42\n",
        ],
        "error_payload": {},
    }
    return seed(url, namespace, count, status=TaskStatus.error, result=result, **fields)


def ago(**delta: float) -> dt.datetime:
    return utcnow() - dt.timedelta(**delta)


def statuses(url: str, namespace: str) -> dict[str, str]:
    with EventixClient(url) as client:
        return {t.uid: t.status.value for t in client.iter_tasks(namespace=namespace)}


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
