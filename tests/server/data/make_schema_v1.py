"""Writes ``schema-v1.sqlite3``: a database file made by the release before schema version 2
(no ``auto_vacuum``, no ``tasks_ended`` index), for the migration test.

It runs that release's own store, taken from git (commit ``RELEASE``), in a child process:

    python tests/server/data/make_schema_v1.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

RELEASE = "0d83f67"
HERE = Path(__file__).resolve().parent
TARGET = HERE / "schema-v1.sqlite3"

WRITE = """
import datetime as dt, sys
from eventix_cli.core.task import Task
from eventix_cli.server.store import TaskStore
store = TaskStore(sys.argv[1])
t0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
for i in range(12):
    status = ("scheduled", "done", "error")[i % 3]
    store.post(Task(uid=f"task-{i:02d}", task="job", status=status, eta=t0, args=[i]).to_wire())
store.post(Task(uid="keyed", task="job", unique_key="k1", eta=t0).to_wire())
store.delete("task-11")  # a free page or so, as a used file has
store.close()
"""


def main() -> None:
    TARGET.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tree:
        archive = subprocess.run(
            ["git", "archive", RELEASE, "eventix_cli"], cwd=HERE.parents[2], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
        subprocess.run([sys.executable, "-c", WRITE, str(TARGET)], cwd=tree, check=True)
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
