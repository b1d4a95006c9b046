"""The worker's outage backoff: exponential, jittered, and capped."""

from __future__ import annotations

from unittest import mock

from eventix_cli.worker.outage import Outage


def test_backoff_grows_then_stays_at_the_cap() -> None:
    outage = Outage(0.5, 30.0)
    with mock.patch("eventix_cli.worker.outage.random.random", return_value=1.0):
        delays = [outage.next_delay() for _ in range(12)]
        assert outage.delay(10_000) == 30.0  # no overflow however long the outage
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(delays) == 30.0
    assert delays[-1] == 30.0


def test_jitter_stays_within_half_and_full_delay() -> None:
    outage = Outage(1.0, 8.0)
    with mock.patch("eventix_cli.worker.outage.random.random", return_value=0.0):
        assert outage.delay(3) == 4.0
        assert outage.delay(20) == 4.0
