"""The journal as a safety net under stress: a purge killed with SIGKILL still leaves the
before-images of what it deleted, and a journal that cannot be written (a full disk, a
read-only directory) stops a command before anything is sent."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import TaskStatus
from eventix_cli.journal import writer
from tests.cli.commands.test_undo import differences, snapshot
from tests.support.servers import REPO_ROOT, start_server
from tests.support.tasks import failed, seed, seed_db
from tests.support.workers import wait_for

TASKS = 1500  # three chunks of before-images; far more than the purge deletes before the kill


def _count(url: str, namespace: str) -> int:
    with EventixClient(url, retries=0) as client:
        return client.count(namespace=namespace)


def test_a_purge_killed_mid_way_is_undone_from_its_journal(tmp_path: Path, namespace: str, cli) -> None:
    db = tmp_path / "tasks.sqlite3"
    seed_db(db, namespace, TASKS, status=TaskStatus.done)
    server = start_server("embedded", tmp_path / "logs", extra_args=["--db", str(db)])
    try:
        before = snapshot(server.url, namespace)
        cmd = [sys.executable, "-m", "eventix_cli", "task", "purge", "--url", server.url, "-n", namespace]
        cmd += ["-s", "done", "--yes", "--concurrency", "2"]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}  # EVENTIX_STATE_DIR: this test's own
        purge = subprocess.Popen(
            cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_for(lambda: _count(server.url, namespace) <= TASKS - 100, timeout=60)
            purge.send_signal(signal.SIGKILL)
            purge.wait(30)
        finally:
            if purge.poll() is None:
                purge.kill()
        left = _count(server.url, namespace)
        assert 0 < left <= TASKS - 100, "the kill came too late to test anything"

        history = json.loads(cli("history", "-o", "json").stdout)
        assert [(e["action"], e["complete"]) for e in history] == [("purge", False)]

        result = cli("undo", "--url", server.url, "--yes", "-o", "json")
        assert result.exit_code == 0, result.stderr
        report = json.loads(result.stdout)
        assert len(report["done"]) == TASKS - left  # every task deleted before the kill
        assert {item["reason"] for item in report["skipped"]} <= {
            "exists (not deleted, or re-created since); left as it is"
        }
        assert differences(snapshot(server.url, namespace), before) == []
    finally:
        server.stop(signal.SIGKILL)


# -- a journal that cannot be written ----------------------------------------------------------


def _can_mount() -> bool:
    return sys.platform == "linux" and os.geteuid() == 0


@contextlib.contextmanager
def _tmpfs(path: Path, options: str) -> Iterator[Path]:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        raise OSError(done.stderr.decode())
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


@pytest.fixture
def enospc_at_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every write of the journal fails with ENOSPC at its file-write boundary."""

    def no_space(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(writer, "write_all", no_space)
    monkeypatch.setenv("EVENTIX_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """A state directory on a full disk: a tiny tmpfs filled up where one can be mounted
    (root), else ENOSPC injected at the file-write boundary."""
    if not _can_mount():
        yield request.getfixturevalue("enospc_at_write")
        return
    with _tmpfs(tmp_path / "full", "size=64k") as mounted:
        with contextlib.suppress(OSError), (mounted / "filler").open("wb") as filler:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
        monkeypatch.setenv("EVENTIX_STATE_DIR", str(mounted))
        yield mounted


@pytest.fixture
def read_only_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A state directory on a read-only file system (root), else one without write permission."""
    state = tmp_path / "ro"
    if _can_mount():
        with _tmpfs(state, "ro,size=64k") as mounted:
            monkeypatch.setenv("EVENTIX_STATE_DIR", str(mounted))
            yield mounted
        return
    state.mkdir(mode=0o500)
    monkeypatch.setenv("EVENTIX_STATE_DIR", str(state))
    yield state


CHANGES = [
    ("purge", lambda url, ns: ["task", "purge", "--url", url, "-n", ns, "-s", "done,error", "--yes"]),
    ("retry", lambda url, ns: ["task", "retry", "--url", url, "-n", ns, "--yes"]),
    ("cancel", lambda url, ns: ["task", "cancel", "--url", url, "-n", ns, "--task", "job", "--yes"]),
    ("add", lambda url, ns: ["task", "add", "job", "--url", url, "-n", ns]),
]


@pytest.mark.parametrize("where", ["full_disk", "enospc_at_write", "read_only_dir"])
@pytest.mark.parametrize(("name", "command"), CHANGES, ids=[name for name, _ in CHANGES])
def test_an_unwritable_journal_stops_the_command_before_anything_is_sent(
    cli, server, namespace, request, where, name, command
) -> None:
    failed(server.url, namespace, 2)
    seed(server.url, namespace, 2)
    seed(server.url, namespace, 1, status=TaskStatus.done)
    before = snapshot(server.url, namespace)
    request.getfixturevalue(where)

    result = cli(*command(server.url, namespace))
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: cannot write the journal in "), result.stderr
    assert "nothing was changed (JournalUnwritable)" in lines[0]
    assert "--no-journal" in result.stderr
    assert differences(snapshot(server.url, namespace), before) == []  # nothing was sent


def test_a_disk_full_of_before_images_stops_a_purge_before_its_deletes(
    cli, tmp_path, namespace, monkeypatch
) -> None:
    """The header fits, the first chunk of before-images does not: nothing is deleted."""
    if not _can_mount():
        pytest.skip("needs a tmpfs (root)")
    db = tmp_path / "tasks.sqlite3"
    seed_db(db, namespace, 600, status=TaskStatus.done, kwargs={"pad": "x" * 400})
    server = start_server("embedded", tmp_path / "logs", extra_args=["--db", str(db)])
    try:
        with _tmpfs(tmp_path / "small", "size=64k") as mounted:
            monkeypatch.setenv("EVENTIX_STATE_DIR", str(mounted))
            result = cli("task", "purge", "--url", server.url, "-n", namespace, "-s", "done", "--yes")
        assert result.exit_code == 1, result.stderr
        assert "cannot write the journal" in result.stderr
        assert _count(server.url, namespace) == 600
    finally:
        server.stop(signal.SIGKILL)


def test_no_journal_goes_ahead_and_says_so(cli, server, namespace, full_disk) -> None:
    seed(server.url, namespace, 1, status=TaskStatus.done)
    result = cli("task", "purge", "--url", server.url, "-n", namespace, "-s", "done", "--yes", "--no-journal")
    assert result.exit_code == 0, result.stderr
    assert "warning: --no-journal: this change is not recorded in the journal" in result.stderr
    assert snapshot(server.url, namespace) == {}
