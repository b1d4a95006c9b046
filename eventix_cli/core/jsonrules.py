"""The strict-JSON rules: what JSON a task document may hold, for every way in and out.

RFC 8259 only, as every server stores it: no ``NaN``, ``Infinity`` or ``-Infinity`` (Python's
parser takes them and turns ``1e999`` into infinity; they would become ``null`` on the way),
integers within 64 bits, text that is valid Unicode (no lone surrogate, as undecodable input
bytes become), at most :data:`MAX_JSON_DEPTH` levels of nesting: what a server stores it must
take back on the next write, or a worker could never write back the task it was handed.
The client refuses such a value before sending it (:func:`encode_json`), the command line
when a user types it (:func:`loads`), the server when a request carries it (:func:`unstorable_reason` and the
:func:`reject_constant`/:func:`finite_float` hooks of its parser). A task's uid is held to one
more rule (:func:`uid_refusal`): it must name the task's path, ``/task/{uid}``, or no one could
reach the task again.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from eventix_cli.core.errors import UnsendableValue, UsageError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: The deepest JSON a request body may hold (objects and arrays, the body itself counts 1).
#: Every write route refuses deeper bodies with 422, so no stored task is deeper than this;
#: a listing page wraps tasks in two more levels.
MAX_JSON_DEPTH = 100

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_MAYBE_LONG_INT = re.compile(r"\d{19}")  # every integer outside int64 has at least 19 digits
_SURROGATE_NOTE = "(it holds a lone surrogate, as bytes that are not UTF-8 become)"


def fits_int64(value: int) -> bool:
    return INT64_MIN <= value <= INT64_MAX


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` is not valid Unicode (it cannot be written as UTF-8)."""
    return _LONE_SURROGATE.search(text) is not None


# -- reading ----------------------------------------------------------------------------------


class NotAJsonNumber(Exception):
    """A number a JSON text holds that no server can store: ``NaN``, ``Infinity``,
    ``-Infinity`` (``overflows`` false), or a literal beyond a 64-bit float (``overflows``)."""

    def __init__(self, literal: str, *, overflows: bool) -> None:
        super().__init__(literal)
        self.literal = literal
        self.overflows = overflows


def reject_constant(name: str) -> Any:
    """The ``parse_constant`` hook of a strict parser: ``NaN`` and the infinities are refused."""
    raise NotAJsonNumber(name, overflows=False)


def finite_float(literal: str) -> float:
    """The ``parse_float`` hook of a strict parser: a literal that overflows is refused."""
    number = float(literal)
    if not math.isfinite(number):
        raise NotAJsonNumber(literal, overflows=True)
    return number


def loads(text: str | bytes, what: str = "JSON value") -> Any:
    """JSON a user types or hands over in a file, refused with the input named (``what``) when
    it breaks the rules; malformed JSON still raises ``ValueError``."""
    try:
        return json.loads(text, parse_constant=reject_constant, parse_float=finite_float)
    except NotAJsonNumber as exc:
        if exc.overflows:
            raise UsageError(
                f"{what}: {exc.literal} is too large for a JSON number (it overflows to infinity)"
            ) from None
        raise UsageError(f"{what}: {exc.literal} is not a JSON number, and no server can store it") from None
    except RecursionError:
        raise UsageError(
            f"{what}: nested too deeply to read (servers store at most {MAX_JSON_DEPTH} levels of nesting)"
        ) from None


def parse_value(text: str) -> Any:
    """A value typed on the command line (``--kwarg``, ``--set``): JSON if it parses as JSON
    (``5``, ``true``, ``[1]``, ``"x"``), otherwise the string itself."""
    try:
        return loads(text)
    except ValueError:
        return text


def unstorable_reason(value: Any, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why ``value`` (parsed JSON, or a document built in code) is refused: deeper than
    ``limit``, an integer beyond 64 bits, a number that is not finite, or text that is not
    valid Unicode (a lone surrogate). ``None`` when it is fine. Iterative: no recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > limit:
                return f"JSON nested deeper than {limit} levels (MAX_JSON_DEPTH)"
            for key, sub in item.items():
                if has_lone_surrogate(key):
                    return "text with a lone surrogate (not valid Unicode)"
                stack.append((sub, depth + 1))
        elif isinstance(item, list):
            if depth > limit:
                return f"JSON nested deeper than {limit} levels (MAX_JSON_DEPTH)"
            stack.extend((sub, depth + 1) for sub in item)
        elif isinstance(item, str):
            if has_lone_surrogate(item):
                return "text with a lone surrogate (not valid Unicode)"
        elif isinstance(item, int):
            if not fits_int64(item):
                return f"an integer beyond 64 bits (integers must be within {INT64_MIN} to {INT64_MAX})"
        elif isinstance(item, float) and not math.isfinite(item):
            return "a number that is not finite (NaN and Infinity are not JSON numbers)"
    return None


def uid_refusal(uid: str, what: str = "uid") -> str | None:
    """Why ``uid`` cannot be a task's uid (``what``: how the message names it), ``None`` when
    it can. A task is read, written back, cancelled and rescheduled at ``/task/{uid}``, where
    the uid is one path segment (``%2F`` is decoded to ``/`` before routing): under an empty
    uid or one holding ``/`` a task would be stored that no route reaches again. The servers
    refuse such a uid on every way in, ``task restore`` before sending, the client as an id."""
    if not uid:
        return f"{what} must not be empty"
    if "/" in uid:
        return f"{what} {shown(uid)} cannot name a task: it holds '/', which no /task/{{uid}} path can carry"
    return None


# -- writing ----------------------------------------------------------------------------------


def encode_json(value: Any) -> bytes:
    """The JSON body for ``value``; raises :class:`UnsendableValue` for what no server can store."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        where = _find(value, lambda v: isinstance(v, float) and not math.isfinite(v))
        raise UnsendableValue(
            f"cannot send {where}: NaN and Infinity are not JSON numbers, so no server can store them"
        ) from None
    except RecursionError:
        raise UnsendableValue("cannot send a document nested this deeply") from None
    if _MAYBE_LONG_INT.search(text):
        where = _find(value, lambda v: isinstance(v, int) and not fits_int64(v))
        if where is not None:
            raise UnsendableValue(
                f"cannot send {where}: integers must fit in 64 bits ({INT64_MIN} to {INT64_MAX})"
            )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        where = _find(value, lambda v: isinstance(v, str) and has_lone_surrogate(v))
        raise UnsendableValue(f"cannot send {where}: not valid Unicode text {_SURROGATE_NOTE}") from None


def not_unicode_message(what: str, value: str) -> str:
    """The refusal of a text (``what``: an id, a key, ...) that is not valid Unicode."""
    return f"{what} {shown(value)} is not valid Unicode text {_SURROGATE_NOTE}"


def shown(value: str) -> str:
    """``value`` as a message shows it: quoted, cut short when long."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}...' ({len(value):,} characters)"


def _find(value: Any, bad: Callable[[Any], bool]) -> str | None:
    """The path (``kwargs.x[2]``) of the first value, or key, that is ``bad``, iteratively."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if bad(item):
            return f"{path or 'the value'} = {shown(item) if isinstance(item, str) else item}"
        if isinstance(item, dict):
            for key, child in reversed(item.items()):
                if isinstance(key, str) and bad(key):
                    return f"the key {shown(key)} in {path or 'the document'}"
                stack.append((f"{path}.{key}" if path else str(key), child))
        elif isinstance(item, list | tuple):
            stack.extend((f"{path}[{i}]", child) for i, child in reversed(list(enumerate(item))))
    return None
