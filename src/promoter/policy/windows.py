"""Promotion windows: when promotions into an environment may land.

A window starts at every time its cron expression names, in its time zone (real zones: daylight
saving time included, as cron itself reads them), and lasts `duration` of real time. `deny`
windows close the environment while they last; `allow` windows, when an environment has any, are
the only times it is open. Cron is read by `cronsim`, a kept library, never by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from promoter.model import Window
from promoter.records import record

HORIZON = timedelta(days=400)  # how far to look for the next opening: a yearly window fits


@record(frozen=True)
class WindowState:
    open: bool
    window: Window | None = None  # the window that decides (the deny that closes, the allow that opens)
    until: datetime | None = None  # when the state changes next (None: not within the horizon)


def _starts(w: Window, at: datetime, reverse: bool) -> Iterator[datetime]:
    """The window's starts from `at` on (or back from it), as aware UTC times."""
    import cronsim

    for start in cronsim.CronSim(w.cron, at.astimezone(ZoneInfo(w.timezone)), reverse=reverse):
        yield start.astimezone(UTC)


def _active(w: Window, at: datetime) -> datetime | None:
    """The end of the occurrence of `w` that covers `at` (the latest, when several overlap)."""
    span = timedelta(seconds=w.duration)
    best: datetime | None = None
    for start in _starts(w, at + timedelta(seconds=1), reverse=True):
        if start <= at - span:
            break  # this one and every earlier one ended before `at`
        if start <= at < start + span and (best is None or start + span > best):
            best = start + span
    return best


def _next_start(w: Window, at: datetime) -> datetime | None:
    for start in _starts(w, at, reverse=False):
        return start if start - at <= HORIZON else None
    return None


def state(windows: tuple[Window, ...], at: datetime) -> WindowState:
    """Whether promotions may land at `at`, and until when that holds."""
    denies = [w for w in windows if w.kind == "deny"]
    allows = [w for w in windows if w.kind == "allow"]
    for w in denies:
        end = _active(w, at)
        if end is not None:
            while True:  # windows that overlap or follow at once keep it closed
                later = [e for e in (_active(d, end) for d in denies) if e is not None and e > end]
                if not later:
                    break
                end = max(later)
            if allows and not any(_active(a, end) for a in allows):
                opens = [s for s in (_next_start(a, end) for a in allows) if s is not None]
                return WindowState(False, w, min(opens) if opens else None)
            return WindowState(False, w, end)
    if allows:
        ending = [(end, a) for a in allows if (end := _active(a, at)) is not None]
        if ending:
            last, chosen = max(ending, key=lambda x: x[0])
            closes = [c for c in (_next_start(d, at) for d in denies) if c is not None and c < last]
            return WindowState(True, chosen, min([last, *closes]))
        opening = [(begin, a) for a in allows if (begin := _next_start(a, at)) is not None]
        if not opening:
            return WindowState(False, allows[0], None)
        first, chosen = min(opening, key=lambda x: x[0])
        return WindowState(False, chosen, first)
    closes = [s for s in (_next_start(d, at) for d in denies) if s is not None]
    return WindowState(True, None, min(closes) if closes else None)
