"""The modal screens of ``eventix top``: the question before an action, and the help."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from eventix_cli.cli.top import keys


class Confirm(ModalScreen[bool]):
    """Asks first: ``y`` answers True, ``n`` or ``escape`` False."""

    BINDINGS = keys.bindings(keys.DIALOG) + keys.bindings(keys.QUIT)
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical { width: 90%; max-width: 110; height: auto; border: thick $warning;
                         background: $surface; padding: 1 2; }
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.text, id="question", markup=False)
            yield Static("y: yes    n / escape: no", id="answers")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_decline(self) -> None:
        self.dismiss(False)


class Help(ModalScreen[None]):
    """Every key, by view; escape or ? closes it (q quits, as everywhere)."""

    BINDINGS = keys.bindings((keys.Key("escape,question_mark", "close", "close", "escape"),)) + keys.bindings(
        keys.QUIT
    )
    DEFAULT_CSS = """
    Help { align: center middle; }
    Help > VerticalScroll { width: auto; max-width: 100%; height: auto; max-height: 90%;
                            border: thick $accent; background: $surface; padding: 0 2; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("\n".join(keys.help_lines()), id="keys", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
