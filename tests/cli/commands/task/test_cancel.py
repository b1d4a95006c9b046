"""``eventix task cancel``: each way of naming tasks (ids, stdin, unique key, filter), its dry
run and its refusals."""

from __future__ import annotations

import re

import pytest

from eventix_cli.core.task import TaskStatus
from tests.support.tasks import seed, statuses


def test_ids_and_a_filter_together_are_refused(cli, embedded_url, namespace) -> None:
    task = seed(embedded_url, namespace)[0]
    result = cli("task", "cancel", task.uid, "--task", "job", "--url", embedded_url, "-n", namespace)
    assert result.exit_code == 2
    assert "error: give task ids, --unique-key or filter options, not several (UsageError)" in result.stderr
    assert task.uid in statuses(embedded_url, namespace)


def test_a_dry_run_by_id_counts_and_changes_nothing(cli, embedded_url, namespace) -> None:
    tasks = seed(embedded_url, namespace, 2)
    result = cli("task", "cancel", *(t.uid for t in tasks), "--dry-run", "--url", embedded_url)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "dry run: would cancel 2 task(s) by id; nothing was changed\n"
    assert result.stdout == ""
    assert len(statuses(embedded_url, namespace)) == 2


def test_ids_from_stdin_are_confirmed_first(cli, embedded_url, namespace) -> None:
    tasks = seed(embedded_url, namespace, 2)
    ids = "".join(f"{t.uid}\n" for t in tasks)
    refused = cli("task", "cancel", "-", "--url", embedded_url, input=ids)
    assert refused.exit_code == 2
    assert "refusing to change tasks without confirmation: not on a terminal" in refused.stderr
    assert len(statuses(embedded_url, namespace)) == 2
    done = cli("task", "cancel", "-", "--yes", "--url", embedded_url, input=ids)
    assert done.exit_code == 0, done.stderr
    assert statuses(embedded_url, namespace) == {}


def test_no_ids_on_stdin_is_bad_input(cli, embedded_url) -> None:
    result = cli("task", "cancel", "-", "--yes", "--url", embedded_url, input="\n# nothing\n")
    assert result.exit_code == 2
    assert "error: no task ids given (UsageError)" in result.stderr


def test_a_dry_run_by_unique_key_names_the_pending_task(cli, embedded_url, namespace) -> None:
    pending = seed(embedded_url, namespace, unique_key="inv:1")[0]
    result = cli("task", "cancel", "-k", "inv:1", "--dry-run", "--url", embedded_url, "-n", namespace)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"dry run: would cancel task {pending.uid} (scheduled); nothing was changed\n"


def test_by_unique_key_only_force_reaches_a_processing_task(cli, embedded_url, namespace) -> None:
    running = seed(embedded_url, namespace, unique_key="rep:2", status=TaskStatus.processing, worker_id="w")[
        0
    ]
    args = ("task", "cancel", "-k", "rep:2", "--dry-run", "--url", embedded_url, "-n", namespace)
    plain = cli(*args)
    assert plain.exit_code == 0, plain.stderr
    assert f"nothing to cancel: task {running.uid} with unique key 'rep:2' is processing" in plain.stderr
    forced = cli(*args, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert f"would cancel task {running.uid} (processing)" in forced.stderr


def test_a_filter_cancels_only_pending_tasks(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, 2)
    running = seed(embedded_url, namespace, status=TaskStatus.processing, worker_id="w")[0]
    finished = seed(embedded_url, namespace, status=TaskStatus.done)[0]
    result = cli("task", "cancel", "--task", "job", "--yes", "--url", embedded_url, "-n", namespace)
    assert result.exit_code == 0, result.stderr
    assert statuses(embedded_url, namespace) == {running.uid: "processing", finished.uid: "done"}


def test_a_filter_on_statuses_cancel_does_not_touch_is_refused_with_a_hint(
    cli, embedded_url, namespace
) -> None:
    seed(embedded_url, namespace, status=TaskStatus.done)
    base = ("task", "cancel", "--yes", "--url", embedded_url, "-n", namespace)
    done = cli(*base, "--status", "done")
    assert done.exit_code == 2
    assert done.stderr.splitlines() == [
        "error: cannot cancel tasks in done (UsageError)",
        "hint: finished tasks are deleted with `eventix task purge`",
    ]
    running = cli(*base, "--status", "processing,scheduled")
    assert running.exit_code == 2
    assert running.stderr.splitlines() == [
        "error: cannot cancel tasks in processing (UsageError)",
        "hint: --force also cancels processing tasks",
    ]
    assert len(statuses(embedded_url, namespace)) == 1


def _words(stderr: str) -> str:
    return re.sub(r" in [0-9.]+s\b", " in Ns", stderr)


@pytest.mark.parametrize("status", [TaskStatus.done, TaskStatus.error])
def test_unique_key_exact_glob_and_id_say_the_same_of_a_finished_task(cli, server, namespace, status) -> None:
    done = seed(server.url, namespace, unique_key="inv:1", status=status)[0]
    base = ("task", "cancel", "-n", namespace, "--url", server.url, "--yes")
    by_id = cli(*base, done.uid)
    exact = cli(*base, "--unique-key", "inv:1")
    glob = cli(*base, "--unique-key", "inv:*")
    assert by_id.exit_code == exact.exit_code == glob.exit_code == 1
    assert _words(exact.stderr) == _words(by_id.stderr) == _words(glob.stderr)
    assert f"task {done.uid} has already run (status {status.value})" in glob.stderr
    assert done.uid in statuses(server.url, namespace)


def test_a_second_cancel_of_a_gone_task_says_so_in_one_line_as_show_and_retry_do(
    cli, server, namespace
) -> None:
    task = seed(server.url, namespace)[0]
    base = ("--url", server.url, "-n", namespace)
    assert cli("task", "cancel", task.uid, *base).exit_code == 0
    again = cli("task", "cancel", task.uid, *base)
    assert again.stderr == f"error: task {task.uid} not found (NotFound)\n"
    assert again.exit_code == 4
    assert again.stdout == ""
    show = cli("task", "show", task.uid, *base)
    retry = cli("task", "retry", task.uid, *base)
    assert (show.exit_code, show.stderr) == (retry.exit_code, retry.stderr) == (4, again.stderr)


def test_ids_some_of_which_are_gone_are_a_partial_failure_naming_each(cli, embedded_url, namespace) -> None:
    kept = seed(embedded_url, namespace)[0]
    gone = "0" * 32
    result = cli("task", "cancel", kept.uid, gone, "--url", embedded_url, "-n", namespace)
    assert result.exit_code == 1
    assert f"  {gone}: task {gone} not found\n" in result.stderr
    assert statuses(embedded_url, namespace) == {}


def test_an_id_with_a_slash_is_bad_input_one_line_and_exit_2(cli, embedded_url, namespace) -> None:
    # no task has such an id (its uid is one segment of /task/{uid}): refused as the input's
    # fault before anything is sent (tests/cli/test_hostile_input.py), not a task not found
    base = ("--url", embedded_url, "-n", namespace)
    expected = (
        "error: task id 'x/y' cannot name a task: it holds '/', which no /task/{uid} path can carry"
        " (UnsendableValue)\n"
    )
    for command in ("show", "cancel", "retry"):
        result = cli("task", command, "x/y", *base)
        assert (result.exit_code, result.stderr) == (2, expected), command
