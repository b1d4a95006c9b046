"""Helpers shared by the benchmark scripts: interleaved A/B runs, process CPU, tables, verdicts.

Every comparison runs both sides in the same run, interleaved (A B, then B A, ...) so that
machine drift hits both alike, with the same number of warm-up and timed runs on each side.
Proxy variables are dropped from the environment at import: every benchmark talks to
loopback servers only, and a proxy in the environment must not sit in between.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

BIN = Path(sys.executable).parent

for _name in list(os.environ):
    if _name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        del os.environ[_name]
os.environ["NO_PROXY"] = "127.0.0.1,localhost"


@dataclass(frozen=True)
class Sample:
    """One whole process: wall seconds, and its own user + system CPU seconds (rusage)."""

    wall: float
    cpu: float


def run_process(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    check: bool = True,
    ok_codes: Sequence[int] = (0,),
) -> Sample:
    """Run ``cmd`` to its end (output discarded); its wall time and its CPU time from wait4."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd, text=True
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if check and proc.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err[-500:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime)


def interleaved(
    cases: Sequence[tuple[str, Sequence[str]]],
    *,
    runs: int,
    warmup: int = 2,
    env: Mapping[str, str] | None = None,
    ok_codes: Sequence[int] = (0,),
) -> dict[str, list[Sample]]:
    """Run every case ``warmup`` times untimed, then ``runs`` timed rounds; each round runs every
    case once, in forward order on even rounds and reversed on odd ones (A B, B A, ...).
    ``ok_codes``: the exit codes that are not a failure (a check exits 1 or 2 on purpose)."""
    for _ in range(warmup):
        for _, cmd in cases:
            run_process(cmd, env=env, ok_codes=ok_codes)
    samples: dict[str, list[Sample]] = {label: [] for label, _ in cases}
    for i in range(runs):
        for label, cmd in cases if i % 2 == 0 else reversed(cases):
            samples[label].append(run_process(cmd, env=env, ok_codes=ok_codes))
    return samples


def median_wall(samples: Sequence[Sample]) -> float:
    return statistics.median(s.wall for s in samples)


def verdict(ratio: float, target: float, *, higher_is_better: bool) -> str:
    ok = ratio >= target if higher_is_better else ratio <= target
    sign = ">=" if higher_is_better else "<="
    return f"{'PASS' if ok else 'FAIL'} (target {sign} {target:g})"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, ready to paste into benchmarks/README.md."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_note() -> str:
    """One line on the machine's state: figures from a loaded machine read differently."""
    one, five, _ = os.getloadavg()
    return f"machine: {os.cpu_count()} CPUs, load average {one:.1f} (1 min), {five:.1f} (5 min)"
