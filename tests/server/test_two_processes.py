"""Two `eventix server` processes on one database file, claimed from by several processes.

One server process serialises its requests anyway; two processes share only the SQLite file,
so this is where a claim that is not one write transaction would hand a task out twice.
"""

from __future__ import annotations

import multiprocessing
import signal
from pathlib import Path

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import Task
from eventix_cli.server.store import TaskStore
from tests.support.claimers import claim_until_empty
from tests.support.servers import start_server

TASKS = 300


def test_two_server_processes_on_one_file_hand_out_each_task_exactly_once(
    tmp_path: Path, namespace: str
) -> None:
    db = tmp_path / "shared.sqlite3"
    store = TaskStore(db)
    try:
        uids = {
            store.post(Task(task="n", namespace=namespace, priority=-(i % 7)).to_wire())["uid"]
            for i in range(TASKS)
        }
    finally:
        store.close()
    servers = [start_server("embedded", tmp_path / "logs", extra_args=["--db", str(db)]) for _ in range(2)]
    try:
        ctx = multiprocessing.get_context("spawn")
        jobs = [(servers[i % 2].url, namespace, f"w{i}") for i in range(4)]  # two claimers per server
        with ctx.Pool(len(jobs)) as pool:
            results = pool.starmap_async(claim_until_empty, jobs).get(timeout=120)
        claims = [uid for batch in results for uid in batch]
        assert len(claims) == len(set(claims)), f"{len(claims) - len(set(claims))} task(s) claimed twice"
        assert set(claims) == uids
        assert all(results[i] for i in range(len(jobs)))  # every claimer, on both servers, took part
        with EventixClient(servers[0].url) as client:
            assert client.count(namespace=namespace, status="done") == TASKS
            assert client.count(namespace=namespace, status="processing") == 0
    finally:
        for server in servers:
            server.stop(signal.SIGTERM)
