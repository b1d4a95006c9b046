"""How many tasks match a listing's filter, counted again only when the database changed.

Every page of the API carries ``max_results``, the number of every match: a ``COUNT(*)`` that
reads each matching index entry (about 10 ms for 100,000 tasks). A live view such as
``eventix top`` asks for the same counts every few seconds; on a quiet queue nothing has
changed in between, so the count of the last time is given again, and a refresh costs the
same at 100,000 tasks as at 1,000 (``benchmarks/top.py``).

Whether anything changed is SQLite's ``PRAGMA data_version`` of the reader connection: it
changes whenever another connection (of this process or another) committed, and stays as it
is for the whole of a read transaction. A reader connection never writes, so its own commits
never need to be seen. A count is kept per connection, filter and parameters, the most
recently used :data:`COUNT_CACHE_SIZE` of them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from typing import Any

#: counts kept (one per reader connection, filter and parameters)
COUNT_CACHE_SIZE = 256


class CountCache:
    def __init__(self, size: int = COUNT_CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[Any, ...], tuple[int, int]] = OrderedDict()
        self._lock = threading.Lock()

    def count(self, db: sqlite3.Connection, where: str, params: list[Any]) -> int:
        """``SELECT COUNT(*) FROM tasks WHERE {where}`` on ``db`` (a reader connection, in the
        read transaction of the page it counts for), or the same count as last time when
        nothing was committed since."""
        version = db.execute("PRAGMA data_version").fetchone()[0]
        # the connection itself in the key (not its id): a kept entry keeps it alive, so a new
        # connection never takes an old one's place
        key = (db, where, tuple(params))
        with self._lock:
            kept = self._entries.get(key)
            if kept is not None and kept[0] == version:
                self._entries.move_to_end(key)
                return kept[1]
        total = db.execute(f"SELECT COUNT(*) FROM tasks WHERE {where}", params).fetchone()[0]
        with self._lock:
            self._entries[key] = (version, total)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return total
