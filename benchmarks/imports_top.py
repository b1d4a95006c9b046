"""Where a command's start-up goes: import time per top-level package (python -X importtime).

Runs ``python -X importtime -m eventix_cli ARGS`` several times and prints, per top-level
package (``typer``, ``pydantic``, ``httpx``, ...; our own modules one by one), the median of
the self time of its modules, largest first, with the whole process's wall time and the sum
of all imports for scale. A standard-library module is charged to the package that imported
it (``ssl`` and ``email`` under ``httpx``, ``inspect`` under ``typer``). Self times add up
(cumulative ones would count nested packages twice); -X importtime adds some overhead.

    .venv/bin/python benchmarks/imports_top.py [--runs 7] -- task list --url URL --limit 1
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict

from _common import REPO_ROOT, machine_note


def owner(name: str) -> str | None:
    """The group a module's import time is charged to: our modules one by one, a third-party
    package by its top-level name, the standard library to whoever imported it (None)."""
    top = name.split(".")[0]
    if top == "eventix_cli":
        return ".".join(name.split(".")[:3]) if name.startswith("eventix_cli.cli.commands.") else name
    if top in sys.stdlib_module_names or top.startswith("_"):
        return None
    return top


def one_run(args: list[str]) -> tuple[Counter[str], float]:
    """Self time per group of one run; a standard-library module counts for the nearest
    importer that is not the standard library (interpreter start-up when there is none)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "eventix_cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    wall = time.perf_counter() - started
    # -X importtime prints a module after the modules it imported, indented two spaces a level
    nodes: list[tuple[str, int]] = []
    parent: dict[int, int] = {}
    pending: dict[int, list[int]] = defaultdict(list)
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        head, _, raw = line.split("|", 2)
        self_us = head.removeprefix("import time:").strip()
        if not self_us.isdigit():
            continue
        level = (len(raw) - len(raw.lstrip()) - 1) // 2
        index = len(nodes)
        nodes.append((raw.strip(), int(self_us)))
        for child in pending.pop(level + 1, []):
            parent[child] = index
        pending[level].append(index)
    per_group: Counter[str] = Counter()
    for index, (name, self_us) in enumerate(nodes):
        group, at = owner(name), index
        while group is None and at in parent:
            at = parent[at]
            group = owner(nodes[at][0])
        per_group[group or "standard library at interpreter start-up"] += self_us
    return per_group, wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the eventix command line")
    opts = parser.parse_args()
    args = [a for a in opts.args if a != "--"]
    samples: dict[str, list[int]] = defaultdict(list)
    walls = []
    for _ in range(opts.runs):
        per_package, wall = one_run(args)
        walls.append(wall)
        for name in set(samples) | set(per_package):
            samples[name].append(per_package.get(name, 0))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    total = sum(medians.values())
    print(f"eventix {' '.join(args)}: median of {opts.runs} runs")
    print(f"  process wall time {statistics.median(walls) * 1000:.0f} ms; imports {total / 1000:.0f} ms")
    for name, us in sorted(medians.items(), key=lambda kv: -kv[1])[: opts.top]:
        print(f"  {us / 1000:6.1f} ms  {us / total:5.1%}  {name}")
    print(machine_note())


if __name__ == "__main__":
    main()
