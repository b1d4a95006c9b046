"""Stop signals (SIGTERM, SIGINT) for the long-running commands: worker, scheduler, exporter.

A Python signal handler runs in the main thread between two bytecodes, wherever that thread
happens to be: inside ``threading.Event.set``, a log call or any other code holding a lock. A
handler that takes a lock itself (``Event.set`` does) deadlocks the main thread for good when a
signal lands while that lock is held, by the main thread or by the handler of an earlier signal
(``timeout`` signals the child, then its whole process group: two signals, microseconds apart).
And a handler runs only once the main thread wakes: a signal the kernel hands to another thread
waits for the main thread's next wake-up (the exporter's refresh interval).

So the Python-level handler here does nothing. The interpreter's own C-level handler writes each
signal's number to a wakeup fd (:func:`signal.set_wakeup_fd`) from whichever thread received it;
a relay thread reading that fd calls ``on_signal`` once per signal as an ordinary thread, where
taking locks and logging are safe. What a first and a second call mean is the caller's (the
worker: stop gracefully, then force the stop).
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType, TracebackType

SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: the byte that ends the relay (no signal has number 0)
_QUIT = 0


def _do_nothing(_signum: int, _frame: FrameType | None) -> None:
    """The Python-level handler: the C-level one has written the signal to the wakeup fd."""


class StopSignals:
    """While entered, each SIGTERM/SIGINT calls ``on_signal`` in a relay thread."""

    def __init__(self, on_signal: Callable[[], None]) -> None:
        self._on_signal = on_signal
        #: signals relayed so far (written by the relay thread only)
        self.received = 0
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)  # the interpreter refuses a blocking wakeup fd
        self._relay = threading.Thread(target=self._run, name="stop-signals", daemon=True)
        self._previous_handlers: dict[int, object] = {}
        self._previous_fd = -1

    def __enter__(self) -> StopSignals:
        self._relay.start()
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._previous_handlers = {sig: signal.signal(sig, _do_nothing) for sig in SIGNALS}
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        signal.set_wakeup_fd(self._previous_fd)
        self._writer.send(bytes([_QUIT]))  # after every signal written before it
        self._relay.join(5)
        self._reader.close()
        self._writer.close()
        for sig, handler in self._previous_handlers.items():
            # told to stop, the process is on its way out: the rest of a burst must not kill
            # it with another exit code (ignored, unlike a Python handler, even while the
            # interpreter shuts down)
            signal.signal(sig, signal.SIG_IGN if self.received else handler)  # type: ignore[arg-type]

    def _run(self) -> None:
        while True:
            received = self._reader.recv(64)
            if not received:  # closed: nothing more can come
                return
            for number in received:
                if number == _QUIT:
                    return
                self.received += 1
                self._on_signal()
