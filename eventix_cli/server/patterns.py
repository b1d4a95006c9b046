"""MongoDB ``$regex`` for the embedded server's filters.

Patterns run on RE2 (google-re2): time linear in the text, no catastrophic backtracking,
and each compiled pattern capped at REGEX_MEMORY bytes (program and matching automata).
Python's re backtracks (^(a+)+$ on 28 characters: seconds per row) and has no timeout;
the `regex` module has a per-call timeout but its compile is unbounded (nested counted
repeats exhaust memory). RE2's syntax is PCRE's less back-references and look-around:
those are refused (422). MongoDB's options: i, m, s map to RE2 flags, x (extended) is
applied here by dropping unescaped whitespace and #-comments outside character classes.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Iterator
from typing import Any

import re2

from eventix_cli.server.errors import FilterError

#: the longest $regex pattern accepted, in characters
MAX_REGEX_LENGTH = 4096
#: memory budget of one compiled pattern (RE2 max_mem), bytes
REGEX_MEMORY = 8 * 1024 * 1024
#: compiled patterns kept between queries (least recently used dropped first)
REGEX_CACHE_SIZE = 16
#: distinct patterns one filter may use (so that one query never thrashes the cache)
MAX_FILTER_PATTERNS = 8


class RegexDeadline(Exception):
    """Raised inside the SQL function when the listing ran past its time limit."""


_local = threading.local()


@contextlib.contextmanager
def deadline(at: float) -> Iterator[None]:
    """Queries of this thread stop at ``time.monotonic() == at`` (checked before each match)."""
    _local.deadline = at
    try:
        yield
    finally:
        _local.deadline = None


def regexp_match(pattern: str, flags: str, value: Any) -> bool:
    """SQLite function behind ``$regex``: an RE2 search with MongoDB's option letters."""
    if value is None:
        return False
    at = getattr(_local, "deadline", None)
    if at is not None and time.monotonic() > at:
        raise RegexDeadline
    return compile_regex(pattern, flags).search(str(value)) is not None


def compile_regex(pattern: str, flags: str) -> Any:
    """The compiled pattern, from a bounded cache; :class:`FilterError` when refused."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise FilterError(f"$regex pattern of {len(pattern)} characters exceeds {MAX_REGEX_LENGTH}")
    try:
        return _compile(pattern, flags)
    except re2.error as exc:
        reason = str(exc.args[0] if exc.args else exc)
        if isinstance(exc.args[0] if exc.args else None, bytes):
            reason = exc.args[0].decode(errors="replace")
        raise FilterError(
            f"invalid $regex {_shorten(pattern)}: {reason} (RE2 syntax: no back-references or look-around)"
        ) from None


@functools.lru_cache(maxsize=REGEX_CACHE_SIZE)
def _compile(pattern: str, flags: str) -> Any:
    if "x" in flags:
        pattern = _strip_extended(pattern)
    inline = "".join(letter for letter in flags if letter in "ims")
    options = re2.Options()
    options.max_mem = REGEX_MEMORY
    options.log_errors = False
    return re2.compile(f"(?{inline}){pattern}" if inline else pattern, options)


def _strip_extended(pattern: str) -> str:
    """PCRE's extended mode (``x``): whitespace and ``#`` comments outside character
    classes are not part of the pattern; escaped ones are."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
            if pattern[i + 1 : i + 2] == "^":
                out.append("^")
                i += 1
            if pattern[i + 1 : i + 2] == "]":  # a leading ] is literal
                out.append("]")
                i += 1
        elif char == "#":
            end = pattern.find("\n", i)
            i = len(pattern) if end < 0 else end + 1
            continue
        elif not char.isspace():
            out.append(char)
        i += 1
    return "".join(out)


def _shorten(text: str, width: int = 60) -> str:
    return repr(text if len(text) <= width else text[:width] + "...")
