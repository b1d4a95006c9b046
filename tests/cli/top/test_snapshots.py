"""Snapshots of every view of ``eventix top`` at 80x24 and 120x40, with fixed data and a
frozen clock (pytest-textual-snapshot; the SVGs are in ``__snapshots__``; after a deliberate
change of the view, look at them and run ``pytest --snapshot-update`` on this file)."""

from __future__ import annotations

import pytest

from eventix_cli.cli.top.actions import ACTIONS
from eventix_cli.cli.top.app import TopApp
from eventix_cli.config import load_settings
from tests.cli.top.fixed_data import NAMESPACE, NOW, FixedSource
from tests.cli.top.pilot import settled, until

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]

#: every view, as the keys that open it from the start view (None: the namespaces view)
VIEWS = {
    "namespaces": (None, []),
    "tasks": (NAMESPACE, []),
    "tasks-error": (NAMESPACE, ["4"]),
    "task": (NAMESPACE, ["enter"]),
    "running": (NAMESPACE, ["w"]),
    "help": (NAMESPACE, ["question_mark"]),
    "confirm": (NAMESPACE, ["r"]),
}

#: the modules of the view that read the clock
CLOCKS = ("tasks", "live", "detail", "namespaces", "running")


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The views' clock stopped at NOW (Textual's own timers keep running)."""
    for name in CLOCKS:
        module = __import__(f"eventix_cli.cli.top.{name}", fromlist=["_"])
        if hasattr(module, "utcnow"):
            monkeypatch.setattr(module, "utcnow", lambda: NOW)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", list(VIEWS))
def test_view(snap_compare, frozen_clock, view: str, size: tuple[int, int]) -> None:
    namespace, keys = VIEWS[view]
    settings = load_settings(overrides={"url": "http://127.0.0.1:9", "namespace": namespace})
    # the dialog is the last thing shown: no action is ever run, and nothing is sent
    unused = {name: lambda task: None for name in ACTIONS}
    app = TopApp(FixedSource(), settings, namespace=namespace, interval=3600, per_task=unused)  # type: ignore[arg-type]

    async def open_view(pilot) -> None:
        await until(pilot, lambda: settled(pilot), "the first view")
        for key in keys:
            await pilot.press(key)
        await until(pilot, lambda: not hasattr(pilot.app.screen, "seen_at") or settled(pilot), view)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=open_view)
