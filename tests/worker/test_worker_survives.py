"""Real worker processes against real servers: whatever a task does, every task ends with a
stored outcome, nothing stays processing, and the worker goes on (or exits non-zero)."""

from __future__ import annotations

from eventix_cli.core.task import TaskStatus
from tests.support.tasks import post_once, stored
from tests.support.workers import WorkerProcess, misbehaving_tasks_args

#: misbehaviour -> the error class its attempt is stored with
MISBEHAVING = {
    "calls_sys_exit": "SystemExit",
    "raises_keyboard_interrupt": "KeyboardInterrupt",
    "raises_system_exit": "SystemExit",
    "raises_base_exception": "Meltdown",
    "raises_unprintable": "Unprintable",
    "returns_object": "ResultNotStorable",
    "returns_bad_bytes": "ResultNotStorable",
    "returns_deep": "ResultNotStorable",
}


def test_misbehaving_tasks_interleaved_with_ordinary_ones(server, namespace, tmp_path) -> None:
    expected: dict[str, tuple[str, object]] = {}
    for i, (name, error_class) in enumerate(MISBEHAVING.items()):
        bad = post_once(server.url, namespace, name)
        expected[bad.uid] = ("error", error_class)
        good = post_once(server.url, namespace, "ok", i)
        expected[good.uid] = ("done", i * 2)
    # a thread killed inside the worker (not by a task's exception): replaced, its task rerun
    sabotage = post_once(server.url, namespace, "kill_next_thread")
    expected[sabotage.uid] = ("done", "sabotaged")
    for i in range(100, 103):
        expected[post_once(server.url, namespace, "ok", i).uid] = ("done", i * 2)

    worker = WorkerProcess(
        server.url, namespace, tmp_path, [*misbehaving_tasks_args(), "--burst", "--concurrency", "2"]
    )
    assert worker.wait(90) == 0, worker.log()
    log = worker.log()

    tasks = stored(server.url, namespace)
    assert set(tasks) == set(expected), log
    for uid, (status, detail) in expected.items():
        task = tasks[uid]
        assert task.status.value == status, (task.task, task.status, task.result, log)
        assert task.worker_expires is None
        if status == "done":
            assert task.result == detail
        else:
            assert task.error.error_class == detail, (task.task, task.result)
    unprintable = next(t for t in tasks.values() if t.task == "raises_unprintable")
    assert "str() of Unprintable failed" in unprintable.error.error_message
    assert any("raise Unprintable" in line for line in unprintable.error.error_traceback)
    bad_bytes = next(t for t in tasks.values() if t.task == "returns_bad_bytes")
    assert "cannot be stored" in bad_bytes.error.error_message
    assert "task thread task-" in log
    assert "died" in log
    assert "replaced task thread" in log
    assert "burst done" in log


def test_result_over_the_body_limit_is_stored_as_an_error(embedded_url, namespace, tmp_path) -> None:
    huge = post_once(embedded_url, namespace, "returns_huge", 17)
    after = post_once(embedded_url, namespace, "ok", 5)
    worker = WorkerProcess(embedded_url, namespace, tmp_path, [*misbehaving_tasks_args(), "--burst"])
    assert worker.wait(90) == 0, worker.log()
    tasks = stored(embedded_url, namespace)
    assert tasks[huge.uid].status == TaskStatus.error
    assert tasks[huge.uid].error.error_class == "ResultNotStorable"
    assert "exceeds" in tasks[huge.uid].error.error_message  # the server's 413 reason
    assert (tasks[after.uid].status, tasks[after.uid].result) == (TaskStatus.done, 10)


def test_unstorable_result_follows_the_retry_rules(embedded_url, namespace, tmp_path) -> None:
    task = post_once(embedded_url, namespace, "returns_object", retry=True, max_retries=3)
    worker = WorkerProcess(embedded_url, namespace, tmp_path, [*misbehaving_tasks_args(), "--burst"])
    assert worker.wait(60) == 0, worker.log()
    again = stored(embedded_url, namespace)[task.uid]
    assert (again.status, again.max_retries, again.error.error_class) == (
        TaskStatus.retry,
        2,
        "ResultNotStorable",
    )


def test_threads_that_keep_dying_make_the_worker_exit_1(embedded_url, namespace, tmp_path) -> None:
    post_once(embedded_url, namespace, "kill_every_thread")
    victims = [post_once(embedded_url, namespace, "ok", i) for i in range(10)]
    worker = WorkerProcess(
        embedded_url, namespace, tmp_path, [*misbehaving_tasks_args(), "--burst", "--concurrency", "2"]
    )
    assert worker.wait(60) == 1, worker.log()
    log = worker.log()
    assert "giving up" in log
    tasks = stored(embedded_url, namespace)
    assert not [t for t in tasks.values() if t.status == TaskStatus.processing], log
    # what the dead threads held went back to the queue, untouched (the other thread may have
    # run one before the sabotage took effect)
    states = [tasks[v.uid].status for v in victims]
    assert set(states) <= {TaskStatus.scheduled, TaskStatus.done}
    assert states.count(TaskStatus.scheduled) >= len(victims) - 3


def test_burst_ends_even_when_a_task_leaves_a_thread_running(embedded_url, namespace, tmp_path) -> None:
    task = post_once(embedded_url, namespace, "leaves_a_thread_running")
    worker = WorkerProcess(embedded_url, namespace, tmp_path, [*misbehaving_tasks_args(), "--burst"])
    assert worker.wait(30) == 0, worker.log()
    assert "1 thread(s) started by tasks still run (left-behind)" in worker.log()
    assert stored(embedded_url, namespace)[task.uid].result == "left"


def test_a_tasks_keyboard_interrupt_fails_it_a_real_sigint_stops_gracefully(
    embedded_url, namespace, tmp_path
) -> None:
    import signal

    from tests.support.workers import wait_for

    interrupted = post_once(embedded_url, namespace, "raises_keyboard_interrupt")
    marker = tmp_path / "started"
    running = post_once(embedded_url, namespace, "sleep_with_marker", 1.0, str(marker), priority=1)
    worker = WorkerProcess(
        embedded_url, namespace, tmp_path, [*misbehaving_tasks_args(), "--poll-interval", "0.05"]
    )
    wait_for(marker.exists, what=worker.log)
    assert worker.process.poll() is None  # the task's KeyboardInterrupt did not stop the worker
    worker.signal(signal.SIGINT)
    assert worker.wait(30) == 0, worker.log()  # graceful: the running task finished first
    tasks = stored(embedded_url, namespace)
    assert tasks[interrupted.uid].error.error_class == "KeyboardInterrupt"
    assert (tasks[running.uid].status, tasks[running.uid].result) == (TaskStatus.done, "finished")


def test_result_so_large_the_server_drops_the_connection_is_stored_as_an_error(
    embedded_url, namespace, tmp_path
) -> None:
    # beyond what the server drains (4 x 16 MiB) the connection is closed while the worker sends:
    # the write-back fails like an outage, but the server answers a probe, so the result is the cause
    huge = post_once(embedded_url, namespace, "returns_huge", 70)
    after = post_once(embedded_url, namespace, "ok", 5)
    worker = WorkerProcess(embedded_url, namespace, tmp_path, [*misbehaving_tasks_args(), "--burst"])
    assert worker.wait(120) == 0, worker.log()
    tasks = stored(embedded_url, namespace)
    assert tasks[huge.uid].status == TaskStatus.error
    assert tasks[huge.uid].error.error_class == "ResultNotStorable"
    assert (tasks[after.uid].status, tasks[after.uid].result) == (TaskStatus.done, 10)
