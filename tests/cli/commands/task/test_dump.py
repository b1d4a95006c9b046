"""dump -> purge -> restore, idempotent restores, upstream dump directories, bad input."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import Task, TaskStatus
from tests.support.servers import REPO_ROOT, free_port
from tests.support.tasks import failed, jsonl, seed

VOLATILE = ("revision", "updated_time")  # every server write sets these anew


def _docs(url: str, namespace: str) -> dict[str, dict]:
    with EventixClient(url) as client:
        return {
            t.uid: {k: v for k, v in t.to_wire().items() if k not in VOLATILE}
            for t in client.iter_tasks(namespace=namespace)
        }


def test_dump_purge_restore_gives_back_identical_documents(cli, server, namespace, tmp_path) -> None:
    seed(server.url, namespace, 3, kwargs={"deep": {"list": [1, 2]}}, unique_key=None)
    seed(server.url, namespace, status=TaskStatus.done, result={"rows": 10}, unique_key="u:1")
    failed(server.url, namespace)
    before = _docs(server.url, namespace)
    backup = tmp_path / "backup.jsonl"

    dumped = cli("task", "dump", str(backup), "--url", server.url, "-n", namespace)
    assert dumped.exit_code == 0, dumped.stderr
    assert dumped.stderr.startswith(f"dumped 5 task(s) to {backup}")
    assert len(jsonl(backup.read_text())) == 5

    purged = cli("task", "purge", "--url", server.url, "-n", namespace, "-s", "scheduled,done,error", "--yes")
    assert purged.exit_code == 0
    assert _docs(server.url, namespace) == {}

    restored = cli("task", "restore", str(backup), "--yes", "--url", server.url, "-o", "json")
    assert restored.exit_code == 0, restored.stderr
    assert len(json.loads(restored.stdout)["done"]) == 5
    assert _docs(server.url, namespace) == before

    again = cli("task", "restore", str(backup), "--yes", "--url", server.url, "-o", "json")
    assert again.exit_code == 0
    report = json.loads(again.stdout)
    assert report["done"] == []
    assert len(report["skipped"]) == 5
    assert report["skipped"][0]["reason"].startswith("exists")


def test_dump_to_stdout_with_filters(cli, server, namespace) -> None:
    seed(server.url, namespace, 2)
    failed(server.url, namespace)
    result = cli("task", "dump", "--url", server.url, "-n", namespace, "--status", "error")
    assert result.exit_code == 0
    docs = jsonl(result.stdout)
    assert [d["status"] for d in docs] == ["error"]
    assert "dumped 1 task(s) to stdout" in result.stderr


def test_restore_overwrite_and_namespace_rewrite(cli, server, namespace, tmp_path) -> None:
    task = seed(server.url, namespace, kwargs={"v": 1})[0]
    line = task.to_wire() | {"kwargs": {"v": 2}}
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps(line) + "\n")
    skipped = cli("task", "restore", str(src), "--yes", "--url", server.url)
    assert skipped.exit_code == 0
    assert "1 skipped" in skipped.stderr
    assert _docs(server.url, namespace)[task.uid]["kwargs"] == {"v": 1}
    over = cli("task", "restore", str(src), "--yes", "--overwrite", "--url", server.url)
    assert over.exit_code == 0
    assert _docs(server.url, namespace)[task.uid]["kwargs"] == {"v": 2}

    other = {**line, "uid": "a" * 32}
    result = cli(
        "task",
        "restore",
        "-",
        "--yes",
        "-n",
        f"{namespace}-copy",
        "--url",
        server.url,
        input=json.dumps(other),
    )
    assert result.exit_code == 0
    assert _docs(server.url, f"{namespace}-copy")["a" * 32]["namespace"] == f"{namespace}-copy"


def test_restore_reads_upstream_dump_directory(cli, server, namespace, tmp_path) -> None:
    folder = tmp_path / "eventix-dump"
    folder.mkdir()
    tasks = [Task(task="job", namespace="elsewhere", kwargs={"i": i}) for i in range(2)]
    for task in tasks:
        # upstream's `eventixcli dump` writes one indented JSON file per task, named by uid
        doc = task.to_wire() | {"created_time": "2026-01-02T03:04:05.123456+00:00"}
        (folder / f"{task.uid}.json").write_text(json.dumps(doc, indent=2))
    result = cli("task", "restore", str(folder), "--yes", "-n", namespace, "--url", server.url)
    assert result.exit_code == 0, result.stderr
    docs = _docs(server.url, namespace)
    assert set(docs) == {t.uid for t in tasks}
    assert (
        next(iter(docs.values()))["created_time"] == "2026-01-02T03:04:05.123000Z"
    )  # both servers keep milliseconds


def test_restore_bad_input_writes_nothing(cli, server, namespace, tmp_path) -> None:
    good = seed(server.url, f"{namespace}-src")[0].to_wire() | {"namespace": namespace, "uid": "b" * 32}
    src = tmp_path / "bad.jsonl"
    src.write_text(json.dumps(good) + "\n" + '{"task": "x", "status": "sleeping"}\n')
    result = cli("task", "restore", str(src), "--url", server.url)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {src}:2: not a task document: status")
    assert _docs(server.url, namespace) == {}
    src.write_text(json.dumps(good) + "\nnot json\n")
    result = cli("task", "restore", str(src), "--url", server.url)
    assert result.exit_code == 2
    assert f"{src}:2: invalid JSON" in result.stderr
    assert cli("task", "restore", str(tmp_path / "missing.jsonl"), "--url", server.url).exit_code == 2


# -- how the dump file is written -------------------------------------------------------------


def _dump(cli, url: str, namespace: str, target: str):
    return cli("task", "dump", target, "--url", url, "-n", namespace)


def test_dump_replaces_a_regular_file_atomically_keeping_its_mode(
    cli, embedded_url, namespace, tmp_path
) -> None:
    seed(embedded_url, namespace, 3)
    target = tmp_path / "backup.jsonl"
    target.write_text("old content\n")
    target.chmod(0o640)
    old_inode = target.stat().st_ino
    result = _dump(cli, embedded_url, namespace, str(target))
    assert result.exit_code == 0, result.stderr
    assert len(jsonl(target.read_text())) == 3
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_ino != old_inode  # a new file renamed over the old one, not rewritten in place
    assert [p.name for p in tmp_path.iterdir() if p.name != "config"] == ["backup.jsonl"]  # no temp file left


def test_dump_new_file_gets_the_umask_mode(cli, embedded_url, namespace, tmp_path) -> None:
    seed(embedded_url, namespace)
    old = os.umask(0o027)
    try:
        result = _dump(cli, embedded_url, namespace, str(tmp_path / "new.jsonl"))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "new.jsonl").stat().st_mode) == 0o640  # 0666 less the umask


def test_dump_through_a_symlink_writes_the_file_it_points_to(cli, embedded_url, namespace, tmp_path) -> None:
    seed(embedded_url, namespace, 2)
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "backup.jsonl"
    real.write_text("old\n")
    real.chmod(0o604)
    link = tmp_path / "latest.jsonl"
    link.symlink_to(Path("data") / "backup.jsonl")  # relative, as links usually are
    result = _dump(cli, embedded_url, namespace, str(link))
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink()
    assert os.readlink(link) == str(Path("data") / "backup.jsonl")
    assert len(jsonl(real.read_text())) == 2
    assert stat.S_IMODE(real.stat().st_mode) == 0o604
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["backup.jsonl"]


def test_dump_to_a_fifo_streams_to_its_reader(cli, embedded_url, namespace, tmp_path) -> None:
    seed(embedded_url, namespace, 4)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []

    def reader() -> None:
        with fifo.open(encoding="utf-8") as handle:
            received.append(handle.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    result = _dump(cli, embedded_url, namespace, str(fifo))
    thread.join(10)
    assert result.exit_code == 0, result.stderr
    assert not thread.is_alive()
    assert len(jsonl(received[0])) == 4
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # still a FIFO, not replaced by a regular file


def test_dump_to_dev_null_and_to_a_link_to_it(cli, embedded_url, namespace, tmp_path) -> None:
    seed(embedded_url, namespace, 2)
    link = tmp_path / "discard"
    link.symlink_to("/dev/null")
    result = _dump(cli, embedded_url, namespace, str(link))
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink()
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)
    result = _dump(cli, embedded_url, namespace, "/dev/null")
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    assert "dumped 2 task(s) to /dev/null" in result.stderr


def test_dump_to_dev_stdout_streams_into_what_the_shell_opened(embedded_url, namespace, tmp_path) -> None:
    """A real process: /dev/stdout redirected to a regular file is written into, not replaced."""
    seed(embedded_url, namespace, 3)
    out = tmp_path / "out.jsonl"
    out.write_text("")
    inode = out.stat().st_ino
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with out.open("a") as handle:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "eventix_cli",
                "task",
                "dump",
                "/dev/stdout",
                "--url",
                embedded_url,
                "-n",
                namespace,
            ],
            stdout=handle,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
            check=False,
            cwd=tmp_path,
        )
    assert done.returncode == 0, done.stderr
    assert out.stat().st_ino == inode
    assert len(jsonl(out.read_text())) == 3
    piped = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventix_cli",
            "task",
            "dump",
            "/dev/stdout",
            "--url",
            embedded_url,
            "-n",
            namespace,
        ],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert piped.returncode == 0, piped.stderr
    assert len(jsonl(piped.stdout.decode())) == 3


def test_dump_into_a_missing_folder_is_one_error_line_and_sends_nothing(cli, tmp_path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: exit 2 shows no request was made
    result = cli("task", "dump", str(tmp_path / "nope" / "backup.jsonl"), "--url", dead)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    missing = tmp_path / "nope"
    assert (
        lines[0]
        == f"error: cannot write {missing / 'backup.jsonl'}: folder {missing} does not exist (UsageError)"
    )
    assert all(line.startswith(("error:", "hint:")) for line in lines)
    assert "Traceback" not in result.stderr
    assert cli("task", "dump", str(tmp_path), "--url", dead).exit_code == 2  # a folder is not a file


def test_dump_to_a_full_device_is_one_error_line(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, 50, kwargs={"pad": "x" * 200})
    result = _dump(cli, embedded_url, namespace, "/dev/full")
    assert result.exit_code == 1
    assert result.stderr == "error: writing /dev/full failed: No space left on device (WriteFailed)\n"


def test_restore_refuses_a_uid_given_twice(cli, server, namespace, tmp_path) -> None:
    # two documents for one uid would be written concurrently: which one wins is chance
    doc = seed(server.url, f"{namespace}-src")[0].to_wire() | {"namespace": namespace, "uid": "d" * 32}
    src = tmp_path / "twice.jsonl"
    src.write_text(json.dumps(doc) + "\n" + json.dumps(doc | {"kwargs": {"v": 2}}) + "\n")
    result = cli("task", "restore", str(src), "--url", server.url, "--yes", "--overwrite")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: {src}:2: uid {'d' * 32} is already at {src}:1"), result.stderr
    assert _docs(server.url, namespace) == {}


def test_restore_dry_run_says_what_the_run_will_do(cli, server, namespace, tmp_path) -> None:
    """Tasks that exist are skipped by the run (replaced with --overwrite): the dry run counts
    them the same way, and its count is what the run then restores."""
    present = seed(server.url, namespace, 2)
    backup = tmp_path / "backup.jsonl"
    assert cli("task", "dump", str(backup), "--url", server.url, "-n", namespace).exit_code == 0
    new = {**present[0].to_wire(), "uid": "b" * 32, "namespace": namespace}
    with backup.open("a") as handle:
        handle.write(json.dumps(new) + "\n")

    dry = cli("task", "restore", str(backup), "--dry-run", "--url", server.url)
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.splitlines()[0] == (
        f"would restore 1 task(s) into namespace {namespace} (existing tasks are skipped: 2 of the input)"
    )
    as_json = json.loads(
        cli("task", "restore", str(backup), "--dry-run", "--url", server.url, "-o", "json").stdout
    )
    assert (as_json["count"], as_json["new"], as_json["existing"]) == (1, 1, 2)
    over = cli("task", "restore", str(backup), "--dry-run", "--overwrite", "--url", server.url)
    assert over.stdout.splitlines()[0] == (
        f"would restore 3 task(s) into namespace {namespace} (replacing existing tasks: 2 of the input)"
    )
    run = json.loads(cli("task", "restore", str(backup), "--yes", "--url", server.url, "-o", "json").stdout)
    assert len(run["done"]) == as_json["count"]
    assert len(run["skipped"]) == as_json["existing"]
