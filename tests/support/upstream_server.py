"""Run the upstream Eventix server as a reference: its own routers over a mongomock stand-in.

Usage: ``python -m tests.support.upstream_server PORT``. Built as ``eventix-api.md`` describes:
``pydantic_db_backend``'s ``MongoClient`` is replaced by ``mongomock.MongoClient`` before the
routers are imported, then the routers, the error middleware and a ``/healthz`` are mounted.
"""

from __future__ import annotations

import os
import sys


def build_app():
    os.environ.setdefault("MONGODB_URI", "mongodb://localhost/eventix")
    import mongomock
    import pydantic_db_backend.backends.mongodb as mongodb

    mongodb.MongoClient = mongomock.MongoClient

    from eventix.functions.fastapi import ErrorMiddleware, init_backend
    from eventix.router import default, event, metrics, namespaces, task, tasks
    from fastapi import FastAPI

    app = FastAPI(title="eventix reference (mongomock)")
    app.add_middleware(ErrorMiddleware)
    for module in (default, event, metrics, namespaces, task, tasks):
        app.include_router(module.router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "healthy"}

    init_backend()
    if os.environ.get("EVENTIX_TRIGGER_CONFIG_DIRECTORY"):
        from eventix.functions.event import init_triggers

        init_triggers()  # as upstream's server does at start: every *.yaml of that directory
    return app


def main() -> None:
    import uvicorn

    port = int(sys.argv[1])
    uvicorn.run(build_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
