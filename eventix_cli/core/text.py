"""Text from anyone made safe for a terminal or a log line: the one escaping of control
characters, used by the command line's tables and by every text log line."""

from __future__ import annotations

import re

# C0 and C1 control characters, DEL, and the Unicode bidi controls that reorder what follows
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_KEEP_LINES = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str, *, keep_newlines: bool = False) -> str:
    """Text from task data or a client made safe for a terminal or a log line: control
    characters (newlines, escape sequences, carriage returns, backspaces, bidi overrides)
    become visible escapes such as ``\\n``, ``\\e`` and ``\\x08``, so a task or event name
    can neither forge a line nor restyle the screen. JSON output is never escaped this way:
    it stays exact."""
    pattern = _UNSAFE_KEEP_LINES if keep_newlines else _UNSAFE
    return pattern.sub(_escape_char, text) if pattern.search(text) else text


def sendable_token(token: str) -> bool:
    """Whether ``token`` can travel in an ``Authorization`` header: printable ASCII only (a line
    break or a control character would end or forge the header; HTTP headers are ASCII). The
    client refuses to send another, and the server refuses to require one no client could send."""
    return token.isascii() and token.isprintable()
