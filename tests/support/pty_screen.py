"""``eventix`` as a whole process in a pseudo-terminal (pexpect), its screen read back by a
terminal emulator (pyte): what a person at the terminal would see, for the real-process tests
of ``eventix top`` and its benchmark."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pexpect
import pyte

from tests.support.servers import PROXY_VARIABLES, REPO_ROOT

#: the longest a test waits for the screen to show something (the machine is loaded)
PATIENCE = 30.0

#: keys as a terminal sends them
ENTER = "\r"
ESCAPE = "\x1b"


def cli_env(url: str, config_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a command run by hand: no EVENTIX_* or proxy settings of the caller's,
    its own config directory, the server's URL, a terminal that Textual knows."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("EVENTIX_")
        and k.upper() not in PROXY_VARIABLES
        and k not in ("NO_COLOR", "COLUMNS", "LINES")
    }
    return base | {
        "EVENTIX_CONFIG_DIR": str(config_dir),
        "EVENTIX_URL": url,
        "PYTHONPATH": str(REPO_ROOT),
        "TERM": "xterm-256color",
        **(extra or {}),
    }


class PtyScreen:
    """``python -m eventix_cli ARGS`` on a pseudo-terminal of ``rows`` x ``cols``."""

    def __init__(
        self, *args: str, env: Mapping[str, str], cwd: Path, rows: int = 40, cols: int = 120
    ) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.ended = False
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "eventix_cli", *args],
            env=dict(env),
            cwd=str(cwd),
            dimensions=(rows, cols),
        )

    def pump(self, timeout: float) -> None:
        """Read what the process writes during ``timeout`` seconds onto the screen."""
        deadline = time.monotonic() + timeout
        while not self.ended:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                self.stream.feed(self.child.read_nonblocking(1 << 16, timeout=left))
            except pexpect.TIMEOUT:
                return
            except pexpect.EOF:
                self.ended = True

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, check: Callable[[str], object], what: str, timeout: float = PATIENCE) -> str:
        """Read until ``check(screen text)`` holds (a deadline, no fixed sleeps); the screen."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if check(text):
                return text
            if self.ended or time.monotonic() > deadline:
                state = "the process ended" if self.ended else f"timed out after {timeout:g} s"
                raise AssertionError(f"{state} waiting for {what}; the screen:\n{text}")
            self.pump(0.05)

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def wait_exit(self, timeout: float = PATIENCE) -> int:
        """The exit status, once the process has ended (reading its output meanwhile)."""
        deadline = time.monotonic() + timeout
        while not self.ended and time.monotonic() < deadline:
            self.pump(0.2)
        assert self.ended, f"the process did not end within {timeout:g} s; the screen:\n{self.text()}"
        self.child.wait()
        status = self.child.exitstatus
        assert status is not None, f"ended by signal {self.child.signalstatus}"
        return status

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close()
