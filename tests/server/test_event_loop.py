"""The embedded server's event loop never waits: not on a huge body being parsed, validated
and encoded, not on a database lock held by another process. ``/healthz`` and claims keep
answering meanwhile."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from eventix_cli.core.task import Task
from eventix_cli.server.store import StoreBusy, TaskStore
from tests.support.servers import running_server

#: generous for a loaded machine; today's server takes 5 s (an external lock) before it
#: answers again
ANSWER_BOUND = 1.5
#: the longest wait for an answer while huge bodies are handled, as a share of the time they
#: take: today the event loop handles them, every other request waits for all of one (about
#: 3 s on an idle machine); off the loop the wait is one C call at most (a parse, an
#: encoding: 0.4 s). A share, because the machine's load stretches both alike.
HUGE_BODY_SHARE = 0.3


def _huge_body(items: int = 600_000) -> bytes:
    """A task document of about 15 MB made of many small objects (costly to parse and encode)."""
    doc = Task(task="huge", namespace="big").to_wire()
    doc["kwargs"] = {"items": [{"k": i, "v": "x"} for i in range(items)]}
    return json.dumps(doc).encode()


def _timed_while(
    url: str, busy: list[threading.Thread], path: str, minimum: int = 3, locked_is_unhealthy: bool = False
) -> list[float]:
    """Latencies of GET ``path`` (expected 200 or 204), asked while any of ``busy`` runs; with
    ``locked_is_unhealthy``, a 503 that names the held lock is the truthful answer too."""
    latencies: list[float] = []
    with httpx.Client(base_url=url, trust_env=False, timeout=60) as probe:
        while (any(t.is_alive() for t in busy) or len(latencies) < minimum) and len(latencies) < 400:
            started = time.perf_counter()
            answer = probe.get(path)
            if locked_is_unhealthy and answer.status_code == 503:
                assert "locked" in answer.json()["reason"], answer.text
            else:
                assert answer.status_code in (200, 204), answer.text
            latencies.append(time.perf_counter() - started)
            time.sleep(0.02)
    return latencies


def test_huge_bodies_leave_healthz_and_claims_answering(tmp_path: Path) -> None:
    bodies = [_huge_body(), _huge_body()]
    assert len(bodies[0]) > 14_000_000
    with running_server("embedded", tmp_path) as srv:
        answers: list[int] = []
        started = time.perf_counter()

        def post(body: bytes) -> None:
            answer = httpx.post(
                srv.url + "/task",
                content=body,
                headers={"content-type": "application/json"},
                timeout=120,
                trust_env=False,
            )
            answers.append(answer.status_code)

        posting = [threading.Thread(target=post, args=(body,)) for body in bodies]
        for thread in posting:
            thread.start()
        claims: list[float] = []
        claiming = threading.Thread(
            target=lambda: claims.extend(
                _timed_while(srv.url, posting, "/tasks/next_scheduled?worker_id=w&namespace=other")
            )
        )
        claiming.start()
        healthz = _timed_while(srv.url, posting, "/healthz")
        claiming.join(120)
        for thread in posting:
            thread.join(120)
        took = time.perf_counter() - started
        assert answers == [200, 200]
        assert max(healthz) < HUGE_BODY_SHARE * took, (took, healthz)
        assert max(claims) < HUGE_BODY_SHARE * took, (took, claims)


def test_an_external_write_lock_leaves_healthz_answering_and_claims_waiting_aside(tmp_path: Path) -> None:
    db = tmp_path / "locked.sqlite3"
    with running_server("embedded", tmp_path, extra_args=["--db", str(db)]) as srv:
        with httpx.Client(base_url=srv.url, trust_env=False, timeout=30) as http:
            assert http.post("/task", json=Task(task="t", namespace="locked").to_wire()).status_code == 200
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            claimed: list[httpx.Response] = []

            def claim() -> None:
                claimed.append(
                    httpx.get(
                        srv.url + "/tasks/next_scheduled?worker_id=w&namespace=locked",
                        timeout=60,
                        trust_env=False,
                    )
                )

            claimer = threading.Thread(target=claim)
            claimer.start()
            holding = threading.Thread(target=time.sleep, args=(2.0,))  # the lock is held this long
            holding.start()
            healthz = _timed_while(srv.url, [holding], "/healthz", locked_is_unhealthy=True)
            assert max(healthz) < ANSWER_BOUND, healthz
            assert claimer.is_alive(), claimed[0].text  # the claim waits for the lock, aside
        finally:
            other.execute("ROLLBACK")
            other.close()
        claimer.join(30)
        assert claimed[0].status_code == 200, claimed[0].text
        assert claimed[0].json()["status"] == "processing"


def test_the_store_never_waits_on_an_event_loop_and_a_thread_waits_beside_readers(tmp_path: Path) -> None:
    db = tmp_path / "locked.sqlite3"
    store = TaskStore(db)
    try:
        store.post(Task(task="t", namespace="locked").to_wire())
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")

        async def on_a_loop() -> float:
            started = time.monotonic()
            with pytest.raises(StoreBusy):
                store.claim("w", "locked")
            return time.monotonic() - started

        assert asyncio.run(on_a_loop()) < 0.5  # today: "database is locked" after 5 s
        # a thread waits for the lock while another thread reads on the store meanwhile (as
        # the event loop answers /healthz): the waiting write is not disturbed
        reading = threading.Event()

        def read() -> None:
            while not reading.is_set():
                store.db.execute("SELECT 1").fetchone()

        reader = threading.Thread(target=read)
        reader.start()
        releaser = threading.Timer(0.5, lambda: other.execute("ROLLBACK"))
        releaser.start()
        try:
            claimed = store.claim("w", "locked")
        finally:
            reading.set()
            reader.join(10)
            releaser.join(10)
            other.close()
        assert claimed is not None
        assert claimed["status"] == "processing"
    finally:
        store.close()
