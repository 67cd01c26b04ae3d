"""Automatic rollback (opt-in per environment): `environments: production: rollback: {on:
verify, grace: 15m}`. `reconcile` runs the environment's `verify:` checks against the version it
runs; when a settled promotion has failed them for longer than the grace period, it opens a
rollback merge request (to the version the environment ran before, with a hold on it, as
`promoter rollback` writes them) whose description carries the failing evidence. A person merges
it; promoter never merges.

The safety rules, each a reason to do nothing (said in reconcile's report):

1. Opt-in, per environment, and only where `verify:` checks exist; never `--offline`.
2. Never a rollback of a rollback: an environment whose version came by a rollback (back to an
   ancestor of what it ran), or that is held (a rollback's own hold, a person's), is left alone.
3. Only a settled promotion: the version reached the deploy branch at least `grace` ago.
4. Only a lasting failure: the checks failed at a run at least `grace` before this one and at
   every run since (each run's verdict after the checks' own retries). When they failed first is
   kept on the remote, in `refs/promoter/failing/COMPONENT/ENVIRONMENT` (a scheduled job's clone
   is new every run); a run that sees them pass deletes it, and only runs that push
   (`--push`, no `--dry-run`) write it. A preview and a dry run read it as `--push` does; one
   that cannot read the remote says so (`unknown`), never guessing since when. A check whose
   server cannot be reached is no verdict on what runs (an error of the network, exit 4): it
   starts, ends and moves nothing.
5. Only backwards, to what the environment ran before: an ancestor of what runs upstream, never a
   version an earlier rollback backed out of, never a `blocked:` one (`promoter rollback`'s
   rules); nothing older ran: nothing is done, and it is said.
6. One at a time: the merge request's branch is `rollback/COMPONENT-ENVIRONMENT`; while it exists
   on the remote nothing more is pushed (said the same by a preview, a dry run and `--push`), and
   the environment is not promoted forward meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Literal

from promoter.errors import ExternalError, PromoterError, Refused
from promoter.model import Component
from promoter.records import field, record
from promoter.text import printable
from promoter.upstream.git import Git

TYPE_CHECKING = False  # typing is not imported at run time (start-up is counted)
if TYPE_CHECKING:
    from promoter.ship.decisions import Decision
    from promoter.ship.forge import Forge
    from promoter.ship.session import Session

_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

RollbackAction = Literal["rollback", "watch", "none", "unknown", "error"]


@record
class Rollback:
    """What automatic rollback decided for one environment."""

    component: str
    environment: str
    action: RollbackAction  # rollback: opened (or, not pushing, would open); watch: failing, within grace;
    # unknown: failing, since when not known (a preview that could not read the remote)
    reason: str
    runs: str | None = None  # the version it runs (the upstream commit)
    to: str | None = None  # the version it goes back to
    since: datetime | None = None  # when its checks were first seen failing
    evidence: list[str] = field(default_factory=list)
    branch: str = ""
    url: str | None = None
    pushed: bool = False
    error_kind: Literal["person", "network"] | None = None  # an error's kind: exit 3, or 4 (the network)


def failing_ref(comp: str, env: str) -> str:
    """Where the first failure of `comp` in `env` is remembered on the remote."""
    name = env if _ENV_NAME.fullmatch(env) and ".." not in env and not env.endswith((".", ".lock")) else (
        "env-" + hashlib.sha256(env.encode()).hexdigest()[:16]
    )  # fmt: skip
    return f"refs/promoter/failing/{comp}/{name}"


def _read_failing(git: Git, remote: str, ref: str) -> tuple[dict[str, object] | None, str]:
    from promoter.ship.notify import remote_tip

    tip = remote_tip(git, remote, ref, "refs/promoter/fetched/failing")
    if not tip:
        return None, ""
    try:
        doc = json.loads(git.out("log", "-1", "--format=%b", tip))
        return (doc if isinstance(doc, dict) else None), tip
    except ValueError:
        return None, tip


def _write_failing(git: Git, remote: str, ref: str, doc: dict[str, object] | None, lease: str) -> None:
    """Record (or with None, delete) the first failure on the remote, leased on what was read."""
    if doc is None:
        if lease:
            git.run("push", "--quiet", f"--force-with-lease={ref}:{lease}", remote, f":{ref}", check=False)
        return
    who = {"GIT_AUTHOR_NAME": "promoter", "GIT_AUTHOR_EMAIL": "promoter@localhost",
           "GIT_COMMITTER_NAME": "promoter", "GIT_COMMITTER_EMAIL": "promoter@localhost"}  # fmt: skip
    tree = git.run("mktree", input="").stdout.strip()
    message = "promoter: verify checks failing\n\n" + json.dumps(doc, sort_keys=True)
    commit = git.run("commit-tree", tree, "-m", message, env=who).stdout.strip()
    git.run("push", "--quiet", f"--force-with-lease={ref}:{lease}", remote, f"{commit}:{ref}", check=False)


def judge(
    session: Session,
    comp: Component,
    decisions: list[Decision],
    *,
    remote: str | None,
    pushing: bool,
    forge: Forge | None,
    base: str | None,
    unknown: str = "",
) -> list[Rollback]:
    """Automatic rollback for each environment of `comp` that opted in; with `pushing`, the
    failure records are written and the rollback merge requests pushed and opened. `remote` is
    read whether pushing or not (the same decision); None with `unknown`: it could not be read
    (why), and a failure whose start it holds is `unknown`."""
    cfg = session.repo.config
    out: list[Rollback] = []
    for d in decisions:
        rules = cfg.policy(d.environment)
        if rules.rollback is None:
            continue
        rb = Rollback(comp.name, d.environment, "none", "", branch=f"rollback/{comp.name}-{d.environment}")
        out.append(rb)
        try:
            _judge(session, comp, d, rb, rules.rollback.grace, remote, pushing, forge, base, unknown)
        except PromoterError as exc:
            rb.action, rb.reason = "error", str(exc)
            rb.error_kind = "network" if isinstance(exc, ExternalError) else "person"
    return out


def _judge(
    session: Session,
    comp: Component,
    d: Decision,
    rb: Rollback,
    grace: int,
    remote: str | None,
    pushing: bool,
    forge: Forge | None,
    base: str | None,
    unknown: str = "",
) -> None:
    from promoter.pipeline import core

    env = d.environment
    if session.options.offline:
        rb.reason = "--offline: the checks are not run"
        return
    if d.action == "held":
        rb.reason = "held: a person (or a rollback) holds it; never rolled back by itself"
        return
    policy = session.policy(comp)
    now = policy.now
    targets = [t for t in comp.targets if t.environment == env]
    up = session.upstream(comp)
    values = list(dict.fromkeys(v for ts in core.scan(session.repo, comp, targets) for v in ts.values))
    shas = {f for f in (up.find(v) for v in values if not v.startswith("sha256:")) if f is not None}
    if len(shas) != 1:
        rb.reason = "its targets do not run one version the upstream names; nothing to roll back from"
        return
    rb.runs = sha = shas.pop()
    ran = [s for s in policy.history(env).timeline(env) if s.values]
    last = ran[-1] if ran else None
    if last is None or last.change is None or len(ran) < 2:
        rb.reason = f"{comp.short(sha)} came by no promotion promoter can see; nothing to roll back to"
        return
    if last.rollback:
        rb.reason = f"{comp.short(sha)} came by a rollback: a rollback is never rolled back by itself"
        return
    settled = last.start + timedelta(seconds=grace)
    if now < settled:
        rb.reason = f"{comp.short(sha)} reached the branch at {_stamp(last.start)}: settling until {_stamp(settled)}"
        return
    failed, down = _verdicts(session, comp, env, sha)
    if down and not failed:  # no verdict: the first failure is neither started nor forgotten
        raise ExternalError(
            f"{env}'s verify checks could not be reached ({'; '.join(down)}): no verdict on {comp.short(sha)}, "
            "nothing rolled back; tried again next run"
        )
    git = Git(session.repo.root)
    ref = failing_ref(comp.name, env)
    seen, lease = _read_failing(git, remote, ref) if remote else (None, "")
    if not failed:
        if pushing and remote and lease:
            _write_failing(git, remote, ref, None, lease)
        rb.reason = f"{comp.short(sha)} passes its verify checks"
        return
    rb.evidence = failed
    if remote is None and unknown:
        rb.action = "unknown"
        rb.reason = (
            f"{comp.short(sha)} fails its verify checks; since when (the remote remembers it) cannot be told: {unknown}"
        )
        return
    first = None
    if seen is not None and seen.get("sha") == sha:
        try:
            first = datetime.fromisoformat(str(seen.get("since")))
        except ValueError:
            first = None
    if first is None:
        first = now
        if pushing and remote:
            _write_failing(git, remote, ref, {"sha": sha, "since": now.isoformat(), "evidence": failed}, lease)
    rb.since = first
    due = first + timedelta(seconds=grace)
    if now < due:
        rb.action = "watch"
        rb.reason = (
            f"{comp.short(sha)} fails its verify checks since {_stamp(first)}; rolls back at {_stamp(due)} if they "
            "still fail then"
        )
        return
    from promoter.ship.holding import _before

    rb.to, notes = _before(session, comp, targets)
    if comp.is_blocked(rb.to):
        raise Refused(
            f"{comp.name}: {env} fails its verify checks, but it ran {comp.short(rb.to)} before, and it is blocked: "
            f"no rollback by itself; roll back by hand (promoter rollback {comp.name} --env {env} --to REV)"
        )
    rb.action = "rollback"
    rb.reason = (
        f"{comp.short(sha)} fails its verify checks since {_stamp(first)} (grace {_grace(grace)}): back to "
        f"{comp.short(rb.to)}, held"
    )
    if remote and git.run("ls-remote", "--", remote, f"refs/heads/{rb.branch}", check=False).stdout.strip():
        rb.reason += f"; its merge request (branch {rb.branch}) awaits a person"  # one at a time
        return
    if pushing and remote and base:
        _ship(session, comp, rb, remote, forge, base, grace, notes)


def _verdicts(session: Session, comp: Component, env: str, sha: str) -> tuple[list[str], list[str]]:
    """What the environment's verify checks say of `sha` (after their retries): the failures, and
    the checks whose server could not be reached (no verdict)."""
    from promoter.policy import verify

    policy = session.policy(comp)
    checks = session.repo.config.policy(env).verify
    kwargs = {"sleep": policy.sleep} if policy.sleep is not None else {}
    verdicts = verify.run(checks, sha, comp.short(sha), env, session.repo.root, policy.statuses, **kwargs)
    said = [(v, f"{v.check.describe()}: {printable(v.detail)}") for v in verdicts if not v.passed]
    return [s for v, s in said if not v.unreachable], [s for v, s in said if v.unreachable]


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _grace(seconds: int) -> str:
    from promoter import durations

    return durations.format(seconds, parts=2)


def _ship(
    session: Session,
    comp: Component,
    rb: Rollback,
    remote: str,
    forge: Forge | None,
    base: str,
    grace: int,
    notes: list[str],
) -> None:
    """Commit the rollback and its hold on `rollback/COMPONENT-ENV` from the base branch (a private
    index: the working tree is not touched), push it (leased: the branch must not exist), open its
    merge request."""
    from promoter.model import FileChange
    from promoter.pipeline import core
    from promoter.policy import holds as holds_file
    from promoter.policy.rules import load_holds
    from promoter.ship import commit as commits
    from promoter.ship.forge import MergeRequest

    assert rb.to is not None and rb.runs is not None
    git = Git(session.repo.root)
    env = rb.environment
    mine = [t for t in comp.targets if t.environment == env]
    digest = None
    if comp.image is not None and any(t.format == "digest" for t in mine):
        digest = session.digest(comp.image, comp.image_tag(rb.to))
    plan = core.plan(session.repo, comp, rb.to, mine, digest)
    repo = session.repo
    current = load_holds(repo.config, repo.root)
    now = session.policy(comp).now.replace(microsecond=0)
    why = f"rollback: automatic: {comp.short(rb.runs)} failed its verify checks since {_stamp(rb.since or now)}"
    hold = holds_file.Hold(comp.name, (env,), why, "promoter reconcile", now)
    path = repo.root / repo.config.holds
    old = repo.workspace.read(repo.config.holds) if path.exists() else ""
    holds = FileChange(repo.config.holds, old, holds_file.render([*current, hold], repo.config.holds), ())
    contents = {c.file: c.new_text for c in [*plan.changes, holds]}
    subject = f"rollback {comp.name} {comp.short(rb.runs)} to {comp.short(rb.to)} in {env}"
    evidence = "\n".join(f"- {e}" for e in rb.evidence)
    text = (
        f"{subject}\n\nAutomatic rollback: its verify checks fail since {_stamp(rb.since or now)} "
        f"(grace {_grace(grace)}):\n{evidence}\n\nPromoted-Component: {comp.name}\nPromoted-To: {rb.to}\n"
        f"Promoted-Hold: {env}\n"
    )
    start = git.out("rev-parse", f"refs/heads/{base}")
    local = f"refs/promoter/rollback/{rb.branch}"
    git.run("update-ref", local, start)
    try:
        made = commits.commit_ref(git, local, start, contents, subject, text)
    finally:
        git.run("update-ref", "-d", local, check=False)
    cfg = repo.config.merge_request
    description = (
        f"**Automatic rollback** of {comp.name} in {env}, from `{comp.short(rb.runs)}` to `{comp.short(rb.to)}`: "
        f"the environment's verify checks have failed since {_stamp(rb.since or now)} (grace {_grace(grace)}):\n\n"
        f"{evidence}\n\nIt also holds {env}, so nothing promotes it forward again until `promoter release "
        f"{comp.name} --env {env}`. Merge it to roll back; close it (and delete its branch) to decline.\n"
        + "".join(f"\nNote: {n}" for n in notes)
    )
    mr = MergeRequest(rb.branch, cfg.target_branch or base, subject, description, cfg.labels, cfg.reviewers,
                      cfg.remove_source_branch, False)  # fmt: skip
    options: list[str] = []
    if cfg.method == "push-options":
        from promoter.ship.forge.pushoptions import push_options

        options = [x for o in push_options(mr) for x in ("-o", o)]
    proc = git.run("push", "--porcelain", "--quiet", *options, f"--force-with-lease=refs/heads/{rb.branch}:", remote,
                   f"{made}:refs/heads/{rb.branch}", check=False)  # fmt: skip
    if proc.returncode != 0:
        said = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        raise ExternalError(f"git push of {rb.branch} to {remote} refused or failed: {' '.join(said[-3:])}")
    rb.pushed = True
    if forge is not None:
        rb.url = forge.open_or_update(mr).url
