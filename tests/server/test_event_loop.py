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
from eventix_cli.server.offloop import LARGE_BODY
from eventix_cli.server.rows import StoredDoc
from eventix_cli.server.store import StoreBusy, TaskStore
from tests.support.huge import huge_body, posting
from tests.support.servers import running_server, serving_in_thread

#: /healthz answers asked while another process holds the write lock (and a claim waits for
#: it); each may wait HEALTH_LOCK_LIMIT for the lock before it answers
HEALTHZ_PROBES = 3


def _answered_while(url: str, busy: list[threading.Thread], path: str, minimum: int = 3) -> int:
    """How many GET ``path`` (each answered 200 or 204) were asked while any of ``busy`` ran
    (and at least ``minimum``)."""
    answered = 0
    with httpx.Client(base_url=url, trust_env=False, timeout=60) as probe:
        while (any(t.is_alive() for t in busy) or answered < minimum) and answered < 400:
            answer = probe.get(path)
            assert answer.status_code in (200, 204), answer.text
            answered += 1
            time.sleep(0.02)
    return answered


def _assert_healthz_truthful(answer: httpx.Response) -> None:
    """Healthy, or unhealthy because the write lock is held (the truth while another process
    holds it)."""
    if answer.status_code == 503:
        assert "locked" in answer.json()["reason"], answer.text
    else:
        assert answer.status_code == 200, answer.text


def test_huge_bodies_leave_healthz_and_claims_answering(tmp_path: Path) -> None:
    """Everything answers, truthfully, while two 15 MB documents are stored: ``/healthz`` says
    healthy (the server's own writes holding the lock are the database being written), and
    claims of another namespace answer. How long they wait is a benchmark's figure
    (``./dev bench event_loop``): a bound here would hang on the machine's load."""
    bodies = [huge_body(), huge_body()]
    assert len(bodies[0]) > 14_000_000
    with running_server("embedded", tmp_path) as srv:
        answers: list[int] = []
        posts = posting(srv.url, bodies, answers, timeout=120)
        claims: list[int] = []
        claiming = threading.Thread(
            target=lambda: claims.append(
                _answered_while(srv.url, posts, "/tasks/next_scheduled?worker_id=w&namespace=other")
            )
        )
        claiming.start()
        healthz = _answered_while(srv.url, posts, "/healthz")  # each answer 200, none 503
        claiming.join(120)
        for thread in posts:
            thread.join(120)
        assert answers == [200, 200]
        assert claims  # each answered 204 (nothing due in that namespace)
        assert healthz


class _HeldStore(TaskStore):
    """A store whose posts of namespace ``big`` wait, before they write, until released."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.posting = threading.Event()
        self.release = threading.Event()

    def post(self, doc: dict) -> StoredDoc:
        if doc.get("namespace") == "big":
            self.posting.set()
            self.release.wait(60)
        return super().post(doc)


@pytest.mark.parametrize("size", [LARGE_BODY + 1, None], ids=["large", "chunked"])
def test_a_request_with_a_large_body_is_handled_beside_the_event_loop(
    tmp_path: Path, size: int | None
) -> None:
    """Whatever holds a large request (here its store write, held until released) holds no
    other request: ``/healthz`` and claims answer meanwhile. Load-independent: the held
    request is released only after they have answered."""
    store = _HeldStore(tmp_path / "held.sqlite3")
    store.post(Task(task="t", namespace="other").to_wire())
    try:
        with serving_in_thread(store) as url:
            try:
                doc = Task(task="held", namespace="big").to_wire()
                doc["kwargs"] = {"pad": "x" * (size or LARGE_BODY)}
                body = json.dumps(doc).encode()
                content = body if size is not None else iter([body[:1000], body[1000:]])  # chunked: no length
                posted: list[int] = []
                poster = threading.Thread(
                    target=lambda: posted.append(
                        httpx.post(
                            url + "/task",
                            content=content,
                            headers={"content-type": "application/json"},
                            timeout=90,
                            trust_env=False,
                        ).status_code
                    )
                )
                poster.start()
                assert store.posting.wait(30)
                with httpx.Client(base_url=url, trust_env=False, timeout=20) as probe:
                    health = probe.get("/healthz")
                    claim = probe.get(
                        "/tasks/next_scheduled", params={"worker_id": "w", "namespace": "other"}
                    )
                store.release.set()
                poster.join(60)
                assert health.status_code == 200, health.text
                assert claim.status_code == 200, claim.text
                assert claim.json()["status"] == "processing"
                assert posted == [200]
            finally:
                store.release.set()
    finally:
        store.close()


class _WatchedStore(TaskStore):
    """A store that tells when a claim is asked of it in a thread (off the event loop)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.claiming_in_a_thread = threading.Event()

    def claim(self, *args, **kwargs):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.claiming_in_a_thread.set()
        return super().claim(*args, **kwargs)


def test_an_external_write_lock_leaves_healthz_answering_and_claims_waiting_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the database's write lock: a claim waits for it in a thread, and
    ``/healthz`` answers meanwhile. Load-independent: the lock is held until ``/healthz`` has
    answered, with the claim waiting all along (its wait made longer than any test's)."""
    from eventix_cli.server import store as store_module

    monkeypatch.setattr(store_module, "BUSY_TIMEOUT", 300.0)
    db = tmp_path / "locked.sqlite3"
    store = _WatchedStore(db)
    store.post(Task(task="t", namespace="locked").to_wire())
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    try:
        with serving_in_thread(store) as url:
            other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            claimed: list[httpx.Response] = []

            def claim() -> None:
                claimed.append(
                    httpx.get(
                        url + "/tasks/next_scheduled?worker_id=w&namespace=locked",
                        timeout=120,
                        trust_env=False,
                    )
                )

            claimer = threading.Thread(target=claim)
            claimer.start()
            try:
                # a claim that waited on the event loop would never get here: it would hold
                # the loop, and every answer, until the lock was released
                assert store.claiming_in_a_thread.wait(30), "the claim never went to a thread"
                with httpx.Client(base_url=url, trust_env=False, timeout=60) as probe:
                    for _ in range(HEALTHZ_PROBES):
                        _assert_healthz_truthful(probe.get("/healthz"))
                assert claimer.is_alive(), claimed[0].text  # the claim waits for the lock, aside
            finally:
                other.execute("ROLLBACK")
            claimer.join(60)
        assert claimed[0].status_code == 200, claimed[0].text
        assert claimed[0].json()["status"] == "processing"
    finally:
        other.close()
        store.close()


def test_the_store_never_waits_on_an_event_loop_and_a_thread_waits_beside_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eventix_cli.server import store as store_module

    db = tmp_path / "locked.sqlite3"
    store = TaskStore(db)
    try:
        store.post(Task(task="t", namespace="locked").to_wire())
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")

        async def on_a_loop() -> None:
            with pytest.raises(StoreBusy):
                store.claim("w", "locked")

        # on a loop the store never pauses to try again (load-independent: its pauses counted)
        paused: list[float] = []
        with monkeypatch.context() as patched:
            patched.setattr(store_module.time, "sleep", paused.append)
            asyncio.run(on_a_loop())
        assert paused == []  # today: pauses between tries, "database is locked" after 5 s
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


@pytest.mark.parametrize("unique_key", [None, "same"], ids=["new", "unique-key"])
def test_a_document_is_encoded_before_the_write_lock_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unique_key: str | None
) -> None:
    """Encoding a 15 MB document takes seconds on a loaded machine; a claim of another
    namespace never waits for it, only for SQLite's own work. Load-independent: the encoding
    of the posted document is held until the claim has answered."""
    from eventix_cli.server import store as store_module

    store = TaskStore(tmp_path / "encode.sqlite3")
    try:
        store.post(Task(task="t", namespace="other").to_wire())
        if unique_key is not None:
            store.post(Task(task="t", namespace="big", unique_key=unique_key).to_wire())
        encoding, claimed = threading.Event(), threading.Event()
        held: list[bool] = []
        revise = store_module.revise

        def held_revise(doc: dict) -> None:
            if doc.get("namespace") == "big":
                encoding.set()
                held.append(claimed.wait(30))  # the encoding lasts until the claim has answered
            revise(doc)

        monkeypatch.setattr(store_module, "revise", held_revise)
        posted: list[str] = []
        poster = threading.Thread(
            target=lambda: posted.append(
                store.post(Task(task="huge", namespace="big", unique_key=unique_key).to_wire())["uid"]
            )
        )
        poster.start()
        assert encoding.wait(10)
        got = store.claim("w", "other")
        claimed.set()
        poster.join(30)
        assert got is not None
        assert got["status"] == "processing"
        assert held == [True], "the claim waited for the encoding of another document"
        assert len(posted) == 1
        if unique_key is not None:  # merged into the pending task with the same key
            assert json.loads(store.get(posted[0]))["task"] == "t"
            assert store.status_counts().get("scheduled", 0) == 1
    finally:
        store.close()
