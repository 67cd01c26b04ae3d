"""DORA's four measures of delivery, per environment, from a component's history (`History`).

Everything is measured from the config repository (what reached the branch environments deploy
from) and, for lead times, the upstream's commit graph the history read once (its `BranchIndex`):

- deployment frequency: the environment's deployments in the period (a change of the versions
  its targets pin, from one version to another: the first pin and a removal are none; a rollback
  is one), per day and per week;
- lead time for changes: for every upstream commit a deployment shipped (the commits of its new
  version the environment never ran before, not only the promoted head: a commit carried by a
  later promotion keeps its own commit time), the time from its commit to the deployment reaching
  the branch; the median and the 90th percentile (nearest rank). A version off the branch counts
  its own commit only; commits dated after the deployment (a wrong clock) are left out;
- change failure rate: of the promotions (deployments that are no rollback), those backed out
  within the failure window: a later rollback took the environment to a version that does not
  contain the promotion's (an ancestor upstream; offline, one it ran first), or a `Revert "..."`
  commit of the promotion's own commit;
- time to restore: for each failed promotion, from its reaching the branch to the rollback or
  revert reaching it; the median.

The period is `--since`/`--until` when given, else the history's first and last change. Nothing
here reads git: the history has every figure it needs."""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import datetime

from promoter.insight.history import Change, History
from promoter.records import field, record

DAY = 86400
WINDOW = 7 * DAY  # default failure window: a rollback within a week of a promotion fails it

DEFINITIONS = {
    "deployment_frequency": (
        "deployments reaching the environment's branch in the period, per day and per week: a change of the "
        "versions its targets pin from one version to another (the first pin and a removal are none; a rollback "
        "is one)"
    ),
    "lead_time": (
        "for every upstream commit a deployment shipped (the commits of its version the environment never ran "
        "before, not only the promoted head), the time from the commit to the deployment reaching the branch; "
        "median and 90th percentile (nearest rank)"
    ),
    "change_failure_rate": (
        "promotions (deployments that are no rollback) backed out within the failure window by a rollback to a "
        "version without them or a revert of their commit, over the promotions"
    ),
    "time_to_restore": (
        "for each failed promotion, from its reaching the branch to the rollback or revert reaching it; median"
    ),
}


@record(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> int:
        return max(int((self.end - self.start).total_seconds()), 0)


@record
class Failure:
    """A promotion backed out: `by` is the change that did it."""

    change: Change
    by: Change
    seconds: int  # from the promotion reaching the branch to `by` reaching it
    revert: bool  # `by` is a revert of the promotion's commit (else a rollback)


@record
class Measures:
    component: str
    environment: str
    period: Period
    window: int
    deployments: int = 0
    rollbacks: int = 0
    promotions: int = 0
    lead_times: list[int] = field(default_factory=list)  # seconds, one per upstream commit shipped
    lead_unknown: str | None = None  # why lead times are not known, when they are not
    failures: list[Failure] = field(default_factory=list)

    @property
    def per_day(self) -> float | None:
        """None when the period is a single instant."""
        return self.deployments * DAY / self.period.seconds if self.period.seconds else None

    @property
    def per_week(self) -> float | None:
        per_day = self.per_day
        return None if per_day is None else per_day * 7

    @property
    def lead_median(self) -> int | None:
        return median(self.lead_times)

    @property
    def lead_p90(self) -> int | None:
        return percentile(self.lead_times, 90)

    @property
    def failure_rate(self) -> float | None:
        return len(self.failures) / self.promotions if self.promotions else None

    @property
    def restore_median(self) -> int | None:
        return median([f.seconds for f in self.failures])


def median(values: list[int]) -> int | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) // 2


def percentile(values: list[int], p: int) -> int | None:
    """The nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    if not values:
        return None
    s = sorted(values)
    return s[max(math.ceil(p / 100 * len(s)) - 1, 0)]


def period(h: History) -> Period | None:
    """The period measured: --since/--until, else from the first change to the last (each dated
    by when it reached the branch); None when there is neither."""
    mine = {id(ch) for ch in h.changes}
    dates = [when for env in h.environments for when, _, ch, _ in h.runs(env) if id(ch) in mine]
    start = h.since or (min(dates) if dates else None)
    end = h.until or (max(dates) if dates else None)
    if start is None or end is None:
        return None
    return Period(start, max(end, start))


def measure(h: History, window: int = WINDOW, within: Period | None = None) -> list[Measures]:
    """The four measures of each environment of `h` over `within` (default: `period(h)`)."""
    span = within or period(h)
    if span is None:
        return []
    return [_environment(h, env, span, window) for env in h.environments]


def _environment(h: History, env: str, span: Period, window: int) -> Measures:
    m = Measures(h.component.name, env, span, window)
    index = h.index
    if index is None:
        m.lead_unknown = f"upstream not read: {h.upstream_error}" if h.upstream_error else "upstream not read (offline)"
    runs = h.runs(env)
    first_run: dict[str, int] = {}  # version -> the index of the run that first had it
    seen = 0  # the upstream commits (bits over the branch's ranks) the environment ever had
    deployments: list[tuple[datetime, tuple[str, ...], tuple[str, ...], Change, bool]] = []
    prev: tuple[str, ...] = ()
    for i, (when, values, ch, flag) in enumerate(runs):
        versions = [h.version(v) for v in values]
        for v in versions:
            first_run.setdefault(v, i)
        rollback = flag if flag is not None else bool(prev) and _back_by_order(h, first_run, values, prev)
        bits = _ancestors(h, values)
        if prev and values and span.start <= when <= span.end:
            m.deployments += 1
            if rollback:
                m.rollbacks += 1
            else:
                m.promotions += 1
                if index is not None:
                    m.lead_times += _leads(h, ch, env, when, bits, seen)
            deployments.append((when, prev, values, ch, rollback))
        elif prev and values:
            deployments.append((when, prev, values, ch, rollback))
        if bits is not None:
            seen |= bits
        prev = values
    # what can back a promotion out: the rollbacks, and the reverts (by the subject they revert)
    backs = [i for i, dep in enumerate(deployments) if dep[4] or dep[3].commit.subject.startswith('Revert "')]
    for i, (when, _, new, ch, rollback) in enumerate(deployments):
        if rollback or not span.start <= when <= span.end:
            continue
        for j in backs[bisect_right(backs, i) :]:
            later, _, after, by, back = deployments[j]
            if (later - when).total_seconds() > window:
                break
            revert = by.commit.subject == f'Revert "{ch.commit.subject}"'
            if revert or (back and _backs_out(h, first_run, new, after)):
                m.failures.append(Failure(ch, by, int((later - when).total_seconds()), revert))
                break
    return m


def _ancestors(h: History, values: tuple[str, ...]) -> int | None:
    """The upstream commits `values` have (bits over the branch's ranks); None when one of them
    is not a commit of the branch (or the upstream was not read)."""
    index = h.index
    if index is None or not values:
        return None
    bits = 0
    for v in values:
        sha = h.resolved.get(v)
        if sha is None or sha not in index:
            return None
        bits |= index.ancestors[sha]
    return bits


def _leads(h: History, ch: Change, env: str, when: datetime, bits: int | None, seen: int) -> list[int]:
    """The lead time of every upstream commit the deployment shipped (its commit to `when`)."""
    assert h.index is not None
    stamp = int(when.timestamp())
    if bits is None:  # a version off the branch: its own commit only
        facts = [tc.facts for tc in ch.target_changes if tc.environment == env and tc.facts is not None]
        dated = {f.promoted: f.upstream_date for f in facts if f.promoted and f.upstream_date}
        return [s for s in (stamp - int(t.timestamp()) for t in dated.values()) if s >= 0]
    shipped = bits & ~seen  # a few commits: taken lowest bit first
    ranked = h.index.times
    out = []
    while shipped:
        low = shipped & -shipped
        lead = stamp - ranked[low.bit_length() - 1]
        if lead >= 0:
            out.append(lead)
        shipped ^= low
    return out


def _back_by_order(h: History, first_run: dict[str, int], new: tuple[str, ...], old: tuple[str, ...]) -> bool:
    """Offline (or for values the upstream cannot name): a change back to versions the environment
    first ran before those it replaced."""
    if not new or not old:
        return False
    news = [first_run.get(h.version(v), -1) for v in new]
    olds = [first_run.get(h.version(v), -1) for v in old]
    return max(news) < min(olds)


def _backs_out(h: History, first_run: dict[str, int], promoted: tuple[str, ...], after: tuple[str, ...]) -> bool:
    """Whether a rollback to `after` leaves the promotion's `promoted` versions out: upstream, a
    promoted commit that is no ancestor of what runs after; else by the order they first ran."""
    index = h.index
    shas = [h.resolved.get(v) for v in (*promoted, *after)]
    if index is not None and all(s is not None and s in index for s in shas):
        return any(
            not index.is_ancestor(p, a)
            for p in (h.resolved[v] for v in promoted)
            for a in (h.resolved[v] for v in after)
        )
    return max(first_run.get(h.version(v), -1) for v in promoted) > max(first_run.get(h.version(v), -1) for v in after)
