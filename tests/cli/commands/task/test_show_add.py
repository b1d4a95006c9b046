"""``eventix task show`` and ``eventix task add``."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import TaskStatus
from eventix_cli.core.times import utcnow
from tests.support.tasks import failed, seed, statuses


def test_show_every_field_and_error(cli, server, namespace) -> None:
    task = failed(server.url, namespace, task="import_csv", unique_key="imp:1", priority=-3)[0]
    result = cli("task", "show", task.uid, "--url", server.url)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    fields_part, error_part = out.split("\n\n", 1)
    fields = dict([*line.split(None, 1), ""][:2] for line in fields_part.splitlines())
    assert fields["uid"] == task.uid
    assert fields["priority"] == "3 (stored -3)"
    assert fields["status"] == "error"
    assert "result" not in fields  # the error is rendered below instead of as JSON
    assert out.splitlines()[0].startswith(f"uid{' ' * 13}")  # keys aligned
    assert error_part.startswith("Task error\nclass    ValueError\nmessage  bad input 42\n\nTraceback")
    assert 'File "job.py", line 3' in out
    raw = json.loads(cli("task", "show", task.uid, "--url", server.url, "-o", "json").stdout)
    assert raw == task.to_wire()


@pytest.mark.parametrize("width", [80, 120])
def test_show_of_a_failed_task_reads_as_the_task_s_own_error(cli, embedded_url, namespace, width) -> None:
    worker_frame = (
        '  File "/app/.venv/lib/python3.13/site-packages/eventix_cli/worker/attempt.py", line 88, in run\n'
    )
    result = {
        "error_class": "ConnectionError",
        "error_message": "smtp refused",
        "error_traceback": [
            "Traceback (most recent call last):\n",
            worker_frame + "    value = function(*args, **kwargs)\n",
            '  File "/app/billing/tasks.py", line 41, in send_invoice\n'
            '    raise ConnectionError("smtp refused")\n',
            "ConnectionError: smtp refused\n",
        ],
    }
    eta = utcnow() - dt.timedelta(minutes=3)
    task = seed(
        embedded_url, namespace, task="send_invoice", status=TaskStatus.error, result=result, eta=eta
    )[0]
    shown = cli.terminal("task", "show", task.uid, "--url", embedded_url, columns=width)
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert not any(line.startswith(("error:", "warning:")) for line in lines)  # shaped like ours: stderr only
    assert "Task error" in lines
    assert "class    ConnectionError" in lines
    assert "message  smtp refused" in lines
    assert "eventix_cli/worker" not in shown.stdout
    assert '  File "/app/billing/tasks.py", line 41, in send_invoice' in lines
    assert "(1 frame(s) of the eventix worker left out)" in lines
    eta_line = next(line for line in lines if line.startswith("eta "))
    assert eta_line.endswith("(3m ago)")
    assert "\033[" not in shown.stdout  # NO_COLOR
    coloured = cli.terminal("task", "show", task.uid, "--url", embedded_url, columns=80, color=True).stdout
    assert "\033[31merror\033[0m" in coloured
    assert "\033[1mTask error\033[0m" in coloured
    assert "\033[" not in cli("task", "show", task.uid, "--url", embedded_url).stdout  # a pipe


def test_show_by_unique_key_and_not_found(cli, server, namespace) -> None:
    task = seed(server.url, namespace, unique_key="rep:9")[0]
    result = cli("task", "show", "--unique-key", "rep:9", "-n", namespace, "--url", server.url, "-o", "jsonl")
    assert json.loads(result.stdout)["uid"] == task.uid
    missing = cli("task", "show", "0" * 32, "--url", server.url)
    assert missing.exit_code == 4
    assert missing.stderr == f"error: task {'0' * 32} not found (NotFound)\n"
    assert cli("task", "show", "--url", server.url).exit_code == 2


def test_add_arguments_and_priority(cli, server, namespace, tmp_path) -> None:
    params = tmp_path / "p.json"
    params.write_text('{"from_file": [1, 2]}')
    result = cli(
        "task",
        "add",
        "send",
        "--url",
        server.url,
        "-n",
        namespace,
        "--arg",
        "5",
        "--arg",
        "hello",
        "--arg",
        '{"a": 1}',
        "--kwargs",
        f"@{params}",
        "--kwarg",
        "flag=true",
        "--kwarg",
        "name=x=y",
        "--priority",
        "7",
        "--max-retries",
        "2",
        "--eta",
        "+1h",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["args"] == [5, "hello", {"a": 1}]
    assert doc["kwargs"] == {"from_file": [1, 2], "flag": True, "name": "x=y"}
    assert doc["priority"] == -7  # stored negated
    assert doc["max_retries"] == 2
    assert doc["namespace"] == namespace
    assert doc["operator"].startswith("eventix-cli:")
    with EventixClient(server.url) as client:
        stored = client.get_task(doc["uid"])
    assert 3500 < (stored.eta - stored.created_time).total_seconds() < 3700


def test_add_prints_uid_and_reads_stdin(cli, server, namespace) -> None:
    result = cli("task", "add", "job", "--url", server.url, "-n", namespace, "--args", "-", input="[1, [2]]")
    assert result.exit_code == 0
    uid = result.stdout.strip()
    assert len(uid) == 32
    with EventixClient(server.url) as client:
        assert client.get_task(uid).args == [1, [2]]


def test_add_unique_key_updates_pending(cli, server, namespace) -> None:
    first = cli("task", "add", "job", "--url", server.url, "-n", namespace, "-k", "k1", "--arg", "1").stdout
    second = cli("task", "add", "job", "--url", server.url, "-n", namespace, "-k", "k1", "--arg", "2").stdout
    assert first == second
    with EventixClient(server.url) as client:
        assert client.get_task(first.strip()).args == [2]


def test_add_bad_input_sends_nothing(cli, server, namespace) -> None:
    cases = [
        (["--kwargs", "{broken"], "--kwargs: invalid JSON"),
        (["--args", '{"a": 1}'], "--args must be a JSON array"),
        (["--kwarg", "novalue"], "expected KEY=VALUE"),
        (["--eta", "next tuesday"], "invalid time 'next tuesday'"),
        (["--eta", "+5 minutes"], "invalid --eta offset"),
        (["--kwargs", "@/nonexistent/file.json"], "cannot read /nonexistent/file.json"),
    ]
    for args, message in cases:
        result = cli("task", "add", "job", "--url", server.url, "-n", namespace, *args)
        assert result.exit_code == 2, (args, result.stderr)
        assert message in result.stderr
        assert len(result.stderr.splitlines()) == 1
    with EventixClient(server.url) as client:
        assert client.count(namespace=namespace) == 0


def _complete_soon(url: str, namespace: str, status: TaskStatus, result=None) -> threading.Thread:
    def work() -> None:
        with EventixClient(url) as client:
            for _ in range(200):
                task = client.next_scheduled("test-worker", namespace)
                if task is not None:
                    task = task.to_task()
                    task.status = status
                    task.result = result
                    task.worker_id = None
                    client.put_task(task.to_wire())
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_add_wait_done(cli, server, namespace) -> None:
    worker = _complete_soon(server.url, namespace, TaskStatus.done, result=42)
    result = cli(
        "task", "add", "job", "--url", server.url, "-n", namespace, "--wait", "--timeout", "20", "-o", "json"
    )
    worker.join()
    assert result.exit_code == 0, result.stderr
    [doc] = json.loads(result.stdout)
    assert doc["status"] == "done"
    assert doc["result"] == 42


def test_wait_error_exit_1_and_timeout_124(cli, server, namespace) -> None:
    bad = failed(server.url, namespace)[0]
    ok = seed(server.url, namespace, status=TaskStatus.done)[0]
    result = cli("task", "wait", ok.uid, bad.uid, "--url", server.url, "-o", "ids")
    assert result.exit_code == 1
    assert result.stdout.split() == [ok.uid, bad.uid]
    assert f"error: task {bad.uid} (job) failed: ValueError: bad input 42" in result.stderr
    pending = seed(server.url, namespace)[0]
    result = cli("task", "wait", pending.uid, "--url", server.url, "--timeout", "0.3")
    assert result.exit_code == 124
    assert "error: timed out after 0.3s: 1 task(s) not finished (WaitTimeout)\n" in result.stderr
    result = cli("task", "wait", "-", "--url", server.url, input=f"{ok.uid}\n\n")
    assert result.exit_code == 0
    missing = cli("task", "wait", "f" * 32, "--url", server.url)
    assert missing.exit_code == 4


def test_add_refuses_before_sending(cli, embedded_url, namespace) -> None:
    """Each of these is exit 2 with the value the user typed (or the limit) named, and no task
    is sent."""
    base = ("task", "add", "x", "--url", embedded_url, "-n", namespace)
    huge = cli(*base, "--priority", "99999999999999999999")
    assert huge.exit_code == 2
    assert "--priority 99999999999999999999" in huge.stderr
    assert "-99999999999999999999" not in huge.stderr
    both = cli(*base, "--no-retry", "--max-retries", "3")
    assert both.exit_code == 2
    assert "--no-retry" in both.stderr
    assert "--max-retries" in both.stderr
    deep = cli(*base, "--kwargs", '{"a": ' + "[" * 99 + "]" * 99 + "}")
    assert deep.exit_code == 2
    assert "--kwargs" in deep.stderr
    assert "100 levels" in deep.stderr
    assert statuses(embedded_url, namespace) == {}


def test_add_with_a_unique_key_says_when_it_updated_a_pending_task(cli, server, namespace) -> None:
    base = ("task", "add", "report", "--unique-key", "rep:7", "--url", server.url, "-n", namespace)
    first = cli(*base)
    assert first.exit_code == 0, first.stderr
    assert first.stderr == ""
    second = cli(*base, "--kwarg", "v=2")
    assert second.exit_code == 0, second.stderr
    assert second.stdout == first.stdout  # the same task's uid
    uid = first.stdout.strip()
    assert second.stderr == (f"updated pending task {uid} with unique key 'rep:7' instead of adding one\n")
    assert len(statuses(server.url, namespace)) == 1
