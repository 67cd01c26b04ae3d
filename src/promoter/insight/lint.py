"""Lint a config repository (`promoter check`): every problem a CI job or pre-commit hook should
stop at, each with its file, line and what to do about it.

Nothing here prints. Each target is located once; the same scans tell which pins are covered
when the uncovered ones are looked for (`discover.uncovered`).
"""

from __future__ import annotations

from promoter.errors import Refused
from promoter.insight.discover import Finding, Scanned, config_file, scan_targets, uncovered
from promoter.model import Component
from promoter.pipeline import core
from promoter.records import record


@record(frozen=True)
class Problem:
    """One thing `check` stops at: where (file:line), what, what to do, and the same as data."""

    file: str
    line: int
    message: str
    hint: str
    # for programs: locates-nothing, environment-disagrees, uncovered-pin; with `check --base`:
    # policy-<rule> (policy-held, policy-window, policy-soaking, policy-blocked), unpinned (a pin
    # turned into a value that is no pin), policy-changed (the change edits the policy itself)
    kind: str
    component: str
    target: str | None = None  # None when no one target is concerned (an environment, an uncovered pin)
    environment: str | None = None
    value: str | None = None  # the version concerned, as in the file
    sha: str | None = None  # its full sha, when known
    note: bool = False  # shown, but no failure: a change of policy alone (`check --base`)


def failing(problems: list[Problem]) -> list[Problem]:
    """The problems `check` fails on (exit 3): all but the notes."""
    return [p for p in problems if not p.note]


def native(comp: Component) -> bool:
    """A component of the app-interface native model alone (no promotion.yaml target of its own)."""
    return bool(comp.targets) and all(t.native is not None for t in comp.targets)


def lint(repo: core.Repo, components: list[Component]) -> list[Problem]:
    """Every problem of the config repository: what the native model could not resolve, targets
    that do not locate their pins, environments whose targets disagree, pins no target covers
    (outside `ignore:`). For a component of the saas files alone (no promotion.yaml), a
    disagreement or an uncovered pin is a note: many run different versions in one environment
    on purpose, and nothing declared the other places."""
    config = config_file(repo) or repo.config.path
    everything = [(comp, scan_targets(repo, comp)) for comp in components]
    problems = _model_problems(repo, components)
    problems += [p for comp, scanned in everything for p in _target_problems(config, comp, scanned)]
    by_name = {c.name: c for c in components}
    for f in uncovered(repo, everything).findings:
        natively = native(by_name[f.component])
        where = config if repo.config.origin != "native" else "a promotion.yaml (targets the saas files do not hold)"
        problems.append(
            Problem(
                f.file,
                f.line,
                f"{f.component}: {f.value} is pinned here ({_what(f)}) but no target covers it",
                f"add this target to component '{f.component}' in {where}, "
                f"or add '{f.file}' to its ignore: list:\n{f.snippet.rstrip()}",
                "uncovered-pin",
                f.component,
                value=f.value,
                sha=f.value if len(f.value) == 40 else None,
                note=natively,
            )
        )
    return problems


def _model_problems(repo: core.Repo, components: list[Component]) -> list[Problem]:
    """What building the native model found wrong: at the saas file's line, for the component of
    the resource template concerned (when one is)."""
    from promoter.locate.saas import repo_key

    wanted = {repo_key(c.repo): c.name for c in components}
    everyone = len(components) == len(repo.config.components)
    out = []
    for p in repo.config.problems:
        name = wanted.get(repo_key(p.url)) if p.url else None
        if name is None and not (everyone and p.url is None):
            continue  # a component not asked about
        out.append(
            Problem(
                p.file,
                p.line,
                f"{name}: {p.message}" if name else p.message,
                "promoter reads namespace[?(@.field == 'value')] (==, !=, =~, joined by &) and namespace[*]"
                if p.note
                else "fix the file (app-interface's validator would refuse it too); until then this target "
                "deploys to no environment promoter can judge",
                "native-unresolved" if not p.note else "native-unsupported",
                name or "(saas files)",
                note=p.note,
            )
        )
    return out


def _target_problems(config: str, comp: Component, scanned: Scanned) -> list[Problem]:
    """The component's targets that locate nothing, and its environments that run several versions."""
    problems: list[Problem] = []
    values: dict[str, dict[str, list[str]]] = {}  # environment -> version -> targets
    for target, scans in scanned:
        if isinstance(scans, Refused):
            for message in str(scans).splitlines():
                if target.native is not None:  # said at the target's own line: its file once
                    message = message.removeprefix(f"{target.native.file}: ")
                problems.append(
                    Problem(
                        target.native.file if target.native else config,
                        target.line,
                        f"{comp.name}: {message}",
                        f"give the target of '{target.native.resource_template}' a ref: a 40-hex commit sha, "
                        "or the branch it tracks"
                        if target.native
                        else f"fix target '{target.name}' (its file or locator) so that it locates the pinned "
                        "value, or set 'optional: true' if the value may be absent",
                        "locates-nothing",
                        comp.name,
                        target.name,
                        target.environment,
                    )
                )
            continue
        for ts in scans:
            for v in ts.values:
                shown = v if v.startswith("sha256:") else comp.short(v)
                names = values.setdefault(target.environment, {}).setdefault(shown, [])
                if target.name not in names:
                    names.append(target.name)
    for env, versions in values.items():
        if len(versions) > 1:
            first = min(comp.targets, key=lambda t: t.line if t.environment == env else 1 << 60)
            natively = all(t.native is not None for t in comp.targets if t.environment == env)
            listed = "; ".join(f"{v} ({', '.join(names)})" for v, names in versions.items())
            problems.append(
                Problem(
                    first.native.file if first.native else config,
                    first.line,
                    f"{comp.name}: environment '{env}' runs {len(versions)} versions: {listed}",
                    f"promote the environment to one version: promoter promote {comp.name} REV --env {env}",
                    "environment-disagrees",
                    comp.name,
                    environment=env,
                    note=natively,  # natively, often on purpose (two templates of one repo, say)
                )
            )
    return problems


def _what(f: Finding) -> str:
    if f.kind == "version":
        return "the deployed version"
    if f.kind == "image":
        return f"image {f.matched}"
    if f.kind == "key":
        return f"key {f.matched}"
    if f.kind == "env":
        return f"variable {f.matched}"
    if f.kind == "saas":
        return "a saas file of the component's repo"
    return "a commit of the upstream"


__all__ = ["Problem", "failing", "lint"]
