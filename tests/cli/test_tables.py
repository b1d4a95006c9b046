"""The rules of ``eventix_cli.cli.tables``: escaping and fitting columns to a width, over many inputs."""

from __future__ import annotations

import itertools
import random
import unicodedata
from dataclasses import replace

from rich.cells import cell_len

from eventix_cli.cli.tables import (
    CUT_FIRST,
    CUT_LAST,
    STATUS_COLOURS,
    TABLE_GAP,
    Column,
    escape,
    fit_columns,
    hidden_note,
    idle_columns,
    join_row,
    select_columns,
    wrap_cells,
)


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


def test_columns_that_tell_nothing_go_before_any_value_is_cut() -> None:
    columns = [
        Column("uid", "UID", min_width=32),
        Column("namespace", "NAMESPACE", drop=5),
        Column("priority", "PRIO", drop=4),
        Column("error", "ERROR"),
        Column("key", "UNIQUE KEY", drop=6),
    ]
    cells = [["a" * 32, "billing", "0", "TaskCancelled", ""], ["b" * 32, "search", "0", "ValueError", ""]]
    assert idle_columns(cells, 5) == [4, 2]  # the empty one first, then the one value
    widths = [32, 9, 4, 13, 10]
    keep, fitted = fit_columns(columns, widths, 60, idle_columns(cells, 5))
    assert keep == [0, 1, 3]  # the empty key and PRIO (all 0) went; nothing was cut
    assert fitted == [32, 9, 13]
    keep, fitted = fit_columns(columns, widths, 67, idle_columns(cells, 5))
    assert keep == [0, 1, 2, 3]  # only as many as needed go
    keep, _ = fit_columns(columns, widths, 60)  # by rank alone, the namespace would go instead
    assert keep == [0, 2, 3]
    assert idle_columns([["x", "0"]], 2) == []  # one row: one value is no sign of anything


def test_values_are_cut_in_order_uids_first_errors_last() -> None:
    columns = [
        Column("uid", "UID", cut=CUT_FIRST),
        Column("task", "TASK"),
        Column("error", "ERROR", cut=CUT_LAST),
    ]
    keep, fitted = fit_columns(columns, [32, 20, 40], 32 + 20 + 40 + 2 * TABLE_GAP - 20)
    assert keep == [0, 1, 2]
    assert fitted == [12, 20, 40]  # the uid gave everything it could first
    keep, fitted = fit_columns(columns, [32, 20, 40], 12 + 20 + 40 + 2 * TABLE_GAP - 8)
    assert fitted == [12, 12, 40]
    keep, fitted = fit_columns(columns, [32, 20, 40], 12 + 12 + 40 + 2 * TABLE_GAP - 8)
    assert fitted == [12, 12, 32]


def test_wide_characters_are_measured_in_cells() -> None:
    columns = [Column("task", "TASK"), Column("status", "STATUS")]
    rows = [["報告書を生成する", "error"], ["send", "done"], ["📉 chart", "retry"]]
    lines = [join_row(row, [16, 6], columns) for row in rows]
    assert {cell_len(line[: line.index(status)]) for line, (_, status) in zip(lines, rows, strict=True)} == {
        19
    }
    cut = join_row(["報告書を生成する", "error"], [9, 6], columns)
    assert cell_len(cut.split("   ")[0]) == 9
    assert cut.split("   ")[0].endswith("…")
    assert wrap_cells("報告書を生成する", 5) == ["報告", "書を", "生成", "する"]
    assert wrap_cells("abcdefg", 3) == ["abc", "def", "g"]


def test_a_status_is_coloured_only_when_asked() -> None:
    columns = [Column("status", "STATUS", colours=STATUS_COLOURS), Column("task", "TASK")]
    assert join_row(["error", "x"], [10, 1], columns, colour=True) == "\033[31merror\033[0m        x"
    assert join_row(["error", "x"], [10, 1], columns) == "error        x"
    assert join_row(["scheduled", "x"], [10, 1], columns, colour=True) == "scheduled    x"


def test_chosen_columns_keep_no_uid_whole() -> None:
    columns = [Column("uid", "UID", min_width=32), Column("task", "TASK", drop=3)]
    chosen = select_columns(columns, "task,uid")
    assert [c.key for c in chosen] == ["task", "uid"]
    assert all(c.min_width is None and c.drop == 0 for c in chosen)


def test_columns_go_to_keep_a_name_whole_only_when_that_is_enough() -> None:
    columns = [
        Column("uid", "UID", min_width=32),
        Column("task", "TASK", cut=CUT_LAST),
        Column("eta", "ETA", drop=3),
    ]
    keep, fitted = fit_columns(columns, [32, 30, 8], 70)
    assert keep == [0, 1]  # the ETA went so that the name stays whole
    assert fitted == [32, 30]
    keep, fitted = fit_columns(columns, [32, 200, 8], 70)
    assert keep == [0, 1, 2]  # the name is cut anyway: the ETA stays
    assert fitted == [32, 24, 8]


def test_the_hidden_columns_line_is_one_line_at_any_width_from_40() -> None:
    hidden = ["NAMESPACE", "PRIO", "ETA", "UNIQUE KEY", "RETRIES LEFT"]
    whole = "hidden: NAMESPACE, PRIO, ETA, UNIQUE KEY, RETRIES LEFT"
    assert hidden_note(hidden, "--columns", None) == f"{whole} (all: --columns or a pipe)"
    assert hidden_note(hidden, "--columns", 81) == f"{whole} (all: --columns or a pipe)"
    assert hidden_note(hidden, "--columns", 80) == f"{whole} (all: --columns)"  # the hint goes first
    assert (
        hidden_note(hidden, "--columns", 60) == "hidden: NAMESPACE, PRIO, ETA, UNIQUE KEY, … (all: --columns)"
    )
    assert hidden_note(["PRIO"], None, 80) == "hidden: PRIO (all: a pipe)"
    for option in ("--columns", None):
        for count in range(1, len(hidden) + 1):
            for width in range(40, 130):
                note = hidden_note(hidden[:count], option, width)
                assert cell_len(note) <= width, (count, width, note)
                assert note.startswith(f"hidden: {hidden[0]}")
                assert "\n" not in note


def test_a_table_on_screen_cuts_every_value_it_can_before_a_column_goes() -> None:
    columns = [
        Column("mark", "", min_width=1),
        Column("uid", "UID", cut=CUT_FIRST, shortest=9),
        Column("task", "TASK", cut=CUT_LAST),
        Column("status", "STATUS"),
        Column("eta", "ETA", drop=3),
        Column("retries", "RETRIES LEFT", drop=7),
        Column("error", "ERROR", cut=CUT_LAST),
    ]
    widths = [1, 32, 14, 9, 7, 12, 14]
    gap = 2

    def total(fitted: list[int]) -> int:
        return sum(fitted) + gap * (len(fitted) - 1)

    keep, fitted = fit_columns(columns, widths, 200, gap=gap, drop_last=True)
    assert (keep, fitted) == (list(range(7)), widths)
    # the uid goes to its shortest (not to SHORTEST_CELL first) before anything else is cut
    keep, fitted = fit_columns(columns, widths, total(widths) - 23, gap=gap, drop_last=True)
    assert fitted == [1, 9, 14, 9, 7, 12, 14]
    # then the other values, to their headers at the narrowest, and task names and errors last:
    # no column goes, even the ones a listing would drop first
    keep, fitted = fit_columns(columns, widths, total(widths) - 29, gap=gap, drop_last=True)
    assert keep == list(range(7))
    assert fitted == [1, 9, 14, 6, 4, 12, 14]
    keep, fitted = fit_columns(columns, widths, total(widths) - 33, gap=gap, drop_last=True)
    assert fitted == [1, 9, 12, 6, 4, 12, 12]
    # a column goes (by rank) only when nothing fits with every value at its shortest
    floor = total([1, 9, 4, 6, 4, 12, 5])
    keep, fitted = fit_columns(columns, widths, floor, gap=gap, drop_last=True)
    assert keep == list(range(7))
    keep, fitted = fit_columns(columns, widths, floor - 1, gap=gap, drop_last=True)
    assert keep == [0, 1, 2, 3, 4, 6]  # RETRIES LEFT went
    assert total(fitted) <= floor - 1
    # nothing more to drop: every column at its shortest, the uid never below its own
    keep, fitted = fit_columns(columns, widths, 10, gap=gap, drop_last=True)
    assert keep == [0, 1, 2, 3, 6]
    assert fitted == [1, 9, 4, 6, 5]


def test_a_table_on_screen_fits_when_it_can_over_many_inputs() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        columns = [
            replace(c, cut=rng.choice([CUT_FIRST, CUT_LAST, 1]), shortest=rng.choice([None, None, 9]))
            for c in _columns(rng, rng.randint(1, 8))
        ]
        widths = [max(len(c.header), c.min_width or 0, rng.randint(1, 60)) for c in columns]
        limit, gap = rng.randint(20, 200), rng.randint(1, 3)
        keep, fitted = fit_columns(columns, widths, limit, gap=gap, drop_last=True)
        assert keep == sorted(keep)
        dropped = [c for i, c in enumerate(columns) if i not in keep]
        assert all(c.drop > 0 for c in dropped)
        for i, width in zip(keep, fitted, strict=True):
            column = columns[i]
            assert min(widths[i], max(len(column.header), column.shortest or 0)) <= width <= widths[i]
            if column.min_width is not None:
                assert width == widths[i]
        total = sum(fitted) + gap * (len(fitted) - 1)
        if dropped:  # a column went only because the rest did not fit even at their shortest
            assert total <= limit or not any(columns[i].drop > 0 for i in keep)
        if total > limit:  # nothing fits: every kept value is at its shortest
            assert all(
                w
                == (
                    widths[i]
                    if columns[i].min_width
                    else max(len(columns[i].header), min(widths[i], columns[i].shortest or 4))
                )
                for i, w in zip(keep, fitted, strict=True)
            )
