"""The README's console examples as data, a terminal to run them in, and samples compared robustly.

A console example is a ```` ```console ```` block of README.md: `$ ` lines are commands (a line
ending in ` \\` goes on), the lines after a command up to the next one are the output the README
shows for it (none: only its exit status is checked). The line right before a block may mark it:

    <!-- readme-test: skip (REASON) -->      not run; reported as skipped with REASON
    <!-- readme-test: until-stopped -->      each command is started, then stopped with Ctrl-C
                                             (SIGINT) once it says it is ready (READY): it must
                                             exit 0
    <!-- readme-test: with-worker -->        a worker on the shipped sample tasks
                                             (eventix_cli/examples/tasks.py) serves the default
                                             namespace while the block runs

A ```` ``` ```` block of any other language whose first line is `# PATH` (a relative path, such as
`# invoices.py` or `# triggers/announcements.yaml`) is a file the examples use: it is written to
their working directory before they run.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

MARK = re.compile(
    r"^<!-- readme-test: (?P<mode>skip|until-stopped|with-worker)(?: \((?P<reason>[^)]*)\))? -->$"
)
FILE_HEADER = re.compile(r"^# (?P<path>[\w./-]+\.\w+)$")
#: what varies from run to run, and so is not compared: task uids, then every number
UID = re.compile(r"\b[0-9a-f]{32}\b")
NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
#: the bar of a progress display: how far it is drawn varies too
BAR = re.compile(r"[━╸╺─]+")
ELLIPSIS = "..."
HEADING = re.compile(r"^#{1,6} ")
#: terminal control sequences (colour, cursor moves, erasing): the text is what is compared
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]")
COLUMNS, ROWS = 80, 24
#: what each long-running command prints once Ctrl-C stops it cleanly (its signal handling is
#: set up); a worker with --schedules logs "scheduler started" before it is ready itself
READY = {
    "eventix server": re.compile(rb"Application startup complete"),
    "eventix worker": re.compile(rb"task\(s\) registered, concurrency"),
    "eventix scheduler": re.compile(rb"scheduler started"),
    "--watch": re.compile(rb", Ctrl-C to stop  "),
}


@dataclass
class Command:
    text: str  # as printed, without `$ ` and with continuation lines joined
    line: int  # index in the README's lines of its `$ ` line
    sample: list[str] = field(default_factory=list)  # the output shown, if any

    @property
    def sample_span(self) -> tuple[int, int]:
        """The README lines of the sample: [start, end)."""
        start = self.line + 1 + self.text.count("\\\n")
        return start, start + len(self.sample)


@dataclass
class Block:
    section: str
    line: int
    mode: str = "run"  # run, skip, until-stopped
    reason: str = ""
    commands: list[Command] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"L{self.line + 1}-{re.sub(r'[^a-z0-9]+', '-', self.section.lower()).strip('-')[:40]}"


def parse(text: str) -> tuple[list[Block], dict[str, str]]:
    """Every console block of a README, and the files its other blocks define."""
    lines = text.split("\n")
    blocks: list[Block] = []
    files: dict[str, str] = {}
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if HEADING.match(line):
            section = line.lstrip("#").strip()
        if line.startswith("```") and line != "```":
            end = lines.index("```", i + 1)
            body = lines[i + 1 : end]
            if line == "```console":
                mark = MARK.match(lines[i - 1]) if i else None
                block = Block(section, i)
                if mark:
                    block.mode, block.reason = mark["mode"], mark["reason"] or ""
                block.commands = _commands(body, i + 1)
                blocks.append(block)
            elif body and (header := FILE_HEADER.match(body[0])):
                files[header["path"]] = "\n".join(body[1:]) + "\n"
            i = end
        i += 1
    return blocks, files


def _commands(body: list[str], first: int) -> list[Command]:
    commands: list[Command] = []
    j = 0
    while j < len(body):
        line = body[j]
        if line.startswith("$ "):
            start = j
            text = line[2:]
            while text.endswith("\\") and j + 1 < len(body):
                j += 1
                text += "\n" + body[j]
            commands.append(Command(text, first + start))
        elif commands:
            commands[-1].sample.append(line)
        j += 1
    for command in commands:
        while command.sample and not command.sample[-1].strip():
            command.sample.pop()
    return commands


# ---------------------------------------------------------------- running in a terminal


@dataclass
class Outcome:
    code: int | None
    lines: list[str]


def run_in_terminal(
    command: str, env: dict[str, str], cwd: Path, *, timeout: float, until_stopped: bool = False
) -> Outcome:
    """Run ``command`` in bash with stdout and stderr on a terminal of 80 columns, as a reader of
    the README would (stdin is not a terminal: nothing waits for typing). ``until_stopped``:
    once it has printed a READY line, press Ctrl-C (SIGINT to its process group)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    process = subprocess.Popen(
        ["bash", "-o", "pipefail", "-c", command],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    os.close(slave)
    ready_line = (
        next((pattern for key, pattern in READY.items() if key in command), None) if until_stopped else None
    )
    assert ready_line is not None or not until_stopped, f"no READY pattern for a long-running `{command}`"
    output = bytearray()
    deadline = time.monotonic() + timeout
    stopped = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer has gone
                    chunk = b""
                if not chunk:
                    break
                output += chunk
            if ready_line is not None and not stopped and ready_line.search(output):
                os.killpg(process.pid, signal.SIGINT)
                stopped = True
        else:
            os.killpg(process.pid, signal.SIGKILL)
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = CONTROL.sub("", output.decode("utf-8", "replace").replace("\r\n", "\n"))
    # a carriage return starts the line again (progress bars): the terminal shows what came last
    lines = [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]
    if lines and not lines[-1]:
        lines.pop()
    return Outcome(code, lines)


# ---------------------------------------------------------------- samples


def normalize(line: str) -> str:
    """A line without what varies between runs: uids, numbers (counts, times, ports), and
    the width of the gaps between columns."""
    return " ".join(BAR.sub(" ", NUMBER.sub("0", UID.sub("<uid>", line))).split())


def matches(sample: list[str], actual: list[str]) -> bool:
    """Does ``actual`` read as ``sample`` does? A sample line `...` stands for any lines."""
    return _align(sample, actual, normalize) is not None


def _align(sample: list[str], actual: list[str], key) -> list[int] | None:
    """The index in ``actual`` of each non-ellipsis line of ``sample``, or None."""
    found: list[int] = []
    position, skipping = 0, False
    for line in sample:
        if line.strip() == ELLIPSIS:
            skipping = True
            continue
        want = key(line)
        candidates = (
            range(position, len(actual)) if skipping else range(position, min(position + 1, len(actual)))
        )
        hit = next((k for k in candidates if key(actual[k]) == want), None)
        if hit is None:
            return None
        found.append(hit)
        position, skipping = hit + 1, False
    if not skipping and position != len(actual):
        return None
    return found


def _first_word(line: str) -> str:
    words = line.split()
    return words[0] if words else ""


def updated_sample(sample: list[str], actual: list[str]) -> list[str]:
    """The sample to write for ``actual``: elisions kept where the shown lines can be found
    again (by their first word), else the whole output."""
    if ELLIPSIS not in [line.strip() for line in sample]:
        return actual
    found = _align(sample, actual, _first_word)
    if found is None:
        return actual
    hits = iter(found)
    return [line if line.strip() == ELLIPSIS else actual[next(hits)] for line in sample]
