"""Summarise a sampling profile (py-spy's ``--format raw`` output, collapsed stacks).

    py-spy record --rate 500 --format raw -o worker.txt -- eventix worker ... --burst
    .venv/bin/python benchmarks/profile_top.py worker.txt --per 5000 [--under Worker._thread]

Prints the share of samples per function, inclusive (the function and what it calls) and
self (the function's own code, where the time is actually spent), line numbers folded.
``--under NAME`` keeps only stacks through a frame whose function is NAME (e.g. the worker's
task threads, leaving start-up out); ``--per N`` also gives each entry in microseconds of CPU
per item, for a run of N items (e.g. tasks) at the sampling rate.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def fold(frame: str) -> str:
    """``func (path/file.py:123)`` -> ``func (file.py)``: one entry per function, not per line."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    return f"{match['func']} ({Path(match['file']).name})"


def load(path: Path, under: str | None) -> tuple[Counter[str], Counter[str], int]:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [fold(f) for f in stack.split(";") if f.strip()]
        if under and not any(f.split(" (")[0] == under for f in frames):
            continue
        count = int(count_text)
        total += count
        for name in set(frames):
            inclusive[name] += count
        if frames:
            own[frames[-1]] += count
    return inclusive, own, total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("profile", type=Path)
    parser.add_argument("--under", help="only stacks through this function (name without file)")
    parser.add_argument("--per", type=int, help="items processed during the profile (for µs per item)")
    parser.add_argument("--rate", type=int, default=500, help="samples per second of the profile")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()

    inclusive, own, total = load(args.profile, args.under)
    scope = f" under {args.under}" if args.under else ""
    print(f"{total:,} samples{scope}")
    if not total:
        return

    def cost(count: int) -> str:
        share = f"{count / total:6.1%}"
        if args.per:
            return f"{share} {count / args.rate / args.per * 1e6:7.0f} µs/item"
        return share

    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"\n{title}:")
        for name, count in counter.most_common(args.top):
            print(f"  {cost(count)}  {name}")


if __name__ == "__main__":
    main()
