"""Plain task functions for benchmarks/worker_startup.py: a module that imports nothing of
upstream's eventix package (a worker of such functions needs none of it)."""


def noop() -> None:
    return None
