"""Stop signals as ``timeout`` and impatient operators send them: in bursts, to any thread."""

from __future__ import annotations

import ctypes
import os
import random
import signal
import time
from pathlib import Path

#: signals in one burst, SIGTERM and SIGINT in turn (two kinds: the kernel merges a signal
#: already pending into one, so a burst of one kind could arrive as a single signal)
BURST = 40
#: the longest gap between two signals of a burst: a few microseconds, so that signals land
#: while the process's handler for an earlier one still runs (no gap at all: they all arrive
#: before the process runs any handler, and a handler never meets another)
MAX_GAP = 30e-6


def send_burst(pid: int, count: int = BURST) -> None:
    """``count`` stop signals to ``pid``, each after a random gap of at most :data:`MAX_GAP`;
    stops early when the process has gone."""
    for index in range(count):
        try:
            os.kill(pid, signal.SIGTERM if index % 2 == 0 else signal.SIGINT)
        except ProcessLookupError:
            return
        until = time.perf_counter() + random.uniform(0, MAX_GAP)
        while time.perf_counter() < until:  # a busy wait: sleeps are far coarser than the gap
            pass


def other_threads(pid: int) -> list[int]:
    """The thread ids of ``pid`` other than its main thread (Linux: /proc)."""
    return [int(tid) for tid in os.listdir(f"/proc/{pid}/task") if int(tid) != pid]


def signal_thread(pid: int, tid: int, sig: int) -> None:
    """Send ``sig`` to one thread of another process (tgkill: the kernel delivers it there)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.tgkill(pid, tid, sig) != 0:
        raise OSError(ctypes.get_errno(), f"tgkill {pid} {tid}")


def has_proc() -> bool:
    return Path("/proc/self/task").is_dir()
