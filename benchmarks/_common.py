"""Helpers shared by the benchmark scripts: timing, medians, ratio lines, repo on sys.path."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

BIN = Path(sys.executable).parent


def run_timed(cmd: Sequence[str], *, check: bool = True) -> float:
    """Wall seconds of one run of ``cmd`` (output discarded)."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed


def median_of(cmd: Sequence[str], runs: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        run_timed(cmd)
    return statistics.median(run_timed(cmd) for _ in range(runs))


def verdict(ratio: float, target: float, *, higher_is_better: bool) -> str:
    ok = ratio >= target if higher_is_better else ratio <= target
    sign = ">=" if higher_is_better else "<="
    return f"{'PASS' if ok else 'FAIL'} (target {sign} {target:g})"
