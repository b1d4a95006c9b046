"""Limits of health-check rules (``eventix check``) and the state a measured value is in.

A limit is ``CRIT`` or ``WARN:CRIT``, and for a rule over a time window ``.../WINDOW``
(``10/1h``, ``5:20/1h``). A rule with one limit is CRITICAL when broken. A ``max`` rule is
broken above its limit, a ``min`` rule below it: a value equal to the limit is within it. The
states and their exit codes are those of Nagios/Icinga plugins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum

from eventix_cli.core.errors import UsageError
from eventix_cli.core.times import format_duration, parse_duration


class State(IntEnum):
    """A check's state; its value is the plugin exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


@dataclass(frozen=True, slots=True)
class Limit:
    """``critical`` (and ``warning``) in the rule's unit: seconds for a duration, else a count."""

    kind: str  # "max" or "min"
    critical: float
    warning: float | None = None
    window: dt.timedelta | None = None
    duration: bool = False  # values are seconds, shown as 5m

    def state(self, value: float) -> State:
        if self._broken(value, self.critical):
            return State.CRITICAL
        if self.warning is not None and self._broken(value, self.warning):
            return State.WARNING
        return State.OK

    def _broken(self, value: float, limit: float) -> bool:
        return value > limit if self.kind == "max" else value < limit

    def shown(self, value: float) -> str:
        return format_duration(value) if self.duration else f"{int(value):,}"

    def describe(self) -> str:
        """``warning > 5, critical > 20`` (``<`` for a min rule)."""
        sign = ">" if self.kind == "max" else "<"
        parts = [] if self.warning is None else [f"warning {sign} {self.shown(self.warning)}"]
        return ", ".join([*parts, f"critical {sign} {self.shown(self.critical)}"])


def parse_limit(
    text: str,
    option: str,
    *,
    kind: str,
    duration: bool = False,
    default_window: dt.timedelta | None = None,
    most: int | None = None,
) -> Limit:
    """``CRIT``, ``WARN:CRIT``, with ``/WINDOW`` for a rule that has ``default_window``.

    ``most`` bounds a count (a rule reads at most that many tasks to decide)."""
    body, slash, window_text = text.strip().partition("/")
    window = None
    if default_window is not None:
        window = parse_duration(window_text.strip(), f"{option} window") if slash else default_window
        if window.total_seconds() <= 0:
            raise UsageError(f"{option} {text!r}: the window must be longer than 0s")
    elif slash:
        raise UsageError(f"{option} {text!r}: this rule takes no /WINDOW")
    warn_text, colon, crit_text = body.partition(":")
    if not colon:
        warn_text, crit_text = "", warn_text
    critical = _value(crit_text, option, text, duration, most)
    warning = _value(warn_text, option, text, duration, most) if colon else None
    if warning is not None:
        if kind == "max" and warning > critical:
            raise UsageError(f"{option} {text!r}: the warning limit must not be above the critical one")
        if kind == "min" and warning < critical:
            raise UsageError(f"{option} {text!r}: the warning limit must not be below the critical one")
    return Limit(kind, critical, warning, window, duration)


def _value(part: str, option: str, text: str, duration: bool, most: int | None) -> float:
    part = part.strip()
    form = "DURATION[:DURATION]" if duration else "N[:N]"
    if not part:
        raise UsageError(f"{option} {text!r}: expected {form}")
    if duration:
        return parse_duration(part, option).total_seconds()
    if not part.isdigit():
        raise UsageError(f"{option} {text!r}: expected {form} with whole numbers")
    value = int(part)
    if most is not None and value > most:
        raise UsageError(f"{option} {text!r}: at most {most:,} (the rule reads that many tasks to decide)")
    return value


def worst(states: list[State]) -> State:
    """The state of a set of checks: the worst one (OK when there are none)."""
    return max(states, default=State.OK)
