"""Hostile and odd input, as real processes: one line on stderr, the documented exit code, no
traceback, and nothing sent where the input is at fault."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from eventix_cli.core.task import Task
from tests.support.cli_process import assert_one_error, run
from tests.support.hostile_servers import drip_server, recording_server
from tests.support.servers import PROXY_VARIABLES, REPO_ROOT

HTML = (200, "text/html", b"<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>")


@pytest.fixture
def server():
    """A server that must not be asked anything: every case below is refused before sending."""
    with recording_server((200, "application/json", b"{}")) as recorded:
        yield recorded


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (("task", "add", "x", "--kwargs", "@bad.json"), b"", "not UTF-8 text: byte 0xff"),
        (("task", "restore", "binary.dat"), b"", "not UTF-8 text"),
        (("task", "retry", "-", "--yes"), b"abc\xff\n", "not UTF-8 text: byte 0xff"),
        (("task", "cancel", "-", "--yes"), b"a" * 200_000 + b"\n", "(200,000 characters) is too long"),
        (("task", "add", "x", "--eta", "+99999999d"), b"", "--eta offset '99999999d' is too long"),
        (("task", "list", "--older-than", "99999999999d"), b"", "--older-than '99999999999d' is too long"),
        (("task", "list", "--limit", str(2**64)), b"", "integers must fit in 64 bits"),
        (("task", "add", "x", "--priority", str(2**63 + 1)), b"", "integers must fit in 64 bits"),
        (("task", "add", "x", "--kwargs", '{"a": NaN}'), b"", "--kwargs: NaN is not a JSON number"),
        (("task", "add", "x", "--args", "[Infinity]"), b"", "--args: Infinity is not a JSON number"),
        (("task", "add", "x", "--kwarg", "a=-Infinity"), b"", "-Infinity is not a JSON number"),
        (("task", "add", "x", "--args", "[1e999]"), b"", "1e999 is too large"),
        (("task", "show", ""), b"", "task id must not be empty"),
        (("task", "show", "x/y"), b"", "task id 'x/y' cannot name a task: it holds '/'"),
        (("task", "cancel", "x/y", "--yes"), b"", "task id 'x/y' cannot name a task: it holds '/'"),
        (("task", "retry", "-", "--yes"), b"ok\nx/y\n", "task id 'x/y' cannot name a task: it holds '/'"),
        (("task", "wait", "x/y"), b"", "task id 'x/y' cannot name a task: it holds '/'"),
        (("task", "list", "-n", ""), b"", "namespace must not be empty"),
        (("task", "list", "--task", ""), b"", "--task must not be empty"),
        (("task", "purge", "--status", "", "--yes"), b"", "--status needs at least one status"),
        (("task", "add", ""), b"", "name must not be empty"),
        (("task", "list", "--request-timeout", "nan"), b"", "request timeout must be between"),
        (("server", "--port", "0", "--trigger-time-limit", "nan"), b"", "--trigger-time-limit must be"),
    ],
    # short ids (the input's size, not the input): see test_json_nested_past_the_parser_...
    ids=lambda value: f"{len(value):,} bytes" if isinstance(value, bytes) else None,
)
def test_bad_input_is_one_line_exit_2_and_nothing_is_sent(server, tmp_path, args, stdin, expected) -> None:
    (tmp_path / "bad.json").write_bytes(b'{"a": "caf\xff"}')
    (tmp_path / "binary.dat").write_bytes(bytes(range(256)) * 8)
    proc = run(*args, url=server.url, tmp_path=tmp_path, stdin=stdin)
    assert_one_error(proc, 2, expected)
    assert server.requests == []


def test_empty_token_for_the_embedded_server_is_refused(tmp_path) -> None:
    proc = run("server", "--port", "0", "--db", ":memory:", "--token", "", url="", tmp_path=tmp_path)
    assert_one_error(proc, 2, "--token '' would turn authentication off")


@pytest.mark.parametrize("token", ["a\nb", "tab\there", "caf\u00e9"], ids=["newline", "tab", "non-ascii"])
def test_a_server_token_no_client_could_send_is_refused(tmp_path, token) -> None:
    proc = run("server", "--port", "0", "--db", ":memory:", "--token", token, url="", tmp_path=tmp_path)
    assert_one_error(proc, 2, "no client could send it in a header")


@pytest.mark.parametrize("args", [("task", "list"), ("ping",), ("task", "add", "x"), ("task", "show", "u1")])
def test_an_html_page_with_200_is_a_typed_error(tmp_path, args) -> None:
    with recording_server(HTML) as server:
        proc = run(*args, url=server.url, tmp_path=tmp_path)
    line = assert_one_error(proc, 5, "is not an Eventix document", "(InvalidResponse)")
    assert "Welcome to nginx" in line
    assert "is --url pointing at an Eventix server" in proc.stderr.decode()


def test_stdout_full_is_one_line_exit_1(tmp_path) -> None:
    with (
        recording_server((200, "application/json", b'{"status": "healthy", "version": "1"}')) as server,
        open("/dev/full", "wb") as full,
    ):
        proc = run("ping", "-o", "json", url=server.url, tmp_path=tmp_path, stdout=full)
    assert_one_error(proc, 1, "cannot write output: No space left on device", "(OSError)")


def test_stdout_closed_is_one_line_exit_1(tmp_path) -> None:
    with recording_server((200, "application/json", b'{"status": "healthy", "version": "1"}')) as server:
        proc = run("ping", url=server.url, tmp_path=tmp_path, stdout=None, preexec_fn=lambda: os.close(1))
    assert_one_error(proc, 1, "cannot write output: Bad file descriptor", "(OSError)")


def _page(count: int) -> bytes:
    tasks = [Task(uid=f"{i:032x}", task="t", namespace="n").to_wire() for i in range(count)]
    return json.dumps(
        {"data": {t["uid"]: t for t in tasks}, "ids": [t["uid"] for t in tasks], "max_results": count}
    ).encode()


def test_a_closed_pipe_ends_quietly(tmp_path) -> None:
    """`eventix task list -o jsonl | head -1`: no message, the exit status of a tool ended by SIGPIPE."""
    with recording_server((200, "application/json", _page(500))) as server:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("EVENTIX_") and k.upper() not in PROXY_VARIABLES
        }
        env |= {"EVENTIX_URL": server.url, "EVENTIX_CONFIG_DIR": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
        producer = subprocess.Popen(
            [sys.executable, "-m", "eventix_cli", "task", "list", "-o", "jsonl", "--limit", "500"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        first = producer.stdout.readline()  # what `head -1` reads
        producer.stdout.close()  # ... before it exits
        err = producer.stderr.read().decode()
        producer.wait(60)
    assert json.loads(first)["uid"] == f"{0:032x}"
    assert err == ""
    assert producer.returncode == 141


def test_an_ascii_terminal_gets_escapes_not_a_traceback(tmp_path) -> None:
    doc = Task(uid="u1", task="résumé ✓ 😀", namespace="n").to_wire()
    body = json.dumps({"data": {"u1": doc}, "ids": ["u1"], "max_results": 1}).encode()
    with recording_server((200, "application/json", body)) as server:
        table = run("task", "list", url=server.url, tmp_path=tmp_path, env={"PYTHONIOENCODING": "ascii"})
        as_json = run(
            "task", "list", "-o", "json", url=server.url, tmp_path=tmp_path, env={"PYTHONIOENCODING": "ascii"}
        )
    assert table.returncode == 0, table.stderr
    assert "r\\u00e9sum\\u00e9 \\u2713 \\ud83d\\ude00" in table.stdout.decode("ascii")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout.decode("ascii"))[0]["task"] == "résumé ✓ 😀"  # still exact JSON


def test_request_timeout_is_a_deadline_for_a_dripping_server(tmp_path) -> None:
    """A server that drips one byte every 0.5 s cannot keep `task list --request-timeout 2` waiting."""
    with drip_server(headers_too=True, interval=0.5) as url:
        started = time.monotonic()
        proc = run("task", "list", "--request-timeout", "2", url=url, tmp_path=tmp_path)
        elapsed = time.monotonic() - started
    assert_one_error(proc, 3, "no complete answer within 2s", "(ServerTimeout)")
    # the deadline, plus a margin for a process's start-up on a loaded machine: far short of
    # the whole answer (250 s)
    assert elapsed < 2 + 20


def test_a_deeply_nested_stored_task_is_read_by_every_reader(tmp_path) -> None:
    """Nested 230 deep (beyond the server's limit and pydantic's 200): list, show, dump, stats
    and top all read it."""
    nested: object = 1
    for _ in range(230):
        nested = [nested]
    doc = Task(uid="deep", task="t", namespace="n", kwargs={"k": nested}).to_wire()
    page = json.dumps({"data": {"deep": doc}, "ids": ["deep"], "max_results": 1}).encode()

    def answer(method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        if path.startswith("/task/"):
            return 200, "application/json", json.dumps(doc).encode()
        if path == "/namespaces":
            return 200, "application/json", b'{"namespaces": ["n"]}'
        return 200, "application/json", page

    with recording_server(answer) as server:
        for args in (
            ("task", "list", "-n", "n", "-o", "json"),
            ("task", "show", "deep", "-o", "json"),
            ("task", "dump", "-", "-n", "n"),
            ("stats", "-n", "n", "-o", "json"),
            ("top", "-n", "n", "--once", "-o", "json"),
        ):
            proc = run(*args, url=server.url, tmp_path=tmp_path)
            assert proc.returncode == 0, (args, proc.stderr.decode())
            assert b"Traceback" not in proc.stderr
        shown = run("task", "show", "deep", "-o", "json", url=server.url, tmp_path=tmp_path)
    assert json.loads(shown.stdout)["kwargs"]["k"] == nested


def test_a_worker_fails_a_task_whose_result_no_server_can_store(embedded_url, namespace, tmp_path) -> None:
    """The client refuses integers beyond 64 bits; the worker stores that as the task's error
    instead of losing the write-back (and the task staying processing)."""
    (tmp_path / "bigresult.py").write_text("def big():\n    return 2**70\n")
    proc = run("task", "add", "big", "-n", namespace, "--no-retry", url=embedded_url, tmp_path=tmp_path)
    uid = proc.stdout.decode().strip()
    worker = run(
        "worker", "-n", namespace, "--tasks", "bigresult:big", "--burst", url=embedded_url, tmp_path=tmp_path
    )
    assert worker.returncode == 0, worker.stderr.decode()
    assert b"Traceback" not in worker.stderr
    shown = json.loads(run("task", "show", uid, "-o", "json", url=embedded_url, tmp_path=tmp_path).stdout)
    assert shown["status"] == "error"
    assert shown["result"]["error_class"] == "ResultNotStorable"
    assert "result = 1180591620717411303424" in shown["result"]["error_message"]


def test_an_unexpected_error_is_one_line_and_a_pointer_to_debug(cli, monkeypatch) -> None:
    def broken(self):
        raise RuntimeError("boom")

    monkeypatch.setattr("eventix_cli.client.api.EventixClient.health", broken)
    result = cli("ping", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: internal error: boom (RuntimeError)",
        "hint: this is a bug in eventix; run again with --debug for the traceback and report it",
    ]
    result = cli("--debug", "ping", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "error: internal error: boom (RuntimeError)" in result.stderr


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (("task", "add", "x", "--kwargs", "-"), b'{"a": ' + DEEP + b"}"),
        (("task", "add", "--from", "-"), b'{"task": "x", "kwargs": {"a": ' + DEEP + b"}}\n"),
        (("event", "post", "e", "--payload", "-"), b'{"a": ' + DEEP + b"}"),
        (("task", "restore", "-", "--yes"), b'{"uid": "u", "kwargs": {"a": ' + DEEP + b"}}\n"),
    ],
    # short ids: pytest puts the test's id in PYTEST_CURRENT_TEST, which the child process
    # inherits, and an id holding the 200 KB input is over the kernel's limit for one variable
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else f"{len(value):,} bytes",
)
def test_json_nested_past_the_parser_is_one_line_exit_2(server, tmp_path, args, stdin) -> None:
    # Python's JSON parser gives up (RecursionError) far below what a file can hold
    proc = run(*args, url=server.url, tmp_path=tmp_path, stdin=stdin)
    assert_one_error(proc, 2, "nested too deeply")
    assert server.requests == []


def test_yaml_nested_past_the_parser_is_a_problem_of_its_trigger_file(cli, tmp_path) -> None:
    (tmp_path / "deep.yaml").write_text("triggers: " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = cli("trigger", "check", str(tmp_path))
    assert result.exit_code == 2, result.stderr
    assert "deep.yaml: nested too deeply" in result.stdout
    assert result.stderr.startswith("error: 1 problem(s) in")
