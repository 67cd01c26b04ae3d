"""A promotion from REV to merge request, as a library: resolve, check, plan, then ship.

`Session.prepare` does everything that needs no write (resolve the candidate, gate on upstream,
dependencies and the image, compute the changelog and the verified plan); `Session.promote_many`
runs the whole workflow for several components (prepare, review, write, commit, push, merge
request) and returns what it did for each, for the CLI (or a scheduled loop) to render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from promoter.errors import ExternalError, Refused, UsageError
from promoter.model import Component, Plan, Release, Target, TargetScan, version_key
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
    lookback: int = 50  # commits of the branch, newest first, a candidate is chosen among (no REV)


@record
class Prepared:
    plan: Plan
    notes: list[str] = field(default_factory=list)
    changelog: Changelog | None = None


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
        self._base_branch: str | bool | None = False  # False: not asked yet
        self._deploy: DeployRef | None = None
        self._promoted_tags: dict[str, dict[str, str]] = {}

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
            _refuse(policy.gates(targets, rev))
            skipped = ["--offline: upstream, dependency and image checks skipped", *policy.notes()]
            return Prepared(core.plan(self.repo, comp, rev, targets), skipped)
        from promoter.policy import gates

        up = self.upstream(comp)
        notes: list[str] = []
        digest: str | None = None
        release: Release | None = None
        if rev is None:
            sha, digest, notes, release = self._choose(comp, targets, promoted_with)
        else:
            if comp.released:
                release = gates.release_for(up, rev)
                moved = self.moved(comp, release)
                if moved is not None:
                    raise Refused(moved)
                sha = release.sha
            else:
                sha = up.resolve(rev)
            _refuse(policy.gates(targets, sha), policy.warnings(t.environment for t in targets))
            if comp.image is not None:
                digest = gates.image(comp, sha, self.registry(), opts.wait, release)
        scans = core.scan(self.repo, comp, targets)
        ran = self._ran(comp, scans) if comp.released else {}
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
        resolved = {v: full for v in gates.deployed(scans) if (full := ran.get(v) or up.find(v)) is not None}
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
        plan.resolved = resolved
        plan.warnings += policy.warnings(t.environment for t in targets)
        return Prepared(plan, notes, self.changelog(comp, sha, scans, release=release))

    def _ran(self, comp: Component, scans: list[TargetScan]) -> dict[str, str]:
        """The release tags that run and name another commit now than when they were promoted
        (moved): each with the commit it named then, which is what runs."""
        from promoter.policy import gates

        up, promoted = self.upstream(comp), self.promoted_tags(comp)
        out = {}
        for value in gates.deployed(scans):
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

    def _choose(
        self, comp: Component, targets: list[Target], promoted_with: Iterable[str]
    ) -> tuple[str, str | None, list[str], Release | None]:
        """The newest commit of the branch (for release tags, the highest release on it) that
        passes every gate of its own (blocked, min_age, soak, image, verify, dependencies; a
        moved tag): (sha, its image digest, notes on the newer ones skipped and why, its release).
        A hold or a closed window stops every candidate alike: refused at once."""
        from promoter.errors import PromoterError
        from promoter.policy import gates

        up = self.upstream(comp)
        policy = self.policy(comp)
        held = [g for g in (policy.held(e) for e in dict.fromkeys(t.environment for t in targets)) if g is not None]
        _refuse(held)
        notes: list[str] = []
        newest: list[str] = []
        candidates = self.candidates(comp)
        if not candidates and comp.released:
            raise Refused(f"{comp.name}: {no_releases(up)}")
        for sha, release in candidates:
            moved = self.moved(comp, release) if release is not None else None
            reasons = [moved] if moved else [g.reason for g in policy.gates(targets, sha, verify=False)]
            fresh = gates.too_fresh(up, sha, policy.now.timestamp()) if not reasons else None
            reasons += [fresh] if fresh else []
            digest: str | None = None
            if not reasons and comp.image is not None:
                digest = self.digest(comp.image, comp.image_tag(sha, release))
                if digest is None:
                    reasons.append(f"no image {comp.image}:{comp.image_tag(sha, release)} yet")
            if not reasons:
                verified = policy.verify_all(targets, sha)
                down = [g for g in verified if g.unreachable]
                if down:  # a verify server down judges no candidate: said as the network failure it is
                    raise ExternalError(down[0].reason)
                reasons = [g.reason for g in verified]
            if not reasons and comp.depends_on and not self.options.ignore_deps:
                try:
                    gates.dependencies(
                        self.repo.config, comp, sha, up, self.upstream,
                        lambda dep: core.scan(self.repo, dep, dep.targets), promoted_with,
                    )  # fmt: skip
                except PromoterError as exc:
                    reasons.append(str(exc))
            if not reasons:
                return sha, digest, notes, release
            newest = newest or reasons
            notes.append(f"skipped {release.tag if release else comp.short(sha)}: {'; '.join(reasons)}")
        said = "".join(f"\nwarning: {w}" for w in policy.warnings(t.environment for t in targets))
        which = (
            f"the highest {len(candidates)} releases on {up.branch()}"
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
    def commit(self, prepared: Prepared, branch: str, base: str | None) -> commits.BranchCommit:
        """Commit the plan's files on `branch` on top of `base` (None: the branch already holds
        this promotion, and its tip is the commit)."""
        from promoter.ship import describe

        repo, plan = self.repo, prepared.plan
        git = Git(repo.root)
        log = (
            describe.changelog_summary(prepared.changelog, plan.component.short_length) if prepared.changelog else None
        )
        subject, text = describe.commit_message(plan, describe.plan_summary(plan), log)
        if base is None:
            return commits.BranchCommit(branch, git.out("rev-parse", f"refs/heads/{branch}"), subject, text)
        top = repo.root.resolve()
        contents = {(repo.root / ch.file).resolve().relative_to(top).as_posix(): ch.new_text for ch in plan.changes}
        # what proves the commit promoter's own (commits.proven): the content hash of what it holds
        digest = commits.content_hash(plan.component.name, {f: t.encode("utf-8") for f, t in contents.items()})
        text += f"{commits.HASH_TRAILER}: {digest}\n"
        return commits.commit(git, branch, base, contents, subject, text)

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
            made = self.commit(again, branch, tip)
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

    def _commit_or_undo(self, prepared: Prepared, result: Promoted, start: str) -> commits.BranchCommit:
        """The promotion's commit; when committing fails, the written files are put back and the
        branch dropped, so that running the same command again does the whole job."""
        from promoter.errors import PromoterError

        assert result.branch is not None
        written = result.state == "written"
        try:
            return self.commit(prepared, result.branch, result.base if written else None)
        except PromoterError as exc:
            if not written:
                raise
            git = Git(self.repo.root)
            core.undo_plan(self.repo, prepared.plan)
            commits.abandon_branch(git, result.branch, start)
            exc.args = (
                f"{exc}\nnothing was committed: the files were put back and branch {result.branch} removed, "
                f"you are on {start} again; fix the cause above and run the same command again",
            )
            raise

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
        if push_to is not None and not dry_run:
            commits.preflight(git, push_to, self.repo.config.merge_request.method == "push-options")
        written: set[str] = set()  # files this run wrote (uncommitted without --commit)
        results: list[Promoted] = []
        for i, comp in enumerate(comps):
            if i:  # each component is planned afresh: from the starting branch, or on what came before
                if commit and commits.current_branch(git) != start:
                    assert start is not None
                    git.run("switch", "--quiet", start)
                self.repo = core.open_repo(self.repo.root, Path(self.repo.config.path))
            prepared = self.prepare(comp, rev, promoted_with=[c.name for c in comps[:i]])
            result = Promoted(prepared, "unchanged")
            results.append(result)
            accepted = review(prepared) if review is not None else True
            if prepared.plan.empty:
                if commit and push_to is not None:  # a re-run on a promotion branch whose push failed
                    branch = commits.branch_name(self.repo.config, prepared.plan)
                    if commits.current_branch(git) == branch:
                        result.state, result.branch = "on-branch", branch
                        made = self.commit(prepared, branch, None)
                        target = self.repo.config.merge_request.target_branch or commits.remote_head(git, push_to)
                        if target is not None and commits.brings_nothing(git, push_to, made.sha, target):
                            result.state = "unchanged"  # no branch, no merge request for nothing
                            result.reason = f"{branch} changes nothing over {push_to}'s {target}; nothing pushed"
                        else:
                            result.shipped = self._publish_or_explain(prepared, made, push_to, target)
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

    def _promote_one(
        self,
        result: Promoted,
        commit: bool,
        push_to: str | None,
        allow_dirty: bool,
        written: set[str],
        start: str | None,
    ) -> None:
        """Write one prepared promotion (on its own branch, committed and published with `commit`)."""
        prepared, plan = result.prepared, result.prepared.plan
        git = Git(self.repo.root)
        result.branch = commits.branch_name(self.repo.config, plan) if commit else None
        if result.branch is None or commits.start_branch(git, result.branch, plan.changes):
            result.base = git.out("rev-parse", "HEAD") if result.branch is not None else None
            try:
                result.files = core.apply_plan(self.repo, plan, allow_dirty=allow_dirty, ours=written)
            except BaseException:
                if result.branch is not None:
                    assert start is not None
                    commits.abandon_branch(git, result.branch, start)
                raise
            written.update(result.files)
            result.recovery, self.repo.recovery = self.repo.recovery, None
            result.state = "written"
        else:
            result.state = "on-branch"
        if commit:
            assert result.branch is not None and start is not None
            made = self._commit_or_undo(prepared, result, start)
            result.shipped = self._publish_or_explain(prepared, made, push_to)

    def _publish_or_explain(
        self, prepared: Prepared, made: commits.BranchCommit, push_to: str | None, target: str | None = None
    ) -> Shipped:
        """`publish`; a failure after the commit says where the commit is and what finishes the job."""
        from promoter.errors import PromoterError

        try:
            return self.publish(prepared, made, push_to, target)
        except PromoterError as exc:
            git = Git(self.repo.root)
            here = " (you are on it)" if commits.current_branch(git) == made.branch else ""
            plan = prepared.plan
            exc.args = (
                f"{exc}\nthe promotion is committed as {made.sha[:12]} on branch {made.branch}{here}; "
                f"to finish, run: promoter promote {plan.component.name} "
                f"{plan.release.tag if plan.release else plan.sha} --push {push_to}",
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
