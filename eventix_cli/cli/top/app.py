"""The ``eventix top`` application: which view opens first, the live refresh timer, and the keys
that work everywhere (``q`` and Ctrl-C quit, ``?`` shows every key)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App

from eventix_cli.cli.top import keys
from eventix_cli.cli.top.detail import TaskDetail
from eventix_cli.cli.top.dialogs import Help
from eventix_cli.cli.top.live import LiveScreen
from eventix_cli.cli.top.namespaces import NamespacesView
from eventix_cli.cli.top.running import RunningView
from eventix_cli.cli.top.tasks import TasksView

if TYPE_CHECKING:
    from eventix_cli.cli.top.actions import PerTask
    from eventix_cli.cli.top.source import TopSource
    from eventix_cli.config import Settings


class TopApp(App[None]):
    """``namespace=None`` opens the namespaces view, a name that namespace's tasks."""

    TITLE = "eventix top"
    ENABLE_COMMAND_PALETTE = False  # every key is ours, listed by `?`
    # Ctrl-C quits even from the filter box; q and ? typed there stay letters
    BINDINGS = keys.bindings(keys.GLOBAL[1:2], priority=True) + keys.bindings(keys.GLOBAL[::2])

    def __init__(
        self,
        source: TopSource,
        settings: Settings,
        *,
        namespace: str | None,
        interval: float,
        per_task: PerTask,
    ) -> None:
        super().__init__()
        self.source = source
        # the one call per task of each action: cli/commands/top.py gives those of the task commands
        self.per_task = per_task
        self.settings = settings
        self.start_namespace = namespace
        self.interval = interval

    def on_mount(self) -> None:
        if self.start_namespace is None:
            self.push_screen(NamespacesView())
        else:
            self.push_screen(TasksView(self.start_namespace))
        self.set_interval(self.interval, self.tick)

    def tick(self) -> None:
        """Refresh the view on top (a dialog over it: the view under it)."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, LiveScreen):
                screen.tick()
                return

    def open_tasks(self, namespace: str) -> None:
        self.push_screen(TasksView(namespace, stacked=True))

    def open_task(self, uid: str) -> None:
        self.push_screen(TaskDetail(uid))

    def open_running(self, namespace: str | None) -> None:
        self.push_screen(RunningView(namespace))

    def action_help(self) -> None:
        if not isinstance(self.screen, Help):
            self.push_screen(Help())

    async def action_quit(self) -> None:
        self.exit()
