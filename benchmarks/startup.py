"""Startup time: ``eventix --help`` and ``eventix ping`` against upstream's ``eventixcli``.

Runs both CLIs side by side in the same run, each the median of several runs, against
the same upstream reference server on a loopback port. Prints one ratio per pair
(ours / upstream's); the target is <= 0.5.

    ./dev bench startup [--runs 15]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import BIN, median_of, verdict

from tests.support.servers import running_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    ours, theirs = str(BIN / "eventix"), str(BIN / "eventixcli")
    with tempfile.TemporaryDirectory() as tmp, running_server("upstream", Path(tmp)) as server:
        pairs = [
            ("--help", [ours, "--help"], [theirs, "--help"]),
            (
                "talk to the server",
                [ours, "ping", "--url", server.url],
                [theirs, "-s", server.url, "get", "tasks", "--limit", "1"],
            ),
        ]
        print(f"startup benchmark, median of {args.runs} runs (after 2 warm-up runs)")
        print(f"{'case':<20} {'eventix-cli':>12} {'upstream':>12} {'ratio':>7}")
        for name, mine, upstream in pairs:
            a = median_of(mine, args.runs)
            b = median_of(upstream, args.runs)
            ratio = a / b
            result = verdict(ratio, 0.5, higher_is_better=False)
            print(f"{name:<20} {a * 1000:>10.0f}ms {b * 1000:>10.0f}ms {ratio:>7.2f}  {result}")
        print("upstream commands: `eventixcli --help`, `eventixcli -s URL get tasks --limit 1`")


if __name__ == "__main__":
    main()
