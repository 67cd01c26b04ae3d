"""`promoter reconcile`: the loop a scheduled CI job runs to keep every environment promoted
under its policy, with no server to operate.

For every component (dependency order) and every environment (`after:` order) it takes the
policy's decision (`ship.decisions`). The environments that may move make one merge request per
component, on a stable branch (`merge_request.reconcile_branch`, default `promote/{component}`),
built from the base branch without touching the working tree (a private index, `commit-tree`),
its planned edits summed up by a content hash kept in the commit's `Promoted-Hash:` trailer and in
the merge request's description:

- an open merge request (or, with push options, a remote branch) already holding exactly this
  promotion: nothing is pushed (`leave`);
- one holding an older promotion: the branch is rebuilt and pushed with `--force-with-lease`
  against the commit promoter pushed there (`update`); its description is updated;
- none: the branch is pushed (the lease: it must not exist) and the merge request opened (`open`);
  before a merge request is opened, the forge is asked for the closed (not merged) ones of the
  branch: one a person closed while it held this very promotion means they declined it
  (`declined`: reported, exit 0; it opens again when the promotion changes);
- nothing to promote while one is open: it is closed with a comment (`close`), its description's
  hash marked as closed by promoter (so the same promotion coming back is no "declined");
- merge requests of the component on other `promote/{component}-*` branches (opened by
  `promote --push`) are closed as superseded, with a comment linking its own, by every run that
  has one (left, updated or opened); a close that fails is said and found again by the next run.

The remote's branch is promoter's only when every commit on it is (`commit.proven`: its content
is what promoter built, the `Promoted-Hash:` trailer recomputed from its own change); anything
else, a person's `git commit --amend` too, is refused and reported: never pushed over, never
closed under them. An environment that could not be decided because of the network (upstream,
registry, forge) or `--offline` leaves the merge request as it is this run; only a decision that
there is nothing left to promote closes it. `--max-open` counts the open promotion merge
requests (the API method) or the remote's `promote/*` branches (push options, which have no API
to ask).

One component's failure never stops the others. The exit code: 0 all done or nothing to do; 3
some refused by a gate that needs a person (held, blocked); 4 some failed on the network.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from typing import Literal

from promoter.errors import ExternalError, PromoterError, Refused, UsageError
from promoter.model import Component, Edit, FileChange, Plan
from promoter.pipeline import apply, core
from promoter.pipeline.edit import change
from promoter.records import field, record
from promoter.ship import commit as commits
from promoter.ship.autorollback import Rollback
from promoter.ship.decisions import OFFLINE, Decision, decide
from promoter.ship.forge import Forge, MergeRequest, OpenRequest
from promoter.ship.session import Session, order
from promoter.text import printable
from promoter.upstream.git import Git

MrAction = Literal["open", "update", "leave", "close", "none", "wait", "declined", "unknown", "error"]
HASH_TRAILER = commits.HASH_TRAILER
_HASH_IN_TEXT = re.compile(r"promoter-hash: ([0-9a-f]{64})")


@record
class ComponentPlan:
    component: str
    environments: list[Decision]
    action: MrAction = "none"
    reason: str = ""
    branch: str = ""
    hash: str | None = None
    url: str | None = None  # the merge request, when known
    commit: str | None = None  # what was pushed
    closed: list[str] = field(default_factory=list)  # merge requests closed (superseded or stale)
    not_closed: list[str] = field(default_factory=list)  # superseded ones a close failed for, and why
    error_kind: Literal["person", "network", "other"] | None = None
    plans: list[Plan] = field(default_factory=list, repr=False)
    changes: list[FileChange] = field(default_factory=list, repr=False)
    rollbacks: list[Rollback] = field(default_factory=list)  # automatic rollback (`rollback: {on: verify}`)


@record
class Reconciled:
    components: list[ComponentPlan]
    pushed: bool
    max_open: int | None = None

    @property
    def exit_code(self) -> int:
        """4 when something failed on the network, else 3 when something needs a person (an error
        or a refusal: a foreign commit on the branch, a target that locates nothing), else 1 for a
        bug, else 0. Held, a closed window, soaking, blocked, waiting: the policy working, 0 (a
        scheduled job stays green while production is held on purpose)."""
        kinds = {c.error_kind for c in self.components}
        for rb in (rb for c in self.components for rb in c.rollbacks if rb.action == "error"):
            kinds.add(rb.error_kind or "person")  # failing its checks, not rolled back by itself; or the network
        for c in self.components:
            for d in c.environments:
                if d.action == "error" and d.exit_code != OFFLINE:
                    kinds.add("network" if d.exit_code == 4 else "person" if d.exit_code in (2, 3) else "other")
        if "network" in kinds:
            return 4
        if "person" in kinds:
            return 3
        return 1 if "other" in kinds else 0


def shard(comps: list[Component], index: int, count: int, all_comps: dict[str, Component]) -> list[Component]:
    """The components of shard `index` of `count`: each dependency chain (components linked by
    `depends_on`) whole in one shard, chosen by a stable hash of its names."""
    if not 1 <= index <= count:
        raise UsageError(f"--shard takes I/N with 1 <= I <= N, not {index}/{count}")
    parent = {name: name for name in all_comps}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for comp in all_comps.values():
        for dep in comp.depends_on:
            parent[root(comp.name)] = root(dep)
    groups: dict[str, list[str]] = {}
    for name in all_comps:
        groups.setdefault(root(name), []).append(name)

    def bucket(name: str) -> int:
        key = ",".join(sorted(groups[root(name)])).encode()
        return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % count + 1

    return [c for c in comps if bucket(c.name) == index]


def _pair(environ: Mapping[str, str], index: str, count: str, first: int, why: str) -> tuple[int, int]:
    """(I, N) from the variables `index` (counting from `first`) and `count`, I from 1."""
    if index not in environ or count not in environ:
        raise UsageError(f"{index} and {count} go together ({why}): set both, or neither")
    values = []
    for name in (index, count):
        text = environ[name].strip()
        if not text.isdigit():
            raise UsageError(f"{name}={printable(environ[name])!r} is not a whole number ({why})")
        values.append(int(text))
    i, n = values
    if not first <= i < n + first:
        last = f"{count}-1" if first == 0 else count
        raise UsageError(f"{index}={i} with {count}={n}: {index} counts from {first} to {last} ({why})")
    return i - first + 1, n


def shard_spec(given: str | None, environ: Mapping[str, str]) -> tuple[int, int] | None:
    """The shard a run takes, as (I, N) with I from 1 (`shard`), or None for every component.

    `given` is --shard: `I/N` itself; `auto`: GitLab's `CI_NODE_INDEX`/`CI_NODE_TOTAL` (a job
    with `parallel: N`, from 1) when set, else as with no --shard. No --shard: qontract-reconcile's
    `SHARDS`/`SHARD_ID` (SHARD_ID from 0) when set, else every component."""
    if given is not None and given != "auto":
        left, sep, right = given.partition("/")
        if not (sep and left.isdigit() and right.isdigit()):
            raise UsageError(f"--shard takes I/N (e.g. 2/4) or auto, not '{printable(given)}'")
        return int(left), int(right)
    if given == "auto" and ("CI_NODE_INDEX" in environ or "CI_NODE_TOTAL" in environ):
        return _pair(environ, "CI_NODE_INDEX", "CI_NODE_TOTAL", 1, "GitLab's parallel: N, read by --shard auto")
    if "SHARDS" in environ or "SHARD_ID" in environ:
        return _pair(environ, "SHARD_ID", "SHARDS", 0, "qontract-reconcile's convention; --shard I/N counts from 1")
    return None


def content_hash(comp: Component, changes: list[FileChange]) -> str:
    """What a promotion writes, summed up: equal hashes, equal edits (`commits.content_hash`)."""
    return commits.content_hash(comp.name, {ch.file: ch.new_text.encode("utf-8") for ch in changes})


def _merge(repo: core.Repo, comp: Component, plans: list[Plan]) -> list[FileChange]:
    """One verified change per file for several plans of one component (environments moving to
    different versions may share a file)."""
    by_file: dict[str, list[Edit]] = {}
    new: dict[str, str] = {}
    for p in plans:
        for tc in p.targets:
            new[tc.target.name] = tc.new_value
        for ch in p.changes:
            by_file.setdefault(ch.file, []).extend(ch.edits)
    return [change(f, repo.workspace.read(f), edits, comp, new) for f, edits in sorted(by_file.items())]


def _subject(comp: Component, decisions: list[Decision], plans: list[Plan]) -> str:
    moves = [
        f"{d.environment} to {d.release.tag if d.release else comp.short(d.candidate or '')}"
        for d in decisions
        if d.action == "promote"
    ]
    return f"promote {comp.name}: " + ", ".join(moves) if moves else f"promote {comp.name}"


def _message(comp: Component, decisions: list[Decision], plans: list[Plan], digest: str) -> tuple[str, str]:
    from promoter.ship import describe

    subject = _subject(comp, decisions, plans)
    body = "\n".join(line for p in plans for line in describe.plan_summary(p))
    envs = ", ".join(d.environment for d in decisions if d.action == "promote")
    newest = plans[-1].sha if plans else ""
    tags = "".join(dict.fromkeys(describe.tag_trailer(p) for p in plans))  # each release tag it pins, with its commit
    text = (
        f"{subject}\n\n{body}\n\nPromoted-Component: {comp.name}\nPromoted-From: {describe.promoted_from(plans)}\n"
        f"Promoted-To: {newest}\nPromoted-Environments: {envs}{tags}\n{HASH_TRAILER}: {digest}\n"
    )
    return subject, text


def _description(comp: Component, plans: list[Plan], session: Session, digest: str) -> str:
    from promoter.ship import describe

    parts = [describe.merge_request_description(p, None) for p in plans]
    return "\n---\n\n".join(parts) + f"\n<!-- promoter-hash: {digest} -->\n"


def reconcile(
    session: Session,
    names: list[str],
    *,
    push_to: str | None = None,
    dry_run: bool = False,
    max_open: int | None = None,
    shard_of: tuple[int, int] | None = None,
) -> Reconciled:
    """Decide, per component, what its merge request needs, and with `push_to` (not `dry_run`)
    do it. The decision is the same code whichever way it runs: without `push_to` it reads what
    can be read without writing (the remote's branches, the forge's merge requests when a token
    is set) and says what it could not read (`unknown`) instead of guessing."""
    repo = session.repo
    cfg = repo.config
    comps = order(cfg.components, names or list(cfg.components))
    if shard_of is not None:
        comps = shard(comps, shard_of[0], shard_of[1], cfg.components)
    pushing = push_to is not None and not dry_run
    git = Git(repo.root)
    base = session.base_branch
    if push_to is not None and base is None:
        raise UsageError("reconcile --push needs a checked-out base branch (HEAD is detached)")
    remote = _remote_state(session, push_to or "origin", strict=push_to is not None)
    forge = remote.forge
    if forge is not None:
        opened = sum(1 for r in remote.requests or () if r.source_branch.startswith("promote/"))
    else:  # push options: no API to ask, every promotion branch on the remote counts
        opened = len(remote.tips or ())
    base_ref = f"refs/heads/{base}" if base is not None else "HEAD"
    out: list[ComponentPlan] = []
    for comp in comps:
        cp = ComponentPlan(comp.name, [], branch=cfg.merge_request.reconcile_branch.format(component=comp.name))
        out.append(cp)
        try:
            cp.environments = decide(session, comp)
            if any(cfg.policy(d.environment).rollback for d in cp.environments):
                _rollbacks(session, comp, cp, push_to, remote, pushing, base)
            mine = next((r for r in remote.requests or () if r.source_branch == cp.branch), None)
            cp.url = mine.url if mine else None
            if _undecided(cp, mine):
                continue
            moving = [d for d in cp.environments if d.action == "promote"]
            if not moving:
                if remote.requests is None and (remote.tips is None or cp.branch in remote.tips):
                    raise _Unknown("close its merge request (nothing to promote any more) or do nothing")
                if mine is None:
                    cp.action, cp.reason = "none", "nothing to promote"
                    continue
                if remote.tips is None:
                    raise _Unknown("close its merge request (nothing to promote any more)")
                tip = remote.tips.get(cp.branch)
                if tip is not None:  # a person's commits on it are their work: not closed under them
                    _proven_tip(git, remote.name, cp.branch, base_ref, tip)
                cp.action, cp.reason = "close", "nothing to promote any more"
                if pushing and forge is not None:
                    closed = _HASH_IN_TEXT.sub(r"promoter-closed: \1", mine.description)
                    forge.close(mine.number, "promoter reconcile: nothing to promote any more; closing.", closed)
                    cp.closed.append(mine.url)
                continue
            for d in moving:
                targets = [t for t in comp.targets if t.environment == d.environment]
                if d.targets:  # a decision for some of the environment's targets (app-interface's channels)
                    targets = [t for t in targets if t.name in d.targets]
                assert d.candidate is not None
                digest = None
                if comp.image is not None and any(t.format == "digest" for t in targets):
                    digest = session.digest(comp.image, comp.image_tag(d.candidate, d.release))
                planned = core.plan(repo, comp, d.candidate, targets, digest, release=d.release)
                planned.shas.update({v: s for v, s in zip(d.runs, d.shas) if s is not None and len(v) != 40})
                cp.plans.append(planned)
            cp.changes = _merge(repo, comp, cp.plans)
            if not cp.changes:
                cp.action, cp.reason = "none", "nothing to write"
                continue
            cp.hash = content_hash(comp, cp.changes)
            _ready(session, git, comp, cp)  # what --push refuses before writing anything
            if remote.tips is None:
                raise _Unknown("open, update or leave its merge request")
            tip = remote.tips.get(cp.branch)
            # what the remote's branch holds, proven promoter's own; a person's commits are refused
            held = _proven_tip(git, remote.name, cp.branch, base_ref, tip) if tip else None
            if remote.requests is None:
                raise _Unknown("open, update or leave its merge request")
            new_request = mine is None if forge is not None else tip is None
            if new_request and max_open is not None and opened >= max_open:
                cp.action, cp.reason = "wait", f"--max-open {max_open}: {opened} promotion merge requests are open"
                continue
            declined = _declined(forge, cp.branch, cp.hash) if new_request and forge is not None else None
            if declined is not None:
                cp.action, cp.url = "declined", declined.url
                cp.reason = (
                    f"a person closed its merge request {declined.url} for this very promotion; "
                    "it opens again when the promotion changes"
                )
                continue
            if held == cp.hash:
                if forge is None or (mine is not None and _hash_in(mine.description) == cp.hash):
                    cp.action = "leave"
                    cp.reason = "its merge request already holds exactly this promotion"
                elif mine is None:  # pushed by a run that died before opening it
                    cp.action, cp.reason = "open", "pushed before, its merge request never opened: opened now"
                else:  # pushed by a run that died before updating it
                    cp.action, cp.reason = "update", "its branch holds this promotion, its description an older one"
            elif tip is not None:
                cp.action = "update"
                cp.reason = "its merge request holds an older promotion: rebuilt and updated"
            else:
                cp.action, cp.reason = "open", "a new merge request"
            if remote.missing:  # nothing on a remote yet: a new one, once there is a remote to push to
                cp.reason = f"a new one; {remote.missing}"
            if new_request:
                opened += 1
            if not pushing:
                continue
            if held != cp.hash:
                _push(session, git, comp, cp, remote.name, base or "main", tip)
            if forge is not None:
                if cp.action != "leave":
                    cp.url = _open(session, comp, cp, forge, base or "main")
                _close_superseded(forge, cp, _superseded(comp.name, list(remote.requests or ()), cfg.components))
        except _Unknown as exc:
            cp.action = "unknown"
            cp.reason = f"cannot tell whether --push would {exc}: {remote.unknown}"
        except PromoterError as exc:
            cp.action, cp.reason = "error", str(exc)
            cp.error_kind = (
                "network" if isinstance(exc, ExternalError) else "person" if isinstance(exc, Refused) else "other"
            )
    return Reconciled(out, pushing, max_open)


def _rollbacks(
    session: Session,
    comp: Component,
    cp: ComponentPlan,
    push_to: str | None,
    remote: _Remote,
    pushing: bool,
    base: str | None,
) -> None:
    """Automatic rollback (`ship.autorollback`): an environment rolling back is not promoted
    forward in this run; its decision says why."""
    from promoter.records import replace
    from promoter.ship import autorollback

    # the remote read as --push reads it, a preview too (one decision); none there yet: nothing remembered
    readable = push_to is not None or (remote.tips is not None and not remote.missing)
    cp.rollbacks = autorollback.judge(
        session, comp, cp.environments, remote=remote.name if readable else None, pushing=pushing,
        forge=remote.forge, base=base, unknown="" if readable else remote.unknown,
    )  # fmt: skip
    back = {rb.environment: rb for rb in cp.rollbacks if rb.action == "rollback"}
    cp.environments = [
        replace(d, action="rollback", reason=back[d.environment].reason, candidate=back[d.environment].to, until=None)
        if d.environment in back
        else d
        for d in cp.environments
    ]


class _Unknown(Exception):
    """What --push would do for a component depends on what this run could not read (a preview
    without a token, an unreachable remote): said, never guessed. Its text: what it might do."""


def _ready(session: Session, git: Git, comp: Component, cp: ComponentPlan) -> None:
    """Refused as `--push` would refuse before writing anything: files of the promotion with
    uncommitted changes (the plan would carry them), an unsigned commit `merge_request.sign`
    requires (git's `commit.gpgsign` not set)."""
    dirty = git.run("status", "--porcelain", "--", *[c.file for c in cp.changes]).stdout.strip()
    if dirty:
        raise Refused(
            f"uncommitted changes in files the promotion of {comp.name} writes; reconcile works on a clean tree"
        )
    if session.repo.config.merge_request.sign:
        sign = git.run("config", "--type=bool", "--get", "commit.gpgsign", check=False).stdout.strip()
        if sign != "true":
            raise Refused(
                "merge_request.sign is true, but promotion commits would not be signed: set git's commit.gpgsign "
                "(and gpg.format / user.signingkey) for this repository or the CI job"
            )


def _undecided(cp: ComponentPlan, mine: OpenRequest | None) -> bool:
    """Whether an environment could not be decided in a way that leaves the merge request alone
    this run (reported, True): the network (upstream, registry, forge) or --offline, whatever
    the others decided, since a rebuild would drop that environment's part; any other failure
    when no environment moves, since "nothing to promote" is not known then."""
    failed = [d for d in cp.environments if d.action == "error"]
    transient = [d for d in failed if d.exit_code in (4, OFFLINE)]
    if not transient and (not failed or any(d.action == "promote" for d in cp.environments)):
        return False
    which = ", ".join(d.environment for d in transient or failed)
    cp.action = "leave" if mine is not None else "none"
    cp.reason = f"{which} could not be decided (see {'its' if len(transient or failed) == 1 else 'their'} error)"
    cp.reason += ": its merge request is left as it is" if mine is not None else ": nothing done"
    return True


def _hash_in(description: str) -> str | None:
    m = _HASH_IN_TEXT.search(description)
    return m.group(1) if m else None


def _declined(forge: Forge, branch: str, digest: str) -> OpenRequest | None:
    """A merge request of `branch` a person closed (not merged) while it held this very promotion."""
    return next((r for r in forge.closed_requests(branch) if _hash_in(r.description) == digest), None)


def _superseded(name: str, requests: list[OpenRequest], names: Mapping[str, object]) -> list[OpenRequest]:
    """The component's merge requests on `promote/NAME-*` branches (`promote --push`'s): a branch
    is the component's whose name is the longest that fits, so `app` never takes `app-api`'s own
    (`promote/app-api`, `promote/app-api-1a2b3c4`), whichever shard runs either."""

    def owner(branch: str) -> str | None:
        fits = [n for n in names if branch == f"promote/{n}" or branch.startswith(f"promote/{n}-")]
        return max(fits, key=len, default=None)

    mine = f"promote/{name}-"
    return [r for r in requests if r.source_branch.startswith(mine) and owner(r.source_branch) == name]


def _close_superseded(forge: Forge, cp: ComponentPlan, superseded: list[OpenRequest]) -> None:
    """Close the component's other promotion merge requests (from `promote --push`), each with a
    comment linking this one. One that fails is said and left open: the next run finds it again."""
    for r in superseded:
        try:
            forge.close(r.number, f"Superseded by {cp.url} (promoter reconcile).")
        except ExternalError as exc:
            cp.not_closed.append(f"{r.url}: {exc} (tried again next run)")
            cp.error_kind = cp.error_kind or "network"
        else:
            cp.closed.append(r.url)


@record
class _Remote:
    """What the remote and its forge hold, as read by this run: `tips` the remote's `promote/*`
    branches, `requests` the forge's open merge requests (the API method; `[]` with push
    options, which have no API); None when it could not be read, `unknown` saying why (a
    preview goes on, --push would fail); `missing` when there is no such remote at all."""

    name: str
    tips: dict[str, str] | None
    forge: Forge | None = None
    requests: list[OpenRequest] | None = field(default_factory=list)
    unknown: str = ""
    missing: str = ""


def _remote_state(session: Session, remote: str, strict: bool) -> _Remote:
    """The tips of the remote's `promote/*` branches (one ls-remote), the forge (API method) and
    its open merge requests (one listing). `strict` (with --push): what cannot be read is an
    error; else (a preview) it is said, and what depends on it is `unknown`."""
    git = Git(session.repo.root)
    api = session.repo.config.merge_request.method == "api"
    if not strict and session.options.offline:
        return _Remote(remote, None, None, None, unknown="--offline reads neither the remote nor the forge")
    if not strict and not git.ok("remote", "get-url", "--", remote):
        # no remote at all: no branch, no merge request anywhere yet
        return _Remote(remote, {}, missing=f"no remote '{remote}' yet")
    proc = git.run("ls-remote", "--", remote, "refs/heads/promote/*", check=False)
    if proc.returncode != 0:
        said = f"git ls-remote {remote}: {proc.stderr.strip() or 'failed'}"
        if strict:
            raise ExternalError(said)
        return _Remote(remote, None, None, None, unknown=said)
    tips = {}
    for line in proc.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        tips[ref.removeprefix("refs/heads/")] = sha
    if not api:
        return _Remote(remote, tips)
    from promoter.ship.forge import forge_for, forge_kind

    mr_cfg = session.repo.config.merge_request
    try:
        url = commits.remote_url(git, remote)
        forge = forge_for(forge_kind(url, mr_cfg.forge), url, api_url=mr_cfg.api_url)
        return _Remote(remote, tips, forge, forge.open_requests())
    except (UsageError, ExternalError) as exc:  # no token, a host not known to be a forge, the forge down
        if strict:
            raise
        return _Remote(remote, tips, None, None, unknown=str(exc))


def _proven_tip(git: Git, remote: str, branch: str, base: str, tip: str) -> str | None:
    """The content hash of the promotion the remote's `branch` (at `tip`) holds, when every commit
    on it is promoter's own (`commits.proven`: its content is what promoter built); None when it
    holds none (merged). Refused when a commit on it is not promoter's: a person's work (an amend
    too) is never pushed over or closed under them."""
    if not git.ok("cat-file", "-e", f"{tip}^{{commit}}"):
        fetched = git.run(
            "fetch",
            "--quiet",
            "--no-tags",
            remote,
            f"+refs/heads/{branch}:refs/promoter/{remote}/{branch}",
            check=False,
        )
        if fetched.returncode != 0:
            raise ExternalError(f"git fetch {branch} from {remote}: {fetched.stderr.strip() or 'failed'}")
    foreign, own = commits.proven(git, base, tip)
    if foreign:
        listed = "; ".join(f"{s[:12]} {printable(subject)}" for s, subject in foreign[:5])
        raise Refused(
            f"{remote}'s {branch} holds commits that are not promoter's ({listed}); left as it is: merge or close "
            f"its merge request, or delete the branch, and the next run takes it up again"
        )
    return own.get(tip)


def _push(
    session: Session, git: Git, comp: Component, cp: ComponentPlan, remote: str, base: str, tip: str | None
) -> None:
    """Commit the promotion on top of the base branch and push it, leased against `tip` (the
    commit the remote's branch had, proven promoter's own before; none: it must not exist)."""
    start = git.out("rev-parse", f"refs/heads/{base}")
    subject, text = _message(comp, cp.environments, cp.plans, cp.hash or "")
    local = f"refs/promoter/reconcile/{os.getpid()}/{cp.branch}"  # this run's own, whoever else runs
    git.run("update-ref", local, start)
    try:
        made = commits.commit_ref(git, local, start, {c.file: c.new_text for c in cp.changes}, subject, text)
    finally:
        git.run("update-ref", "-d", local, check=False)
    _require_signature(session, git, made)
    apply.fault("reconcile-committed")
    options: list[str] = []
    if session.repo.config.merge_request.method == "push-options":
        from promoter.ship.forge.pushoptions import push_options

        options = [x for o in push_options(_request(session, comp, cp, base)) for x in ("-o", o)]
    lease = f"--force-with-lease=refs/heads/{cp.branch}:{tip or ''}"
    proc = git.run(
        "push", "--porcelain", "--quiet", *options, lease, remote, f"{made}:refs/heads/{cp.branch}", check=False
    )
    if proc.returncode != 0:
        said = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        raise ExternalError(f"git push of {cp.branch} to {remote} refused or failed: {' '.join(said[-3:])}")
    cp.commit = made
    apply.fault("reconcile-pushed")


def _require_signature(session: Session, git: Git, sha: str) -> None:
    if not session.repo.config.merge_request.sign:
        return
    raw = git.run("cat-file", "commit", sha).stdout
    if "\ngpgsig " not in raw and "\ngpgsig-sha256 " not in raw:
        raise Refused(
            "merge_request.sign is true, but the promotion commit is not signed: set git's commit.gpgsign "
            "(and gpg.format / user.signingkey) for this repository or the CI job"
        )


def _request(session: Session, comp: Component, cp: ComponentPlan, base: str) -> MergeRequest:
    mr_cfg = session.repo.config.merge_request
    subject, _ = _message(comp, cp.environments, cp.plans, cp.hash or "")
    return MergeRequest(
        source_branch=cp.branch,
        target_branch=mr_cfg.target_branch or base,
        title=subject,
        description=_description(comp, cp.plans, session, cp.hash or ""),
        labels=mr_cfg.labels,
        reviewers=mr_cfg.reviewers,
        remove_source_branch=mr_cfg.remove_source_branch,
        draft=mr_cfg.draft,
    )


def _open(session: Session, comp: Component, cp: ComponentPlan, forge: Forge, base: str) -> str:
    return forge.open_or_update(_request(session, comp, cp, base)).url
