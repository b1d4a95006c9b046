"""Worker throughput: `eventix worker --burst` vs upstream's TaskWorker, and the ceiling.

Both workers run against the same embedded `eventix server` (the upstream reference's
MongoDB stand-in scans the collection on every claim and would measure itself), 2,000 tasks
each, in the same run:
  - no-op tasks at --concurrency 1; the ceiling is a tight client loop doing only claim +
    write-back against the same server. Targets: >= 1.5x upstream, >= 80 % of the ceiling;
  - tasks that sleep 10 ms at --concurrency 4 (upstream's worker runs one at a time).
    Target: >= 3x upstream.
Tasks per second include each worker's process start-up, as an operator would see it.

    ./dev bench worker [--tasks N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import BIN, REPO_ROOT, verdict

from eventix_cli.client import EventixClient
from eventix_cli.models import Task, TaskStatus
from tests.support.servers import running_server

HERE = Path(__file__).resolve().parent


def enqueue(url: str, namespace: str, task: str, count: int) -> None:
    def post(n: int) -> None:
        with EventixClient(url) as client:
            for _ in range(n):
                client.post_task(Task(task=task, namespace=namespace))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(post, [count // 8 + (1 if i < count % 8 else 0) for i in range(8)]))


def done_count(url: str, namespace: str) -> int:
    with EventixClient(url) as client:
        return client.count(namespace=namespace, status="done")


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def ours(url: str, namespace: str, concurrency: int) -> float:
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
    return timed(cmd, env)


def upstream(url: str, namespace: str) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": str(HERE),
        "EVENTIX_URL": url,
        "EVENTIX_NAMESPACE": namespace,
        "EVENTIX_WORKER_LOG_LEVEL": "WARNING",
    }
    return timed([sys.executable, str(HERE / "upstream_worker.py"), namespace], env)


def ceiling(url: str, namespace: str, count: int) -> float:
    with EventixClient(url) as client:
        started = time.perf_counter()
        for _ in range(count):
            task = client.next_scheduled("ceiling", namespace)
            task.status = TaskStatus.done
            task.worker_expires = None
            client.put_task(task)
        return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=2000)
    args = parser.parse_args()
    n = args.tasks
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(
            "embedded", Path(tmp), extra_args=["--db", str(Path(tmp) / "w.sqlite3"), "--log-level", "warning"]
        ) as srv,
    ):
        rates: dict[str, float] = {}
        for label, task, run in (
            ("ceiling noop", "noop", lambda ns: n / (n / ceiling(srv.url, ns, n))),
            ("eventix noop c1", "noop", lambda ns: n / ours(srv.url, ns, 1)),
            ("upstream noop", "noop", lambda ns: n / upstream(srv.url, ns)),
            ("eventix sleep10 c4", "sleep10", lambda ns: n / ours(srv.url, ns, 4)),
            ("upstream sleep10", "sleep10", lambda ns: n / upstream(srv.url, ns)),
        ):
            namespace = label.replace(" ", "-")
            enqueue(srv.url, namespace, task, n)
            rates[label] = run(namespace)
            finished = done_count(srv.url, namespace)
            if finished != n:
                raise RuntimeError(f"{label}: {finished} of {n} tasks done")
            print(f"{label:<20} {rates[label]:8.0f} tasks/s", flush=True)

        print()
        checks = [
            ("no-op, c1 vs upstream", rates["eventix noop c1"] / rates["upstream noop"], 1.5),
            ("no-op, c1 vs ceiling", rates["eventix noop c1"] / rates["ceiling noop"], 0.8),
            ("sleep 10 ms, c4 vs upstream", rates["eventix sleep10 c4"] / rates["upstream sleep10"], 3.0),
        ]
        for name, ratio, target in checks:
            print(f"{name:<30} {ratio:6.2f}x  {verdict(ratio, target, higher_is_better=True)}")


if __name__ == "__main__":
    main()
