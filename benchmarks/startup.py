"""Start-up of the commands people run most, against upstream's equivalents, like for like.

Whole processes (interpreter start-up, imports, one request, output), both CLIs against the
same server on a loopback port, interleaved runs (A B, B A, ...) with the same warm-up and
sample size on each side; the median wall time of each side, and their ratio:

    eventix --help                          vs  eventixcli --help
    eventix task list --limit 1             vs  eventixcli -s URL get tasks --limit 1
    eventix task show UID                   vs  eventixcli -s URL get task UID
    eventix task add TASK                   vs  eventix task list --limit 1 (ours against ours)

Targets: list and show <= 0.5x upstream; --help <= 0.5x; task add within 1.1x of task list.
The server is the embedded one by default (`--server upstream`: the eventix 4.3 reference on
its mongomock stand-in); either way both sides talk to the same server and get the same rows.

    ./dev bench startup [--runs 20] [--server embedded|upstream]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from _common import BIN, interleaved, machine_note, median_wall, table, verdict

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import Task
from tests.support.servers import running_server


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--server", choices=("embedded", "upstream"), default="embedded")
    args = parser.parse_args()

    ours, theirs = str(BIN / "eventix"), str(BIN / "eventixcli")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        # no EVENTIX_* variables and an empty config dir: flags alone decide, on both sides
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTIX_")}
        env["XDG_CONFIG_HOME"] = str(tmp / "config")
        env["XDG_STATE_HOME"] = str(tmp / "state")  # the journal `task add` writes
        extra = ["--db", str(tmp / "startup.sqlite3"), "--log-level", "warning"]
        with running_server(args.server, tmp, extra_args=extra if args.server == "embedded" else ()) as srv:
            url = srv.url
            with EventixClient(url) as client:
                uids = [
                    client.post_task(Task(task="noop", namespace="default").to_wire()).uid for _ in range(20)
                ]
            uid = uids[-1]
            pairs = [
                ("--help", [ours, "--help"], [theirs, "--help"], 0.5),
                (
                    "task list --limit 1",
                    [ours, "task", "list", "--url", url, "--limit", "1"],
                    [theirs, "-s", url, "get", "tasks", "--limit", "1"],
                    0.5,
                ),
                (
                    "task show UID",
                    [ours, "task", "show", "--url", url, uid],
                    [theirs, "-s", url, "get", "task", uid],
                    0.5,
                ),
            ]
            add = [ours, "task", "add", "--url", url, "-n", "bench-add", "noop"]
            cases = [(f"{name} A", a) for name, a, _, _ in pairs] + [
                (f"{name} B", b) for name, _, b, _ in pairs
            ]
            cases.append(("task add", add))
            server_name = (
                "upstream's (on mongomock, not MongoDB)" if args.server == "upstream" else "embedded"
            )
            print(
                f"start-up, {server_name} server: {args.runs} interleaved runs per command after "
                f"{args.warmup} warm-up runs each ...",
                flush=True,
            )
            samples = interleaved(cases, runs=args.runs, warmup=args.warmup, env=env)
            print(machine_note(), flush=True)

    rows = []
    for name, _, b, target in pairs:
        mine, upstream = median_wall(samples[f"{name} A"]), median_wall(samples[f"{name} B"])
        ratio = mine / upstream
        shown = " ".join("URL" if x == url else "UID" if x == uid else x for x in b[1:])
        rows.append(
            [
                f"`eventix {name}`",
                f"`eventixcli {shown}`",
                f"{mine * 1000:.0f} ms",
                f"{upstream * 1000:.0f} ms",
                f"{ratio:.2f}",
                verdict(ratio, target, higher_is_better=False),
            ]
        )
    listing = median_wall(samples["task list --limit 1 A"])
    adding = median_wall(samples["task add"])
    rows.append(
        [
            "`eventix task add noop`",
            "(ours: `eventix task list --limit 1`)",
            f"{adding * 1000:.0f} ms",
            f"{listing * 1000:.0f} ms",
            f"{adding / listing:.2f}",
            verdict(adding / listing, 1.1, higher_is_better=False),
        ]
    )
    print()
    print(table(["command", "compared with", "its time", "their time", "ratio", "verdict"], rows))


if __name__ == "__main__":
    main()
