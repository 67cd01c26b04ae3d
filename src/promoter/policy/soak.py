"""Soak, measured on what ran: since when an environment has run a candidate.

From the config repository's history (`insight.history`): a candidate has soaked in environment
E from the first time every target of E ran exactly it, as long as E has run it or a descendant
of it ever since (upstream ancestry). So a version replaced by newer builds keeps soaking: with
a build every two hours and a soak of a day, production still takes one version a day, where
"the version must sit unchanged for the whole soak" would starve.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from promoter.insight.history import History


def soaking_since(history: History, env: str, candidate: str, descends: Callable[[str, str], bool]) -> datetime | None:
    """When `env` started running `candidate` for good (None: it does not run it now, or never
    ran it exactly). `descends(old, new)` says whether `new` is `old` or a descendant of it."""
    start: datetime | None = None
    for seg in history.timeline(env):
        versions = {history.version(v) for v in seg.values}
        if versions and all(_same(v, candidate) for v in versions):
            start = start or seg.start
        elif start is not None and versions and all(descends(candidate, v) for v in versions):
            continue  # a descendant: the candidate's soak goes on
        else:
            start = None  # something else ran (older, unrelated, nothing): the clock starts again
    return start


def ran(history: History, env: str) -> list[str]:
    """The versions `env` ran exactly (all its targets at once), newest first, each once."""
    seen: dict[str, None] = {}
    for seg in reversed(history.timeline(env)):
        versions = {history.version(v) for v in seg.values}
        if len(versions) == 1:
            seen.setdefault(versions.pop(), None)
    return list(seen)


def _same(value: str, sha: str) -> bool:
    """Whether a pinned value (a full sha or a short prefix) names `sha`."""
    return value == sha or (len(value) < 40 and sha.startswith(value))
