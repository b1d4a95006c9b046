"""The journal's cost: `eventix task purge` of 5,000 done tasks with the journal against the
same purge with --no-journal, in the same run, interleaved (A B, then B A, ...).

With the journal, every listed task's document is appended as its before-image and fsynced,
a chunk of 500 at a time, before the deletes of that chunk go out. Target: the journaled
purge at >= 0.8x the rate of the purge without it (median over the rounds).

    ./dev bench journal [--rounds N] [--count N] [--kind embedded|upstream]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import BIN, machine_note, table, verdict
from bulk import seed_done

from tests.support.servers import running_server


def purge_seconds(url: str, namespace: str, count: int, state: Path, *, journal: bool) -> float:
    cmd = [str(BIN / "eventix"), "task", "purge", "--url", url, "-n", namespace, "-s", "done", "--yes"]
    if not journal:
        cmd.append("--no-journal")
    env = {**os.environ, "EVENTIX_STATE_DIR": str(state)}
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0 or f"{count:,} purged" not in proc.stderr:
        raise RuntimeError(f"purge failed ({proc.returncode}): {proc.stderr[-400:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--kind", default="embedded", choices=("embedded", "upstream"))
    args = parser.parse_args()

    print(
        f"purge of {args.count:,} done tasks, journal against --no-journal, {args.rounds} rounds, interleaved"
    )
    print(machine_note())
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        extra = (
            ["--db", str(tmp / "journal.sqlite3"), "--log-level", "warning"]
            if args.kind == "embedded"
            else ()
        )
        rows = []
        ratios = []
        with running_server(args.kind, tmp, extra_args=extra) as srv:
            for n in range(args.rounds):
                seconds: dict[bool, float] = {}
                for journal in (True, False) if n % 2 == 0 else (False, True):
                    namespace = f"journal-{n}-{int(journal)}"
                    seed_done(srv.url, args.count, namespace)
                    seconds[journal] = purge_seconds(
                        srv.url, namespace, args.count, tmp / "state", journal=journal
                    )
                with_rate, without_rate = args.count / seconds[True], args.count / seconds[False]
                ratios.append(with_rate / without_rate)
                rows.append([n + 1, f"{with_rate:,.0f}/s", f"{without_rate:,.0f}/s", f"{ratios[-1]:.2f}"])
        journal_bytes = sum(p.stat().st_size for p in (tmp / "state").rglob("*.jsonl"))
    median = statistics.median(ratios)
    print(table(["round", "with the journal", "--no-journal", "ratio"], rows))
    print(f"median ratio {median:.2f}  {verdict(median, 0.8, higher_is_better=True)}")
    print(
        f"journal after the run: {journal_bytes:,} bytes "
        f"({args.rounds} entries of {args.count:,} before-images)"
    )


if __name__ == "__main__":
    main()
