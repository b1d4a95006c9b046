"""The standard streams of a command: closed descriptors, encodings, a reader that went away.

* A descriptor closed by the caller (``eventix ... >&-``) is held open on ``/dev/null`` so that
  no socket or file the command opens lands on it; stdout is held read-only, so writing data
  fails with EBADF as it would on the closed descriptor, and the error is reported.
* Text that the output encoding cannot carry (``PYTHONIOENCODING=ascii``, a lone surrogate) is
  written as ``\\uXXXX`` escapes: valid inside JSON strings, readable in tables.
* stdin is read as UTF-8 (JSON and ids are UTF-8 text); undecodable bytes are bad input.
* A reader that closed the pipe (``| head -1``) ends the command quietly with 141, as a Unix
  tool killed by SIGPIPE does.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import sys

ESCAPE_ERRORS = "eventix-escape"
#: the exit status of a command whose stdout reader went away: 128 + SIGPIPE, as the shell
#: reports a tool that SIGPIPE ended
EXIT_BROKEN_PIPE = 141


def _escape(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out: list[str] = []
    for char in exc.object[exc.start : exc.end]:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out), exc.end


def _register() -> None:
    try:
        codecs.lookup_error(ESCAPE_ERRORS)
    except LookupError:
        codecs.register_error(ESCAPE_ERRORS, _escape)


def hold_closed_descriptors() -> None:
    """Open ``/dev/null`` on 0, 1 and 2 where the caller closed them (1 read-only: writes fail)."""
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_RDONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        opened = os.open(os.devnull, mode)
        if opened != fd:
            os.dup2(opened, fd)
            os.close(opened)
    if sys.stdin is None:
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - lives as long as the process
    if sys.stdout is None:
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    if sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115


def configure() -> None:
    """Encoding error handlers for stdout/stderr and UTF-8 for stdin (see the module doc)."""
    _register()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(errors=ESCAPE_ERRORS)  # type: ignore[union-attr]
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sys.stdin.reconfigure(encoding="utf-8", errors="strict")  # type: ignore[union-attr]


def silence_stdout() -> None:
    """After the reader went away: point stdout at /dev/null so the final flush cannot fail."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
