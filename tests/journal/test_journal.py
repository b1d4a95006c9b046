"""The journal's file format: durable appends shared by threads, a torn last line ignored,
the size limit kept by dropping the oldest entries, an entry over the limit not undoable."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from eventix_cli.cli.journaling import masked_command
from eventix_cli.config import load_settings
from eventix_cli.core.errors import ConfigError
from eventix_cli.journal import writer
from eventix_cli.journal.reader import entries, find_entry
from eventix_cli.journal.writer import chunks_recorded, entry_ids, open_entry


def _open(directory: Path, limit: int = 10**9, action: str = "purge"):
    return open_entry(
        directory, action=action, url="http://127.0.0.1:1", namespace="ns", command=["eventix"], limit=limit
    )


def _doc(uid: str, pad: int = 0) -> dict:
    return {"uid": uid, "status": "done", "revision": "1", "kwargs": {"pad": "x" * pad}}


def test_an_entry_reads_back_with_its_images_and_results(tmp_path: Path) -> None:
    entry = _open(tmp_path)
    entry.before("delete", [_doc("a"), _doc("b")])
    entry.after("a", "delete")
    entry.before("change", [_doc("c")])
    entry.after("c", "change", "7")
    entry.close()
    found = find_entry(tmp_path, entry.id)
    assert found is not None
    assert found.complete
    assert found.undoable
    assert {uid: (c.op, c.confirmed, c.revision) for uid, c in found.changes.items()} == {
        "a": ("delete", True, None),
        "b": ("delete", False, None),
        "c": ("change", True, "7"),
    }
    assert found.changes["c"].image == _doc("c")
    assert found.summary()["changed"] == {"delete": 1, "change": 1}


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    entry = _open(tmp_path)
    entry.before("delete", [_doc("a")])
    entry.after("a", "delete")
    entry.close()
    with entry.path.open("ab") as handle:  # a crash in the middle of writing a line
        handle.write(b'{"kind":"before","op":"delete","tasks":[{"uid":"b"')
    found = find_entry(tmp_path, entry.id)
    assert found is not None
    assert list(found.changes) == ["a"]


def test_an_entry_whose_header_was_torn_is_not_listed(tmp_path: Path) -> None:
    (tmp_path / "1.jsonl").write_bytes(b'{"kind":"entry","id":1,"ti')
    assert list(entries(tmp_path)) == []
    assert _open(tmp_path).id == 2  # its id is not reused


def test_an_entry_that_recorded_nothing_is_removed(tmp_path: Path) -> None:
    entry = _open(tmp_path)
    entry.close()
    assert entry_ids(tmp_path) == []


def test_the_oldest_entries_go_when_the_journal_is_over_its_limit(tmp_path: Path) -> None:
    for _ in range(5):
        entry = _open(tmp_path)
        entry.before("delete", [_doc(f"t{entry.id}", pad=1000)])
        entry.close()
    size = (tmp_path / "1.jsonl").stat().st_size
    newest = _open(tmp_path, limit=3 * size + size // 2)
    assert entry_ids(tmp_path) == [3, 4, 5, newest.id]  # the header of the new one fits with three
    newest.close()


def test_an_entry_over_the_limit_keeps_its_counts_and_cannot_be_undone(tmp_path: Path) -> None:
    entry = _open(tmp_path, limit=4000)
    for i in range(10):
        entry.before("delete", [_doc(f"t{i}", pad=500)])
        entry.after(f"t{i}", "delete")
    entry.close()
    assert entry.overflowed
    found = find_entry(tmp_path, entry.id)
    assert found is not None
    assert found.overflowed
    assert not found.undoable
    assert found.counts["changed"]["delete"] == 10


def test_threads_recording_at_once_share_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Group commit: 8 threads × 200 images take far fewer fsyncs than 1,600, and every
    image is on disk when its ``before`` returns."""
    entry = _open(tmp_path)
    syncs = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        syncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(writer.os, "fsync", counting_fsync)
    seen_on_disk: list[bool] = []
    start = threading.Barrier(8)

    def record(n: int) -> None:
        start.wait()
        for i in range(200):
            uid = f"t{n}-{i}"
            entry.before("delete", [_doc(uid)])
            seen_on_disk.append(f'"{uid}"'.encode() in entry.path.read_bytes())

    threads = [threading.Thread(target=record, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entry.close()
    assert all(seen_on_disk)
    assert len(seen_on_disk) == 1600
    assert len(syncs) < 1600
    found = find_entry(tmp_path, entry.id)
    assert found is not None
    assert len(found.changes) == 1600


def test_chunks_are_recorded_before_any_of_them_is_handed_on(tmp_path: Path) -> None:
    entry = _open(tmp_path)
    handed = []
    for doc in chunks_recorded(entry, "delete", (_doc(f"t{i}") for i in range(7)), size=3):
        lines = [json.loads(line) for line in entry.path.read_bytes().splitlines()]
        recorded = {t["uid"] for line in lines if line["kind"] == "before" for t in line["tasks"]}
        assert doc["uid"] in recorded
        handed.append(doc["uid"])
    entry.close()
    assert handed == [f"t{i}" for i in range(7)]
    lines = [json.loads(line) for line in entry.path.read_bytes().splitlines()]
    assert [len(line["tasks"]) for line in lines if line["kind"] == "before"] == [3, 3, 1]


def test_tokens_never_reach_the_command_line_recorded() -> None:
    argv = ["eventix", "server", "--token", "s3cret-token-value", "--token=another-secret-1", "-n", "ns"]
    masked = masked_command([*argv, "--url=http://x/?t=env-token-12345"], "env-token-12345")
    text = " ".join(masked)
    for secret in ("s3cret-token-value", "another-secret-1", "env-token-12345"):
        assert secret not in text
    assert masked[:3] == ["eventix", "server", "--token"]


@pytest.mark.parametrize(
    ("text", "size"),
    [("200MB", 200_000_000), ("1.5GB", 1_500_000_000), ("512MiB", 512 * 2**20), ("1000", 1000)],
)
def test_the_journal_limit_takes_sizes(tmp_path: Path, text: str, size: int) -> None:
    env = {"EVENTIX_CONFIG_DIR": str(tmp_path), "EVENTIX_JOURNAL_LIMIT": text}
    assert load_settings(env=env).journal_limit == size


def test_the_journal_limit_refuses_what_is_not_a_size(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="journal_limit must be a size"):
        load_settings(env={"EVENTIX_CONFIG_DIR": str(tmp_path), "EVENTIX_JOURNAL_LIMIT": "lots"})
