"""Batch enqueue: `eventix task add --from FILE` against a tight POST loop on the same server.

On the embedded server, in the same run:
  1. the baseline: a tight client loop posting N tasks, one request after the other, over a
     kept-alive connection (the fastest a single script can enqueue);
  2. the ceiling: the same with 8 requests in flight;
  2b. the same loop as a user would script it: a Python process posting each line with httpx
      (so it pays an interpreter start-up too);
  3. `eventix task add --from tasks.jsonl` posting the same N tasks, timed as a whole process
     (start-up, reading and validating the file, posting, printing the uids);
  4. one `eventix task add` process per task, timed on a sample and extrapolated to N.
Target: the whole batch process >= 80 % of the tight loop's rate (the verdict printed); the
rate of its sending phase alone is shown too, which is what remains once start-up is amortised.

    ./dev bench batch [--quick]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import BIN, verdict

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import Task
from tests.support.servers import running_server


def line(i: int, namespace: str) -> dict:
    return {"task": "send_invoice", "namespace": namespace, "kwargs": {"invoice_id": i}, "priority": i % 3}


def loop_rate(url: str, count: int, namespace: str, concurrency: int) -> float:
    def post(indexes: range) -> None:
        with EventixClient(url, retries=0) as client:
            for i in indexes:
                doc = line(i, namespace)
                client.post_task(Task(**doc | {"priority": -doc["priority"]}).to_wire())

    chunks = [range(k, count, concurrency) for k in range(concurrency)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, chunks))
    return count / (time.perf_counter() - started)


LOOP_SCRIPT = """
import json, sys, httpx
url, path = sys.argv[1], sys.argv[2]
with httpx.Client(base_url=url) as client, open(path) as lines:
    for line in lines:
        doc = json.loads(line)
        doc["priority"] = -doc["priority"]
        client.post("/task", json=doc).raise_for_status()
"""


def loop_script_rate(url: str, path: Path, count: int) -> float:
    """The tight loop as a user would script it: a Python process posting with httpx."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", LOOP_SCRIPT, url, str(path)], check=True)
    return count / (time.perf_counter() - started)


def batch_rates(url: str, path: Path, count: int) -> tuple[float, float]:
    """(tasks/s of the whole process, tasks/s of sending: the rate its summary reports)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "eventix"), "task", "add", "--from", str(path), "--url", url],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0 or len(proc.stdout.split()) != count:
        raise RuntimeError(f"batch failed ({proc.returncode}): {proc.stderr[-400:]}")
    sending = re.search(r"added in ([0-9.]+)s", proc.stderr)
    if sending is None:
        raise RuntimeError(f"no summary: {proc.stderr[-400:]}")
    return count / seconds, count / float(sending.group(1))


def process_rate(url: str, sample: int, namespace: str) -> float:
    started = time.perf_counter()
    for i in range(sample):
        subprocess.run(
            [
                str(BIN / "eventix"),
                "task",
                "add",
                "send_invoice",
                "--kwarg",
                f"invoice_id={i}",
                "--url",
                url,
                "-n",
                namespace,
            ],
            capture_output=True,
            check=True,
        )
    return sample / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = (200, 2000) if args.quick else (200, 2000, 5000)
    sample = 20 if args.quick else 50
    rounds = 1 if args.quick else 3

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        extra = ["--db", str(tmp / "batch.sqlite3"), "--log-level", "warning"]
        with running_server("embedded", tmp, extra_args=extra) as srv:
            print(
                f"embedded server; tasks/s, median of {rounds} alternating rounds; "
                "'sending' is the batch from its first request to its last"
            )
            header = f"{'tasks':>7} {'loop':>6} {'x8 loop':>8} {'script':>7} {'process':>8} {'sending':>8}"
            print(f"{header} {'process/loop':>13} {'process/script':>15} {'sending/loop':>13}")
            for count in sizes:
                path = tmp / f"tasks-{count}.jsonl"
                loops, ceilings, scripts, wholes, sendings = [], [], [], [], []
                for r in range(rounds):  # alternating, so load on a shared machine hits all alike
                    path.write_text(
                        "".join(json.dumps(line(i, f"b-{count}-{r}")) + "\n" for i in range(count))
                    )
                    loops.append(loop_rate(srv.url, count, f"l-{count}-{r}", 1))
                    ceilings.append(loop_rate(srv.url, count, f"c-{count}-{r}", 8))
                    scripts.append(loop_script_rate(srv.url, path, count))
                    whole, sending = batch_rates(srv.url, path, count)
                    wholes.append(whole)
                    sendings.append(sending)
                loop, ceiling = statistics.median(loops), statistics.median(ceilings)
                whole, sending = statistics.median(wholes), statistics.median(sendings)
                script = statistics.median(scripts)
                print(
                    f"{count:>7,} {loop:>6.0f} {ceiling:>8.0f} {script:>7.0f} {whole:>8.0f} {sending:>8.0f} "
                    f"{whole / loop:>12.0%} {whole / script:>14.0%} {sending / loop:>12.0%}"
                    f"  {verdict(whole / loop, 0.8, higher_is_better=True)}"
                )
            per_process = process_rate(srv.url, sample, "p")
            print(
                f"one `eventix task add` process per task: {per_process:.1f}/s "
                f"(200 tasks: {200 / per_process:.0f}s)"
            )


if __name__ == "__main__":
    main()
