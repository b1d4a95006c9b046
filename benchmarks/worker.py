"""Worker cost and throughput: `eventix worker --burst` vs upstream's TaskWorker, like for like.

Both workers run as whole processes (start-up included) against the same embedded
`eventix server`, on the same kind of tasks, one task at a time (`--concurrency 1`; upstream's
worker runs one at a time). The upstream reference server is not used: its MongoDB stand-in
scans the collection on every claim and would measure itself.

  1. No-op tasks, five rounds of N tasks per worker, the two workers interleaved (ours first
     in even rounds, upstream's first in odd ones), each on a fresh namespace. Per round:
     throughput (tasks/s, wall time of the process) and the worker process's own CPU
     (user + system, from wait4's rusage) per task. Targets: throughput >= 1.5x upstream in
     every round; CPU per task <= 0.5x upstream's (median of the rounds).
     Also: each worker's start-up CPU and wall time on an empty queue (median of 3), and the
     per-task CPU with that subtracted; and the ceiling, a tight in-process claim + write-back
     loop over the worker's kept-alive connections. Target: >= 80 % of the ceiling, for the
     worker's rate once started (its wall time less the empty-queue run's: the loop runs in a
     process that has started already); the whole-process ratio is printed too.
  2. Tasks sleeping 10 ms, `--concurrency 4` against upstream's one-at-a-time worker, one
     round. Target: >= 3x upstream.

    ./dev bench worker [--tasks 2000] [--rounds 5] [--sleep-tasks 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import BIN, REPO_ROOT, Sample, machine_note, run_process, table, verdict

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import Task, TaskStatus
from tests.support.servers import running_server

HERE = Path(__file__).resolve().parent


def enqueue(url: str, namespace: str, task: str, count: int) -> None:
    def post(n: int) -> None:
        with EventixClient(url) as client:
            for _ in range(n):
                client.post_task(Task(task=task, namespace=namespace).to_wire())

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(post, [count // 8 + (1 if i < count % 8 else 0) for i in range(8)]))


def done_count(url: str, namespace: str) -> int:
    with EventixClient(url) as client:
        return client.count(namespace=namespace, status="done")


def ours(url: str, namespace: str, concurrency: int = 1) -> Sample:
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{REPO_ROOT}"}
    cmd = [
        str(BIN / "eventix"),
        "worker",
        "--url",
        url,
        "-n",
        namespace,
        "--tasks",
        "bench_tasks",
        "--burst",
        "--concurrency",
        str(concurrency),
        "--log-level",
        "WARNING",
    ]
    return run_process(cmd, env=env, cwd=HERE)


def upstream(url: str, namespace: str) -> Sample:
    env = {
        **os.environ,
        "PYTHONPATH": str(HERE),
        "EVENTIX_URL": url,
        "EVENTIX_NAMESPACE": namespace,
        "EVENTIX_WORKER_LOG_LEVEL": "WARNING",
    }
    return run_process([sys.executable, str(HERE / "upstream_worker.py"), namespace], env=env, cwd=HERE)


WORKERS = {"eventix": ours, "upstream": upstream}


def ceiling(url: str, namespace: str, count: int) -> float:
    """Tasks per second of a tight in-process loop doing only claim + write-back, over the
    kept-alive connections a worker uses."""
    with EventixClient(url, keepalive=True, models=True) as client:  # as the worker's client
        started = time.perf_counter()
        for _ in range(count):
            task = client.next_scheduled("ceiling", namespace).to_task()
            task.status = TaskStatus.done
            task.worker_expires = None
            client.put_task(task.to_wire())
        return count / (time.perf_counter() - started)


def run_on(url: str, who: str, namespace: str, task: str, n: int, **kwargs: int) -> Sample:
    enqueue(url, namespace, task, n)
    sample = WORKERS[who](url, namespace, **kwargs)
    finished = done_count(url, namespace)
    if finished != n:
        raise RuntimeError(f"{who} on {namespace}: {finished} of {n} tasks done")
    return sample


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sleep-tasks", type=int, default=1000)
    args = parser.parse_args()
    n = args.tasks
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(
            "embedded", Path(tmp), extra_args=["--db", str(Path(tmp) / "w.sqlite3"), "--log-level", "warning"]
        ) as srv,
    ):
        url = srv.url
        # warm-up: one small run of each (page cache, server's first requests)
        for who in WORKERS:
            run_on(url, who, f"warm-{who}", "noop", 50)
        idle: dict[str, list[Sample]] = {who: [] for who in WORKERS}
        for i in range(3):
            for who in WORKERS:
                idle[who].append(WORKERS[who](url, f"empty-{who}-{i}"))
        idle_cpu = {who: statistics.median(s.cpu for s in idle[who]) for who in WORKERS}
        idle_wall = {who: statistics.median(s.wall for s in idle[who]) for who in WORKERS}

        print(machine_note(), flush=True)
        print(f"no-op tasks, --concurrency 1, {n:,} tasks per worker per round", flush=True)
        rounds: list[dict[str, Sample]] = []
        ceilings: list[float] = []
        for r in range(args.rounds):
            order = list(WORKERS) if r % 2 == 0 else list(reversed(WORKERS))
            result = {who: run_on(url, who, f"noop-{who}-{r}", "noop", n) for who in order}
            enqueue(url, f"ceiling-{r}", "noop", n)
            ceilings.append(ceiling(url, f"ceiling-{r}", n))
            rounds.append(result)
            mine, theirs = result["eventix"], result["upstream"]
            print(
                f"  round {r + 1}: eventix {n / mine.wall:6.0f}/s {mine.cpu / n * 1e6:6.0f} µs CPU/task;"
                f"  upstream {n / theirs.wall:6.0f}/s {theirs.cpu / n * 1e6:6.0f} µs CPU/task;"
                f"  ceiling {ceilings[-1]:6.0f}/s",
                flush=True,
            )

        sleeper = {
            "eventix": run_on(url, "eventix", "sleep-eventix", "sleep10", args.sleep_tasks, concurrency=4),
            "upstream": run_on(url, "upstream", "sleep-upstream", "sleep10", args.sleep_tasks),
        }

    rows = []
    for r, result in enumerate(rounds):
        mine, theirs = result["eventix"], result["upstream"]
        speed = theirs.wall / mine.wall
        rows.append(
            [
                r + 1,
                f"{n / mine.wall:,.0f}/s",
                f"{n / theirs.wall:,.0f}/s",
                f"{speed:.2f}x",
                f"{mine.cpu / n * 1e6:,.0f} µs",
                f"{theirs.cpu / n * 1e6:,.0f} µs",
                f"{mine.cpu / theirs.cpu:.2f}",
                f"{(mine.cpu - idle_cpu['eventix']) / n * 1e6:,.0f} µs",
                f"{(theirs.cpu - idle_cpu['upstream']) / n * 1e6:,.0f} µs",
                f"{ceilings[r]:,.0f}/s",
            ]
        )
    print()
    print(
        table(
            [
                "round",
                "eventix",
                "upstream",
                "throughput ratio",
                "eventix CPU/task",
                "upstream CPU/task",
                "CPU ratio",
                "eventix CPU/task less start-up",
                "upstream CPU/task less start-up",
                "ceiling",
            ],
            rows,
        )
    )
    print()
    speeds = [res["upstream"].wall / res["eventix"].wall for res in rounds]
    cpu_ratio = statistics.median(res["eventix"].cpu / res["upstream"].cpu for res in rounds)
    to_ceiling = statistics.median(
        (n / res["eventix"].wall) / c for res, c in zip(rounds, ceilings, strict=True)
    )
    # the ceiling is a loop inside a running process: like for like, the worker's rate once
    # started (its wall time less that of a run on an empty queue: start-up and exit)
    running_to_ceiling = statistics.median(
        (n / (res["eventix"].wall - idle_wall["eventix"])) / c
        for res, c in zip(rounds, ceilings, strict=True)
    )
    print(
        f"start-up on an empty queue (median of 3): eventix {idle_cpu['eventix'] * 1000:.0f} ms CPU, "
        f"{idle_wall['eventix'] * 1000:.0f} ms wall; upstream {idle_cpu['upstream'] * 1000:.0f} ms CPU, "
        f"{idle_wall['upstream'] * 1000:.0f} ms wall"
    )
    print(
        f"throughput vs upstream, worst round: {min(speeds):.2f}x  "
        f"{verdict(min(speeds), 1.5, higher_is_better=True)}"
    )
    cpu_verdict = verdict(cpu_ratio, 0.5, higher_is_better=False)
    print(f"CPU per task vs upstream (median): {cpu_ratio:.2f}  {cpu_verdict}")
    print(
        f"throughput vs ceiling (median), less start-up: {running_to_ceiling:.0%}  "
        f"{verdict(running_to_ceiling, 0.8, higher_is_better=True)}; whole process: {to_ceiling:.0%}"
    )
    s = args.sleep_tasks
    mine, theirs = sleeper["eventix"], sleeper["upstream"]
    ratio = theirs.wall / mine.wall
    print(
        f"sleep 10 ms, {s:,} tasks: eventix --concurrency 4 {s / mine.wall:,.0f}/s, upstream "
        f"{s / theirs.wall:,.0f}/s: {ratio:.2f}x  {verdict(ratio, 3.0, higher_is_better=True)}"
    )


if __name__ == "__main__":
    main()
    print(machine_note())
