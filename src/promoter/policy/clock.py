"""The time promotion policy is judged at: now, or `PROMOTER_NOW` (ISO 8601) for tests and
rehearsals ("would this promote on Friday at 17:00?")."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from promoter.errors import UsageError

ENV = "PROMOTER_NOW"


def now() -> datetime:
    """The current time (aware, UTC), or the one `PROMOTER_NOW` sets; without an offset it is UTC."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(f"{ENV} must be an ISO 8601 time such as 2026-12-04T17:00:00+01:00, not '{raw}'") from None
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).astimezone(UTC)


def stamp(when: datetime) -> str:
    """`2026-12-02 14:05 UTC`: how messages show a time."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
