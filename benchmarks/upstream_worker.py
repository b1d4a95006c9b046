"""Runs upstream's TaskWorker until the namespace has nothing due (its own endless=False)."""

import sys

from eventix.functions.task_worker import TaskWorker

if __name__ == "__main__":
    TaskWorker({"register_tasks": ["bench_tasks"], "namespace": sys.argv[1]}).start(endless=False)
