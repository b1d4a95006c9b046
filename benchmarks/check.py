"""`eventix check` at 100,000 tasks: the requests it sends, and its time against `eventix stats`.

The embedded server's database is filled with 100,000 tasks of one namespace (scheduled and
due, retry, error, done, processing with expired leases) and, in the same run, interleaved:
  1. `eventix check` with all five rules (`--max-errors 5:20/1h`, `--min-done 1/10m`, ...);
  2. the baseline, `eventix stats` of the same namespace (counts per status, the oldest due).
The requests of `check` are counted from its `--debug` log (one line per request).
Targets: at most 10 requests; time within 1.5x of `stats`.

    ./dev bench check [--quick]      # --quick: 10,000 tasks, fewer runs
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import BIN, interleaved, machine_note, median_wall, table, verdict

from eventix_cli.core.fields import new_task_document
from eventix_cli.core.times import format_wire_time, utcnow
from eventix_cli.server.store import TaskStore
from tests.support.servers import running_server

NAMESPACE = "checked"
#: status of every n-th task: most are done, as in a queue that has run for a while
MIX = ("done",) * 6 + ("scheduled", "retry", "error", "processing")

CHECK_RULES = [
    "--max-oldest-due", "5m:15m", "--max-errors", "5:20/1h", "--min-done", "1/10m",
    "--max-processing-expired", "0", "--max-queued", "50000",
]  # fmt: skip
REQUEST_LINE = re.compile(r" -> \d+ in [\d.]+ ms")


def prefill(path: Path, count: int) -> None:
    store = TaskStore(path)
    now = utcnow()
    past = format_wire_time(now - dt.timedelta(minutes=30))

    def docs() -> Iterator[dict[str, Any]]:
        for i in range(count):
            status = MIX[i % len(MIX)]
            fields = {"task": "checked", "namespace": NAMESPACE, "status": status, "kwargs": {"i": i}}
            if status == "processing":
                fields |= {"worker_id": "gone", "worker_expires": past}
            yield new_task_document(fields, now - dt.timedelta(hours=1))

    store.insert_all(docs(), now)
    store.close()


def count_requests(url: str) -> tuple[int, int, str]:
    """(requests, exit code, stdout) of one `eventix --debug check` run."""
    proc = subprocess.run(
        [str(BIN / "eventix"), "--debug", "check", "--url", url, "-n", NAMESPACE, *CHECK_RULES],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1, 2):
        raise RuntimeError(f"check exited {proc.returncode}: {proc.stderr[-500:]}")
    return len(REQUEST_LINE.findall(proc.stderr)), proc.returncode, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    size = 10_000 if args.quick else 100_000
    runs = 5 if args.quick else 15
    print(machine_note())
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "check.sqlite3"
        prefill(db, size)
        with running_server("embedded", tmp, extra_args=["--db", str(db), "--log-level", "warning"]) as srv:
            requests, code, shown = count_requests(srv.url)
            connect = ["--url", srv.url, "-n", NAMESPACE]
            samples = interleaved(
                [
                    ("check", [str(BIN / "eventix"), "check", *connect, *CHECK_RULES]),
                    ("stats", [str(BIN / "eventix"), "stats", *connect]),
                ],
                runs=runs,
                ok_codes=(0, 1, 2),
            )
    check_s, stats_s = median_wall(samples["check"]), median_wall(samples["stats"])
    ratio = check_s / stats_s
    print(f"eventix check against {size:,} tasks (exit {code}):")
    print(shown.rstrip())
    print()
    print(
        table(
            ["tasks", "requests of check", "check", "stats (baseline)", "ratio", "verdict"],
            [
                [
                    f"{size:,}",
                    f"{requests} ({verdict(requests, 10, higher_is_better=False)})",
                    f"{check_s * 1000:.0f} ms",
                    f"{stats_s * 1000:.0f} ms",
                    f"{ratio:.2f}",
                    verdict(ratio, 1.5, higher_is_better=False),
                ]
            ],
        )
    )


if __name__ == "__main__":
    main()
