"""app-interface's promotion channels as gates (SAPM's and saasherder's semantics, `native.channels`).

A subscriber comes after every publisher of every channel it subscribes to: its candidate must be
a version each of them runs. It is promoter's `after:`, at the level of targets:

- a publisher **pinned by sha** runs a version from the first time it pinned exactly it on the
  deploy branch (its first-parent history, as `after:` reads environments), for as long as it has
  pinned it or a descendant ever since (`policy.soak.soaking_since`). Offline, descent is not
  asked: a version it ever pinned counts from then;
- a publisher **tracking a branch** (`ref: master`) runs every commit of that upstream branch, from
  when it landed there (the commit time of the branch's first first-parent commit that holds it:
  itself, or the merge that brought it). Offline this is not judged (a note says so);
- a disabled (or deleted) publisher runs nothing: it holds its subscribers back, as it does in
  saasherder's validation and in SAPM; a channel no target publishes too.

A deployment-success signal is what promoter's `verify:` says: the `verify:` checks of each
publisher's environment must pass for the candidate (`Policy.verify_all`); App-SRE's own deploy
state (S3) is not read. On top, per subscriber: `soakDays`, the time the candidate has run on the
publishers summed over every (channel, publisher) pair, as SAPM sums it; `schedule`, a cron
expression (UTC) read as an allow window of one hour from each time it names (so a reconcile
scheduled at least hourly meets every one of them; SAPM, which runs every few minutes, matches
the minute). A `hotfix:` (`hotfixVersions`) candidate skips them all, as saasherder's validation
does; `--ignore-soak` lifts the order and `soakDays`, `--ignore-window` the schedule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from promoter import durations
from promoter.errors import PromoterError
from promoter.model import Component, Target, Window
from promoter.native.channels import followed
from promoter.policy.clock import stamp
from promoter.upstream.revs import FULL_SHA

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from promoter.policy.rules import Gate, Policy

SCHEDULE_WINDOW = 3600  # seconds a `schedule` keeps promotions open from each time it names
Since = datetime | None | str  # when a publisher started running a version; None: it does not; str: not judged (why)


def subscribers(targets: list[Target]) -> list[Target]:
    """The targets that subscribe to channels, one per set of rules (the same channels, soakDays
    and schedule are judged once)."""
    seen: dict[tuple[object, ...], Target] = {}
    for t in targets:
        if t.native is None or not t.native.subscribe:
            continue
        p = t.native.promotion
        key = (
            t.environment,
            tuple(sorted(set(t.native.subscribe))),
            p.soak_days if p else None,
            p.schedule if p else None,
        )
        seen.setdefault(key, t)
    return list(seen.values())


def publisher_environments(policy: Policy, targets: list[Target]) -> list[str]:
    """The environments of the publishers `targets` follow (their `verify:` checks apply)."""
    return list(
        dict.fromkeys(
            p.environment for t in subscribers(targets) for _, pubs in followed(policy.config, t) for _, p in pubs
        )
    )


def gates(policy: Policy, targets: list[Target], sha: str) -> list[Gate]:
    """What stops `sha` from entering the subscribers among `targets` now: the order of their
    channels, their soakDays, their schedule."""
    comp = policy.component
    if comp.is_hotfix(sha):
        return []
    out: list[Gate] = []
    for target in subscribers(targets):
        if not policy.overrides.soak:
            out += _order(policy, target, sha)
        if not policy.overrides.window:
            schedule = _schedule(policy, target)
            if schedule is not None:
                out.append(schedule)
    return out


def notes(policy: Policy, targets: list[Target]) -> list[str]:
    """What is not judged offline for the subscribers among `targets`."""
    if policy.upstream is not None:
        return []
    out: list[str] = []
    for target in subscribers(targets):
        tracking = [
            p.name
            for _, pubs in followed(policy.config, target)
            for _, p in pubs
            if p.native is not None and not _pinned(p.native.ref)
        ]
        if tracking:
            out.append(
                f"--offline: whether {', '.join(dict.fromkeys(tracking))} (tracking a branch) run the version "
                f"'{target.name}' takes is not judged"
            )
        p = target.native.promotion if target.native else None
        if p is not None and p.soak_days:
            out.append(f"--offline: the soakDays of '{target.name}' ({p.soak_days}) are not judged")
    return out


def _pinned(ref: str | None) -> bool:
    return ref is not None and FULL_SHA.fullmatch(ref) is not None


def _order(policy: Policy, target: Target, sha: str) -> list[Gate]:
    from promoter.policy.rules import Gate

    comp = policy.component
    short = comp.short(sha)
    env = target.environment
    out: list[Gate] = []
    running: list[tuple[str, Target, datetime]] = []  # (channel, publisher, since when it runs the candidate)
    for channel, pubs in followed(policy.config, target):
        if not pubs:
            out.append(
                Gate(
                    "soaking",
                    env,
                    f"{comp.name}: '{target.name}' subscribes to channel '{channel}', which no target publishes: "
                    "it never moves by it",
                    None,
                    "--ignore-soak",
                    rule="after",
                )
            )
            continue
        for pcomp, pub in pubs:
            since = runs_since(policy, pcomp, pub, sha)
            if isinstance(since, datetime):
                running.append((channel, pub, since))
                continue
            if isinstance(since, str):
                continue  # not judged (offline): the note says so
            assert pub.native is not None
            why = (
                f"'{pub.name}' is disabled: it runs nothing"
                if pub.native.disabled
                else f"'{pub.name}' does not run {short}{_where(policy, pub)} (nor a newer version since it ran it)"
            )
            out.append(
                Gate(
                    "soaking",
                    env,
                    f"{comp.name}: '{target.name}' comes after '{pub.name}' (channel '{channel}'), and {why}",
                    None,
                    "--ignore-soak",
                    rule="after",
                    before=pub.environment,
                    publisher=pub.name,
                )
            )
    promotion = target.native.promotion if target.native else None
    days = promotion.soak_days if promotion else None
    if out or not days or not running or policy.upstream is None:
        return out
    # soakDays, as SAPM sums it: the time the candidate has run, added up over every (channel, publisher)
    need = timedelta(days=days)
    total = sum((max(policy.now - since, timedelta(0)) for _, _, since in running), timedelta(0))
    if total < need:
        ready = policy.now + (need - total) / len(running)
        left = durations.format((ready - policy.now).total_seconds(), parts=2)
        out.append(
            Gate(
                "soaking",
                env,
                f"{comp.name}: {short} is soaking on the publishers of '{target.name}' until {stamp(ready)} ({left} "
                f"left; soakDays: {days}, summed over {len(running)} publisher{'s' if len(running) != 1 else ''})",
                ready,
                "--ignore-soak",
                rule="soak",
            )
        )
    return out


def _where(policy: Policy, pub: Target) -> str:
    assert pub.native is not None
    if _pinned(pub.native.ref):
        from promoter.policy.rules import _on

        return _on(policy.rev)
    return f" (it tracks {pub.native.ref}, which does not hold it)"


def runs_since(policy: Policy, comp: Component, pub: Target, sha: str) -> Since:
    """Since when the publisher `pub` (of component `comp`) has run `sha` (None: it does not; a
    string: not judged, and why)."""
    native = pub.native
    assert native is not None
    if native.disabled:
        return None
    up = policy.upstream_for(comp)
    if not _pinned(native.ref):  # it tracks a branch: every commit of it, from when it landed there
        if up is None:
            return "offline"
        from promoter.errors import Refused, UsageError
        from promoter.upstream.revs import validate_rev

        branch = native.ref or ""
        try:
            validate_rev(branch)
            up.tip(branch)
        except (UsageError, Refused):  # no branch of that name: it runs nothing promoter can name
            return None
        if up.find(sha) is None:  # (the branch's tip is fetched: a commit it holds is there)
            return None
        when = up.landed(sha, branch)
        return None if when is None else min(datetime.fromtimestamp(when, UTC), policy.now)
    from promoter.policy import soak

    history = policy.target_history(comp, pub)

    def descends(old: str, new: str) -> bool:
        if up is None:  # offline: a version it ran counts from then; descent is not asked
            return True
        try:
            from promoter.policy.rules import _descends

            return _descends(up, old, new)
        except PromoterError:
            return False  # a version its upstream does not have

    return soak.soaking_since(history, pub.environment, sha, descends)


def _schedule(policy: Policy, target: Target) -> Gate | None:
    from promoter.policy import windows
    from promoter.policy.rules import Gate

    promotion = target.native.promotion if target.native else None
    cron = promotion.schedule if promotion else None
    if not cron:
        return None
    env = target.environment
    where = f"{target.native.file}:{promotion.line}" if target.native and promotion else target.name
    rule = Window("allow", cron, SCHEDULE_WINDOW, "UTC")
    try:
        state = windows.state((rule,), policy.now)
    except (ValueError, KeyError) as exc:  # cronsim's CronSimError is a ValueError
        return Gate(
            "window",
            env,
            f"{policy.component.name}: '{target.name}' has schedule '{cron}' ({where}), which is no cron expression "
            f"({exc}): it never opens",
            None,
            "--ignore-window",
        )
    if state.open:
        return None
    opens = f"; it opens {stamp(state.until)}" if state.until else f"; no opening within {windows.HORIZON.days} days"
    return Gate(
        "window",
        env,
        f"{policy.component.name}: '{target.name}' promotes on its schedule '{cron}' (UTC, open for "
        f"{durations.format(SCHEDULE_WINDOW)} from each time it names){opens}",
        state.until,
        "--ignore-window",
    )


def candidates(policy: Policy, targets: list[Target]) -> list[str]:
    """The versions the publishers of the subscribers among `targets` run now (a pinned one's pin,
    a tracking one's branch tip), as commits of the subscribers' upstream, newest first: their
    candidates (one all of them run passes the order; SAPM asks that they all run one)."""
    up = policy.upstream
    if up is None:
        return []
    found: dict[str, int] = {}
    for target in subscribers(targets):
        for _, pubs in followed(policy.config, target):
            for pcomp, pub in pubs:
                native = pub.native
                if native is None or native.disabled or not native.ref:
                    continue
                sha: str | None
                try:
                    if _pinned(native.ref):
                        sha = up.find(native.ref)
                    else:
                        from promoter.upstream.revs import validate_rev

                        validate_rev(native.ref)
                        theirs = policy.upstream_for(pcomp)
                        sha = theirs.tip(native.ref) if theirs is not None else None
                        sha = up.find(sha) if sha is not None else None
                except (PromoterError, ValueError):
                    continue  # a branch it does not have, a version this upstream does not know
                if sha is not None and sha not in found:
                    found[sha] = up.commit_time(sha)
    return sorted(found, key=lambda s: -found[s])
