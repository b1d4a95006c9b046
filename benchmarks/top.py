"""`eventix top`: time to the first screen, the cost of one refresh as the queue grows, memory
at 100,000 tasks, and the idle cost of the view left open.

Against two embedded servers started side by side, one of 1,000 and one of 100,000 tasks (one
namespace, spread over every status, written straight into the database as the exporter
benchmark does), it measures in the same run:
  - the first screen with task rows of `eventix top -n NS` as a whole process in a
    pseudo-terminal (read back by a terminal emulator), against the baseline `eventix task
    list --limit 1` as a whole process, interleaved: ratio <= 3;
  - one refresh of the tasks view (the page and the status bar's counts, the calls the view
    makes): requests equal at both sizes, time within 1.5x (interleaved); and, for the record,
    the same while the queue is being written, when the server counts every match again;
  - the RSS of the `top` process after paging through 20 pages of rows, at both sizes
    (interleaved): within 1.2x;
  - the CPU of the view left open on a quiet queue (100,000 tasks, refreshing every 2 s), from
    the process's own counters: <= 2 % of one core. The server's CPU for it is printed too.

    ./dev bench top [--quick] [--idle SECONDS]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import tempfile
import time
from pathlib import Path

import psutil
from _common import BIN, Sample, machine_note, run_process, table, verdict
from exporter import NAMESPACE, prefill

from eventix_cli.cli.top.source import TopSource
from eventix_cli.cli.top.window import PAGE_SIZE
from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow
from tests.support.metrics import CountingClient
from tests.support.pty_screen import PtyScreen, cli_env
from tests.support.servers import RunningServer, running_server

SIZES = (1_000, 100_000)
#: a task row on the screen: a uid (32 hex digits)
ROW = re.compile(r"\b[0-9a-f]{32}\b")
PAGE_DOWN = "\x1b[6~"


def first_screen(url: str, tmp: Path) -> float:
    """Seconds from the start of `eventix top -n NS` to a screen showing task rows."""
    started = time.perf_counter()
    screen = PtyScreen("top", "-n", NAMESPACE, env=cli_env(url, tmp / "config"), cwd=tmp)
    try:
        screen.wait_for(ROW.search, "task rows")
        elapsed = time.perf_counter() - started
        screen.send("q")
        assert screen.wait_exit() == 0
    finally:
        screen.close()
    return elapsed


def task_list(url: str, tmp: Path) -> float:
    cmd = [str(BIN / "eventix"), "task", "list", "--limit", "1", "-n", NAMESPACE, "--url", url]
    sample: Sample = run_process(cmd, env=cli_env(url, tmp / "config"), cwd=tmp)
    return sample.wall


def startup_rounds(url: str, tmp: Path, runs: int) -> tuple[list[float], list[float]]:
    """The first screen and the baseline, interleaved (A B, then B A, ...), after a warm-up."""
    first_screen(url, tmp)
    task_list(url, tmp)
    tops: list[float] = []
    lists: list[float] = []
    for i in range(runs):
        order = [("top", tops), ("list", lists)]
        for name, times in order if i % 2 == 0 else reversed(order):
            times.append(first_screen(url, tmp) if name == "top" else task_list(url, tmp))
    return tops, lists


def refresh_rounds(
    servers: dict[int, RunningServer], runs: int, *, written: bool = False
) -> dict[int, tuple[int, float]]:
    """(requests, median seconds) of one refresh of the tasks view at each size, interleaved.
    ``written``: a task is stored in another namespace before each refresh (untimed), as on a
    queue being worked, so that the server counts every match again."""
    sources = {size: TopSource(CountingClient(srv.url, retries=0)) for size, srv in servers.items()}
    writers = {size: EventixClient(srv.url, retries=0) for size, srv in servers.items()}

    def refresh(source: TopSource) -> None:
        page = source.page(namespace=NAMESPACE, status=None, text=None, skip=0, limit=PAGE_SIZE)
        assert len(page.tasks) == PAGE_SIZE
        source.counts(NAMESPACE, utcnow())

    requests = {}
    for size, source in sources.items():
        refresh(source)  # warm-up: connections, the server's caches
        source.client.sent.clear()
        refresh(source)
        requests[size] = len(source.client.sent)
    times: dict[int, list[float]] = {size: [] for size in sources}
    for i in range(runs):
        for size in SIZES if i % 2 == 0 else reversed(SIZES):
            if written:
                writers[size].post_task(Task(task="bench", namespace=f"{NAMESPACE}-other").to_wire())
            started = time.perf_counter()
            refresh(sources[size])
            times[size].append(time.perf_counter() - started)
    for size, source in sources.items():
        source.close()
        source.client.close()
        writers[size].close()
    return {size: (requests[size], statistics.median(times[size])) for size in sources}


def rss_after_paging(url: str, tmp: Path, pages: int = 20) -> int:
    """The RSS of `eventix top` after paging down ``pages`` pages of rows and a few refreshes."""
    screen = PtyScreen("top", "-n", NAMESPACE, "--interval", "0.5", env=cli_env(url, tmp / "config"), cwd=tmp)
    try:
        screen.wait_for(ROW.search, "task rows")
        for _ in range(pages):
            screen.send(PAGE_DOWN)
            screen.pump(0.3)
        screen.pump(2.0)
        rss = psutil.Process(screen.child.pid).memory_info().rss
        screen.send("q")
        assert screen.wait_exit() == 0
    finally:
        screen.close()
    return rss


def rss_rounds(servers: dict[int, RunningServer], tmp: Path, runs: int) -> dict[int, int]:
    found: dict[int, list[int]] = {size: [] for size in servers}
    for i in range(runs):
        for size in SIZES if i % 2 == 0 else reversed(SIZES):
            found[size].append(rss_after_paging(servers[size].url, tmp))
    return {size: int(statistics.median(values)) for size, values in found.items()}


def idle_cost(server: RunningServer, tmp: Path, seconds: float) -> tuple[float, float]:
    """CPU seconds per second of `eventix top` left open (default interval), and of the server."""
    screen = PtyScreen("top", "-n", NAMESPACE, env=cli_env(server.url, tmp / "config"), cwd=tmp)
    try:
        screen.wait_for(ROW.search, "task rows")
        screen.pump(3.0)  # past the start-up
        view, serving = psutil.Process(screen.child.pid), psutil.Process(server.process.pid)
        view_before, server_before = sum(view.cpu_times()[:2]), sum(serving.cpu_times()[:2])
        started = time.perf_counter()
        screen.pump(seconds)  # reading what it draws, as a terminal would
        wall = time.perf_counter() - started
        view_cpu = sum(view.cpu_times()[:2]) - view_before
        server_cpu = sum(serving.cpu_times()[:2]) - server_before
        assert ROW.search(screen.text()), "the view stopped showing rows"
        screen.send("q")
        assert screen.wait_exit() == 0
    finally:
        screen.close()
    return view_cpu / wall, server_cpu / wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer timed runs (for a smoke run)")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds the view is left open (default 60)")
    args = parser.parse_args()
    runs = 3 if args.quick else 9
    print(machine_note(), flush=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        servers: dict[int, RunningServer] = {}
        with contextlib.ExitStack() as stack:
            for size in SIZES:
                db = tmp / f"top-{size}.sqlite3"
                print(f"prefilling {size:,} tasks ...", flush=True)
                prefill(db, size)
                extra = ["--db", str(db), "--log-level", "warning", "--cleanup-interval", "0"]
                servers[size] = stack.enter_context(
                    running_server("embedded", tmp / "logs", extra_args=extra)
                )
            small, large = servers[SIZES[0]], servers[SIZES[-1]]

            print("first screen ...", flush=True)
            tops, lists = startup_rounds(small.url, tmp, runs)
            print("one refresh ...", flush=True)
            refreshes = refresh_rounds(servers, runs * 5)
            print("one refresh, the queue being written ...", flush=True)
            busy = refresh_rounds(servers, runs * 5, written=True)
            print("memory ...", flush=True)
            rss = rss_rounds(servers, tmp, max(3, runs // 3))
            print(f"idle for {args.idle:g} s ...", flush=True)
            view_share, server_share = idle_cost(large, tmp, args.idle)
        print(machine_note())

    top_time, list_time = statistics.median(tops), statistics.median(lists)
    ratio = top_time / list_time
    (req_small, t_small), (req_large, t_large) = refreshes[SIZES[0]], refreshes[SIZES[-1]]
    rows = [
        (
            "first screen with task rows (pty)",
            "`eventix task list --limit 1`",
            f"{top_time * 1000:.0f} ms",
            f"{list_time * 1000:.0f} ms",
            f"{ratio:.2f}",
            verdict(ratio, 3, higher_is_better=False),
        ),
        (
            "one refresh at 100,000 tasks",
            "the same at 1,000",
            f"{t_large * 1000:.1f} ms, {req_large} requests",
            f"{t_small * 1000:.1f} ms, {req_small} requests",
            f"{t_large / t_small:.2f}",
            verdict(t_large / t_small, 1.5, higher_is_better=False)
            + ("" if req_large == req_small else "; FAIL (requests differ)"),
        ),
        (
            "one refresh at 100,000 tasks, the queue being written",
            "the same at 1,000",
            f"{busy[SIZES[-1]][1] * 1000:.1f} ms, {busy[SIZES[-1]][0]} requests",
            f"{busy[SIZES[0]][1] * 1000:.1f} ms, {busy[SIZES[0]][0]} requests",
            f"{busy[SIZES[-1]][1] / busy[SIZES[0]][1]:.2f}",
            "(no target: every match is counted again)",
        ),
        (
            "RSS of `top` at 100,000 tasks",
            "the same at 1,000",
            f"{rss[SIZES[-1]] / 2**20:.1f} MiB",
            f"{rss[SIZES[0]] / 2**20:.1f} MiB",
            f"{rss[SIZES[-1]] / rss[SIZES[0]]:.2f}",
            verdict(rss[SIZES[-1]] / rss[SIZES[0]], 1.2, higher_is_better=False),
        ),
        (
            f"CPU of `top` open {args.idle:g} s (100,000 tasks)",
            "one core",
            f"{view_share * 100:.2f} % (server {server_share * 100:.2f} %)",
            "100 %",
            f"{view_share:.4f}",
            verdict(view_share, 0.02, higher_is_better=False),
        ),
    ]
    print()
    print(table(["measure", "compared with", "its figure", "baseline", "ratio", "verdict"], rows))


if __name__ == "__main__":
    main()
