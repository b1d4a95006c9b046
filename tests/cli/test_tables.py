"""The rules of ``eventix_cli.cli.tables``: escaping and fitting columns to a width, over many inputs."""

from __future__ import annotations

import itertools
import random
import unicodedata

from eventix_cli.cli.tables import TABLE_GAP, Column, escape, fit_columns, join_row


def test_escape_leaves_no_control_character_and_keeps_plain_text() -> None:
    for code in itertools.chain(range(0, 0x250), range(0x2000, 0x2070)):
        char = chr(code)
        out = escape(f"a{char}b")
        assert all(unicodedata.category(c) not in ("Cc",) for c in out), (hex(code), out)
        assert "\u202e" not in out
        assert "\u2066" not in out
        if unicodedata.category(char) not in ("Cc", "Cf") or char in "\u00ad\u200b\u200c\u200d\u2060":
            assert out == f"a{char}b" or char in "\u200e\u200f", hex(code)
    assert escape("tab\there\x1b[0m\r\n") == "tab\\there\\e[0m\\r\\n"
    assert escape("two\nlines\x07", keep_newlines=True) == "two\nlines\\x07"
    assert escape("naïve – ✓ 日本") == "naïve – ✓ 日本"


def _columns(rng: random.Random, n: int) -> list[Column]:
    columns = []
    for i in range(n):
        header = "H" * rng.randint(2, 12)
        columns.append(
            Column(
                f"k{i}",
                header,
                min_width=32 if i == 0 and rng.random() < 0.5 else None,
                drop=0 if i < 2 else rng.randint(0, 5),
            )
        )
    return columns


def test_fitting_never_cuts_a_header_and_fits_when_it_can() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        columns = _columns(rng, rng.randint(1, 8))
        widths = [max(len(c.header), c.min_width or 0, rng.randint(1, 60)) for c in columns]
        limit = rng.choice([None, rng.randint(20, 200)])
        keep, fitted = fit_columns(columns, widths, limit)
        assert keep == sorted(keep)
        assert len(keep) == len(fitted)
        kept = [columns[i] for i in keep]
        for column, width, i in zip(kept, fitted, keep, strict=True):
            assert width >= len(column.header)  # a header is never cut
            assert width <= widths[i]
            if column.min_width is not None:
                assert width == widths[i]  # uids stay whole
        dropped = [c for i, c in enumerate(columns) if i not in keep]
        assert all(c.drop > 0 for c in dropped)  # only droppable columns go
        if limit is None:
            assert fitted == widths
            continue
        total = sum(fitted) + TABLE_GAP * (len(fitted) - 1)
        floor = sum(widths[i] if columns[i].min_width else len(columns[i].header) for i in keep)
        floor += TABLE_GAP * (len(kept) - 1)
        assert total <= limit or total == floor or dropped == [] or floor > limit
        if total <= limit and dropped:
            # nothing was dropped that was ranked above something kept
            assert min(c.drop for c in dropped) >= max((c.drop for c in kept if c.drop > 0), default=0)


def test_fitting_shortens_to_twelve_before_dropping_and_drops_before_shortening_more() -> None:
    columns = [
        Column("uid", "UID", min_width=32),
        Column("task", "TASK"),
        Column("key", "UNIQUE KEY", drop=5),
    ]
    keep, fitted = fit_columns(columns, [32, 20, 20], 70)
    assert keep == [0, 1, 2]
    assert fitted == [32, 16, 16]
    keep, fitted = fit_columns(columns, [32, 20, 20], 50)
    assert keep == [0, 1]
    assert fitted == [32, 15]
    line = join_row(["a" * 32, "b" * 20], fitted, [columns[0], columns[1]])
    assert line == "a" * 32 + "   " + "b" * 14 + "…"
