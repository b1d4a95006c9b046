"""The stop-signal relay in-process: each signal reaches the callback once, in another thread."""

from __future__ import annotations

import signal
import threading

from eventix_cli.cli.stop_signals import StopSignals
from tests.support.workers import wait_for


def test_each_signal_is_relayed_once_outside_the_main_thread() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    threads: list[threading.Thread] = []
    try:
        with StopSignals(lambda: threads.append(threading.current_thread())) as relay:
            signal.raise_signal(signal.SIGTERM)
            signal.raise_signal(signal.SIGINT)
            wait_for(lambda: relay.received == 2, timeout=10)
        assert len(threads) == 2
        assert threading.main_thread() not in threads
        # told to stop: the rest of a burst is ignored while the process exits
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_without_a_signal_the_previous_handlers_come_back() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    with StopSignals(lambda: None) as relay:
        assert signal.getsignal(signal.SIGTERM) != before[signal.SIGTERM]
    assert relay.received == 0
    assert {sig: signal.getsignal(sig) for sig in before} == before
    assert signal.set_wakeup_fd(-1) == -1  # the wakeup fd is given back too
