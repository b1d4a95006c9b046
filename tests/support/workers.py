"""Run real `eventix worker` processes for tests and benchmarks."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tests.support.servers import REPO_ROOT, child_env

SAMPLE = "tests.support.sample_tasks"
MISBEHAVING = "tests.support.misbehaving_tasks"
#: the functions of MISBEHAVING a worker registers (every task a test posts must be among them)
MISBEHAVING_FUNCTIONS = (
    "ok",
    "takes_anything",
    "calls_sys_exit",
    "raises_keyboard_interrupt",
    "raises_system_exit",
    "raises_base_exception",
    "raises_unprintable",
    "returns_object",
    "returns_bad_bytes",
    "returns_deep",
    "returns_huge",
    "touch_self_then_sleep",
    "delete_self_then_sleep",
    "sleep_with_marker",
    "sleep_with_marker_taking_anything",
    "kill_next_thread",
    "kill_every_thread",
    "leaves_a_thread_running",
)


def misbehaving_tasks_args() -> list[str]:
    """The worker's ``--tasks`` options that register every function of MISBEHAVING."""
    args: list[str] = []
    for name in MISBEHAVING_FUNCTIONS:
        args += ["--tasks", f"{MISBEHAVING}:{name}"]
    return args


class WorkerProcess:
    def __init__(
        self, url: str, namespace: str, log_dir: Path, args: Sequence[str] = (), env: dict | None = None
    ):
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"worker-{namespace}-{time.monotonic_ns()}.log"
        cmd = [sys.executable, "-m", "eventix_cli", "worker", "--url", url, "-n", namespace, *args]
        if "--tasks" not in args and "-t" not in args:
            cmd += ["--tasks", SAMPLE]
        full_env = child_env(env)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=full_env
            )

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError(f"worker did not exit within {timeout}s; log:\n{self.log()}") from None

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def wait_for(predicate, timeout: float = 30, interval: float = 0.05, what=None) -> None:
    """Poll ``predicate`` until true; on time-out fail, with ``what()`` (e.g. a log) attached."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s" + (f"\n{what()}" if what else ""))
