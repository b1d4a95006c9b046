"""open_output: what an interrupted or failed write leaves behind."""

from __future__ import annotations

import os
import stat

import pytest

from eventix_cli.cli.files import open_output, plan_output
from eventix_cli.core.errors import UsageError, WriteFailed


def test_an_interrupted_write_leaves_the_old_file_and_no_temp_file(tmp_path) -> None:
    target = tmp_path / "backup.jsonl"
    target.write_text("old\n")
    seen: list[str] = []

    def interrupted_dump() -> None:
        with open_output(str(target)) as handle:
            handle.write("half of the new\n")
            handle.flush()
            seen.append(target.read_text())
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_dump()
    assert seen == ["old\n"]  # nothing is visible before the rename
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["backup.jsonl"]


def test_a_full_device_is_one_error(tmp_path) -> None:
    def fill() -> None:
        with open_output("/dev/full") as handle:  # Linux: every write fails with ENOSPC
            handle.write("x" * 100_000)

    with pytest.raises(WriteFailed, match="No space left on device"):
        fill()
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_plans(tmp_path) -> None:
    (tmp_path / "file").write_text("")
    (tmp_path / "file").chmod(0o600)
    assert plan_output(str(tmp_path / "file")).mode == 0o600
    assert plan_output(str(tmp_path / "new")).mode is None
    assert plan_output(str(tmp_path / "new")).atomic
    assert not plan_output("/dev/stdout").atomic
    (tmp_path / "chain1").symlink_to(tmp_path / "chain2")
    (tmp_path / "chain2").symlink_to("/dev/stdout")
    assert not plan_output(str(tmp_path / "chain1")).atomic  # a link to a descriptor's name
    with pytest.raises(UsageError, match="Not a directory"):
        plan_output(str(tmp_path / "file" / "x"))


def test_a_replaced_file_keeps_its_owner_where_we_may_give_it_away(tmp_path) -> None:
    target = tmp_path / "theirs.jsonl"
    target.write_text("old\n")
    owner = (54321, 54321) if os.geteuid() == 0 else (os.geteuid(), os.getegid())  # only root can give away
    os.chown(target, *owner)
    with open_output(str(target)) as handle:
        handle.write("new\n")
    info = target.stat()
    assert (info.st_uid, info.st_gid) == owner
    assert target.read_text() == "new\n"
