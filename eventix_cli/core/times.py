"""Every time helper: the current time, UTC normalisation, the wire's ISO form (written and read
strictly), the forms users type (durations ``90s``, ``15m``, ``2h``, ``7d``, ``1h30m``; ETAs) and
relative times for tables.

Times are aware UTC everywhere. The current time is read through :func:`utcnow` (a frozen clock
in tests freezes it).
"""

from __future__ import annotations

import datetime as dt
import re

from eventix_cli.core.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)([smhdw]))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


# -- the current time and UTC -----------------------------------------------------------------


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """Normalise a datetime to aware UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


# -- the wire's form --------------------------------------------------------------------------


def format_wire_time(value: dt.datetime) -> str:
    """A time as the task model writes it: UTC, ISO 8601, ``Z`` (a naive time is taken as UTC)."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


def floor_ms(value: dt.datetime) -> dt.datetime:
    """``value`` floored to the millisecond, as the servers store times (MongoDB dates hold
    no more, and its drivers truncate; the embedded server stores the same)."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def format_stored_time(value: dt.datetime) -> str:
    """A time as upstream stores and returns it: the wire's form at millisecond precision
    (see :func:`floor_ms`), the fraction written only when non-zero."""
    return format_wire_time(floor_ms(as_utc(value)))


def parse_wire_time(text: str) -> dt.datetime | None:
    """The aware UTC time of ``text`` if it is written exactly as :func:`format_wire_time` writes
    it, else None (strict: the fast read path takes nothing else)."""
    if not text.endswith("Z"):
        return None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.isoformat().replace("+00:00", "Z") != text:
        return None
    return parsed


def parse_iso_time(text: str) -> dt.datetime:
    """Any ISO 8601 time, naive taken as UTC, keeping its offset; raises ``ValueError``."""
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# -- what users type --------------------------------------------------------------------------

#: the longest duration taken: a time this far from now is still a date (years 1 to 9999)
MAX_DURATION = dt.timedelta(days=1000 * 365)


def parse_duration(text: str, what: str = "duration") -> dt.timedelta:
    """``90s``, ``15m``, ``2h``, ``7d``, ``1w``, ``1h30m`` or plain seconds (``45``); at most
    :data:`MAX_DURATION`."""
    raw = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        seconds = float(raw)
    elif not raw or not _DURATION.match(raw):
        raise UsageError(
            f"invalid {what} {text!r}: use a number with a unit, e.g. 90s, 15m, 2h, 7d or 1h30m",
        )
    else:
        seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(raw))
    if not seconds <= MAX_DURATION.total_seconds():  # also catches an overflow to infinity
        shown = text if len(text) <= 40 else f"{text[:37]}..."
        raise UsageError(f"{what} {shown!r} is too long: at most {MAX_DURATION.days:,}d (1,000 years)")
    return dt.timedelta(seconds=seconds)


def parse_eta(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """An ISO 8601 time (naive means UTC), ``now``, or ``+DURATION`` from now; aware UTC."""
    now = now or utcnow()
    raw = text.strip()
    if raw.lower() == "now":
        return now
    if raw.startswith("+"):
        return now + parse_duration(raw[1:], "--eta offset")
    try:
        value = dt.datetime.fromisoformat(raw.replace(" ", "T", 1) if "T" not in raw and " " in raw else raw)
    except ValueError:
        raise UsageError(
            f"invalid time {text!r}: use ISO 8601 (2026-01-31T12:00:00Z; naive is UTC), now, or +10m"
        ) from None
    return as_utc(value)


def format_duration(seconds: float) -> str:
    """Compact human duration: ``45s``, ``5m``, ``3h``, ``2d`` (largest unit, floored)."""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def format_typed_duration(seconds: float) -> str:
    """A duration exactly, in the form :func:`parse_duration` reads: ``0s``, ``1m30s``,
    ``1h30m``, ``7d`` (for settings echoed back, where :func:`format_duration` would round)."""
    seconds = abs(seconds)
    parts = []
    for unit in ("d", "h", "m"):
        whole, seconds = divmod(seconds, _UNITS[unit])
        if whole:
            parts.append(f"{int(whole)}{unit}")
    if seconds or not parts:
        parts.append(f"{seconds:g}s")
    return "".join(parts)


def format_elapsed(seconds: float) -> str:
    """How long something took, for logs and messages: ``23.1 ms``, ``20.0 s``, ``2 min 5 s``,
    ``1 h 0 min`` (never ``20023.1 ms``)."""
    if seconds < 0.99995:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def relative(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """``in 5m``, ``3h ago``, ``now`` (within a second), or ``""`` for no time."""
    if value is None:
        return ""
    now = now or utcnow()
    delta = (value - now).total_seconds()
    if abs(delta) < 1:
        return "now"
    return f"in {format_duration(delta)}" if delta > 0 else f"{format_duration(delta)} ago"
