"""The views of ``eventix top`` refresh against servers of each module's own.

Every refresh reads pages and counts; on the upstream reference server (mongomock) each of
those scans every task the server holds, about 0.1 s per 1,000. The session's shared servers
hold every test's tasks (thousands on a process of a parallel run), which made one refresh
take longer than a test waits; these tests are about the views, not that cost. Every server
fixture (``server``, ``upstream``, ``embedded_url``) takes its server from this pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ServerPool


@pytest.fixture(scope="module")
def server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    pool = ServerPool(tmp_path_factory.mktemp("top-server-logs"))
    yield pool
    pool.close()
