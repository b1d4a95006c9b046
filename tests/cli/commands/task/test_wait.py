"""``eventix task wait`` and ``task add --wait`` with failing tasks (issue 11)."""

from __future__ import annotations

import time

from eventix_cli.core.task import TaskStatus
from tests.support.tasks import failed, seed


def test_a_failed_attempt_ends_the_wait_at_once(cli, server, namespace) -> None:
    # retries are unlimited by default, so a failing task sits in `retry`: the wait must not
    # sit out its timeout on it
    task = failed(server.url, namespace, task="send_invoice")[0]
    with_retry = seed(
        server.url,
        namespace,
        task="send_invoice",
        status=TaskStatus.retry,
        result=task.result,
        max_retries=None,
    )[0]
    started = time.monotonic()
    result = cli("task", "wait", with_retry.uid, "--url", server.url, "--timeout", "20", "-o", "ids")
    assert time.monotonic() - started < 10
    assert result.exit_code == 1, result.stderr
    assert result.stdout.split() == [with_retry.uid]
    assert (
        f"error: task {with_retry.uid} (send_invoice) failed an attempt: ValueError: bad input 42 "
        "(it will be retried; retries left: unlimited)"
    ) in result.stderr
    assert "--until-final" in result.stderr


def test_until_final_waits_through_retries(cli, server, namespace) -> None:
    task = failed(server.url, namespace)[0]
    retrying = seed(server.url, namespace, status=TaskStatus.retry, result=task.result)[0]
    result = cli("task", "wait", retrying.uid, "--url", server.url, "--timeout", "0.3", "--until-final")
    assert result.exit_code == 124
    assert result.stderr.startswith("error: timed out after 0.3s")
    final = cli("task", "wait", task.uid, "--url", server.url, "--until-final")
    assert final.exit_code == 1


def test_add_wait_exits_on_the_first_failed_attempt(cli, embedded_url, namespace) -> None:
    import threading

    from eventix_cli.client.api import EventixClient

    def fail_it() -> None:
        with EventixClient(embedded_url) as client:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                claimed = client.next_scheduled("w1", namespace)
                if claimed is not None:
                    claimed = claimed.to_task()
                    claimed.status = TaskStatus.retry
                    claimed.worker_id = None
                    claimed.result = {"error_class": "KeyError", "error_message": "'invoice'"}
                    client.put_task(claimed.to_wire())
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=fail_it)
    thread.start()
    result = cli("task", "add", "job", "--url", embedded_url, "-n", namespace, "--wait", "--timeout", "30")
    thread.join()
    assert result.exit_code == 1
    assert "failed an attempt: KeyError: 'invoice'" in result.stderr


def test_wait_takes_a_namespace(cli, embedded_url, namespace) -> None:
    task = seed(embedded_url, namespace, status=TaskStatus.done)[0]
    assert cli("task", "wait", task.uid, "--url", embedded_url, "-n", namespace).exit_code == 0
    elsewhere = cli("task", "wait", task.uid, "--url", embedded_url, "-n", f"{namespace}-other")
    assert elsewhere.exit_code == 4
    assert f"not found in namespace {namespace}-other" in elsewhere.stderr


def test_wait_shows_the_result_short_and_on_one_line(cli, embedded_url, namespace) -> None:
    result = {
        "sent": True,
        "to": "accounts@example.com",
        "note": "line one\nline two\x1b[31m",
        "n": list(range(40)),
    }
    done = seed(embedded_url, namespace, task="send_invoice", status=TaskStatus.done, result=result)[0]
    for width in (80, 120):
        shown = cli.terminal("task", "wait", done.uid, "--url", embedded_url, columns=width)
        assert shown.exit_code == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert len(lines) == 2
        assert lines[0].split()[-1] == "RESULT"
        assert all(len(line) <= width for line in lines), lines
        assert '{"sent": true' in lines[1]
        assert "\x1b" not in shown.stdout
    piped = cli("task", "wait", done.uid, "--url", embedded_url).stdout
    assert '{"sent": true, "to": "accounts@example.com", "note": "line …' in piped
    assert "…" in piped  # short even in a pipe: -o json has it whole
    add = cli(
        "task", "add", "send_invoice", "--url", embedded_url, "-n", namespace, "--wait", "--timeout", "0.5"
    )
    assert "RESULT" not in add.stdout  # nothing done, no result column
