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
    # for programs: locates-nothing, environment-disagrees, uncovered-pin, policy-<rule> (policy-held,
    # policy-window, policy-soaking, policy-blocked: `check --base`)
    kind: str
    component: str
    target: str | None = None  # None when no one target is concerned (an environment, an uncovered pin)
    environment: str | None = None
    value: str | None = None  # the version concerned, as in the file
    sha: str | None = None  # its full sha, when known


def lint(repo: core.Repo, components: list[Component]) -> list[Problem]:
    """Every problem of the config repository: targets that do not locate their pins, environments
    whose targets disagree, pins no target covers (outside `ignore:`)."""
    config = config_file(repo) or repo.config.path
    everything = [(comp, scan_targets(repo, comp)) for comp in components]
    problems = [p for comp, scanned in everything for p in _target_problems(config, comp, scanned)]
    for f in uncovered(repo, everything).findings:
        problems.append(
            Problem(
                f.file,
                f.line,
                f"{f.component}: {f.value} is pinned here ({_what(f)}) but no target covers it",
                f"add this target to component '{f.component}' in {config}, "
                f"or add '{f.file}' to its ignore: list:\n{f.snippet.rstrip()}",
                "uncovered-pin",
                f.component,
                value=f.value,
                sha=f.value if len(f.value) == 40 else None,
            )
        )
    return problems


def _target_problems(config: str, comp: Component, scanned: Scanned) -> list[Problem]:
    """The component's targets that locate nothing, and its environments that run several versions."""
    problems: list[Problem] = []
    values: dict[str, dict[str, list[str]]] = {}  # environment -> version -> targets
    for target, scans in scanned:
        if isinstance(scans, Refused):
            for message in str(scans).splitlines():
                problems.append(
                    Problem(
                        config,
                        target.line,
                        f"{comp.name}: {message}",
                        f"fix target '{target.name}' (its file or locator) so that it locates the pinned "
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
            first = min(t.line for t in comp.targets if t.environment == env)
            listed = "; ".join(f"{v} ({', '.join(names)})" for v, names in versions.items())
            problems.append(
                Problem(
                    config,
                    first,
                    f"{comp.name}: environment '{env}' runs {len(versions)} versions: {listed}",
                    f"promote the environment to one version: promoter promote {comp.name} REV --env {env}",
                    "environment-disagrees",
                    comp.name,
                    environment=env,
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


__all__ = ["Problem", "lint"]
