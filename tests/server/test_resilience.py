"""The embedded server under stress it must not pass on: a slow listing never stalls other
requests, a bad database file is one line at start, an error leaves the connection usable."""

from __future__ import annotations

import http.client
import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eventix_cli.core.task import Task
from eventix_cli.server import patterns
from eventix_cli.server.errors import StoreError
from eventix_cli.server.patterns import regexp_match
from eventix_cli.server.store import TaskStore
from tests.support.servers import REPO_ROOT, free_port, serving_in_thread

# -- a hostile $regex leaves the server answering -------------------------------------------------


@pytest.mark.parametrize(
    ("field", "pattern", "value"),
    [
        # catastrophic backtracking for a backtracking engine: seconds per row
        ("unique_key", "^(a+)+$", "a" * 30 + "!"),
        # costly for any engine (a big automaton over a long text): the listing takes a while
        ("kwargs.blob", "((a|b){50}){10}z", "ab" * 300_000),
    ],
    ids=["backtracking", "long-scan"],
)
def test_hostile_regex_leaves_healthz_answering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field, pattern, value
) -> None:
    """A listing busy matching a $regex holds no other request: ``/healthz`` and a claim
    answer meanwhile. Load-independent: the first match of the listing is held until they
    have answered; the hostile pattern then runs on every row, in linear time."""
    from eventix_cli.server import store as store_module

    matching, answered = threading.Event(), threading.Event()
    held: list[bool] = []

    def held_match(pattern: str, flags: str, value: object) -> bool:
        if not held:
            matching.set()
            held.append(answered.wait(30))  # the match lasts until the others have answered
        return regexp_match(pattern, flags, value)

    monkeypatch.setattr(store_module, "SQL_FUNCTIONS", (("regexp_match", 3, held_match),))
    store = TaskStore(tmp_path / "regex.sqlite3")
    store.post(Task(task="t", namespace="other").to_wire())
    try:
        with serving_in_thread(store) as url, httpx.Client(base_url=url, trust_env=False, timeout=30) as http:
            for i in range(6):
                doc = Task(task="r", namespace="regex", unique_key=f"k{i}").to_wire()
                if field == "unique_key":
                    doc["unique_key"] = value + str(i)
                else:
                    doc["kwargs"] = {"blob": value}
                assert http.post("/task", json=doc).status_code == 200
            answer: dict[str, httpx.Response] = {}

            def hostile() -> None:
                body = {"filter": {field: {"$regex": pattern}}}
                answer["r"] = httpx.put(url + "/tasks/by_status", json=body, timeout=60, trust_env=False)

            busy = threading.Thread(target=hostile)
            busy.start()
            assert matching.wait(30), "the listing never matched a row"
            health = http.get("/healthz")
            claim = http.get("/tasks/next_scheduled", params={"worker_id": "w", "namespace": "other"})
            answered.set()
            released = time.perf_counter()
            busy.join(60)
            assert not busy.is_alive()
            assert held == [True], "the others answered only once the held match gave up"
            assert health.status_code == 200, health.text
            assert claim.status_code == 200, claim.text
            assert claim.json()["status"] == "processing"
            assert answer["r"].status_code == 200, answer["r"].text
            assert answer["r"].json()["max_results"] == 0
            if field == "unique_key":  # linear time: no row takes seconds any more (a hang detector)
                assert time.perf_counter() - released < 10
    finally:
        answered.set()
        store.close()


def test_regex_cache_is_bounded_and_options_follow_mongodb() -> None:
    store = TaskStore(":memory:")
    try:
        for text in ("Alpha\nbeta", "gamma", "x y"):
            store.post(Task(task=text, namespace="opts").to_wire())

        def names(pattern: str, options: str = "") -> list[str]:
            f = {"namespace": "opts", "task": {"$regex": pattern, "$options": options}}
            return sorted(json.loads(doc)["task"] for _uid, doc in store.query(f)[0])

        assert names("^alpha") == []
        assert names("^alpha", "i") == ["Alpha\nbeta"]
        assert names("^beta") == []
        assert names("^beta", "m") == ["Alpha\nbeta"]
        assert names("a.b") == []
        assert names("a.b", "s") == ["Alpha\nbeta"]
        assert names("g a m # a comment\n m a", "x") == ["gamma"]
        assert names("g\\ a", "x") == []  # an escaped space stays
        assert names("x [ ] y", "x") == ["x y"]  # so does a space in a class
        for i in range(10 * patterns.REGEX_CACHE_SIZE):
            store.query({"task": {"$regex": f"distinct-{i}-" + "x" * 1000}})
        assert patterns._compile.cache_info().currsize <= patterns.REGEX_CACHE_SIZE
    finally:
        store.close()


def test_a_listing_past_its_time_limit_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    from eventix_cli.server import store as store_module
    from eventix_cli.server.errors import QueryTooSlow

    store = TaskStore(":memory:")
    try:
        store.insert_all(Task(task="slow", kwargs={"n": i}).to_wire() for i in range(3000))
        monkeypatch.setattr(store_module, "QUERY_TIME_LIMIT", 0.0)  # every listing is too slow
        with pytest.raises(QueryTooSlow):  # stopped by SQLite's progress handler
            store.query({"kwargs.n": {"$gte": 0}})
        small = TaskStore(":memory:")
        try:
            small.post(Task(task="slow").to_wire())
            with pytest.raises(QueryTooSlow):  # stopped before the next $regex match
                small.query({"task": {"$regex": "^slow"}})
        finally:
            small.close()
        monkeypatch.setattr(store_module, "QUERY_TIME_LIMIT", 30.0)
        assert store.query({"kwargs.n": {"$gte": 0}, "task": {"$regex": "^slow"}}, limit=1)[1] == 3000
    finally:
        store.close()


# -- database files --------------------------------------------------------------------------------


def _serve(db: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "eventix_cli", "server", "--port", str(free_port()), "--db", db]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)


def _bad_databases(tmp_path: Path) -> Iterator[tuple[str, str]]:
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"not a database at all\n" * 400)
    yield "corrupt", str(corrupt)
    good = tmp_path / "good.sqlite3"
    store = TaskStore(good)
    for _ in range(2000):
        store.post(Task(task="t", kwargs={"pad": "p" * 300}).to_wire())
    store.close()
    truncated = tmp_path / "truncated.sqlite3"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    yield "truncated", str(truncated)
    parent = tmp_path / "a-file"
    parent.write_text("x")
    yield "parent is a file", str(parent / "eventix.sqlite3")
    yield "a directory", str(tmp_path)


def test_bad_database_files_are_one_line_and_exit_2(tmp_path: Path) -> None:
    for what, db in _bad_databases(tmp_path):
        proc = _serve(db)
        assert proc.returncode == 2, (what, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, (what, proc.stderr)
        assert lines[0].startswith("error: cannot use database"), (what, lines)
        if what == "parent is a file":
            assert "a-file is not a directory" in lines[0]
        assert "Traceback" not in proc.stderr


def test_read_only_database_is_refused_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "ro.sqlite3"
    TaskStore(db).close()
    real_connect = sqlite3.connect

    def read_only(database, *args, **kwargs):  # what a file without write permission gives
        return real_connect(database.partition("?")[0] + "?mode=ro", *args, **kwargs)

    monkeypatch.setattr("eventix_cli.server.store.sqlite3.connect", read_only)
    with pytest.raises(StoreError, match=r"readonly|read-only|unable to open"):
        TaskStore(db)


# -- the connection after an error ----------------------------------------------------------------


class _Failing(TaskStore):
    def namespaces(self) -> list[str]:
        raise RuntimeError("the disk went away")

    def claim(self, worker_id: str, namespace: str, lease: int = 300):
        raise sqlite3.OperationalError("database is locked")

    def put(self, uid: str, doc: dict):
        raise sqlite3.OperationalError("disk I/O error")


@pytest.fixture
def failing_server() -> Iterator[int]:
    store = _Failing(":memory:")
    try:
        with serving_in_thread(store) as url:
            yield int(url.rpartition(":")[2])
    finally:
        store.close()


def test_after_a_500_the_kept_alive_connection_still_works(failing_server: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", failing_server, timeout=10)
    try:
        conn.request("GET", "/namespaces")
        r = conn.getresponse()
        body = r.read()
        assert r.status == 500
        assert b"RuntimeError" in body
        closing = (r.getheader("connection") or "").lower() == "close"
        if closing:  # a server may end the connection, but then it must say so
            conn.close()
        conn.request("GET", "/version")
        r = conn.getresponse()
        assert r.status == 200
        r.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/tasks/next_scheduled?worker_id=w&namespace=n", None),
        ("PUT", "/task/t1", b'{"task": "x", "namespace": "n"}'),
    ],
)
def test_an_unexpected_error_in_a_claim_or_write_back_is_a_500_with_its_detail(
    failing_server: int, method: str, path: str, body: bytes | None
) -> None:
    # answered on the fast path as the routes answer it: the error's class and message in
    # the body, and the kept-alive connection carries the next request
    conn = http.client.HTTPConnection("127.0.0.1", failing_server, timeout=10)
    try:
        for _ in range(2):
            conn.request(method, path, body=body, headers={"content-type": "application/json"})
            r = conn.getresponse()
            detail = json.loads(r.read())["detail"]
            assert r.status == 500
            assert detail["error_class"] == "OperationalError"
            assert detail["error_message"] in ("database is locked", "disk I/O error")
            assert detail["error_traceback"] is None  # no traceback in an answer (the log has it)
            assert (r.getheader("connection") or "").lower() != "close"
        conn.request("GET", "/version")
        r = conn.getresponse()
        assert r.status == 200
        r.read()
    finally:
        conn.close()


def test_a_refused_oversized_body_says_connection_close(failing_server: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", failing_server, timeout=10)
    try:
        conn.putrequest("POST", "/task")
        conn.putheader("content-type", "application/json")
        conn.putheader("content-length", str(64 * 1024 * 1024))
        conn.endheaders()
        r = conn.getresponse()
        r.read()
        assert r.status == 413
        assert r.getheader("connection") == "close"
    finally:
        conn.close()


def test_an_oversized_body_sent_whole_gets_its_413_on_a_reusable_connection(failing_server: int) -> None:
    # the body is read and dropped before the answer: closing on unread data would reset the
    # connection, and the client would see "connection reset" instead of the 413
    from eventix_cli.server.app import DEFAULT_MAX_BODY

    body = b'{"task": "' + b"x" * (DEFAULT_MAX_BODY + 1024) + b'"}'
    conn = http.client.HTTPConnection("127.0.0.1", failing_server, timeout=30)
    try:
        conn.request("PUT", "/task/big", body=body, headers={"content-type": "application/json"})
        r = conn.getresponse()
        r.read()
        assert r.status == 413
        assert r.getheader("connection") != "close"
        conn.request("GET", "/healthz")
        again = conn.getresponse()
        assert again.status == 200, again.read()
    finally:
        conn.close()
