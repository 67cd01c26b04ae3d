"""The promotion policy of the environments, as data: what stops a candidate from entering an
environment now, each with its reason, when it may change, and the option that lifts it.

Gates, in the order they are judged (`Policy.gates`):
- blocked: the candidate is listed in the component's `blocked:` (no option lifts it: edit the config);
- held: a hold on the environment (`promoter hold`), until released or its `until:` passes;
- window: the environment's promotion windows are closed now (until they open);
- soaking: the environments of `after:` have not run the candidate (or a descendant since) for
  `soak:` yet; measured on what ran: the first-parent history of the deploy branch (`policy.soak`,
  `ship.deploy`), or of the base with `check --base`;
- unverified: a `verify:` check of the environment fails for the candidate.
- channels: an app-interface subscriber's order after its channels' publishers, its soakDays and
  its schedule (`policy.channels`).
A `hotfix:` candidate skips windows and soak, never holds or blocked. Offline, soak and verify
are not judged (a note says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

from promoter import durations
from promoter.model import Component, Config, Target
from promoter.policy import holds as holds_file
from promoter.policy.clock import stamp
from promoter.records import field, record

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Literal

    from promoter.insight.history import History
    from promoter.policy.verify import Statuses
    from promoter.upstream.mirror import Upstream

if TYPE_CHECKING:
    Action = Literal[
        "promote",
        "up-to-date",
        "held",
        "window",
        "soaking",
        "blocked",
        "unverified",
        "image-missing",
        "untrusted",
        "waiting-for-dependency",
        "manual",  # an app-interface target without promotion.auto: moved by an explicit promote only
        "error",
        "rollback",
    ]
else:
    Action = str


@record(frozen=True)
class Gate:
    """Why a candidate may not enter an environment now."""

    action: Action
    environment: str
    reason: str
    until: datetime | None = None  # when it may change by itself (None: not by time)
    override: str | None = None  # the option that lifts it, when one does
    unreachable: bool = False  # judged without an answer (a verify server down): no verdict on the candidate
    # the rule, where it is finer than the action: `after` (an environment of `after:` has not run
    # the candidate: no time alone lifts it), told apart from the time a soak takes (`soak`)
    rule: str | None = None
    before: str | None = None  # for the soak's gates: the environment of `after:` it waits on
    publisher: str | None = None  # for an app-interface channel's order: the publisher target it waits on

    def message(self) -> str:
        lift = f"; pass {self.override} to promote anyway" if self.override else ""
        return f"{self.reason}{lift}"


@record(frozen=True)
class Overrides:
    soak: bool = False
    window: bool = False
    hold: bool = False
    verify: bool = False


@record
class Policy:
    """The rules for one component's candidates, judged at `now`."""

    config: Config
    component: Component
    root: Path
    now: datetime
    holds: list[holds_file.Hold]
    upstream: Upstream | None = None  # None: offline (soak and verify not judged)
    overrides: Overrides = field(default_factory=Overrides)
    statuses: Statuses | None = None
    sleep: Callable[[float], None] | None = None
    # the revision whose first-parent history says what ran: the deploy branch (`ship.deploy`,
    # asked for when first needed), or the base of `check --base`
    revision: str | Callable[[], str] = "HEAD"
    # the upstream of another component (an app-interface channel's publisher may be one): None
    # asks for an Upstream of its own; offline (`upstream` None) there is none
    upstream_of: Callable[[Component], Upstream] | None = None
    _histories: dict[tuple[str, str], History] = field(default_factory=dict)
    _target_histories: dict[tuple[str, str, str], History] = field(default_factory=dict)
    _upstreams: dict[str, Upstream] = field(default_factory=dict)
    _deepened: list[str] = field(default_factory=list)  # how the shallow history was deepened
    _verified: dict[tuple[str, str], list[Gate]] = field(default_factory=dict)

    # -- the rules -------------------------------------------------------------------------------
    def blocked(self, sha: str) -> Gate | None:
        prefix = self.component.is_blocked(sha)
        if prefix is None:
            return None
        where = next((f"{f}:{n}" for v, f, n in self.component.version_sources if v == prefix), None)
        if where is not None:  # an app-interface app file's codeComponents[].blockedVersions
            return Gate(
                "blocked",
                "",
                f"{self.component.name}: {self.component.short(sha)} is blocked (blockedVersions at {where}); no "
                "option lifts it: choose another version or edit the app file",
            )
        return Gate(
            "blocked",
            "",
            f"{self.component.name}: {self.component.short(sha)} is blocked (`blocked: [{prefix}]` in "
            f"{self.config.path}); no option lifts it: choose another version or edit the config",
        )

    def held(self, env: str) -> Gate | None:
        hold = holds_file.active(self.holds, self.component.name, env, self.now)
        if hold is None or self.overrides.hold:
            return None
        who = f" by {hold.author}" if hold.author else ""
        until = f" until {stamp(hold.until)}" if hold.until else ""
        return Gate(
            "held",
            env,
            f"{self.component.name}: {env} is held{who} since {stamp(hold.since)}{until}: {hold.reason}",
            hold.until,
            "--ignore-hold",
        )

    def window(self, env: str, sha: str) -> Gate | None:
        rules = self.config.policy(env).windows
        if not rules or self.overrides.window or self.component.is_hotfix(sha):
            return None
        from promoter.policy import windows  # cron and time zones: only for a config with windows

        state = windows.state(rules, self.now)
        if state.open:
            return None
        w = state.window
        which = f" ({w.kind} '{w.cron}' {w.timezone}, {durations.format(w.duration)})" if w else ""
        opens = (
            f"; it opens {stamp(state.until)}" if state.until else f"; no opening within {windows.HORIZON.days} days"
        )
        return Gate(
            "window", env, f"{env}: the promotion window is closed{which}{opens}", state.until, "--ignore-window"
        )

    @property
    def rev(self) -> str:
        """The revision whose first-parent history says what ran (resolved once)."""
        if callable(self.revision):
            self.revision = self.revision()
        return self.revision

    def history(self, env: str) -> History:
        """What `env` ran: the first-parent history of `rev` (read once per environment)."""
        key = (self.rev, env)
        if key not in self._histories:
            from promoter.insight import history

            targets = [t for t in self.component.targets if t.environment == env]
            self._histories[key] = history.build(
                self.root, self.component, targets, self.upstream, rev=self.rev, first_parent=True, now=self.now
            )
        return self._histories[key]

    def upstream_for(self, comp: Component) -> Upstream | None:
        """The upstream of `comp` (this component's, or another's), None offline."""
        if self.upstream is None:
            return None
        if comp.name == self.component.name:
            return self.upstream
        if comp.name not in self._upstreams:
            if self.upstream_of is not None:
                self._upstreams[comp.name] = self.upstream_of(comp)
            else:
                from promoter.upstream.mirror import Upstream

                self._upstreams[comp.name] = Upstream(comp)
        return self._upstreams[comp.name]

    def target_history(self, comp: Component, target: Target) -> History:
        """What one target of `comp` ran (an app-interface publisher): the first-parent history of
        `rev` (read once per target)."""
        key = (self.rev, comp.name, target.name)
        if key not in self._target_histories:
            from promoter.insight import history

            self._target_histories[key] = history.build(
                self.root, comp, [target], self.upstream_for(comp), rev=self.rev, first_parent=True, now=self.now
            )
        return self._target_histories[key]

    def soak(self, env: str, sha: str) -> list[Gate]:
        rules = self.config.policy(env)
        if not rules.after or self.overrides.soak or self.component.is_hotfix(sha) or self.upstream is None:
            return []
        from promoter.policy import soak

        up = self.upstream
        short = self.component.short(sha)
        out: list[Gate] = []

        def descends(old: str, new: str) -> bool:
            return _descends(up, old, new)

        for before in rules.after:
            ran = self.history(before)
            since = soak.soaking_since(ran, before, sha, descends)
            while soak.cut_short(ran, before, sha, descends, since, rules.soak, self.now):
                # a shallow clone's history stops where the soak may have started: deepened, never restarted
                needed = self.now - timedelta(seconds=rules.soak)
                soak.deepen(self.root, self.rev, ran, before, short, needed, self._deepened)
                self._histories.clear()
                ran = self.history(before)
                since = soak.soaking_since(ran, before, sha, descends)
            clamped = soak.clamp_note(ran, before, sha, descends)
            if since is None:
                out.append(
                    Gate(
                        "soaking",
                        env,
                        f"{self.component.name}: {env} comes after {before}, and {before} does not run {short}"
                        f"{_on(self.rev)} (nor a newer version since it ran it)",
                        None,
                        "--ignore-soak",
                        rule="after",
                        before=before,
                    )
                )
                continue
            ready = since + timedelta(seconds=rules.soak)
            if ready > self.now:
                left = durations.format((ready - self.now).total_seconds(), parts=2)
                out.append(
                    Gate(
                        "soaking",
                        env,
                        f"{self.component.name}: {short} is soaking in {before} until {stamp(ready)} ({left} left)"
                        + (f"; {clamped}" if clamped else ""),
                        ready,
                        "--ignore-soak",
                        rule="soak",
                        before=before,
                    )
                )
        return out

    def candidates(self, targets: list[Target]) -> list[str]:
        """The candidates of app-interface subscribers (when every target of `targets` is one): the
        versions their publishers run, newest first; [] otherwise (the branch's commits are)."""
        if self.upstream is None or not targets or not all(t.native and t.native.subscribe for t in targets):
            return []
        from promoter.policy import channels

        return channels.candidates(self, targets)

    def warnings(self, envs: Iterable[str]) -> list[str]:
        """What the judging of `envs` found wrong in the config repository's history and worked
        around (a commit dated in the future), once each."""
        from promoter.policy import soak

        out: dict[str, None] = {}
        for env in envs:
            for before in self.config.policy(env).after:
                ran = self._histories.get((self.rev, before)) if not callable(self.revision) else None
                if ran is not None:
                    out.update(dict.fromkeys(soak.clamp_warnings(ran, before)))
        return list(out)

    def verify(self, env: str, sha: str) -> list[Gate]:
        checks = self.config.policy(env).verify
        if not checks or self.overrides.verify or self.upstream is None:
            return []
        key = (env, sha)
        if key not in self._verified:
            from promoter.policy import verify

            kwargs = {"sleep": self.sleep} if self.sleep is not None else {}
            verdicts = verify.run(checks, sha, self.component.short(sha), env, self.root, self.statuses, **kwargs)
            self._verified[key] = [
                Gate(
                    "unverified",
                    env,
                    f"{self.component.name}: {env}: {v.check.describe()} "
                    + (f"could not be reached: {v.detail}" if v.unreachable else f"failed: {v.detail}"),
                    None,
                    "--ignore-verify",
                    unreachable=v.unreachable,
                )
                for v in verdicts
                if not v.passed
            ]
        return self._verified[key]

    def verify_all(self, targets: list[Target], sha: str) -> list[Gate]:
        """The `verify:` checks of the environments of `targets` that `sha` fails, and those of the
        environments of the publishers that app-interface subscribers among them follow (their
        deployment-success signal)."""
        envs = list(dict.fromkeys(t.environment for t in targets))
        if any(t.native is not None and t.native.subscribe for t in targets):
            from promoter.policy import channels

            envs = list(dict.fromkeys([*envs, *channels.publisher_environments(self, targets)]))
        return [g for env in envs for g in self.verify(env, sha)]

    # -- all of them -----------------------------------------------------------------------------
    def gates(self, targets: list[Target], sha: str, verify: bool = True) -> list[Gate]:
        """Everything that stops `sha` from entering the environments of `targets` now."""
        out: list[Gate] = []
        blocked = self.blocked(sha)
        if blocked is not None:
            out.append(blocked)
        for env in dict.fromkeys(t.environment for t in targets):
            for gate in (self.held(env), self.window(env, sha)):
                if gate is not None:
                    out.append(gate)
            out += self.soak(env, sha)
            if verify:
                out += self.verify(env, sha)
        if any(t.native is not None and t.native.subscribe for t in targets):  # app-interface's channels
            from promoter.policy import channels

            out += channels.gates(self, targets, sha)
            if verify:
                mine = {t.environment for t in targets}
                out += [g for env in channels.publisher_environments(self, targets) if env not in mine
                        for g in self.verify(env, sha)]  # fmt: skip
        return out

    def notes(self, targets: Iterable[Target] = ()) -> list[str]:
        """What was not judged, and why (offline); for `targets`, their channels' too."""
        if self.upstream is not None:
            return []
        judged = [e for e, p in self.config.environments.items() if p.soak or p.verify]
        out = [f"--offline: soak and verify not judged ({', '.join(judged)})"] if judged else []
        chosen = [t for t in targets if t.native is not None and t.native.subscribe]
        if chosen:
            from promoter.policy import channels

            out += channels.notes(self, chosen)
        return out


def _on(rev: str) -> str:
    """` on main`: where what ran was read, when it is not simply HEAD."""
    if rev == "HEAD":
        return ""
    name = rev.removeprefix("refs/heads/").removeprefix("refs/remotes/")
    return f" on {name[:12] if len(name) == 40 else name}"


def _descends(up: Upstream, old: str, new: str) -> bool:
    """Whether `new` (a full sha or a short value) is `old` or a descendant of it."""
    full = new if len(new) == 40 else up.find(new)
    return full is not None and up.is_ancestor(old, full)


def load_holds(config: Config, root: Path) -> list[holds_file.Hold]:
    """The holds in the config repository's holds file (none when it does not exist), each naming
    a component of `config` and environments of it (a ConfigError at the file's line if not)."""
    path = root / config.holds
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        from promoter.errors import ConfigError

        raise ConfigError(f"cannot read the holds file: {exc}", config.holds) from None
    return holds_file.validate(holds_file.parse(text, config.holds), config, config.holds)
