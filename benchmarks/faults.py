"""Load with faults: N tasks, W workers, the server and workers killed with SIGKILL on the way.

    ./dev bench faults [--tasks 20000] [--workers 6] [--server-kills 2] [--worker-kills 1]

An `eventix server --db FILE` on a free loopback port; N tasks enqueued (kwargs ``job`` =
0..N-1) before the workers start; W `eventix worker` processes (no `--burst`: they must
outlive the outages) on a task module this script writes to a temporary directory. Its one
function appends a ``start`` line before its work and an ``end`` line after it to a ledger
file opened with O_APPEND (one write per line, so lines of concurrent processes never
interleave): every execution is counted, even one whose outcome never reaches the store. The
ledger is not fsynced: a process killed with SIGKILL loses nothing it wrote (the page cache
is the kernel's); only a machine crash would, and this run does not cause one.

The faults, spread over the run by progress (executions in the ledger, so it goes on while
the server is down): the server killed with SIGKILL and started again at once on the same
database file and port, and a worker killed with SIGKILL and replaced by a new one. Then the
script waits until every task is ``done`` in the store, or ``--deadline`` seconds passed. A
claim whose answer died with the server, and a task held by a killed worker, come back only
when their lease runs out (300 s, released by the server's cleanup): the deadline allows that.

Counted at the end:
- lost: a job with no ``done`` task in the store;
- duplicated: a job with more than one ``done`` task in the store, or a task whose ``done``
  write-back the workers logged as stored more than once (``end UID ... -> done``);
- re-executions (at-least-once, not duplicates): the executions whose outcome was not the
  stored ``done``, by reason (the worker killed; the write-back dropped, with the status the
  worker logged for it);
- claims released by lease expiry (from the server logs), time, throughput.

Exits 1 when a task is lost or duplicated, or the deadline passed first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from _common import REPO_ROOT, machine_note, table

from eventix_cli.client.api import EventixClient
from eventix_cli.core.errors import ApiError, TransportError
from eventix_cli.core.task import Task
from tests.support.servers import RunningServer, start_server
from tests.support.workers import WorkerProcess

NAMESPACE = "faults"
TASK_MODULE = "faults_tasks"
LEDGER_VARIABLE = "EVENTIX_FAULTS_LEDGER"
WORK_VARIABLE = "EVENTIX_FAULTS_WORK"
TASK_SOURCE = f'''\
"""Written by benchmarks/faults.py: every execution leaves a start and an end line."""

import os
import time

from eventix_cli.worker.context import current_task

_LEDGER = os.open(os.environ["{LEDGER_VARIABLE}"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
_WORK = float(os.environ["{WORK_VARIABLE}"])


def record(job: int) -> int:
    line = f"{{job}} {{current_task.get().uid}} {{os.getpid()}}\\n"
    os.write(_LEDGER, ("start " + line).encode())
    if _WORK:
        time.sleep(_WORK)
    os.write(_LEDGER, ("end " + line).encode())
    return job
'''
#: how often the store and the ledger are looked at while the run waits
POLL = 0.5
#: the workers are named by their index: the server's log names the worker of a lapsed lease
WORKER_ID_PREFIX = "faults-worker-"
LEASE_RELEASED = re.compile(r"lease of worker (\S+) ran out")


@dataclass
class Execution:
    job: int
    uid: str
    pid: int
    ended: bool = False


@dataclass
class Ledger:
    """The executions read so far from the ledger file, read on from where the last read ended."""

    path: Path
    offset: int = 0
    starts: list[Execution] = field(default_factory=list)
    ends: int = 0
    _open: dict[tuple[int, int], Execution] = field(default_factory=dict)

    def read(self) -> int:
        """Read the lines added since the last read; the number of ended executions."""
        with self.path.open("rb") as ledger:
            ledger.seek(self.offset)
            data = ledger.read()
        complete = data.rfind(b"\n") + 1  # a line being written is read next time
        self.offset += complete
        for line in data[:complete].decode().splitlines():
            phase, job, uid, pid = line.split()
            key = (int(job), int(pid))
            if phase == "start":
                execution = Execution(int(job), uid, int(pid))
                self.starts.append(execution)
                self._open[key] = execution
            else:
                self._open.pop(key).ended = True
                self.ends += 1
        return self.ends


class Run:
    """The server and the workers of one run, and the faults done to them."""

    def __init__(self, tmp: Path, args: argparse.Namespace) -> None:
        self.tmp = tmp
        self.args = args
        self.db = tmp / "faults.sqlite3"
        self.ledger = Ledger(tmp / "ledger")
        self.ledger.path.touch()
        (tmp / f"{TASK_MODULE}.py").write_text(TASK_SOURCE)
        self.server_logs: list[Path] = []
        self.server = self._start_server(port=None)
        self.url = self.server.url
        self.port = int(self.url.rsplit(":", 1)[1])
        self.workers: list[WorkerProcess] = []
        self.worker_logs: dict[int, Path] = {}
        self.killed_pids: set[int] = set()
        self.killed_ids: set[str] = set()
        self.downtimes: list[float] = []

    def _start_server(self, port: int | None) -> RunningServer:
        log_dir = self.tmp / f"server-{len(self.server_logs)}"
        server = start_server(
            "embedded",
            log_dir,
            port=port,
            extra_args=["--db", str(self.db), "--log-level", "info"],
        )
        self.server_logs.append(server.log_path)
        return server

    def start_worker(self) -> None:
        env = {
            "PYTHONPATH": f"{self.tmp}{os.pathsep}{REPO_ROOT}",
            LEDGER_VARIABLE: str(self.ledger.path),
            WORK_VARIABLE: str(self.args.task_ms / 1000),
        }
        worker_id = f"{WORKER_ID_PREFIX}{len(self.workers)}"
        args = ["--tasks", f"{TASK_MODULE}:record", "--worker-id", worker_id]
        args += ["--log-format", "json", "--log-level", "INFO"]  # the end line of each task
        worker = WorkerProcess(self.url, NAMESPACE, self.tmp / "workers", args, env)
        self.workers.append(worker)
        self.worker_logs[worker.process.pid] = worker.log_path

    def kill_server(self) -> None:
        killed = time.monotonic()
        self.server.process.kill()
        self.server.process.wait(10)
        self.server = self._start_server(port=self.port)
        self.downtimes.append(time.monotonic() - killed)

    def kill_worker(self, index: int) -> None:
        alive = [w for w in self.workers if w.process.poll() is None]
        victim = alive[index % len(alive)]
        victim.process.kill()
        victim.process.wait(10)
        self.killed_pids.add(victim.process.pid)
        self.killed_ids.add(f"{WORKER_ID_PREFIX}{self.workers.index(victim)}")
        self.start_worker()

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.signal(signal.SIGTERM)
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.wait(60)


def enqueue(url: str, count: int) -> None:
    """Tasks ``record(job=i)`` for i in 0..count-1, posted by 8 clients at once."""

    def post(jobs: range) -> None:
        with EventixClient(url) as client:
            for job in jobs:
                client.post_task(Task(task="record", namespace=NAMESPACE, kwargs={"job": job}).to_wire())

    clients = 8
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, [range(i, count, clients) for i in range(clients)]))


def done_in_store(url: str) -> int | None:
    """Tasks done in the store, or None while the server cannot be asked (it is restarting)."""
    try:
        with EventixClient(url) as client:
            return client.count(namespace=NAMESPACE, status="done")
    except (TransportError, ApiError):
        return None


def fault_plan(server_kills: int, worker_kills: int) -> list[tuple[float, str]]:
    """(fraction of the executions, fault), spread evenly, server and worker kills alternating."""
    kinds = ["server"] * server_kills
    for i in range(worker_kills):  # a worker kill between two server kills, where there are two
        kinds.insert(min(2 * i + 1, len(kinds)), "worker")
    return [((i + 1) / (len(kinds) + 1), kind) for i, kind in enumerate(kinds)]


def done_writes(log_path: Path) -> tuple[Counter[str], dict[str, list[str]]]:
    """From one worker's JSON log: ``done`` write-backs per uid, and every end status per uid."""
    done: Counter[str] = Counter()
    statuses: dict[str, list[str]] = defaultdict(list)
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut by SIGKILL
        if not isinstance(entry, dict) or "status" not in entry or "task_uid" not in entry:
            continue
        statuses[entry["task_uid"]].append(entry["status"])
        if entry["status"] == "done":
            done[entry["task_uid"]] += 1
    return done, statuses


def time_to(progress: list[tuple[float, int]], count: int) -> float | None:
    """When ``count`` tasks were first seen done (None: never)."""
    return next((seconds for seconds, done in progress if done >= count), None)


def lease_releases(log_paths: list[Path], killed_ids: set[str]) -> Counter[str]:
    """Claims the server released when their lease ran out, by whose they were."""
    released: Counter[str] = Counter()
    for path in log_paths:
        for worker_id in LEASE_RELEASED.findall(path.read_text(errors="replace")):
            released[
                "held by a killed worker" if worker_id in killed_ids else "claim answer lost with the server"
            ] += 1
    return released


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--server-kills", type=int, default=2)
    parser.add_argument("--worker-kills", type=int, default=1)
    parser.add_argument("--task-ms", type=float, default=2.0, help="work per task (a sleep)")
    parser.add_argument(
        "--deadline", type=float, default=1200.0, help="seconds for the whole run after enqueueing"
    )
    args = parser.parse_args()
    n = args.tasks
    print(machine_note(), flush=True)
    with tempfile.TemporaryDirectory(prefix="eventix-faults-") as tmp_name:
        run = Run(Path(tmp_name), args)
        try:
            started = time.monotonic()
            enqueue(run.url, n)
            enqueued = time.monotonic() - started
            print(f"{n:,} tasks enqueued in {enqueued:.1f}s", flush=True)
            started = time.monotonic()
            deadline = started + args.deadline
            for _ in range(args.workers):
                run.start_worker()
            plan = fault_plan(args.server_kills, args.worker_kills)
            worker_kills = 0
            while plan and time.monotonic() < deadline:
                fraction, kind = plan[0]
                executed = run.ledger.read()
                if executed < fraction * n:
                    time.sleep(POLL / 5)
                    continue
                plan.pop(0)
                if kind == "server":
                    run.kill_server()
                else:
                    run.kill_worker(worker_kills)
                    worker_kills += 1
                print(
                    f"  {time.monotonic() - started:6.1f}s  {executed:,} executions: killed a {kind}",
                    flush=True,
                )
            done = 0
            progress: list[tuple[float, int]] = []  # (seconds since the workers started, done)
            while time.monotonic() < deadline:
                done = done_in_store(run.url) or done
                progress.append((time.monotonic() - started, done))
                if done >= n:
                    break
                if len(progress) % int(30 / POLL) == 0:
                    print(f"  {progress[-1][0]:6.1f}s  {done:,} done", flush=True)
                time.sleep(POLL)
            elapsed = time.monotonic() - started
            load_end = os.getloadavg()
            run.stop_workers()
            run.ledger.read()
            report = analyse(run, n)  # the store as the workers left it
        finally:
            run.stop_workers()
            run.server.stop()
    in_time = done >= n
    unheld = n - report["lease_releases"].total()  # the tasks no dead lease held
    unheld_time = time_to(progress, unheld)
    rows = [
        ["tasks", f"{n:,}"],
        ["workers", f"{args.workers} (+{args.worker_kills} replacing the killed)"],
        [
            "server kills (SIGKILL)",
            f"{args.server_kills}" + "".join(f", down {d:.1f}s" for d in run.downtimes),
        ],
        ["worker kills (SIGKILL)", f"{args.worker_kills}"],
        ["done", f"{report['done']:,}"],
        ["lost (never done)", f"{report['lost']:,}"],
        ["duplicated (done twice: in the store, or written twice)", f"{report['duplicated']:,}"],
        ["done write-backs the workers logged as stored", f"{report['done_writes']:,}"],
        ["executions (ledger)", f"{report['executions']:,}"],
        ["re-executions", f"{report['re_executions']:,}"],
        *([f"  - {reason}", f"{count:,}"] for reason, count in sorted(report["reasons"].items())),
        ["claims released by lease expiry", f"{report['lease_releases'].total():,}"],
        *([f"  - {why}", f"{count:,}"] for why, count in sorted(report["lease_releases"].items())),
        [
            "time until all but the tasks held by a dead lease were done",
            "not reached" if unheld_time is None else f"{unheld_time:.1f}s",
        ],
        ["throughput until then", "-" if not unheld_time else f"{unheld / unheld_time:,.0f} tasks/s"],
        ["time (workers started to all done)", f"{elapsed:.1f}s" + ("" if in_time else " (deadline passed)")],
        ["throughput, the lease wait included", f"{report['done'] / elapsed:,.0f} tasks/s"],
        ["load average at the end (1 min)", f"{load_end[0]:.1f}"],
    ]
    print()
    print(table(["figure", "value"], rows))
    failed = report["lost"] > 0 or report["duplicated"] > 0 or not in_time
    print()
    print("FAIL" if failed else "PASS: 0 lost, 0 duplicated")
    return 1 if failed else 0


def analyse(run: Run, n: int) -> dict:
    """Lost, duplicated and re-executed tasks from the store, the worker logs and the ledger."""
    done_jobs: Counter[int] = Counter()
    done_uids: set[str] = set()
    with EventixClient(run.url) as client:
        for view in client.iter_tasks(namespace=NAMESPACE, status="done"):
            task = view.to_task()
            done_jobs[int(task.kwargs["job"])] += 1
            done_uids.add(task.uid)
    written: Counter[str] = Counter()
    statuses: dict[int, dict[str, list[str]]] = {}
    for pid, log_path in run.worker_logs.items():
        done, ends = done_writes(log_path)
        written.update(done)
        statuses[pid] = ends
    lost = sum(1 for job in range(n) if done_jobs[job] == 0)
    duplicated = sum(count - 1 for count in done_jobs.values() if count > 1)
    duplicated += sum(count - 1 for count in written.values() if count > 1)
    reasons: Counter[str] = Counter()
    by_uid: dict[str, list[Execution]] = defaultdict(list)
    for execution in run.ledger.starts:
        by_uid[execution.uid].append(execution)
    for uid, executions in by_uid.items():
        if len(executions) < 2:
            continue
        kept = next(
            (e for e in reversed(executions) if e.ended and "done" in statuses.get(e.pid, {}).get(uid, [])),
            executions[-1],
        )
        for execution in executions:
            if execution is not kept:
                reasons[_reason(execution, run.killed_pids, statuses)] += 1
    return {
        "done": len(done_uids),
        "lost": lost,
        "duplicated": duplicated,
        "done_writes": sum(written.values()),
        "executions": len(run.ledger.starts),
        "re_executions": sum(reasons.values()),
        "reasons": reasons,
        "lease_releases": lease_releases(run.server_logs, run.killed_ids),
    }


def _reason(execution: Execution, killed: set[int], statuses: dict[int, dict[str, list[str]]]) -> str:
    if execution.pid in killed:
        return "its worker was killed " + ("before the write-back" if execution.ended else "mid-task")
    logged = [s for s in statuses.get(execution.pid, {}).get(execution.uid, []) if s != "done"]
    if logged:
        return f"its write-back ended {'/'.join(sorted(set(logged)))} (server killed)"
    return "no end line logged for it"


if __name__ == "__main__":
    sys.exit(main())
