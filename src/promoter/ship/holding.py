"""Holds as a workflow: `hold`, `release` and `rollback` write the holds file (and, for a
rollback, the promotion back) in one atomic write, and commit, push and open a merge request for
it like a promotion (`--commit`, `--push`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from promoter.errors import Refused, UsageError
from promoter.model import Component, FileChange, Plan, Target
from promoter.pipeline import apply, core
from promoter.policy import holds as holds_file
from promoter.policy.rules import load_holds
from promoter.records import field, record
from promoter.ship import commit as commits
from promoter.ship.session import Prepared, Session, Shipped, landed
from promoter.text import did_you_mean
from promoter.upstream.git import Git

TYPE_CHECKING = False  # typing is not imported at run time (start-up is counted)
if TYPE_CHECKING:
    from promoter.insight.history import History
    from promoter.upstream.mirror import Upstream


@record
class Changed:
    """What a hold, a release or a rollback did."""

    subject: str
    holds: list[holds_file.Hold]  # the holds written (hold, rollback) or released (release)
    files: list[str] = field(default_factory=list)
    branch: str | None = None
    shipped: Shipped | None = None
    prepared: Prepared | None = None  # a rollback's promotion


def _author(session: Session) -> str:
    ident = Git(session.repo.root).run("var", "GIT_AUTHOR_IDENT", check=False).stdout.strip()
    return ident.rsplit(" ", 2)[0] if ident else ""  # without the time stamp


def _envs(comp: Component, envs: tuple[str, ...]) -> tuple[str, ...]:
    known = list(dict.fromkeys(t.environment for t in comp.targets))
    for e in envs:
        if e not in known:
            hint = did_you_mean(e, known)
            raise UsageError(f"{comp.name}: unknown environment '{e}'{hint}; valid: {', '.join(known)}")
    return envs


def _holds_change(session: Session, holds: list[holds_file.Hold]) -> FileChange:
    repo = session.repo
    path = repo.root / repo.config.holds
    exists = path.exists()
    old = repo.workspace.read(repo.config.holds) if exists else ""
    return FileChange(repo.config.holds, old, holds_file.render(holds, repo.config.holds), (), created=not exists)


def _ship(
    session: Session,
    changes: list[FileChange],
    branch: str,
    subject: str,
    text: str,
    description: str,
    commit: bool,
    push_to: str | None,
    finish: str,
) -> tuple[str | None, Shipped | None]:
    """Write `changes` (on `branch`, committed and pushed with `commit`/`push_to`), in the order
    a promotion is committed (see `Session._promote_one`): a failure before the branch moved
    puts the files back; after, the commit stays and the message says where, and `finish` (the
    command that finishes the job)."""
    from promoter.errors import PromoterError

    repo = session.repo
    commit = commit or push_to is not None
    git = Git(repo.root)
    start = session.base_branch
    if commit and start is None:
        raise UsageError("--commit needs a checked-out branch to start from (HEAD is detached)")
    if commit:
        commits.check_can_commit(git)
    from promoter.upstream import git as gitcmd

    dirty = gitcmd.dirty(repo.root, [c.file for c in changes])
    if dirty:
        raise Refused(f"uncommitted changes in files this would write: {', '.join(dirty)} (commit or stash them)")
    with apply.lock(repo.state_dir):
        if not commit:
            apply.write(repo.root, repo.state_dir, changes)
            return None, None
        assert start is not None
        old = commits.claim(git, branch, changes)
        if old is None:  # its branch holds this very change (a re-run): shipped as it is
            git.run("switch", "--quiet", branch)
            made = commits.BranchCommit(branch, git.out("rev-parse", f"refs/heads/{branch}"), subject, text)
        else:
            base = git.out("rev-parse", "HEAD")
            contents = {c.file: c.new_text for c in changes}
            built = commits.build(git, base, contents, text)  # objects only: nothing written yet
            apply.write(repo.root, repo.state_dir, changes)
            try:
                made = commits.commit(git, branch, old, base, contents, subject, text, start, built)
            except commits.Landed as exc:
                exc.args = (f"{exc}\n{landed(exc, subject.split()[0], finish)}",)
                raise
            except PromoterError as exc:
                try:
                    _put_back(session, changes)
                except (PromoterError, OSError) as failed:
                    import shlex

                    new = [c.file for c in changes if c.created]
                    back = [c.file for c in changes if not c.created]
                    undo = " && ".join(
                        ([f"rm -- {shlex.join(new)}"] if new else [])
                        + ([f"git checkout -- {shlex.join(back)}"] if back else [])
                    )
                    exc.args = (
                        f"{exc}\nnothing was committed, and putting {', '.join(contents)} back failed too ({failed}): "
                        f"once the causes are gone, put them back ({undo}) and run the same command again",
                    )
                    raise exc from None
                exc.args = (
                    f"{exc}\nnothing was committed: {', '.join(contents)} put back (you are on "
                    f"{commits.current_branch(git) or 'a detached HEAD'}); fix the cause above and run the same "
                    "command again",
                )
                raise
        return branch, _publish(session, made, push_to, description, subject.split()[0], finish)


def _put_back(session: Session, changes: list[FileChange]) -> None:
    """The files of `changes` as they were before they were written."""
    repo = session.repo
    for c in changes:
        if c.created:
            (repo.root / c.file).unlink(missing_ok=True)
    back = [FileChange(c.file, c.new_text, c.old_text, ()) for c in changes if not c.created]
    if back and all((repo.root / c.file).read_text(encoding="utf-8") == c.old_text for c in back):
        back = []
    if back:
        apply.write(repo.root, repo.state_dir, back)


def _publish(
    session: Session, made: commits.BranchCommit, push_to: str | None, description: str, what: str, finish: str
) -> Shipped:
    """`Session.publish_change`; a failure after the commit says where it is and what finishes it."""
    from promoter.errors import PromoterError

    try:
        return session.publish_change(made, push_to, description)
    except PromoterError as exc:
        on = commits.current_branch(Git(session.repo.root))
        here = "you are on it" if on == made.branch else f"you are on {on or 'a detached HEAD'}"
        exc.args = (
            f"{exc}\nthe {what} is committed as {made.sha[:12]} on branch {made.branch} ({here}); "
            f"to finish, run: {finish}",
        )
        raise


def _resume(
    session: Session,
    pattern: str,
    ours: Callable[[str], bool],
    push_to: str | None,
    description: str,
    what: str,
    finish: str,
) -> tuple[str, Shipped] | None:
    """With `--commit`: the commit an earlier run of this very command made and could not finish
    (HEAD or the index could not follow it, or its push failed), on a branch whose name matches
    `pattern` (a regex) and whose tip `ours` recognises: finished (HEAD and the index brought
    onto it, pushed with `push_to`) rather than done again. None when there is none."""
    import re

    git = Git(session.repo.root)
    commits.check_can_commit(git)  # finishing needs the index too
    start = session.base_branch
    names = git.run("for-each-ref", "--format=%(refname:short)", "refs/heads/").stdout.split()
    for name in sorted(n for n in names if re.fullmatch(pattern, n)):
        made = commits.resume(git, name, start, ours)
        if made is not None:
            return name, _publish(session, made, push_to, description, what, finish)
    return None


def _again(session: Session, command: str, comp: Component, envs: tuple[str, ...], *rest: str) -> str:
    """The command that does this again, as typed (see `Session.again`)."""
    import shlex

    words = ["promoter", *session.where(), command, comp.name]
    for env in envs:
        words += ["--env", env]
    return shlex.join([*words, *rest])


def _shipping(push_to: str | None) -> list[str]:
    return ["--push", push_to] if push_to is not None else ["--commit"]


def _same(git: Git, comp: Component, envs: tuple[str, ...], subject: Callable[[str], bool]) -> Callable[[str], bool]:
    """Whether a commit is promoter's own for `comp` in `envs` (its trailers), with a `subject` like this."""
    shown = ", ".join(envs) or "every environment"

    def ours(tip: str) -> bool:
        said = commits.trailers(git, tip)
        if said.get("Promoted-Component") != comp.name or said.get("Promoted-Hold") != shown:
            return False
        return subject(git.run("log", "-1", "--format=%s", tip, "--").stdout.strip())

    return ours


def _message(subject: str, reason: str, comp: Component, envs: tuple[str, ...], extra: str = "") -> str:
    shown = ", ".join(envs) or "every environment"
    return f"{subject}\n\n{reason}\n\n{extra}Promoted-Component: {comp.name}\nPromoted-Hold: {shown}\n"


def hold(
    session: Session,
    comp: Component,
    envs: tuple[str, ...],
    reason: str,
    until: datetime | None,
    *,
    commit: bool = False,
    push_to: str | None = None,
) -> Changed:
    """Hold `envs` of `comp` (none: every environment) until released (or `until`)."""
    from promoter.policy import clock

    envs = _envs(comp, envs)
    if not reason.strip():
        raise UsageError("a hold needs a reason: --reason TEXT (who reads it later needs to know why)")
    now = clock.now().replace(microsecond=0)  # the file writes seconds
    if until is not None:
        try:
            until = until.astimezone(UTC)
        except OverflowError:
            raise UsageError(
                f"--until {until.isoformat()} falls outside the years 1 to 9999 in UTC; give a time before 9999-12-31"
            ) from None
        if until <= now:
            raise UsageError(f"--until {clock.stamp(until)} is not in the future")
    shown = ", ".join(envs) or "every environment"
    subject = f"hold {comp.name} in {shown}"
    scope = "-".join(envs) or "all"
    text = _message(subject, reason.strip(), comp, envs)
    description = (
        f"Holds **{comp.name}** in {shown}: nothing promotes it there until released.\n\nReason: {reason.strip()}\n"
    )
    branch = f"hold/{comp.name}-{scope}"
    rest = ["--reason", reason.strip(), *(["--until", until.isoformat()] if until is not None else [])]
    finish = _again(session, "hold", comp, envs, *rest, *_shipping(push_to))
    if commit or push_to is not None:
        git = Git(session.repo.root)

        def ours(tip: str) -> bool:
            return git.run("log", "-1", "--format=%B", tip, "--").stdout.strip() == text.strip()

        found = _resume(session, re.escape(branch), ours, push_to, description, "hold", finish)
        if found is not None:
            return Changed(subject, [], [], found[0], found[1])
    current = load_holds(session.repo.config, session.repo.root)
    new = holds_file.Hold(comp.name, envs, reason.strip(), _author(session), now, until)
    change = _holds_change(session, [*current, new])
    shipped_to = _ship(session, [change], branch, subject, text, description, commit, push_to, finish)
    return Changed(subject, [new], [change.file], *shipped_to)


def release(
    session: Session, comp: Component, envs: tuple[str, ...], *, commit: bool = False, push_to: str | None = None
) -> Changed:
    """Release the holds of `comp` in `envs` (none: all its holds)."""
    envs = _envs(comp, envs)
    shown = ", ".join(envs) or "every environment"
    subject = f"release {comp.name} in {shown}"
    scope = "-".join(envs) or "all"
    finish = _again(session, "release", comp, envs, *_shipping(push_to))
    branch = f"release/{comp.name}-{scope}"
    if commit or push_to is not None:
        ours = _same(Git(session.repo.root), comp, envs, lambda said: said == subject)
        description = f"Releases **{comp.name}** in {shown}.\n"
        found = _resume(session, re.escape(branch), ours, push_to, description, "release", finish)
        if found is not None:
            return Changed(subject, [], [], found[0], found[1])
    current = load_holds(session.repo.config, session.repo.root)
    gone = [
        h
        for h in current
        if h.component == comp.name and (not envs or set(h.environments) & set(envs) or not h.environments)
    ]
    if not gone:
        shown = ", ".join(envs) or "any environment"
        raise Refused(f"{comp.name} has no hold in {shown}; nothing to release")
    kept = [h for h in current if h not in gone]
    for h in gone:  # a hold on more environments than released keeps the others
        rest = tuple(e for e in h.environments if e not in envs) if envs and h.environments else ()
        if rest:
            kept.append(holds_file.Hold(h.component, rest, h.reason, h.author, h.since, h.until))
    change = _holds_change(session, kept)
    reasons = "; ".join(dict.fromkeys(h.reason for h in gone))
    text = _message(subject, f"Held for: {reasons}", comp, envs)
    description = f"Releases **{comp.name}** in {shown} (held for: {reasons}).\n"
    shipped_to = _ship(session, [change], branch, subject, text, description, commit, push_to, finish)
    return Changed(subject, gone, [change.file], *shipped_to)


def rollback(
    session: Session,
    comp: Component,
    envs: tuple[str, ...],
    to: str | None,
    reason: str,
    *,
    commit: bool = False,
    push_to: str | None = None,
) -> Changed:
    """Promote `envs` of `comp` back to what they ran before (or to `to`), allowing the
    downgrade and skipping soak, windows and verify (blocked versions still refuse), and hold
    them in the same write and commit, so that nothing promotes them forward until released."""
    from promoter.policy import clock
    from promoter.records import replace

    envs = _envs(comp, envs)
    if not reason.strip():
        raise UsageError("a rollback needs a reason: --reason TEXT")
    targets = core.select(comp, envs)
    shown = ", ".join(envs) or "every environment"
    scope = "-".join(envs) or "all"
    if commit or push_to is not None:  # an earlier rollback that did not finish, before `_before` reads history
        lifted = ["--ignore-trust"] if session.options.ignore_trust else []
        rest = [*(["--to", to] if to is not None else []), "--reason", reason.strip(), *lifted, *_shipping(push_to)]
        ours = _same(Git(session.repo.root), comp, envs, lambda said: said.startswith(f"rollback {comp.name} "))
        found = _resume(
            session,
            rf"rollback/{re.escape(comp.name)}-[0-9a-f]+-{re.escape(scope)}",
            ours,
            push_to,
            f"**Rollback** of {comp.name} in {shown}.\n\nReason: {reason.strip()}\n",
            "rollback",
            _again(session, "rollback", comp, envs, *rest),
        )
        if found is not None:
            return Changed(found[1].commit.subject, [], [], found[0], found[1])
    notes: list[str] = []
    given = to is not None
    if to is None:
        to, notes = _before(session, comp, targets)
    elif not session.options.offline:
        _goes_back(session, comp, targets, session.upstream(comp).resolve(to))
    session.options = replace(
        session.options,
        envs=envs,
        allow_downgrade=True,
        ignore_soak=True,
        ignore_window=True,
        ignore_verify=True,
        ignore_hold=True,
        ignore_deps=True,
    )
    session._policies.pop(comp.name, None)
    prepared = session.prepare(comp, to)
    if prepared.plan.empty:
        raise Refused(
            f"{comp.name}: {', '.join(envs) or 'every environment'} already runs "
            f"{_shown(prepared.plan)}; nothing to roll back"
        )
    if given and session.options.offline:
        notes = _ran_after(session, comp, targets, prepared.plan.sha)
    prepared.notes += notes
    current = load_holds(session.repo.config, session.repo.root)
    since = clock.now().replace(microsecond=0)  # the file writes seconds
    new = holds_file.Hold(comp.name, envs, f"rollback: {reason.strip()}", _author(session), since)
    changes = [*prepared.plan.changes, _holds_change(session, [*current, new])]
    from promoter.ship import describe

    old, _ = describe.commit_message(prepared.plan, describe.plan_summary(prepared.plan), None)
    subject = "rollback" + old.removeprefix("promote")
    body = "\n".join(describe.plan_summary(prepared.plan))
    trailers = (
        f"Promoted-From: {describe.promoted_from([prepared.plan])}\nPromoted-To: {prepared.plan.sha}"
        f"{describe.tag_trailer(prepared.plan)}\n"
    )
    text = _message(subject, f"Reason: {reason.strip()}\n\n{body}", comp, envs, trailers)
    description = (
        f"**Rollback** of {comp.name} in {shown} to `{_shown(prepared.plan)}`.\n\n"
        f"Reason: {reason.strip()}\n\n"
        f"It also holds {shown}, so nothing promotes it forward again until `promoter release {comp.name}`.\n\n"
        + describe.merge_request_description(prepared.plan, prepared.changelog)
    )
    back = prepared.plan.release.tag if prepared.plan.release is not None else prepared.plan.sha  # as given again
    lifted = ["--ignore-trust"] if session.options.ignore_trust else []
    rest = ["--to", back, "--reason", reason.strip(), *lifted, *_shipping(push_to)]
    branch, shipped = _ship(
        session,
        changes,
        f"rollback/{comp.name}-{comp.short(prepared.plan.sha)}-{scope}",
        subject,
        text,
        description,
        commit,
        push_to,
        _again(session, "rollback", comp, envs, *rest),
    )
    return Changed(subject, [new], [c.file for c in changes], branch, shipped, prepared)


def _shown(plan: Plan) -> str:
    """The version a plan goes to, as people read it (its release tag, or its short sha)."""
    from promoter.ship.describe import shown_version

    return shown_version(plan)


def _before(session: Session, comp: Component, targets: list[Target]) -> tuple[str, list[str]]:
    """The version the environments of `targets` ran before the one they run now, and what could
    not be checked. It is strictly older than what runs (an ancestor of it upstream; offline, or for
    a value the upstream cannot name, run before it in the config repository's history) and never a
    version an earlier rollback backed out of: a second rollback goes further back, or refuses."""
    from promoter.insight import history

    up = None if session.options.offline else session.upstream(comp)
    h = history.build(session.repo.root, comp, targets, up)
    envs = list(dict.fromkeys(t.environment for t in targets))
    previous: set[str] = set()
    notes: list[str] = []
    for env in envs:
        values, said = _ran_before(h, comp, env, up)
        previous |= values
        notes += [n for n in said if n not in notes]
    if len(previous) != 1:
        raise Refused(
            f"{comp.name}: before their current version the environments ran "
            f"{', '.join(sorted(previous))}; give --to REV"
        )
    value = previous.pop()
    release = up.release_of(value) if up is not None and comp.released else None
    if release is not None:  # a release tag: promoted back as that release
        return release.tag, notes
    if len(value) != 40:
        found = None if up is None else up.find(value)
        if found is None:
            raise Refused(
                f"{comp.name}: the previous version {value} names no commit promoter can resolve; give --to REV"
            )
        value = found
    return value, notes


def _first_runs(h: History, env: str) -> dict[str, int]:
    """Each version `env` ran, with the index of the first segment of its timeline that ran it."""
    order: dict[str, int] = {}
    for i, s in enumerate(s for s in h.timeline(env) if s.values):
        for v in s.values:
            order.setdefault(h.version(v), i)
    return order


def _ran_before(h: History, comp: Component, env: str, up: Upstream | None) -> tuple[set[str], list[str]]:
    """What `env` ran last that is strictly older than what it runs and no rollback backed out of."""
    segments = [s for s in h.timeline(env) if s.values]
    if len(segments) < 2:
        raise Refused(f"{comp.name}: {env} has run nothing else in the config repository's history; give --to REV")
    order = _first_runs(h, env)
    current = {h.version(v) for v in segments[-1].values}
    known = set(h.resolved.values()) if up is not None and h.upstream_error is None else set()
    why = "--offline" if up is None else "the upstream could not be read" if h.upstream_error else ""

    def by_order(old: set[str], new: set[str]) -> bool:
        return max(order.get(v, 0) for v in old) < min(order.get(v, 0) for v in new)

    out: set[str] = set()  # backed out of by a rollback, and not promoted again since
    for ch in h.changes:
        for tc in ch.target_changes:
            olds, news = {h.version(v) for v in tc.old}, {h.version(v) for v in tc.new}
            if tc.environment != env or not olds or not news:
                continue
            back = tc.rollback if tc.rollback is not None else by_order(news, olds)
            out = out | (olds - news) if back else out - news

    skipped: list[str] = []
    for seg in reversed(segments[:-1]):
        values = {h.version(v) for v in seg.values}
        if values & current:
            continue
        if values & out:
            skipped += [f"an earlier rollback backed out of {comp.short(v)}" for v in sorted(values & out)]
            continue
        notes: list[str] = []
        older = True
        for v in sorted(values):
            if v in known and current <= known:
                older = all(up is not None and up.is_ancestor(v, c) for c in current)
            else:
                older = by_order({v}, current)
                cur = ", ".join(comp.short(c) for c in sorted(current))
                because = why or f"{comp.short(v) if v not in known else cur} names no commit of the upstream"
                notes.append(
                    f"{because}: {comp.short(v)} is taken as older than {cur} because {env} ran it first "
                    "(not checked against the upstream)"
                )
            if not older:
                skipped.append(f"{comp.short(v)} is not older")
                break
        if older:
            return values, notes
    cur = ", ".join(comp.short(c) for c in sorted(current))
    detail = f" ({'; '.join(dict.fromkeys(skipped))})" if skipped else ""
    raise Refused(f"{comp.name}: {env} ran nothing older than {cur} before it{detail}; give --to REV")


def _goes_back(session: Session, comp: Component, targets: list[Target], sha: str) -> None:
    """Refuse `--to` `sha` when a target runs a version it is not an ancestor of (a newer one, or an
    unrelated one): a rollback only goes back."""
    from promoter.policy.gates import deployed

    up = session.upstream(comp)
    for value, names in deployed(core.scan(session.repo, comp, targets)).items():
        full = up.find(value)
        if full is None or full == sha or up.is_ancestor(sha, full):
            continue  # a value the upstream cannot name: the plan's notes say so
        runs = f"{comp.short(full)}, which {', '.join(names)} {'runs' if len(names) == 1 else 'run'}"
        if up.is_ancestor(full, sha):
            raise Refused(
                f"{comp.name}: --to {comp.short(sha)} is newer than {runs}: a rollback only goes back "
                f"(promote it instead: promoter promote {comp.name} {comp.short(sha)})"
            )
        raise Refused(
            f"{comp.name}: --to {comp.short(sha)} is not an ancestor of {runs} (neither is older than the "
            "other): a rollback only goes back to a version in the history of what runs"
        )


def _ran_after(session: Session, comp: Component, targets: list[Target], sha: str) -> list[str]:
    """Offline, `--to` `sha` judged by the config repository's history: refused when an environment
    ran it only after what it runs now; said (not judged) when it never ran there."""
    from promoter.insight import history

    h = history.build(session.repo.root, comp, targets)
    notes: list[str] = []
    for env in dict.fromkeys(t.environment for t in targets):
        segments = [s for s in h.timeline(env) if s.values]
        order = _first_runs(h, env)
        current = {h.version(v) for v in segments[-1].values} if segments else set()
        mine = next((v for v in order if v == sha or (len(v) < 40 and sha.startswith(v))), None)
        if mine is None or not current:
            notes.append(
                f"--offline: {comp.short(sha)} never ran in {env}; whether it is older than what {env} runs "
                "is not checked"
            )
            continue
        later = sorted(c for c in current if c != mine and order[mine] > order.get(c, 0))
        if later:
            raise Refused(
                f"{comp.name}: --to {comp.short(sha)} ran in {env} after {', '.join(comp.short(c) for c in later)}, "
                "which it runs now: a rollback only goes back (--offline: judged by the order of the config "
                "repository's history)"
            )
    return notes
