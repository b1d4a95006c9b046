"""A bounded window of loaded task pages: scrolling loads the next (or previous) page on
demand and drops the farthest one, so memory stays flat whatever the queue size."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eventix_cli.client.api import TaskPage
    from eventix_cli.core.view import TaskView

PAGE_SIZE = 100
MAX_PAGES = 5  # at most PAGE_SIZE * MAX_PAGES tasks loaded


@dataclass
class TaskWindow:
    """The loaded part of the matches: ``tasks`` are matches ``skip`` .. ``skip + len(tasks)``
    of ``total`` (newest first)."""

    page_size: int = PAGE_SIZE
    max_pages: int = MAX_PAGES
    skip: int = 0
    total: int = 0
    tasks: list[TaskView] = field(default_factory=list)

    @property
    def capacity(self) -> int:
        return self.page_size * self.max_pages

    def reload_request(self) -> tuple[int, int]:
        """``(skip, limit)`` of the one request that refreshes what is loaded."""
        return self.skip, max(len(self.tasks), self.page_size)

    def next_request(self) -> tuple[int, int] | None:
        """The page after the loaded rows, or None at the end."""
        end = self.skip + len(self.tasks)
        return (end, self.page_size) if end < self.total else None

    def previous_request(self) -> tuple[int, int] | None:
        """The page before the loaded rows, or None at the start."""
        if self.skip == 0:
            return None
        start = max(0, self.skip - self.page_size)
        return start, self.skip - start

    def reset(self, page: TaskPage) -> None:
        """A new selection (status or filter): its first page."""
        self.skip, self.total, self.tasks = 0, page.max_results, list(page.tasks)

    def replace(self, page: TaskPage) -> None:
        """A refresh of the loaded rows; past the end of a shrunk selection, back to its start."""
        self.total = page.max_results
        self.tasks = list(page.tasks)
        if not self.tasks and self.skip:
            self.skip = 0

    def append(self, page: TaskPage) -> int:
        """The next page, below; returns how many rows were dropped from the top."""
        self.total = page.max_results
        self.tasks.extend(page.tasks)
        dropped = max(0, len(self.tasks) - self.capacity)
        if dropped:
            del self.tasks[:dropped]
            self.skip += dropped
        return dropped

    def prepend(self, page: TaskPage, start: int) -> int:
        """The previous page (which starts at match ``start``), above; returns how many rows it
        added at the top (rows beyond the capacity are dropped from the bottom)."""
        self.total = page.max_results
        added = list(page.tasks)[: self.skip - start]
        self.tasks[:0] = added
        self.skip -= len(added)
        del self.tasks[self.capacity :]
        return len(added)
