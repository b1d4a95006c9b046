"""How long `/healthz` and claims wait while the embedded server stores two 15 MB documents.

Large requests are handled beside the event loop (server/offloop.py) and their documents are
encoded before the write lock is taken (server/store.py), so another request waits at most
for the interpreter while one long C call runs (a parse or an encoding of 15 MB, which holds
it). In each round, on a server of its own:
  1. the baseline: the same probes on the idle server;
  2. two 15 MB documents posted at once, probed meanwhile (a probe every 20 ms).
Rounds alternate the order (idle first, then busy first). The figures: the longest wait for
an answer, against the time the two posts take (target: at most 0.3 of it, where handling
them on the loop makes every probe wait for a whole post), and against one `json.loads` of
such a body timed in this process in the same round (one C call).

    ./dev bench event_loop [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from _common import machine_note, table, verdict

from tests.support.huge import huge_body, posting
from tests.support.servers import running_server

PROBES = {"healthz": "/healthz", "claim": "/tasks/next_scheduled?worker_id=w&namespace=other"}
#: the longest wait allowed, as a share of the time the two posts take
TARGET_SHARE = 0.3


def probe_while(url: str, path: str, busy: list[threading.Thread], at_least: int = 5) -> list[float]:
    """Latencies of GET ``path`` while any of ``busy`` runs (and at least ``at_least`` of them)."""
    latencies: list[float] = []
    with httpx.Client(base_url=url, trust_env=False, timeout=120) as client:
        while any(t.is_alive() for t in busy) or len(latencies) < at_least:
            started = time.perf_counter()
            answer = client.get(path)
            latencies.append(time.perf_counter() - started)
            if answer.status_code not in (200, 204):
                raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:300]}")
            time.sleep(0.02)
    return latencies


def one_round(tmp: Path, bodies: list[bytes], busy: bool) -> dict[str, float]:
    """The longest wait of each probe, and (when ``busy``) the time the two posts took."""
    with running_server("embedded", tmp, extra_args=["--db", ":memory:", "--log-level", "warning"]) as srv:
        answers: list[int] = []
        started = time.perf_counter()
        posts = posting(srv.url, bodies, answers) if busy else []
        found: dict[str, list[float]] = {}
        probes = [
            threading.Thread(
                target=lambda n=name, p=path: found.__setitem__(n, probe_while(srv.url, p, posts))
            )
            for name, path in PROBES.items()
        ]
        for thread in probes:
            thread.start()
        for thread in [*posts, *probes]:
            thread.join()
        if answers != [200] * len(posts):
            raise RuntimeError(f"the posts answered {answers}")
        took = time.perf_counter() - started
    return {"took": took} | {name: max(waits) for name, waits in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    print(machine_note())
    bodies = [huge_body(), huge_body()]  # two tasks (uids)
    body = bodies[0]
    idle: list[dict[str, float]] = []
    busy: list[dict[str, float]] = []
    parses: list[float] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        for i in range(args.rounds):
            for is_busy in (False, True) if i % 2 == 0 else (True, False):
                (busy if is_busy else idle).append(
                    one_round(Path(tmp_name) / f"r{i}{is_busy}", bodies, is_busy)
                )
            started = time.perf_counter()
            json.loads(body)
            parses.append(time.perf_counter() - started)
    parse = statistics.median(parses)
    rows = []
    for name in PROBES:
        worst = max(r[name] for r in busy)
        share = max(r[name] / r["took"] for r in busy)
        rows.append(
            [
                name,
                f"{max(r[name] for r in idle) * 1000:.0f} ms",
                f"{worst * 1000:.0f} ms",
                f"{statistics.median(r['took'] for r in busy):.2f} s",
                f"{share:.2f} ({verdict(share, TARGET_SHARE, higher_is_better=False)})",
                f"{worst / parse:.1f}",
            ]
        )
    print(
        f"{len(body) / 1e6:.1f} MB bodies, {args.rounds} rounds;"
        f" one json.loads of a body: {parse * 1000:.0f} ms"
    )
    print(
        table(
            [
                "probe",
                "longest wait, idle (baseline)",
                "longest wait, two posts",
                "posts took (median)",
                "worst wait / posts' time",
                "worst wait / one parse",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
