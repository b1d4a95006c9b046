"""Plain task functions in a module that imports nothing of upstream's eventix package."""

from __future__ import annotations


def plain_noop() -> None:
    return None


def delay_add_later(value: int) -> str:
    """Imports upstream task code only when it runs, then schedules a child with ``.delay()``."""
    from tests.support.sample_tasks import add

    return add.delay(value, 1).uid
