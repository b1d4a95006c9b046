"""Durations (``90s``, ``15m``, ``2h``, ``7d``, ``1h30m``), ETAs and relative times for tables."""

from __future__ import annotations

import datetime as dt
import re

from eventix_cli.core.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)([smhdw]))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


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
    now = now or dt.datetime.now(dt.UTC)
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
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


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


def relative(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """``in 5m``, ``3h ago``, ``now`` (within a second), or ``""`` for no time."""
    if value is None:
        return ""
    now = now or dt.datetime.now(dt.UTC)
    delta = (value - now).total_seconds()
    if abs(delta) < 1:
        return "now"
    return f"in {format_duration(delta)}" if delta > 0 else f"{format_duration(delta)} ago"
