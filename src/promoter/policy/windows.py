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
    """The end of the occurrence of `w` that covers `at` (None: none does). Every occurrence of a
    window lasts as long, so the latest start at or before `at` has the latest end: one step back,
    never a walk (cronsim steps back in real time, daylight saving time's repeated hour included)."""
    for start in _starts(w, at + timedelta(seconds=1), reverse=True):
        if start > at:
            continue  # within the second after `at`
        end = start + timedelta(seconds=w.duration)
        return end if at < end else None
    return None


def _next_start(w: Window, at: datetime) -> datetime | None:
    for start in _starts(w, at, reverse=False):
        return start if start - at <= HORIZON else None
    return None


def _covered_until(windows: list[Window], at: datetime, limit: datetime) -> datetime | None:
    """The first time from `at` on that no occurrence of `windows` covers (occurrences that overlap
    or follow at once are one stretch); None when there is none up to `limit`. Each step jumps to the
    end of an occurrence, so a window that never leaves a gap costs one step per occurrence up to
    `limit`, not a walk to the end of time."""
    t = at
    while t <= limit:
        ends = [e for e in (_active(w, t) for w in windows) if e is not None]
        if not ends:
            return t
        t = max(ends)
    return None


def _opening(denies: list[Window], allows: list[Window], at: datetime, limit: datetime) -> datetime | None:
    """The first time from `at` on when promotions may land (no deny window, and an allow window
    when there are any); None when there is none up to `limit`."""
    t: datetime | None = at
    while t is not None and t <= limit:
        t = _covered_until(denies, t, limit)
        if t is None or not allows or any(_active(a, t) for a in allows):
            return t
        starts = [s for s in (_next_start(a, t) for a in allows) if s is not None]
        t = min(starts) if starts else None
    return None


def state(windows: tuple[Window, ...], at: datetime) -> WindowState:
    """Whether promotions may land at `at`, and until when that holds (None: not within HORIZON:
    a window that never opens, or never closes, is answered at once)."""
    denies = [w for w in windows if w.kind == "deny"]
    allows = [w for w in windows if w.kind == "allow"]
    limit = at + HORIZON
    closing = next((w for w in denies if _active(w, at) is not None), None)
    if closing is not None:
        return WindowState(False, closing, _opening(denies, allows, at, limit))
    if allows:
        ending = [(end, a) for a in allows if (end := _active(a, at)) is not None]
        if ending:
            chosen = max(ending, key=lambda x: x[0])[1]
            closes = [c for c in (_next_start(d, at) for d in denies) if c is not None]
            last = _covered_until(allows, at, limit)
            return WindowState(True, chosen, min([c for c in (last, *closes) if c is not None], default=None))
        opening = [(begin, a) for a in allows if (begin := _next_start(a, at)) is not None]
        chosen = min(opening, key=lambda x: x[0])[1] if opening else allows[0]
        return WindowState(False, chosen, _opening(denies, allows, at, limit))
    closes = [s for s in (_next_start(d, at) for d in denies) if s is not None]
    return WindowState(True, None, min(closes) if closes else None)
