"""A promotion from REV to merge request, as a library: resolve, check, plan, then ship.

`Session.prepare` does everything that needs no write (resolve the candidate, gate on upstream,
dependencies and the image, compute the changelog and the verified plan); `Session.promote_many`
runs the whole workflow for several components (prepare, review, write, commit, push, merge
request) and returns what it did for each, for the CLI (or a scheduled loop) to render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from promoter.errors import ExternalError, PromoterError, Refused, UsageError
from promoter.model import Component, Evidence, Plan, Release, Target, TargetChange, TargetScan, version_key
from promoter.pipeline import apply, core
from promoter.records import field, record
from promoter.ship import commit as commits
from promoter.upstream.git import Git
from promoter.upstream.revs import FULL_SHA, validate_rev

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from promoter.pipeline.apply import Recovery
    from promoter.policy.rules import Gate, Policy
    from promoter.ship.deploy import DeployRef
    from promoter.ship.forge import Opened
    from promoter.upstream.changelog import Changelog
    from promoter.upstream.mirror import Upstream
    from promoter.upstream.registry import Registry


@record(frozen=True)
class Options:
    offline: bool = False
    envs: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    allow_downgrade: bool = False
    allow_unmerged: bool = False
    ignore_deps: bool = False
    wait: float | None = None  # seconds to poll the registry for a missing image
    from_env: str | None = None  # REV is the version this environment runs ("promote what integration runs")
    ignore_soak: bool = False
    ignore_window: bool = False
    ignore_hold: bool = False
    ignore_verify: bool = False
    ignore_trust: bool = False  # promote images whose signatures or provenance do not hold (`trust:`)
    lookback: int = 50  # commits of the branch, newest first, a candidate is chosen among (no REV)


@record
class Prepared:
    plan: Plan
    notes: list[str] = field(default_factory=list)
    changelog: Changelog | None = None
    # why the plan changes nothing, when it is not that every target runs the candidate: with no
    # REV, no commit newer than what runs may be promoted now (the notes say what stops each)
    unchanged: str | None = None


@record
class Shipped:
    commit: commits.BranchCommit
    remote: str | None = None
    merge_request: Opened | None = None
    notes: list[str] = field(default_factory=list)


# unchanged: every selected target runs it already; declined: `review` said no (nothing written);
# dry-run: shown, not written; written: files written (and committed, pushed when asked);
# on-branch: its branch already holds this very promotion (a re-run; shipped again when asked)
if TYPE_CHECKING:
    from typing import Literal

    PromotionState = Literal["unchanged", "declined", "dry-run", "written", "on-branch"]
else:
    PromotionState = str


@record
class Promoted:
    """What `promote_many` did for one component."""

    prepared: Prepared
    state: PromotionState
    files: list[str] = field(default_factory=list)
    branch: str | None = None
    shipped: Shipped | None = None
    recovery: Recovery | None = None  # a run killed meanwhile, rolled back before this one wrote
    base: str | None = None  # the commit the promotion's branch started from
    reason: str | None = None  # why nothing was done, when it is not that every target runs it already


def order(config_components: dict[str, Component], names: Iterable[str]) -> list[Component]:
    """The named components, each after the ones it depends on (among those named)."""
    return [config_components[n] for n in after_first(names, lambda n: config_components[n].depends_on)]


def after_first(names: Iterable[str], before: Callable[[str], Iterable[str]]) -> list[str]:
    """`names` (each once), each after those of `before(name)` that are among them: components
    after their dependencies, environments after those their `after:` names (the config refuses
    cycles)."""
    chosen = list(dict.fromkeys(names))
    out: list[str] = []

    def visit(name: str) -> None:
        if name in out:
            return
        for first in before(name):
            if first in chosen:
                visit(first)
        out.append(name)

    for name in chosen:
        visit(name)
    return out


class Session:
    """One command's view of the outside: upstream mirrors and the registry, each opened once."""

    def __init__(self, repo: core.Repo, options: Options, registry: Registry | None = None) -> None:
        self.repo = repo
        self.options = options
        self._upstreams: dict[str, Upstream] = {}
        self._policies: dict[str, Policy] = {}
        self._registry = registry
        self._digests: dict[tuple[str, str], str | ExternalError | None] = {}
        self._unreachable: dict[str, ExternalError] = {}  # image -> why its registry could not be reached
        self._trusted: dict[tuple[str, str, str, str], Evidence | PromoterError] = {}
        self._base_branch: str | bool | None = False  # False: not asked yet
        self._started_from: tuple[str, str] | None = None  # (the promotion branch left, its base) when moved
        self._deploy: DeployRef | None = None
        self._promoted_tags: dict[str, dict[str, str]] = {}
        self._names: list[str] = []  # what `promote_many` promotes, as named, and its REV
        self._rev: str | None = None

    @property
    def base_branch(self) -> str | None:
        """The branch checked out when the session started (where merge requests go by default);
        asked of git once, when first needed."""
        if self._base_branch is False:
            self._base_branch = commits.current_branch(Git(self.repo.root))
        assert self._base_branch is not True
        return self._base_branch

    @property
    def deploy(self) -> DeployRef:
        """The deploy branch (`ship.deploy.resolve`): what ran is read from its first-parent
        history; asked of git once, when first needed."""
        if self._deploy is None:
            from promoter.ship import deploy

            self._deploy = deploy.resolve(Git(self.repo.root), self.repo.config)
        return self._deploy

    def upstream(self, comp: Component) -> Upstream:
        if comp.name not in self._upstreams:
            from promoter.upstream.mirror import Upstream

            self._upstreams[comp.name] = Upstream(comp)
        return self._upstreams[comp.name]

    def policy(self, comp: Component) -> Policy:
        """The promotion policy of `comp`'s environments, judged now (PROMOTER_NOW)."""
        if comp.name not in self._policies:
            from promoter.policy import clock
            from promoter.policy.rules import Overrides, Policy, load_holds

            o = self.options
            self._policies[comp.name] = Policy(
                self.repo.config,
                comp,
                self.repo.root,
                clock.now(),
                load_holds(self.repo.config, self.repo.root),
                None if o.offline else self.upstream(comp),
                Overrides(o.ignore_soak, o.ignore_window, o.ignore_hold, o.ignore_verify),
                statuses=self._statuses_of(comp),
                revision=lambda: self.deploy.rev,
                upstream_of=self.upstream,
            )
        return self._policies[comp.name]

    def _statuses_of(self, comp: Component) -> Callable[[str], dict[str, str]] | None:
        """How to ask the component's forge for a commit's statuses (for `verify: commit_status`):
        github.com or gitlab.com by the repo's host, with GITHUB_TOKEN or GITLAB_TOKEN."""
        needed = any(c.kind == "commit_status" for p in self.repo.config.environments.values() for c in p.verify)
        if not needed:
            return None

        def statuses(sha: str) -> dict[str, str]:
            from promoter.ship.forge import forge_for, forge_kind

            kind = forge_kind(comp.repo, comp.forge)
            return forge_for(kind, comp.repo, api_url=comp.forge_api).commit_statuses(sha)

        return statuses

    def registry(self) -> Registry:
        if self._registry is None:
            from promoter.upstream.registry import Registry

            self._registry = Registry(untrusted_dirs=[self.repo.root])
        return self._registry

    def digest(self, image: str, tag: str) -> str | None:
        """`Registry.digest`, asked once per image:tag in a session: every environment of a
        component asks of the same candidates, and a registry that is down costs its retries once
        (the failure is remembered and raised again; one that could not be reached at all is not
        asked about any other tag of the image either)."""
        from promoter.upstream.registry.client import Unreachable

        key = (image, tag)
        if key not in self._digests and image in self._unreachable:
            self._digests[key] = self._unreachable[image]
        elif key not in self._digests:
            try:
                self._digests[key] = self.registry().digest(image, tag)
            except Unreachable as exc:
                self._digests[key] = self._unreachable[image] = exc
            except ExternalError as exc:
                self._digests[key] = exc
        found = self._digests[key]
        if isinstance(found, ExternalError):
            raise found
        return found

    def trusted(self, comp: Component, sha: str, digest: str, release: Release | None = None) -> Evidence:
        """What `policy.trust` verified of the image `digest` of commit `sha` (released as
        `release`; `comp.trust`); Refused when it does not hold. Asked once per image in a
        session, a failure remembered."""
        key = (comp.name, sha, digest, release.tag if release is not None else "")
        if key not in self._trusted:
            from promoter.policy import trust

            try:
                self._trusted[key] = trust.verify(
                    comp, sha, digest, self.registry(), self.repo.workspace, self.repo.config.path, release
                )
            except (Refused, ExternalError) as exc:
                self._trusted[key] = exc
        found = self._trusted[key]
        if isinstance(found, PromoterError):
            raise found
        return found

    def _trust(
        self, comp: Component, sha: str, digest: str | None, notes: list[str], release: Release | None = None
    ) -> Evidence | None:
        """The trust gate of a chosen candidate (released as `release`): its evidence, None without
        `trust:`, or when --ignore-trust lifts it (noted)."""
        if comp.trust is None or digest is None:
            return None
        if self.options.ignore_trust:
            shown = release.tag if release is not None else comp.short(sha)
            notes.append(f"{comp.name}: signatures and provenance of {shown} not verified (--ignore-trust)")
            return None
        return self.trusted(comp, sha, digest, release)

    def targets(self, comp: Component) -> list[Target]:
        return core.select(comp, self.options.envs, self.options.targets)

    def promoted_tags(self, comp: Component) -> dict[str, str]:
        """The release tags the config repository's promotions of `comp` pinned, each with the
        commit it named then (read once)."""
        if comp.name not in self._promoted_tags:
            from promoter.insight.history import promoted_tags

            self._promoted_tags[comp.name] = promoted_tags(self.repo.root, comp.name)
        return self._promoted_tags[comp.name]

    def moved(self, comp: Component, release: Release) -> str | None:
        """Why `release`'s tag is known to have moved (`gates.moved`), None when it is not."""
        from promoter.policy import gates

        return gates.moved(self.upstream(comp), release, self.promoted_tags(comp))

    def candidates(self, comp: Component, head: str | None = None) -> list[tuple[str, Release | None]]:
        """What a component may move to, newest first, at most `Options.lookback`: the first-parent
        commits of its branch; for a component pinned by release tags, its releases on the branch
        within its constraint, highest version first."""
        up = self.upstream(comp)
        head = head or up.head()
        if comp.released:
            return [(r.sha, r) for r in up.release_candidates(head)[: self.options.lookback]]
        return [(sha, None) for sha in up.first_parents(head, self.options.lookback)]

    def runs(self, comp: Component, env: str) -> str:
        """The version environment `env` runs (a full sha when the upstream or the file knows it;
        a release tag when its targets pin one); refused when its targets disagree or pin nothing."""
        scans = core.scan(self.repo, comp, core.select(comp, envs=[env]))
        if comp.released and not self.options.offline:
            tags = {v for ts in scans if ts.target.format == "tag" for v in ts.values}
            found = {r.tag for r in (self.upstream(comp).release_of(v) for v in tags) if r is not None}
            if len(found) == 1 and len(tags) == 1:
                return found.pop()
        values = [v for ts in scans if ts.target.format != "digest" for v in ts.values]
        versions = {version_key(v, comp.short_length) for v in values}
        if len(versions) != 1:
            listed = ", ".join(sorted(versions)) or "nothing"
            raise Refused(
                f"{comp.name}: environment '{env}' runs {listed}, not one version; give REV instead of --from-env"
            )
        full = next((v for v in values if len(v) == 40), None)
        if full is None and not self.options.offline:
            full = self.upstream(comp).find(values[0])
        if full is None:
            raise Refused(
                f"{comp.name}: environment '{env}' runs {values[0]}, which names no commit"
                + (
                    " that promoter can resolve offline (it pins no full sha); run without --offline"
                    if self.options.offline
                    else " of the upstream"
                )
            )
        return full

    def prepare(self, comp: Component, rev: str | None, promoted_with: Iterable[str] = ()) -> Prepared:
        opts = self.options
        targets = self.targets(comp)
        if opts.from_env is not None:
            if rev is not None:
                raise UsageError(f"give REV or --from-env {opts.from_env}, not both")
            if opts.from_env in {t.environment for t in targets}:
                raise UsageError(
                    f"--from-env {opts.from_env} is also an environment to promote; choose others with --env"
                )
            rev = self.runs(comp, opts.from_env)
        if rev is not None:
            validate_rev(rev)
        policy = self.policy(comp)
        if opts.offline:
            if rev is None or not FULL_SHA.fullmatch(rev):
                raise UsageError("with --offline, give REV as a full 40-character commit sha")
            skipped = ["--offline: upstream, dependency and image checks skipped", *policy.notes(targets)]
            same = self._unchanged(comp, targets, core.scan(self.repo, comp, targets), rev, offline=True)
            if same is not None:  # nothing to change: no rule refuses it (a closed window, a hold)
                return Prepared(same, skipped + _as_notes(policy.gates(targets, rev, verify=False)))
            _refuse(policy.gates(targets, rev))
            return Prepared(core.plan(self.repo, comp, rev, targets), skipped)
        from promoter.policy import gates

        up = self.upstream(comp)
        notes: list[str] = []
        digest: str | None = None
        release: Release | None = None
        evidence: Evidence | None = None
        scans = core.scan(self.repo, comp, targets)
        if rev is None:
            chosen, digest, notes, runs, release = self._choose(comp, targets, promoted_with, scans)
            if chosen is None:  # nothing newer than what runs may go now: nothing to change
                return self._nothing_newer(comp, targets, scans, runs, notes, release)
            sha = chosen
            evidence = self._trust(comp, sha, digest, notes, release)
        else:
            if comp.released:
                release = gates.release_for(up, rev)
                moved = self.moved(comp, release)
                if moved is not None:  # even where its tag is pinned already: what runs is not what it names
                    raise Refused(moved)
                sha = release.sha
            else:
                sha = up.resolve(rev)
            same = self._unchanged(comp, targets, scans, sha, release=release)
            if same is not None:  # every selected target runs it already: no rule refuses nothing
                stopping = _as_notes(policy.gates(targets, sha, verify=False))
                same.warnings += policy.warnings(t.environment for t in targets)
                return Prepared(same, stopping)
            _refuse(policy.gates(targets, sha), policy.warnings(t.environment for t in targets))
            if comp.image is not None:
                digest = gates.image(comp, sha, self.registry(), opts.wait, release)
                evidence = self._trust(comp, sha, digest, notes, release)
        ran = self.ran(comp, gates.deployed(scans))
        notes += gates.candidate(
            up,
            sha,
            scans,
            allow_downgrade=opts.allow_downgrade,
            allow_unmerged=opts.allow_unmerged,
            read=self.repo.workspace.read,
            now=policy.now.timestamp(),
            release=release,
            ran=ran,
        )
        if comp.released:
            notes += self._moved_runs(comp, scans) + _odd_tags(up)
        if opts.ignore_deps:
            if comp.depends_on:
                notes.append(f"dependency check skipped (--ignore-deps): {', '.join(comp.depends_on)}")
        else:
            notes += gates.dependencies(
                self.repo.config,
                comp,
                sha,
                up,
                self.upstream,
                lambda dep: core.scan(self.repo, dep, dep.targets),
                promoted_with,
            )
        plan = core.plan(self.repo, comp, sha, targets, digest, scans, release)
        plan.evidence = evidence
        plan.warnings += policy.warnings(t.environment for t in targets)
        plan.shas.update(full_shas(up, plan, ran))
        return Prepared(plan, notes, self.changelog(comp, sha, scans, release=release))

    def ran(self, comp: Component, values: Iterable[str]) -> dict[str, str]:
        """Of the `values` that run, the release tags that name another commit now than when they
        were promoted (moved): each with the commit it named then, which is what runs. Nothing
        for a component not pinned by release tags."""
        if not comp.released:
            return {}
        up, promoted = self.upstream(comp), self.promoted_tags(comp)
        out = {}
        for value in values:
            release = up.release_of(value)
            then = promoted.get(release.tag) if release is not None else None
            if release is not None and then is not None and then != release.sha:
                out[value] = then
        return out

    def _moved_runs(self, comp: Component, scans: list[TargetScan]) -> list[str]:
        """A note for each release tag that runs and is known to have moved: what runs may be
        the commit it named before."""
        from promoter.policy import gates

        up = self.upstream(comp)
        notes = []
        for value, names in gates.deployed(scans).items():
            release = up.release_of(value)
            why = self.moved(comp, release) if release is not None else None
            if why is not None:
                notes.append(f"{value}, which {', '.join(names)} run: {why.partition(': ')[2]}")
        return notes

    def _unchanged(
        self,
        comp: Component,
        targets: list[Target],
        scans: list[TargetScan],
        sha: str,
        offline: bool = False,
        release: Release | None = None,
    ) -> Plan | None:
        """The plan of `sha` (released as `release`) when it changes nothing (every selected
        target pins it already, a digest target its image's digest, a `format: tag` target its
        release's tag), None when it changes something. Not on the branch of that very promotion
        (`promote --commit` left you there): publishing it is a change, which the rules judge."""
        values = [(ts.target, v) for ts in scans for v in ts.values]
        for target, v in values:
            if target.format == "tag":
                read = target.pattern.read(v)
                if release is None or release.sha != sha or read is None or str(read) != release.version:
                    return None
            elif target.format != "digest" and v != comp.render(sha, target.format):
                return None
        if not values:
            return None
        digest = None
        if any(t.format == "digest" for t, _ in values):
            if offline or comp.image is None:
                return None
            digest = self.digest(comp.image, comp.image_tag(sha, release))
            if digest is None or any(t.format == "digest" and v != digest for t, v in values):
                return None
        same = core.plan(self.repo, comp, sha, targets, digest, scans, release)
        if not same.empty or self._on_its_branch(same):
            return None
        return same

    def _on_its_branch(self, plan: Plan) -> bool:
        """Whether HEAD is on the branch `plan`'s promotion is committed on (`promote --commit`
        left you there): its files hold the promotion, yet publishing it is still a change."""
        return commits.current_branch(Git(self.repo.root)) == commits.branch_name(self.repo.config, plan)

    def _nothing_newer(
        self,
        comp: Component,
        targets: list[Target],
        scans: list[TargetScan],
        runs: list[str],
        notes: list[str],
        release: Release | None = None,
    ) -> Prepared:
        """No commit newer than what the selected targets run (`runs`: the commits; `release`: the
        release they run, for release tags) may be promoted now: a plan that changes nothing,
        each target at what it runs; the notes say what stops the newer ones."""
        envs: dict[str, list[str]] = {}  # environment -> the versions it runs, as shown
        for ts in scans:
            shown = [v if v.startswith("sha256:") or ts.target.format == "tag" else comp.short(v) for v in ts.values]
            envs.setdefault(ts.target.environment, []).extend(v for v in shown if v not in envs[ts.target.environment])
        they = ", ".join(f"{env} runs {', '.join(versions)}" for env, versions in envs.items())
        branch = self.upstream(comp).branch()
        newer = (
            f"no higher release on {branch} may be promoted now"
            if comp.released
            else f"no newer commit of {branch} may be promoted now"
        )
        if len(envs) > 1:
            newer += " to all of them"
        same = self._unchanged(comp, targets, scans, runs[0], release=release) if len(runs) == 1 else None
        if same is not None:
            return Prepared(same, notes, unchanged=f"{they}; {newer}" if notes else None)
        return Prepared(Plan(comp, runs[0], _as_they_are(scans), []), notes, unchanged=f"{they}; {newer}")

    def _choose(
        self, comp: Component, targets: list[Target], promoted_with: Iterable[str], scans: list[TargetScan]
    ) -> tuple[str | None, str | None, list[str], list[str], Release | None]:
        """The newest commit of the branch (for release tags, the highest release on it within the
        constraint) that passes every gate of its own (blocked, min_age, soak, image, trust,
        verify, dependencies; a moved tag), newer than what the selected targets run: (sha, its
        image digest, notes on the newer ones skipped and why, [], its release); (None, None,
        notes, the commits the targets run, the release they run) when none is newer, so nothing
        changes (a hold stops every candidate alike: said once). Refused when what runs cannot be
        told and none passes, or a component pinned by release tags has no release to choose."""
        from promoter.errors import PromoterError
        from promoter.policy import gates

        up = self.upstream(comp)
        policy = self.policy(comp)
        # what the selected targets run, as commits (a moved release tag: the commit it was promoted
        # as); none known: no candidate counts as what runs
        deployed = gates.deployed(scans)
        ran = self.ran(comp, deployed)
        found = {v: ran.get(v) or up.find(v) for v in deployed}
        current = list(dict.fromkeys(f for f in found.values() if f is not None))
        if None in found.values() or any(len({comp.version_key(v) for v in ts.values}) > 1 for ts in scans):
            current = []  # a value the upstream cannot name, or a target at several versions
        elif len(current) == 1 and self._on_its_branch(Plan(comp, current[0], _as_they_are(scans), [])):
            current = []  # the branch of this promotion: publishing it is a change, judged as one
        # release tags: the versions that run (a lower release is older, wherever its commit is),
        # and the one release they run, when they run one
        versions = [v for v in (comp.release_version(r) for r in deployed) if v is not None]
        running = {up.release_of(r) for r in deployed if comp.release_version(r) is not None}
        runs = running.pop() if len(running) == 1 else None
        if runs is not None and current != [runs.sha]:
            runs = None
        held = [g for g in (policy.held(e) for e in dict.fromkeys(t.environment for t in targets)) if g is not None]
        if held and current:  # stops every candidate alike: nothing newer than what runs may go
            return None, None, [g.message() for g in held], current, runs
        _refuse(held)
        skipped: dict[str, list[str]] = {}  # why -> the candidates skipped for it, newest first
        newest: list[str] = []

        def notes() -> list[str]:
            return [f"skipped {', '.join(shas)}: {why}" for why, shas in skipped.items()]

        # app-interface subscribers: what their publishers run; else the branch's newest commits
        channel = policy.candidates(targets)
        candidates = [(sha, None) for sha in channel] if channel else self.candidates(comp)
        if not candidates and comp.released:
            raise Refused(f"{comp.name}: {no_releases(up)}")
        for sha, release in candidates:
            lower = release is not None and bool(versions) and all(release.semver <= v for v in versions)
            if current and (lower or all(up.is_ancestor(sha, c) for c in current)):
                # what runs, or older: nothing newer passes (never moved back by itself); what runs
                # itself is still the candidate when its plan would change something (a digest)
                same = sha == current[0] and len(current) == 1
                if not same or self._unchanged(comp, targets, scans, sha, release=release) is not None:
                    return None, None, notes(), current, runs
            moved = self.moved(comp, release) if release is not None else None
            # with what lifts each
            reasons = [moved] if moved else [g.message() for g in policy.gates(targets, sha, verify=False)]
            fresh = gates.too_fresh(up, sha, policy.now.timestamp()) if not reasons else None
            reasons += [fresh] if fresh else []
            digest: str | None = None
            if not reasons and comp.image is not None:
                digest = self.digest(comp.image, comp.image_tag(sha, release))
                if digest is None:
                    reasons.append(f"no image {comp.image}:{comp.image_tag(sha, release)} yet")
                elif comp.trust is not None and not self.options.ignore_trust:
                    try:
                        self.trusted(comp, sha, digest, release)
                    except Refused as exc:
                        reasons.append(str(exc).partition(", or pass --ignore-trust")[0])
            if not reasons:
                verified = policy.verify_all(targets, sha)
                down = [g for g in verified if g.unreachable]
                if down:  # a verify server down judges no candidate: said as the network failure it is
                    raise ExternalError(down[0].reason)
                reasons = [g.message() for g in verified]
            if not reasons and comp.depends_on and not self.options.ignore_deps:
                try:
                    gates.dependencies(
                        self.repo.config, comp, sha, up, self.upstream,
                        lambda dep: core.scan(self.repo, dep, dep.targets), promoted_with,
                    )  # fmt: skip
                except PromoterError as exc:
                    reasons.append(str(exc))
            if not reasons:
                return sha, digest, notes(), [], release
            if current and sha in current:  # what runs fails a gate of its own now: nothing newer passed
                return None, None, notes(), current, runs
            newest = newest or reasons
            skipped.setdefault("; ".join(reasons), []).append(release.tag if release else comp.short(sha))
        said = "".join(f"\nwarning: {w}" for w in policy.warnings(t.environment for t in targets))
        which = (
            f"the {len(candidates)} versions the publishers of its channels run"
            if channel
            else f"the highest {len(candidates)} releases on {up.branch()}"
            if comp.released
            else f"the last {len(candidates)} commits of {up.branch()}"
        )
        raise Refused(f"{comp.name}: none of {which} may be promoted now; the newest: {'; '.join(newest)}{said}")

    def changelog(
        self,
        comp: Component,
        sha: str,
        scans: list[TargetScan],
        base: str | None = None,
        release: Release | None = None,
        base_release: Release | None = None,
    ) -> Changelog | None:
        """The commits from what the selected targets run (the oldest of them) to `sha`; for a
        component pinned by release tags, named by their tags (`release`, `base_release`, else
        the release tags that run)."""
        from promoter.policy import gates
        from promoter.upstream.changelog import DEFAULT_BOTS, build

        up = self.upstream(comp)
        if base is None:
            runs = [f for f in (up.find(v) for v in gates.deployed(scans)) if f is not None]
            if not runs:
                return None
            base = min(runs, key=lambda r: (sum(not up.is_ancestor(r, o) for o in runs), up.commit_time(r)))
            if comp.released and base_release is None:
                tags = [r for r in (up.release_of(v) for v in gates.deployed(scans)) if r is not None]
                base_release = next((r for r in tags if r.sha == base), None)
        cfg = self.repo.config
        log = build(up.git, base, sha, comp.repo, cfg.people, cfg.bots if cfg.bots is not None else DEFAULT_BOTS)
        log.base_tag = base_release.tag if base_release is not None else None
        log.head_tag = release.tag if release is not None else None
        return log

    def version(self, comp: Component, rev: str | None) -> tuple[str, Release | None]:
        """The commit REV names, and for a component pinned by release tags its release (`REV`
        a release or a commit with one; None: the highest release on the branch within the
        constraint; a moved tag is refused)."""
        from promoter.policy import gates

        up = self.upstream(comp)
        if not comp.released:
            return up.resolve(rev), None
        if rev is None:
            candidates = up.release_candidates()
            if not candidates:
                raise Refused(f"{comp.name}: {no_releases(up)}")
            release = candidates[0]
        else:
            release = gates.release_for(up, rev)
        return release.sha, release

    # -- shipping -----------------------------------------------------------------------------
    def message(self, prepared: Prepared) -> tuple[str, str]:
        """(subject, whole message) of the promotion's commit. Its last trailer, `Promoted-Hash:`,
        is the content hash of what it writes: what proves the commit promoter's own
        (`commits.proven`)."""
        from promoter.ship import describe

        plan = prepared.plan
        log = (
            describe.changelog_summary(prepared.changelog, plan.component.short_length) if prepared.changelog else None
        )
        subject, text = describe.commit_message(plan, describe.plan_summary(plan), log)
        written = {f: t.encode("utf-8") for f, t in self.contents(plan).items()}
        digest = commits.content_hash(plan.component.name, written)
        return subject, text + f"{commits.HASH_TRAILER}: {digest}\n"

    def contents(self, plan: Plan) -> dict[str, str]:
        """The plan's files, repo-relative as git names them -> their new text."""
        top = self.repo.root.resolve()
        return {(self.repo.root / ch.file).resolve().relative_to(top).as_posix(): ch.new_text for ch in plan.changes}

    def commit(
        self,
        prepared: Prepared,
        branch: str,
        base: str | None,
        old: str | None = None,
        start: str | None = None,
        built: str | None = None,
    ) -> commits.BranchCommit:
        """Commit the plan's files on `branch` (found at `old`, default `base`) on top of `base`
        (None: the branch already holds this promotion, and its tip is the commit); HEAD follows
        from `start` (see `commits.commit`)."""
        git = Git(self.repo.root)
        subject, text = self.message(prepared)
        if base is None:
            return commits.BranchCommit(branch, git.out("rev-parse", f"refs/heads/{branch}"), subject, text)
        contents = self.contents(prepared.plan)
        return commits.commit(git, branch, base if old is None else old, base, contents, subject, text, start, built)

    def again(self, names: list[str], sha: str | None, push_to: str | None) -> str:
        """The command that does this promotion again, as typed: what finishes a run that failed
        half-way (its options, the candidate resolved to a full sha, or the release tag promoted)."""
        import shlex

        o = self.options
        words = ["promoter", *self.where(), "promote", *names, *([sha] if sha else [])]
        for env in o.envs:
            words += ["--env", env]
        for target in o.targets:
            words += ["--target", target]
        if o.from_env is not None and sha is None:
            words += ["--from-env", o.from_env]
        flags = {
            "--offline": o.offline,
            "--allow-downgrade": o.allow_downgrade,
            "--allow-unmerged": o.allow_unmerged,
            "--ignore-deps": o.ignore_deps,
            "--ignore-soak": o.ignore_soak,
            "--ignore-window": o.ignore_window,
            "--ignore-hold": o.ignore_hold,
            "--ignore-verify": o.ignore_verify,
            "--ignore-trust": o.ignore_trust,
        }
        words += [flag for flag, given in flags.items() if given]
        words += ["--push", push_to] if push_to is not None else ["--commit"]
        return shlex.join(words)

    def _finish(self, plan: Plan, push_to: str | None) -> str:
        """The command that finishes this promotion: the component and its candidate, or, in a
        run of several components, the same command (a later one's dependencies pass only
        beside the earlier ones)."""
        if len(self._names) > 1:
            return self.again(self._names, self._rev, push_to)
        return self.again([plan.component.name], plan.release.tag if plan.release else plan.sha, push_to)

    def where(self) -> list[str]:
        """`-C` and `--config` as a command run from here needs them to find this repository."""
        root = self.repo.root.resolve()
        here = Path.cwd().resolve()
        words = [] if here == root or root in here.parents else ["-C", str(root)]
        config = Path(self.repo.config.path)
        if config.resolve() != root / "promotion.yaml":
            words += ["--config", str(config)]
        return words

    def publish(
        self, prepared: Prepared, done: commits.BranchCommit, push_to: str | None, target: str | None = None
    ) -> Shipped:
        """Push the promotion's commit and open or update its merge request (with `push_to`).

        A push the remote rejects because its branch moved is rebuilt on top of it: refused when
        that branch holds commits that are not promoter's own; otherwise planned and checked
        again there (every gate, the downgrade check included), committed with a new message,
        and pushed; never forced."""
        from promoter.ship import describe

        git = Git(self.repo.root)
        branch = done.branch
        comp, sha = prepared.plan.component, prepared.plan.sha
        description = describe.merge_request_description(prepared.plan, prepared.changelog)

        def redo(tip: str) -> tuple[commits.BranchCommit, str] | None:
            self._own_branch(git, push_to or "", branch, tip)
            git.run("reset", "--quiet", "--keep", tip)
            self.repo = core.open_repo(self.repo.root, Path(self.repo.config.path))
            again = self.prepare(comp, prepared.plan.release.tag if prepared.plan.release else sha)
            if again.plan.empty:
                return None
            core.apply_plan(self.repo, again.plan)
            made = self.commit(again, branch, tip)  # HEAD is on the branch, at `tip`
            return made, describe.merge_request_description(again.plan, again.changelog)

        return self._publish(done, push_to, description, redo, target)

    def publish_change(self, done: commits.BranchCommit, push_to: str | None, description: str) -> Shipped:
        """Push a change that is not a promotion (a hold, a release) and open its merge request;
        a push the remote rejects is refused (run the command again), never forced."""

        def redo(tip: str) -> tuple[commits.BranchCommit, str] | None:
            raise Refused(f"{push_to}'s {done.branch} moved meanwhile; nothing was pushed: run the command again")

        return self._publish(done, push_to, description, redo)

    def _own_branch(self, git: Git, remote: str, branch: str, tip: str) -> None:
        """Refuse to build on the remote's `branch` when it holds commits that are not promoter's,
        or when HEAD left it."""
        foreign = commits.own_commits(git, f"refs/heads/{self.base_branch}", tip)
        if foreign:
            listed = "; ".join(f"{s[:12]} {subject}" for s, subject in foreign[:5])
            raise Refused(
                f"{remote}'s {branch} holds commits that are not promoter's: {listed}; nothing was pushed. "
                "Review them (they would ride along unreviewed), or delete that branch, then run again"
            )
        if commits.current_branch(git) != branch:
            raise Refused(f"HEAD left {branch} while promoter was pushing; nothing was pushed: run the command again")

    def _publish(
        self,
        done: commits.BranchCommit,
        push_to: str | None,
        description: str,
        redo: Callable[[str], tuple[commits.BranchCommit, str] | None],
        target: str | None = None,
    ) -> Shipped:
        """Push `done` to `push_to` (rebuilding with `redo` when the remote's branch moved) and
        open or update its merge request, through push options or the forge's API."""
        git = Git(self.repo.root)
        shipped = Shipped(done)
        if push_to is None:
            return shipped
        mr_cfg = self.repo.config.merge_request
        from promoter.ship.forge import Forge, MergeRequest

        def request(subject: str, text: str) -> MergeRequest:
            return MergeRequest(
                source_branch=done.branch,
                target_branch=target or mr_cfg.target_branch or self.base_branch or "main",
                title=subject,
                description=text,
                labels=mr_cfg.labels,
                reviewers=mr_cfg.reviewers,
                remove_source_branch=mr_cfg.remove_source_branch,
                draft=mr_cfg.draft,
            )

        mr = request(done.subject, description)
        options: list[str] = []
        forge: Forge | None = None
        if mr_cfg.method == "push-options":
            from promoter.ship.forge.pushoptions import push_options

            options = push_options(mr)
            shipped.notes.append(
                "merge request opened through push options (one-line description; method api gives the full one)"
            )
        else:  # the forge and its token are settled before anything is pushed
            from promoter.ship.forge import forge_for, forge_kind

            url = commits.remote_url(git, push_to)
            forge = forge_for(forge_kind(url, mr_cfg.forge), url, api_url=mr_cfg.api_url)

        def rebuilt(tip: str) -> commits.BranchCommit | None:
            nonlocal mr
            again = redo(tip)
            if again is None:
                return None
            made, text = again
            mr = request(made.subject, text)
            return made

        final = commits.push(git, push_to, done.branch, done, options, rebuilt)
        if final is not None:
            shipped.commit = final
        shipped.remote = push_to
        if forge is not None:
            shipped.merge_request = forge.open_or_update(mr)
        return shipped

    def _land(
        self,
        prepared: Prepared,
        result: Promoted,
        start: str,
        old: str,
        built: str | None,
        push_to: str | None,
        undo: bool = True,
    ) -> commits.BranchCommit:
        """Move the promotion's branch to its commit (`built`, or built now) and HEAD onto it. Each
        failure says what is where: before the branch moved, the written files are put back
        (with `undo`) and nothing is committed; after, the commit stays and the message says
        where it is and the command that finishes the job."""
        from promoter.errors import PromoterError

        assert result.branch is not None and result.base is not None
        git = Git(self.repo.root)
        plan = prepared.plan
        finish = self._finish(plan, push_to)
        try:
            return self.commit(prepared, result.branch, result.base, old=old, start=start, built=built)
        except commits.Landed as exc:
            exc.args = (f"{exc}\n{landed(exc, 'promotion', finish)}",)
            raise
        except PromoterError as exc:
            if not undo:
                exc.args = (
                    f"{exc}\nnothing was committed: the working tree still holds the promotion, uncommitted; "
                    f"once the cause above is gone, to finish, run: {finish}",
                )
                raise
            try:
                core.undo_plan(self.repo, plan)
            except (PromoterError, OSError) as failed:
                exc.args = (
                    f"{exc}\nnothing was committed, and putting the files back failed too ({failed}): the working "
                    f"tree holds the promotion, uncommitted, on {_on(git)}; once the causes are gone, to finish, "
                    f"run: {finish}",
                )
                raise exc from None
            exc.args = (
                f"{exc}\nnothing was committed: the files were put back (you are on {_on(git)}); fix the cause "
                "above and run the same command again",
            )
            raise

    def _resume(self, result: Promoted, push_to: str | None, start: str | None) -> None:
        """A promotion every selected target runs already in the working tree, with `--commit`:
        an earlier run that could not finish is finished. Its commit on the promotion's branch
        (HEAD and the index brought onto it when they could not follow), or its files written
        and never committed (committed now); pushed with `push_to`. Anything else stays
        "unchanged"."""
        prepared, plan = result.prepared, result.prepared.plan
        comp = plan.component
        git = Git(self.repo.root)
        branch = commits.branch_name(self.repo.config, plan)

        def ours(tip: str) -> bool:
            said = commits.trailers(git, tip)
            return said.get("Promoted-Component") == comp.name and said.get("Promoted-To") == plan.sha

        made = commits.resume(git, branch, start, ours)
        if made is None and push_to is not None and commits.current_branch(git) == branch:
            made = self.commit(prepared, branch, None)  # a re-run on a promotion branch whose push failed
        if made is not None:
            result.state, result.branch = "on-branch", branch
            target = None
            if push_to is not None and start == branch:  # where the merge request goes is not known here
                target = self.repo.config.merge_request.target_branch or commits.remote_head(git, push_to)
            if push_to is not None and target is not None and commits.brings_nothing(git, push_to, made.sha, target):
                result.state = "unchanged"  # no branch, no merge request for nothing
                result.reason = f"{branch} changes nothing over {push_to}'s {target}; nothing pushed"
                return
            result.shipped = self._publish_or_explain(prepared, made, push_to, target)
            return
        found = self._uncommitted(prepared)
        if found is None or start is None:
            return
        old = commits.claim(git, branch, found.plan.changes)
        if old is None:
            raise Refused(
                f"the working tree holds this promotion of {comp.name} uncommitted on {start}, and branch {branch} "
                f"holds it committed: put the files back (git checkout -- {' '.join(self.contents(found.plan))}), "
                "then run the same command again"
            )
        result.prepared, result.branch, result.state = found, branch, "written"
        result.base = git.out("rev-parse", "HEAD")
        result.files = [ch.file for ch in found.plan.changes]
        made = self._land(found, result, start, old, None, push_to, undo=False)
        result.shipped = self._publish_or_explain(found, made, push_to)

    def _uncommitted(self, prepared: Prepared) -> Prepared | None:
        """The promotion planned from HEAD's version of the targets' files (as checked out), when
        the working tree holds exactly what it writes: written by an earlier run (or by `promote`
        without `--commit`) and never committed. None otherwise."""
        from promoter.errors import PromoterError
        from promoter.pipeline.workspace import Workspace

        plan, repo = prepared.plan, self.repo
        comp = plan.component
        git = Git(repo.root)
        targets = [tc.target for tc in plan.targets]
        files = sorted({f for t in targets for f in repo.workspace.files_of(t)})
        head: dict[str, str] = {}
        for file in files:
            proc = git.run("cat-file", "--filters", f"HEAD:{file}", check=False)
            if proc.returncode != 0:
                return None
            head[file] = proc.stdout
        if all(head[f] == repo.workspace.read(f) for f in files):
            return None
        at_head = core.Repo(repo.root, repo.state_dir, repo.config, Workspace(repo.root, head))
        try:
            scans = core.scan(at_head, comp, targets)
            again = core.plan(at_head, comp, plan.sha, targets, plan.digest, scans, plan.release)
        except PromoterError:
            return None
        if again.empty or any(repo.workspace.read(ch.file) != ch.new_text for ch in again.changes):
            return None
        changelog = None if self.options.offline else self.changelog(comp, plan.sha, scans, release=plan.release)
        return Prepared(again, prepared.notes, changelog)

    # -- the whole workflow ---------------------------------------------------------------------
    def promote_many(
        self,
        names: Iterable[str],
        rev: str | None = None,
        *,
        dry_run: bool = False,
        allow_dirty: bool = False,
        commit: bool = False,
        push_to: str | None = None,
        review: Callable[[Prepared], bool] | None = None,
        done: Callable[[Promoted], None] | None = None,
    ) -> list[Promoted]:
        """Promote the named components, each after those it depends on, each from the branch the
        run started on (with `commit`: each on its own branch, with its own commit and merge request).

        `review` sees every prepared promotion before anything is written and returns False to
        stop the run there (state "declined"); `done` hears of each component when it is finished.
        A failure raises; what earlier components did stays done (and was reported to `done`).
        """
        commit = commit or push_to is not None
        start = self.base_branch if commit else None  # asked of git only when committing
        git = Git(self.repo.root)
        if commit and start is None:
            raise UsageError("--commit needs a checked-out branch to start from (HEAD is detached)")
        comps = order(self.repo.config.components, names)
        self._names, self._rev = list(dict.fromkeys(names)), rev
        if commit and not dry_run:  # before anything is written: git can commit here
            commits.check_can_commit(git)
            assert start is not None
            with apply.lock(self.repo.state_dir):
                start = self._restart(git, start, {c.name for c in comps}, len(comps) > 1)
                start = self._from_its_base(git, start, {c.name for c in comps})
        if push_to is not None and not dry_run:
            commits.preflight(git, push_to, self.repo.config.merge_request.method == "push-options")
        written: set[str] = set()  # files this run wrote (uncommitted without --commit)
        results: list[Promoted] = []
        for i, comp in enumerate(comps):
            if i:  # each component is planned afresh: from the starting branch, or on what came before
                if commit and commits.current_branch(git) != start:
                    assert start is not None
                    self._back_to(start, results[-1], push_to)
                self.repo = core.open_repo(self.repo.root, Path(self.repo.config.path))
            prepared = self.prepare(comp, rev, promoted_with=[c.name for c in comps[:i]])
            if not i and self._started_from is not None:
                left, base = self._started_from
                prepared.notes.insert(0, f"started from {base}, not from {left} (another promotion's branch): each "
                                      f"promotion branches from the branch it goes to; you are on {base}")  # fmt: skip
            result = Promoted(prepared, "unchanged")
            results.append(result)
            accepted = review(prepared) if review is not None else True
            if prepared.plan.empty:
                if commit and not dry_run:  # an earlier run of this promotion that did not finish
                    with apply.lock(self.repo.state_dir):
                        self._resume(result, push_to, start)
            elif not accepted:
                result.state = "declined"
            elif dry_run:
                result.state = "dry-run"
            else:
                apply.fault("planned")  # the tests' hold between the review and taking the lock
                # one run at a time in this repository, from the branch's creation to the push
                with apply.lock(self.repo.state_dir):
                    self._promote_one(result, commit, push_to, allow_dirty, written, start)
            if done is not None:
                done(result)
            if result.state == "declined":
                break
        return results

    def _restart(self, git: Git, start: str, names: set[str], several: bool) -> str:
        """Where a `--commit` run starts when an earlier run of it was left on one of its
        promotion commits (it failed once the commit was made): the index entries of that
        commit's files are brought up to it; and in a run of several components, each starts
        from the branch the earlier run started from (the one branch at that commit's parent),
        not from the promotion branch left checked out."""
        left = commits.resume(
            git, start, start, lambda tip: commits.trailers(git, tip).get("Promoted-Component") in names
        )
        if left is None or not several:
            return start
        parent = git.out("rev-parse", f"{left.sha}^")
        at = git.run("for-each-ref", "--points-at", parent, "--format=%(refname:short)", "refs/heads/").stdout.split()
        if len(at) != 1 or at[0] == start:
            return start
        git.run("switch", "--quiet", at[0])
        self._base_branch = at[0]
        return at[0]

    def _from_its_base(self, git: Git, start: str, names: set[str]) -> str:
        """A promotion branches from the branch it goes to, as Renovate's do, never from another
        promotion's branch that `promote --commit` (or hold, release, rollback) left checked out:
        HEAD goes back to the branch that one was made from first (said in the first plan's notes).
        A branch holding a promotion of these very components stays (a re-run finishes or pushes it)."""
        from promoter.ship import deploy

        base = deploy.recorded_base(git, start)
        if base is None or base == start or not git.ok("rev-parse", "--verify", "--quiet", f"refs/heads/{base}"):
            return start
        said = commits.trailers(git, "HEAD")
        if said.get("Promoted-Component") in names and "Promoted-Hold" not in said:
            return start
        moved = git.run("switch", "--quiet", base, check=False)
        if moved.returncode != 0:
            raise Refused(
                f"HEAD is on {start}, another promotion's branch, and a promotion branches from {base}: git could "
                f"not switch there ({moved.stderr.strip() or moved.stdout.strip()}); commit or stash your changes, "
                f"run git switch {base}, then run the command again"
            )
        self._base_branch = base
        self._started_from = (start, base)
        return base

    def _back_to(self, start: str, last: Promoted, push_to: str | None) -> None:
        """HEAD back on `start` for the next component; a failure says where the last one is."""
        from promoter.errors import PromoterError

        try:
            Git(self.repo.root).run("switch", "--quiet", start)
        except PromoterError as exc:
            comp = last.prepared.plan.component.name
            exc.args = (
                f"{exc}\n{comp} is committed on branch {last.branch} (you are on it); the components after it are "
                f"not promoted yet: once the cause above is gone, to finish, run: "
                f"{self.again(self._names, self._rev, push_to)}",
            )
            raise

    def _promote_one(
        self,
        result: Promoted,
        commit: bool,
        push_to: str | None,
        allow_dirty: bool,
        written: set[str],
        start: str | None,
    ) -> None:
        """Write one prepared promotion (committed on its own branch and published with `commit`).

        With `commit`, in an order where every failure has a true story: the branch is claimed
        (refused when it holds something else), the commit built (objects only), the files
        written, the branch moved to the commit, HEAD and the index brought onto it; then the push.
        """
        prepared, plan = result.prepared, result.prepared.plan
        git = Git(self.repo.root)
        if not commit:
            self._write(result, allow_dirty, written)
            return
        assert start is not None
        branch = result.branch = commits.branch_name(self.repo.config, plan)
        old = commits.claim(git, branch, plan.changes)
        if old is None:  # its branch holds this very promotion (a re-run): shipped as it is
            git.run("switch", "--quiet", branch)
            result.state = "on-branch"
            made = self.commit(prepared, branch, None)
        else:
            result.base = git.out("rev-parse", "HEAD")
            _, text = self.message(prepared)
            # the commit first, its objects only: what fails here (a full disk, a signing key) has
            # written nothing and moved nothing
            built = commits.build(git, result.base, self.contents(plan), text)
            self._write(result, allow_dirty, written)
            made = self._land(prepared, result, start, old, built, push_to)
        result.shipped = self._publish_or_explain(prepared, made, push_to)

    def _write(self, result: Promoted, allow_dirty: bool, written: set[str]) -> None:
        result.files = core.apply_plan(self.repo, result.prepared.plan, allow_dirty=allow_dirty, ours=written)
        written.update(result.files)
        result.recovery, self.repo.recovery = self.repo.recovery, None
        result.state = "written"

    def _publish_or_explain(
        self, prepared: Prepared, made: commits.BranchCommit, push_to: str | None, target: str | None = None
    ) -> Shipped:
        """`publish`; a failure after the commit says where the commit is and what finishes the job."""
        from promoter.errors import PromoterError

        try:
            return self.publish(prepared, made, push_to, target)
        except PromoterError as exc:
            git = Git(self.repo.root)
            here = "you are on it" if commits.current_branch(git) == made.branch else f"you are on {_on(git)}"
            plan = prepared.plan
            exc.args = (
                f"{exc}\nthe promotion is committed as {made.sha[:12]} on branch {made.branch} ({here}); "
                f"to finish, run: {self._finish(plan, push_to)}",
            )
            raise


def _odd_tags(up: Upstream) -> list[str]:
    """Notes on the upstream's tags that are no releases: not semantic versions, or one version
    that two tags name with different commits."""
    odd, twice = up.not_semver(), up.ambiguous()
    notes = []
    if odd:
        more = f" and {len(odd) - 5} more" if len(odd) > 5 else ""
        notes.append(f"tags that name no semantic version are not releases: {', '.join(odd[:5])}{more}")
    for version, tags in sorted(twice.items()):
        notes.append(f"{' and '.join(tags)} name {version} with different commits: neither is a release")
    return notes


def no_releases(up: Upstream) -> str:
    """Why a component pinned by release tags has no candidate: what its tags are."""
    comp = up.component
    releases = up.releases()
    odd = up.not_semver()
    said = f"; tags that name no semantic version are not releases: {', '.join(odd[:5])}" if odd else ""
    if not releases:
        return f"its upstream has no release tag (v1.2.3 or 1.2.3){said}"
    within = f" within the constraint '{comp.constraint}'" if comp.constraint else ""
    pre = "" if comp.allow_prerelease else " (pre-releases only with allow_prerelease: true)"
    return f"no release on {up.branch()}{within}{pre}; the highest release: {releases[0].tag}{said}"


def _on(git: Git) -> str:
    """The branch HEAD is on, as a message says it."""
    return commits.current_branch(git) or "a detached HEAD"


def landed(exc: commits.Landed, what: str, finish: str) -> str:
    """What a failure after the branch moved leaves, and the command that finishes the job."""
    made = exc.made
    if exc.on == made.branch:
        where = "you are on it, but git's index still holds its files as they were before: git status shows them"
    else:
        where = f"you are on {exc.on or 'a detached HEAD'}, whose working tree holds its files, uncommitted"
    return (
        f"the {what} is committed as {made.sha[:12]} on branch {made.branch} ({where}); once the cause above "
        f"is gone, to finish, run: {finish}"
    )


def _as_notes(gates: list[Gate]) -> list[str]:
    """The rules that would refuse a version, said of a plan that changes nothing (so refuses nothing)."""
    return [f"{g.reason} (nothing changes, so nothing is refused)" for g in gates]


def _as_they_are(scans: list[TargetScan]) -> list[TargetChange]:
    """Each target that pins something, at what it pins: the targets of a plan that changes nothing."""
    return [TargetChange(ts.target, tuple(ts.values), ts.values[0], len(ts.locations)) for ts in scans if ts.values]


def full_shas(up: Upstream, plan: Plan, ran: dict[str, str] | None = None) -> dict[str, str]:
    """The full sha each value the plan changes names (a short sha, a release tag), when the
    upstream knows it; a release tag that moved since it was promoted: the commit it was promoted
    as (`ran`), which is what runs. For the `Promoted-From:` trailer, in the form of `Promoted-To:`."""
    out: dict[str, str] = {}
    for tc in plan.targets:
        for v in tc.old_values if tc.changed else ():
            if len(v) != 40 and not v.startswith("sha256:") and v not in out:
                found = (ran or {}).get(v) or up.find(v)
                if found is not None:
                    out[v] = found
    return out


def _refuse(gates: list[Gate], warnings: Iterable[str] = ()) -> None:
    """Refused, with every gate's reason (and the option that lifts it), when there are any, and
    what the policy found wrong on the way (a commit dated in the future)."""
    if gates:
        said = [g.message() for g in gates]
        # a warning a gate's reason already gives (after "<env>'s history: ") is not said twice
        said += [f"warning: {w}" for w in warnings if not any(w.partition(": ")[2] in m for m in said)]
        if all(g.unreachable for g in gates):  # only a verify server that could not be reached
            raise ExternalError("\n".join(said))
        raise Refused("\n".join(said))
