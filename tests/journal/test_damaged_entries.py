"""A damaged journal entry is read as far as it can be and says so: only the last line may be
torn (a crash while writing it); an unreadable line with more after it, a header that does
not read, a directory in an entry's place are damage, never silently an entry cut short."""

from __future__ import annotations

from pathlib import Path

from eventix_cli.journal.reader import entries, find_entry
from eventix_cli.journal.writer import open_entry


def _written(directory: Path, tasks: int = 4):
    entry = open_entry(
        directory, action="purge", url="http://127.0.0.1:1", namespace="ns", command=["eventix"], limit=10**9
    )
    for i in range(tasks):
        entry.before("delete", [{"uid": f"t{i}", "status": "done", "revision": "1"}])
        entry.after(f"t{i}", "delete")
    entry.close()
    return entry


def test_an_unreadable_line_with_lines_after_it_marks_the_entry_damaged(tmp_path: Path) -> None:
    entry = _written(tmp_path)
    lines = entry.path.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3][: len(lines[3]) // 2] + b"\n"  # the before-image of t1, cut in the middle
    entry.path.write_bytes(b"".join(lines))
    found = find_entry(tmp_path, entry.id)
    assert found is not None
    assert found.damage == "line 4 is unreadable"
    assert found.summary()["images"] == 3  # read on past the damage
    assert not found.undoable
    assert found.summary()["undo"] == "damaged"


def test_a_torn_last_line_is_not_damage(tmp_path: Path) -> None:
    entry = _written(tmp_path)
    with entry.path.open("ab") as handle:
        handle.write(b'{"kind":"before","op":"del')
    found = find_entry(tmp_path, entry.id)
    assert found is not None
    assert found.damage is None
    assert found.undoable


def test_an_entry_whose_header_is_unreadable_is_listed_as_damaged(tmp_path: Path) -> None:
    entry = _written(tmp_path)
    data = entry.path.read_bytes()
    entry.path.write_bytes(b"\x00\xff garbage\n" + data.split(b"\n", 1)[1])
    listed = list(entries(tmp_path))
    assert [(e.id, e.damage) for e in listed] == [(entry.id, "its header (line 1) is unreadable")]
    assert listed[0].url is None
    assert listed[0].summary()["namespace"] == "?"  # not None: that is every namespace
    assert not listed[0].undoable


def test_a_binary_newest_entry_is_listed_as_damaged(tmp_path: Path) -> None:
    _written(tmp_path)
    (tmp_path / "2.jsonl").write_bytes(b"\x89PNG\x00\x01\x02")
    assert [(e.id, e.damage) for e in entries(tmp_path)] == [
        (2, "its header (line 1) is unreadable"),
        (1, None),
    ]


def test_a_directory_in_an_entry_s_place_is_listed_as_damaged(tmp_path: Path) -> None:
    _written(tmp_path)
    (tmp_path / "100.jsonl").mkdir()
    listed = list(entries(tmp_path))
    assert [(e.id, e.damage) for e in listed] == [(100, "it is a directory, not a file"), (1, None)]
    found = find_entry(tmp_path, 100)
    assert found is not None
    assert found.damage == "it is a directory, not a file"
    assert _written(tmp_path).id == 101  # and the next entry is written past it


def test_a_line_of_json_that_is_not_a_journal_line_is_damage(tmp_path: Path) -> None:
    entry = _written(tmp_path)
    lines = entry.path.read_bytes().splitlines(keepends=True)
    lines[1] = b'{"kind":"before","tasks":[{"no uid":1}]}\n'
    entry.path.write_bytes(b"".join(lines))
    found = find_entry(tmp_path, entry.id)
    assert found is not None
    assert found.damage == "line 2 is unreadable"


def test_the_oldest_entries_are_pruned_past_a_directory(tmp_path: Path) -> None:
    (tmp_path / "1.jsonl").mkdir()
    first = _written(tmp_path)
    second = open_entry(
        tmp_path, action="purge", url="http://127.0.0.1:1", namespace="ns", command=["eventix"], limit=1
    )
    assert not first.path.exists()
    assert second.path.exists()
    assert (tmp_path / "1.jsonl").is_dir()
