"""Start-up of ``eventix worker``: this tree against an older commit, interleaved.

Each case is a whole ``eventix worker --burst`` process on an empty namespace of one
embedded server (so it starts, claims once, finds nothing due and exits): its CPU (user +
system, rusage) and wall time, median of ``--runs`` after one warm-up run each. Two task
modules: ``bench_tasks`` (declared with upstream's decorator, as in ``worker.py``: both
workers import upstream's package) and ``bench_plain_tasks:noop`` (a plain function, no
upstream import). Upstream's TaskWorker on the same empty namespace is the reference.

The older commit is exported with ``git archive`` and put first on PYTHONPATH; both trees
are byte-compiled first (as an installed package is), so neither side pays compiling.

    .venv/bin/python benchmarks/worker_startup.py --against ed5fa50 [--runs 9]
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO_ROOT, Sample, machine_note, run_process, table

from tests.support.servers import running_server

HERE = Path(__file__).resolve().parent
NAMESPACE = "empty-startup"


def export(ref: str, into: Path) -> Path:
    """The package of commit ``ref`` in ``into`` (only eventix_cli/, the code under test)."""
    archive = subprocess.run(
        ["git", "archive", ref, "eventix_cli"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def ours(tree: Path, url: str, tasks: str, cwd: Path) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{tree}"}
    cmd = [sys.executable, "-m", "eventix_cli", "worker", "--url", url, "-n", NAMESPACE]
    return [*cmd, "--tasks", tasks, "--burst", "--log-level", "WARNING"], env


def upstream(url: str) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "PYTHONPATH": str(HERE),
        "EVENTIX_URL": url,
        "EVENTIX_NAMESPACE": NAMESPACE,
        "EVENTIX_WORKER_LOG_LEVEL": "WARNING",
    }
    return [sys.executable, str(HERE / "upstream_worker.py"), NAMESPACE], env


def check_tree(tree: Path, env: dict[str, str], cwd: Path) -> None:
    """The process imports eventix_cli from ``tree`` (not from the editable install)."""
    where = subprocess.run(
        [sys.executable, "-c", "import eventix_cli; print(eventix_cli.__file__)"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not where.startswith(str(tree)):
        raise RuntimeError(f"eventix_cli came from {where}, not from {tree}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", required=True, help="the older commit (e.g. ed5fa50)")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "old").mkdir()
        old = export(args.against, (tmp / "old").resolve())
        workdir = tmp / "work"  # no .env.local here
        workdir.mkdir()
        for tree in (old, REPO_ROOT):
            compileall.compile_dir(tree / "eventix_cli", quiet=1)
        compileall.compile_dir(HERE, quiet=1, maxlevels=0)
        with running_server(
            "embedded", tmp, extra_args=["--db", str(tmp / "w.sqlite3"), "--log-level", "warning"]
        ) as srv:
            cases: list[tuple[str, tuple[list[str], dict[str, str]]]] = []
            for module, label in (
                ("bench_tasks", "upstream-decorated tasks"),
                ("bench_plain_tasks:noop", "plain function"),
            ):
                cases.append((f"{label}: {args.against}", ours(old, srv.url, module, workdir)))
                cases.append((f"{label}: this tree", ours(REPO_ROOT, srv.url, module, workdir)))
            cases.append(("upstream TaskWorker (reference)", upstream(srv.url)))
            check_tree(old, cases[0][1][1], workdir)
            check_tree(REPO_ROOT, cases[1][1][1], workdir)
            for _, (cmd, env) in cases:  # warm-up: page cache, the server's first requests
                run_process(cmd, env=env, cwd=workdir)
            samples: dict[str, list[Sample]] = {label: [] for label, _ in cases}
            note_start = machine_note()
            for i in range(args.runs):
                for label, (cmd, env) in cases if i % 2 == 0 else list(reversed(cases)):
                    samples[label].append(run_process(cmd, env=env, cwd=workdir))
    rows = []
    for label, _ in cases:
        cpu = statistics.median(s.cpu for s in samples[label])
        wall = statistics.median(s.wall for s in samples[label])
        rows.append([label, f"{cpu * 1000:.0f} ms", f"{wall * 1000:.0f} ms"])
    print(f"worker start-up on an empty queue, median of {args.runs} interleaved runs")
    print(table(["worker", "CPU", "wall"], rows))
    print(f"start: {note_start}")
    print(f"end:   {machine_note()}")


if __name__ == "__main__":
    main()
