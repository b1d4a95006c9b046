"""dump -> purge -> restore, idempotent restores, upstream dump directories, bad input."""

from __future__ import annotations

import json

from eventix_cli.client import EventixClient
from eventix_cli.models import Task, TaskStatus
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
