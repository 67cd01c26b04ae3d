"""Soak, measured on what ran: since when an environment has run a candidate.

From the config repository's history (`insight.history`): a candidate has soaked in environment
E from the first time every target of E ran exactly it, as long as E has run it or a descendant
of it ever since (upstream ancestry). So a version replaced by newer builds keeps soaking: with
a build every two hours and a soak of a day, production still takes one version a day, where
"the version must sit unchanged for the whole soak" would starve.

What ran is the first-parent history of the deploy branch (`ship.deploy`), each state from the
date of the first-parent commit that brought it: a merge commit's date for a merged branch (a
fast-forward keeps the commit's own date: all git records). A shallow clone whose history stops
where the soak may have started is deepened from its remote (`deepen`), or refused: the soak
clock never restarts at the cut. A commit dated after the time of judging is counted from no
later than that time (`History.clamped`), with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from promoter.errors import ExternalError, Refused
from promoter.insight.history import History
from promoter.policy.clock import stamp
from promoter.upstream.git import Git, GitError

MARGIN = timedelta(days=1)  # deepened this much further back than the soak needs

FIX = (
    "fetch the whole history (git fetch --unshallow {remote}; in GitLab CI set GIT_DEPTH: 0, in GitHub "
    "Actions actions/checkout's fetch-depth: 0) and run again"
)


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


def cut_short(
    history: History,
    env: str,
    candidate: str,
    descends: Callable[[str, str], bool],
    since: datetime | None,
    soak: float,
    now: datetime,
) -> bool:
    """Whether the answer of `soaking_since` is not settled: the history is a shallow clone's,
    `env` has run the candidate or its descendants ever since the first commit it has (so the
    soak may have started before it), and that is not long enough ago already."""
    first = history.boundary
    segs = history.timeline(env)
    if first is None or not segs or segs[0].change is None or segs[0].change.commit.sha != first.sha:
        return False
    if since is not None and since + timedelta(seconds=soak) <= now:
        return False  # soaked already: an earlier start changes nothing
    for seg in segs:
        versions = {history.version(v) for v in seg.values}
        if not versions or not all(_same(v, candidate) or descends(candidate, v) for v in versions):
            return False
    return True


def remote_of(git: Git, branch: str | None) -> str:
    """The remote a branch fetches from (`branch.<name>.remote`), else origin."""
    if branch is not None:
        got = git.run("config", "--get", f"branch.{branch}.remote", check=False).stdout.strip()
        if got and got != ".":
            return got
    return "origin"


def deepen(root: Path, rev: str, history: History, env: str, short: str, needed: datetime, done: list[str]) -> None:
    """Deepen the shallow clone at `root` so that the first-parent history of `rev` reaches back
    before `needed` (the soak's start at the latest): `git fetch --shallow-since` a day before
    it, then `--unshallow`; each tried once (`done` keeps what was). Refused when there is no
    remote or nothing is left to try, an ExternalError when the fetch fails: the message says
    the history is shallow and how to fix it."""
    git = Git(root)
    first = history.boundary
    assert first is not None
    branch = rev.removeprefix("refs/heads/") if rev.startswith("refs/heads/") else None
    remote = rev.split("/")[2] if rev.startswith("refs/remotes/") else remote_of(git, branch)
    cut = (
        f"{history.component.name}: the config repository is a shallow clone: its history stops at "
        f"{first.sha[:12]} ({stamp(first.date)}), where {env} already ran {short} or a newer version, "
        "so the soak may have started earlier"
    )
    fix = FIX.format(remote=remote)
    remotes = git.run("remote", check=False).stdout.split()
    if remote not in remotes:
        raise Refused(f"{cut}, and there is no remote '{remote}' to deepen it from; {fix}")
    since = (needed - MARGIN).isoformat()
    steps = [("--shallow-since", [f"--shallow-since={since}"]), ("--unshallow", ["--unshallow"])]
    if first.date < needed - MARGIN:  # deepening by date reaches no further: the whole history it is
        steps = steps[1:]
    left = [(name, args) for name, args in steps if name not in done]
    if not left or not _shallow(git):
        raise Refused(f"{cut}, and deepening it from {remote} ({', '.join(done)}) did not reach further; {fix}")
    failed: GitError | None = None
    for name, args in left:  # by date first; when that fails, the whole history
        done.append(name)
        try:
            git.run("fetch", "--quiet", *args, remote)
            return
        except GitError as exc:
            failed = exc
    raise ExternalError(f"{cut}, and deepening it from {remote} failed: {failed}; {fix}") from None


def _shallow(git: Git) -> bool:
    return git.out("rev-parse", "--is-shallow-repository") == "true"


def clamp_note(history: History, env: str, candidate: str, descends: Callable[[str, str], bool]) -> str:
    """When the soak of `candidate` in `env` is counted from a commit dated in the future: which,
    and from when it is counted instead ("" otherwise)."""
    if not history.clamped:
        return ""
    used = {c.used for c in history.clamped}
    for seg in history.timeline(env):
        if seg.start in used and seg.values:
            versions = {history.version(v) for v in seg.values}
            if all(_same(v, candidate) or descends(candidate, v) for v in versions):
                c = next(c for c in history.clamped if c.used == seg.start)
                return _clamp_text(history, c.commit.sha, c.commit.date, c.used)
    return ""


def clamp_warnings(history: History, env: str) -> list[str]:
    """One warning per commit of `env`'s history dated after the time of judging."""
    changed = {ch.commit.sha for ch in history.changes if env in ch.environments}
    return [
        f"{env}'s history: " + _clamp_text(history, c.commit.sha, c.commit.date, c.used)
        for c in history.clamped
        if c.commit.sha in changed
    ]


def _clamp_text(history: History, sha: str, date: datetime, used: datetime) -> str:
    return (
        f"commit {sha[:12]} is dated {stamp(date)}, in the future (a wrong clock): what it brought is "
        f"counted from {stamp(used)}"
    )
