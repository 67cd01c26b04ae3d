"""Lint a config repository (`promoter check`): every problem a CI job or pre-commit hook should
stop at, each with its file, line and what to do about it.

Nothing here prints. Each target is located once; the same scans tell which pins are covered
when the uncovered ones are looked for (`discover.uncovered`).
"""

from __future__ import annotations

from promoter.errors import Refused
from promoter.insight.discover import Finding, Scanned, config_file, same_image, scan_targets, uncovered
from promoter.locate import LocateError
from promoter.locate.yamlnodes import YamlSyntaxError
from promoter.model import Component, KeyLocator, PathLocator, Target, TargetScan
from promoter.pipeline import core
from promoter.records import record


@record(frozen=True)
class Rule:
    """One rule a changed pin breaks (`check --base`): its kind (`policy-held`, `policy-window`,
    `policy-soaking`, `policy-after`, `policy-blocked`), why, and what to do."""

    kind: str
    message: str
    hint: str


@record(frozen=True)
class Problem:
    """One thing `check` stops at: where (file:line), what, what to do, and the same as data."""

    file: str
    line: int
    message: str
    hint: str
    # for programs: locates-nothing, environment-disagrees, uncovered-pin; with `check --base`:
    # policy-<rule> (policy-held, policy-window, policy-soaking, policy-blocked), unpinned (a pin
    # turned into a value that is no pin), policy-changed (the change edits the policy itself);
    # untrusted-production (a note: a production-like environment promotes an image with no trust:)
    kind: str
    component: str
    target: str | None = None  # None when no one target is concerned (an environment, an uncovered pin)
    environment: str | None = None
    value: str | None = None  # the version concerned, as in the file
    sha: str | None = None  # its full sha, when known
    note: bool = False  # shown, but no failure: a change of policy alone (`check --base`)
    rules: tuple[Rule, ...] = ()  # a changed pin's broken rules, every one (`kind` is the first's)


def failing(problems: list[Problem]) -> list[Problem]:
    """The problems `check` fails on (exit 3): all but the notes."""
    return [p for p in problems if not p.note]


def native(comp: Component) -> bool:
    """A component of the app-interface native model alone (no promotion.yaml target of its own)."""
    return bool(comp.targets) and all(t.native is not None for t in comp.targets)


def lint(repo: core.Repo, components: list[Component]) -> list[Problem]:
    """Every problem of the config repository: what the native model could not resolve, targets
    that do not locate their pins, targets whose places are of several kinds (key paths, images),
    environments whose targets disagree, pins no target covers (outside `ignore:`). For a
    component of the saas files alone (no promotion.yaml), a disagreement or an uncovered pin is
    a note: many run different versions in one environment on purpose, and nothing declared the
    other places."""
    config = config_file(repo) or repo.config.path
    everything = [(comp, scan_targets(repo, comp)) for comp in components]
    problems = _model_problems(repo, components)
    problems += [p for comp, scanned in everything for p in _target_problems(config, comp, scanned)]
    for comp, scanned in everything:
        for target, scans in scanned:
            if not isinstance(scans, Refused) and isinstance(target.locator, KeyLocator | PathLocator):
                problems += _ambiguous(repo, config, comp, target, scans)
    for comp in components:
        problems += _untrusted_production(config, comp)
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

    wanted: dict[str, str] = {}
    for c in components:  # components of one repository (a monorepo): the first one defined
        wanted.setdefault(repo_key(c.repo), c.name)
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
                p.hint
                or (
                    "promoter reads namespace[?(@.field == 'value')] (==, !=, =~, joined by &) and namespace[*]"
                    if p.note
                    else "fix the file (app-interface's validator would refuse it too); until then this target "
                    "deploys to no environment promoter can judge"
                ),
                p.kind or ("native-unresolved" if not p.note else "native-unsupported"),
                name or "(saas files)",
                note=p.note,
            )
        )
    return out


def _target_problems(config: str, comp: Component, scanned: Scanned) -> list[Problem]:
    """The component's targets that locate nothing, and its environments that run several versions."""
    problems: list[Problem] = []
    values: dict[str, dict[str, list[str]]] = {}  # environment -> version -> targets
    shown_as: dict[tuple[str, str], str] = {}  # (environment, version) -> how it is shown
    for target, scans in scanned:
        if isinstance(scans, Refused):
            tags = scans.release_tags if isinstance(scans, core.NotLocated) else set()
            for message in str(scans).splitlines():
                hint = (
                    f"a release tag: give target '{target.name}' 'format: tag' (and a 'tag_pattern' such as "
                    "'{semver}' when its tags are not written v1.2.3), so that it pins release tags"
                    if message in tags
                    else f"give the target of '{target.native.resource_template}' a ref: a 40-hex commit sha, "
                    "or the branch it tracks"
                    if target.native
                    else f"fix target '{target.name}' (its file or locator) so that it locates the pinned "
                    "value, or set 'optional: true' if the value may be absent"
                )
                if target.native is not None:  # said at the target's own line: its file once
                    message = message.removeprefix(f"{target.native.file}: ")
                problems.append(
                    Problem(
                        target.native.file if target.native else config,
                        target.line,
                        f"{comp.name}: {message}",
                        hint,
                        "locates-nothing",
                        comp.name,
                        target.name,
                        target.environment,
                    )
                )
            continue
        for ts in scans:
            for v in ts.values:
                key = v if v.startswith("sha256:") else comp.version_key(v)  # v1.4.2 and 1.4.2: one
                shown = shown_as.setdefault((target.environment, key), key if len(v) == 40 else v)
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


def _ambiguous(repo: core.Repo, config: str, comp: Component, target: Target, scans: list[TargetScan]) -> list[Problem]:
    """Problems of kind `ambiguous-target`: a `key:` or `path:` target whose places (pinned or not)
    are of more than one kind: under different key paths (`$.image.tag` and `$.worker.image.tag`),
    or the tags of different images (`images[]` items of a kustomization): a promotion rewrites
    every one of them that holds a pin."""
    from promoter.insight.snippets import kinds

    groups: dict[tuple[str, str | None], list[tuple[str, int, str]]] = {}  # kind -> (file, line, path)
    for file in dict.fromkeys(f for ts in scans for f in ts.files):
        try:
            text = repo.workspace.read(file)
            found = kinds(text, repo.workspace.nodes(file), comp, target.locator, target.format, target.tag_pattern)
        except (Refused, LocateError, YamlSyntaxError):
            continue  # said by the scan already
        for kind, at in found.items():
            groups.setdefault(kind, []).extend((file, line, where.path) for line, where in at)
    if len(groups) < 2:
        return []
    images = {image for _, image in groups}
    if None not in images:
        several = f"the tags of {len(groups)} images"
    elif len(images) == 1:
        several = f"values under {len(groups)} key paths"
    else:
        several = f"{len(groups)} kinds of places"
    listed = "; ".join(
        f"{image or shape} ({', '.join(f'{file}:{line}' for file, line, _ in places)})"
        for (shape, image), places in groups.items()
    )
    # a path's format is sha unless given: a key's short values need theirs said
    keep = f", with 'format: {target.format}'" if target.format != "sha" else ""
    paths: list[str] = []
    for (_, image), places in groups.items():
        ours = " (the component's image)" if image is not None and comp.image and same_image(image, comp.image) else ""
        for file, line, path in places:
            paths.append(f'path: "{path}"   # {file}:{line}{ours}')
    return [
        Problem(
            config,
            target.line,
            f"{comp.name}: target '{target.name}' ({target.locator.describe()}) locates {several}: {listed}",
            "a promotion rewrites every one of them that holds a pin; give the target the exact path of "
            f"the component's own place (one target per place{keep}), one of:\n" + "\n".join("  " + p for p in paths),
            "ambiguous-target",
            comp.name,
            target.name,
            target.environment,
        )
    ]


PRODUCTION_WORDS = ("prod", "production", "prd")


def production_like(env: str) -> bool:
    """An environment named like production: a word of its name (split at anything but letters
    and digits) is prod, production or prd (`production`, `app-sre-prod-01`, `PRD`)."""
    import re

    return any(word in PRODUCTION_WORDS for word in re.split(r"[^a-z0-9]+", env.lower()))


def _untrusted_production(config: str, comp: Component) -> list[Problem]:
    """Notes of kind `untrusted-production`: an environment named like production promotes the
    component's image, which has no `trust:` (nothing proves who built it, from what)."""
    if comp.image is None or comp.trust is not None:
        return []
    out: list[Problem] = []
    for env in dict.fromkeys(t.environment for t in comp.targets if production_like(t.environment)):
        first = min(t.line for t in comp.targets if t.environment == env)
        out.append(
            Problem(
                config,
                first,
                f"{comp.name}: environment '{env}' (production) promotes image {comp.image}, which has no trust:; "
                "nothing checks that it is signed, nor built from the commit promoted",
                f"give component '{comp.name}' a trust: (signature: key: or identity: and issuer:; provenance: true) "
                "in " + config,
                "untrusted-production",
                comp.name,
                environment=env,
                note=True,
            )
        )
    return out


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
