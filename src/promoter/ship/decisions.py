"""For each environment of a component: what it runs, the version it would move to now, and
what stops it, as data (`Decision`): what `status` shows and what `reconcile` acts on.

Per environment, in its `after:` order: a hold or a closed window stops every candidate; else the
candidate is the newest commit of the branch (first parents, `Options.lookback` of them) that
passes every gate of its own for that environment (blocked, min_age, soak, image, verify,
dependencies). When that is what the environment runs, or older (promoter never moves an
environment back by itself), it is up to date; when nothing passes, the newest commit's first
gate says why, and when it may change.

The targets of app-interface's saas files (native ones) move by themselves only with
`promotion.auto: true`, as SAPM moves them: an environment's auto subscribers are decided apart,
one decision per set of channels (their candidates: the versions their publishers run, newest
first, `Policy.candidates`); its other auto targets with promotion.yaml's own targets; the rest
are `manual` (promoted by an explicit `promote` only; one tracking a branch is up to date). A
decision that covers part of an environment names its targets (`Decision.targets`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from promoter.errors import PromoterError, Refused
from promoter.model import Component, Release, Target
from promoter.pipeline import core
from promoter.policy.rules import Action, Gate
from promoter.records import field, record, replace
from promoter.ship.session import Session, after_first

OFFLINE = -1  # the exit code of a decision --offline could not take: no failure


@record(frozen=True)
class Decision:
    component: str
    environment: str
    runs: tuple[str, ...]  # the values its targets pin now
    action: Action
    reason: str
    candidate: str | None = None  # the version it would move to (action "promote")
    until: datetime | None = None  # when the action may change by itself
    skipped: tuple[str, ...] = field(default=())  # newer commits passed over, and why
    exit_code: int = 0  # for an "error": the exit code of what failed (4: the network, 3: a refusal)
    warnings: tuple[str, ...] = field(default=())  # what judging it found wrong (a commit dated in the future)
    shas: tuple[str | None, ...] = field(default=())  # the full sha each of `runs` names, when known
    release: Release | None = None  # the release tag `candidate` is promoted as (format: tag targets)
    targets: tuple[str, ...] = field(default=())  # the targets it covers, when not the whole environment

    @property
    def label(self) -> str:
        """The environment, and the targets when the decision covers only some of it."""
        if not self.targets:
            return self.environment
        first = self.targets[0] if len(self.targets) == 1 else f"{len(self.targets)} targets: {self.targets[0]}, …"
        return f"{self.environment} ({first})"

    def sha(self, value: str) -> str | None:
        """The full sha `value` (one of `runs`) names, when the upstream knows it."""
        return dict(zip(self.runs, self.shas)).get(value)


def environments(comp: Component, config_envs: dict[str, tuple[str, ...]]) -> list[str]:
    """The component's environments, each after those its `after:` names."""
    return after_first((t.environment for t in comp.targets), lambda env: config_envs.get(env, ()))


def decide(session: Session, comp: Component) -> list[Decision]:
    """What each environment of `comp` would do now."""
    after = {name: p.after for name, p in session.repo.config.environments.items()}
    out: list[Decision] = []
    for env in environments(comp, after):
        every = [t for t in comp.targets if t.environment == env]
        for targets, kind in units(every):
            names = () if len(targets) == len(every) else tuple(t.name for t in targets)
            try:
                if kind == "manual":
                    decided = _manual(session, comp, env, targets)
                else:
                    decided = _decide(session, comp, env, targets)
            except PromoterError as exc:
                decided = Decision(comp.name, env, (), "error", str(exc), exit_code=exc.exit_code)
            decided = replace(decided, targets=names)
            warnings = session.policy(comp).warnings([env]) if not session.options.offline else []
            if warnings:
                decided = replace(decided, warnings=tuple(warnings))
            if decided.runs and not session.options.offline and decided.action != "error":
                decided = replace(decided, shas=_shas(session, comp, decided.runs))
            out.append(decided)
    return out


def units(targets: list[Target]) -> list[tuple[list[Target], str]]:
    """An environment's targets as they are decided: promotion.yaml's and the auto native ones
    that subscribe to nothing together ("auto"); the auto subscribers apart, one unit per set of
    channels, soakDays and schedule ("channels"); the native ones without `promotion.auto`
    ("manual"). Empty units are left out."""
    plain = [t for t in targets if t.native is None or (t.native.auto and not t.native.subscribe)]
    out: list[tuple[list[Target], str]] = [(plain, "auto")] if plain else []
    groups: dict[tuple[object, ...], list[Target]] = {}
    for t in targets:
        if t.native is not None and t.native.auto and t.native.subscribe:
            p = t.native.promotion
            key = (tuple(sorted(set(t.native.subscribe))), p.soak_days if p else None, p.schedule if p else None)
            groups.setdefault(key, []).append(t)
    out += [(ts, "channels") for ts in groups.values()]
    manual = [t for t in targets if t.native is not None and not t.native.auto]
    if manual:
        out.append((manual, "manual"))
    return out


def _manual(session: Session, comp: Component, env: str, targets: list[Target]) -> Decision:
    """Native targets without `promotion.auto`: `reconcile` leaves them to an explicit `promote`."""
    scans = core.scan(session.repo, comp, targets)
    runs = tuple(dict.fromkeys(v for ts in scans for v in ts.values))
    tracked = list(dict.fromkeys(tr.value for ts in scans for tr in ts.tracking))
    if not runs and tracked:  # saas targets that follow a branch (`ref: master`): deployed as it moves
        return Decision(comp.name, env, runs, "up-to-date", f"tracks {', '.join(tracked)}")
    return Decision(comp.name, env, runs, "manual", "no promotion.auto: only an explicit promote moves it")


def _shas(session: Session, comp: Component, runs: tuple[str, ...]) -> tuple[str | None, ...]:
    """The full sha each value names, as `status` finds it (`Upstream.find`: a short prefix
    resolved, an ambiguous one unknown; a moved release tag: the commit it was promoted as); none
    when the upstream cannot be read."""
    up = session.upstream(comp)
    try:
        ran = session.ran(comp, runs)
        return tuple(None if v.startswith("sha256:") else ran.get(v) or up.find(v) for v in runs)
    except PromoterError:
        return ()


def _decide(session: Session, comp: Component, env: str, targets: list[Target]) -> Decision:
    scans = core.scan(session.repo, comp, targets)
    runs = tuple(dict.fromkeys(v for ts in scans for v in ts.values))
    tracked = list(dict.fromkeys(tr.value for ts in scans for tr in ts.tracking))
    if not runs and tracked and all(t.native is not None for t in targets):
        # saas targets that follow a branch (`ref: master`): deployed as it moves, never promoted
        return Decision(comp.name, env, runs, "up-to-date", f"tracks {', '.join(tracked)}")
    policy = session.policy(comp)
    held = policy.held(env)
    if held is not None:
        return Decision(comp.name, env, runs, "held", held.reason, until=held.until)
    if session.options.offline:  # the rules that need no upstream were judged above; no candidate
        window = policy.window(env, "")
        if window is not None:
            return Decision(comp.name, env, runs, "window", window.reason, until=window.until)
        return Decision(comp.name, env, runs, "error", "--offline: no candidate is chosen without the upstream",
                        exit_code=OFFLINE)  # fmt: skip
    up = session.upstream(comp)
    head = up.head()
    ran = session.ran(comp, runs)  # a moved release tag runs the commit it was promoted as
    current = [f for f in (ran.get(v) or up.find(v) for v in runs if not v.startswith("sha256:")) if f is not None]
    versions = [v for v in (comp.release_version(r) for r in runs) if v is not None] if comp.released else []
    skipped: list[str] = []
    first: Gate | None = None
    # app-interface subscribers: what their publishers run; else the branch's commits (or releases)
    channel = policy.candidates(targets)
    candidates = [(sha, None) for sha in channel] if channel else session.candidates(comp, head)
    for sha, release in candidates:
        shown = release.tag if release is not None else comp.short(sha)
        lower = release is not None and bool(versions) and all(release.semver <= v for v in versions)
        if lower or (current and all(up.is_ancestor(sha, c) for c in current)):
            # what it runs already, or older: nothing to do (never moved back by itself)
            if first is None:
                said = ", ".join(runs) if comp.released and versions else comp.short(current[0])
                return Decision(comp.name, env, runs, "up-to-date", f"runs {said}", skipped=tuple(skipped))
            break
        gate = _first_gate(session, comp, env, targets, sha, release)
        if gate is None and any(t.native is not None and t.native.subscribe for t in targets):
            # what it writes with the ref (promotion_data): refused here, this unit alone
            core.plan(session.repo, comp, sha, targets, scans=scans)
        if gate is None:
            to = f"{release.tag} ({comp.short(sha)})" if release is not None else comp.short(sha)
            return Decision(
                comp.name, env, runs, "promote", f"to {to}{_trusted(session, comp, sha, release)}",
                candidate=sha, skipped=tuple(skipped), release=release,
            )  # fmt: skip
        if gate.unreachable:  # a verify server down: no verdict on any candidate, an error of the network
            return Decision(comp.name, env, runs, "error", gate.reason, skipped=tuple(skipped), exit_code=4)
        first = first or gate
        skipped.append(f"{shown}: {gate.reason}")
        if gate.action in ("window", "held"):
            break  # stops every candidate alike
    if first is None:  # release tags: no release on the branch within the constraint
        from promoter.ship.session import no_releases

        return Decision(comp.name, env, runs, "error", f"{comp.name}: {no_releases(up)}", exit_code=3)
    return Decision(comp.name, env, runs, first.action, first.reason, until=first.until, skipped=tuple(skipped))


def _trusted(session: Session, comp: Component, sha: str, release: Release | None = None) -> str:
    """` (signed by …; built by … from …)`: what the trust gate verified of the candidate's image
    (tagged for `release`, for release tags)."""
    if comp.trust is None or comp.image is None or session.options.ignore_trust:
        return ""
    digest = session.digest(comp.image, comp.image_tag(sha, release))
    return f" ({session.trusted(comp, sha, digest, release).summary()})" if digest is not None else ""


def _first_gate(
    session: Session, comp: Component, env: str, targets: list[Target], sha: str, release: Release | None = None
) -> Gate | None:
    """The first gate that stops `sha` (released as `release`) from entering `env` now, None
    when none does."""
    from promoter.policy import gates

    policy = session.policy(comp)
    moved = session.moved(comp, release) if release is not None else None
    if moved is not None:
        return Gate("blocked", env, moved)
    found = policy.gates(targets, sha, verify=False)
    if found:
        return found[0]
    up = session.upstream(comp)
    fresh = gates.too_fresh(up, sha, policy.now.timestamp())
    if fresh is not None:
        ready = datetime.fromtimestamp(up.commit_time(sha) + comp.min_age, UTC)
        return Gate("soaking", env, fresh, ready)
    if comp.image is not None:  # a registry that fails stops this environment's search: an error (exit 4)
        tag = comp.image_tag(sha, release)
        digest = session.digest(comp.image, tag)
        if digest is None:
            return Gate("image-missing", env, f"{comp.name}: no image {comp.image}:{tag} yet")
        if comp.trust is not None and not session.options.ignore_trust:  # signatures and provenance
            try:
                session.trusted(comp, sha, digest, release)
            except Refused as exc:
                return Gate("untrusted", env, str(exc), None, "--ignore-trust")
    verified = policy.verify_all(targets, sha)
    if verified:
        return verified[0]
    if comp.depends_on and not session.options.ignore_deps:
        try:
            gates.dependencies(
                session.repo.config, comp, sha, up, session.upstream,
                lambda dep: core.scan(session.repo, dep, dep.targets),
            )  # fmt: skip
        except Refused as exc:
            return Gate("waiting-for-dependency", env, str(exc))
    return None
