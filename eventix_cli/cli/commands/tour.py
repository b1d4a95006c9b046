"""``eventix tour``: a server, tasks, a worker and the views, in a few seconds, on a temporary database."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eventix_cli.cli import output
from eventix_cli.core.errors import EventixCliError

EPILOG = """\
[bold]Examples[/bold]

  eventix tour
  ./dev tour        [dim]# from a fresh clone: sets everything up first[/dim]
"""

SAMPLE = "eventix_cli.examples.tasks"
NAMESPACE = "tour"


class TourFailed(EventixCliError):
    """A step of the tour did not do what it should."""


class _Tour:
    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("EVENTIX_")},
            "EVENTIX_URL": url,
            "EVENTIX_NAMESPACE": NAMESPACE,
            "EVENTIX_CONFIG_DIR": str(workdir / "config"),
            "EVENTIX_STATE_DIR": str(workdir / "state"),  # its changes stay out of the user's journal
            "EVENTIX_TASK_WORKER_ID": "tour-worker",
        }
        self.color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        #: the reader's terminal, where steps are shown as they would be typed (POSIX only)
        self.terminal = shutil.get_terminal_size() if sys.stdout.isatty() and os.name == "posix" else None

    def say(self, text: str) -> None:
        output.line("")
        output.line(f"\033[1;36m# {text}\033[0m" if self.color else f"# {text}")

    def run(self, *args: str, expect: int = 0, show: bool = True) -> str:
        shown = "eventix " + " ".join(_quote(a) for a in args)
        if show:
            output.line(f"\033[1m$ {shown}\033[0m" if self.color else f"$ {shown}")
        command = [sys.executable, "-m", "eventix_cli", *args]
        if show and self.terminal is not None:
            # shown on a terminal: the step writes to one of the same size, so its tables fit
            # (and are coloured) as they would for the reader typing the command
            code, out, err = _run_on_terminal(command, self.env, self.terminal)
            if out.strip():
                output.line(out.rstrip())
        else:
            proc = subprocess.run(command, env=self.env, capture_output=True, text=True, check=False)
            code, out, err = proc.returncode, proc.stdout, proc.stderr
            if show and (out + err).strip():
                output.line((out + err).rstrip())
        if code != expect:
            raise TourFailed(f"`{shown}` exited {code}: {err.strip()[-300:]}")
        return out


def _run_on_terminal(command: list[str], env: dict[str, str], size: os.terminal_size) -> tuple[int, str, str]:
    """Run ``command`` with its stdout and stderr on a new pseudo-terminal of ``size``; return
    its exit code, what the terminal showed, and that text again as the error to quote."""
    # deferred: pty, termios and fcntl are POSIX only; the tour uses them only on a terminal
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", size.lines, size.columns, 0, 0))
    try:
        proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    finally:
        os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: every writer has gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    code = proc.wait()
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return code, text, text


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


def _start_server(db: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "eventix_cli",
                "server",
                "--port",
                "0",
                "--db",
                str(db),
                "--cleanup-interval",
                "1",
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://\S+)", log_path.read_text(errors="replace"))
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise TourFailed(f"the embedded server did not start: {log_path.read_text(errors='replace')[-500:]}")


def tour() -> None:
    """A guided tour on a throwaway server: enqueue, run a worker, watch a retry, look around.

    Starts `eventix server` on a temporary database and a free port, runs real commands
    against it (each shown before its output) and stops everything at the end.
    """
    workdir = Path(tempfile.mkdtemp(prefix="eventix-tour-"))
    server, url = _start_server(workdir / "tour.sqlite3", workdir / "server.log")
    started = time.perf_counter()
    try:
        t = _Tour(url, workdir)
        output.line(f"eventix tour: an embedded server runs at {url}")
        output.line("on a temporary database")
        t.say("Is it up?")
        t.run("ping")
        t.say("Enqueue a few tasks into the 'tour' namespace (the uid of each is printed)")
        t.run("task", "add", "greet", "--kwarg", "name=operator")
        t.run("task", "add", "add", "--arg", "2", "--arg", "40", "--priority", "5")
        t.run("task", "add", "unreliable", "--retry-delay", "1")
        t.run("task", "add", "greet", "--kwarg", "name=later", "--eta", "+1h", "--unique-key", "greet:later")
        t.say("What is queued (priority 5 runs first; the last one is due in an hour)")
        t.run("task", "list")
        workers = ["--tasks", f"{SAMPLE}:*"]  # every public function of the module
        t.say("A worker drains what is due and exits (--burst);")
        t.say("'unreliable' fails on its first try")
        t.run("worker", *workers, "--burst")
        t.run("task", "list", "--status", "retry")
        t.say("It is retried with backoff: one second later it is due again")
        time.sleep(1.2)
        t.run("worker", *workers, "--burst")
        t.say("Every task and its result")
        t.run("task", "list", "--all")
        done = t.run("task", "list", "--task", "add", "-o", "ids", show=False).split()
        if done:
            t.run("task", "show", done[0])
        t.say("Counts per namespace and status")
        t.run("stats", "-A")
        t.say("Scripting: JSON for jq, ids for pipelines, dry runs before deleting")
        t.run("task", "list", "--status", "done", "-o", "ids")
        t.run("task", "purge", "--status", "done", "--dry-run")
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    output.line("")
    output.line(f"tour finished in {time.perf_counter() - started:.1f}s; the server at {url} is stopped")
    output.line("and its temporary database removed.")
    output.line("Next: `eventix server` for a server that stays,")
    output.line("`eventix --help` for everything else.")
