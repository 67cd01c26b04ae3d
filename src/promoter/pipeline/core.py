"""The pipeline as a library: open a repo, locate, plan, apply, report status.

Nothing here prints. Each function returns data (`TargetScan`, `Plan`, `ComponentStatus`) or
raises a `PromoterError`; the CLI renders and maps errors to exit codes.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from pathlib import Path

from promoter.errors import ConfigError, ExternalError, PromoterError, Refused, UsageError
from promoter.locate import LocateError, classify, find
from promoter.locate.yamlnodes import YamlSyntaxError
from promoter.model import (
    YAML_LOCATORS,
    Component,
    Config,
    Edit,
    Plan,
    Release,
    SaasTargetLocator,
    Target,
    TargetChange,
    TargetScan,
    version_key,
)
from promoter.pipeline import apply, config
from promoter.pipeline.edit import change, edits_for
from promoter.pipeline.workspace import Workspace
from promoter.records import field, record
from promoter.text import did_you_mean
from promoter.upstream import git
from promoter.upstream.revs import FULL_SHA

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from promoter.native.model import Model
    from promoter.upstream.mirror import Upstream


class NotLocated(Refused):
    """Targets that located no pinned value, one line each; `release_tags`: the lines about a
    target of a commit format that found release tags (`v1.0.0`): `format: tag` pins them."""

    def __init__(self, lines: list[str], release_tags: set[str]) -> None:
        super().__init__("\n".join(lines))
        self.release_tags = release_tags


# what a release tag looks like: v1.0.0, 1.4.2, 2.1, v3.0.0-rc.1
_RELEASE_TAG = re.compile(r"v?[0-9]+\.[0-9]+(?:\.[0-9]+)*(?:[-+][0-9A-Za-z.-]+)?")
_FORMATS = {"sha": "40-hex sha", "short": "{n}-hex short sha", "digest": "image digest"}


@record
class Repo:
    root: Path
    state_dir: Path
    config: Config
    workspace: Workspace
    recovery: apply.Recovery | None = None  # a crashed promotion rolled back (on open, or before a write)


def open_repo(repo: Path | None = None, config_file: Path | None = None) -> Repo:
    """The config repository at (or above) `repo`, with its validated promotion.yaml. A journal
    left by a killed promotion is rolled back first, unless a live run holds the lock (then the
    journal is that run's own, and the next write checks again under the lock)."""
    root, state_dir = git.locate_repository(repo or Path.cwd())
    recovery = None
    if (state_dir / apply.JOURNAL).exists() and apply.lock_holder(state_dir) is None:
        try:
            with apply.lock(state_dir):
                recovery = apply.recover(root, state_dir)
        except Refused:
            if apply.lock_holder(state_dir) is None:
                raise  # not a race with a live run: the lock or the journal is broken
    workspace = Workspace(root)
    cfg = load_config(root, workspace, config_file)
    return Repo(root, state_dir, cfg, workspace, recovery)


def load_config(root: Path, workspace: Workspace, config_file: Path | None = None) -> Config:
    """promotion.yaml (or `config_file`) merged with the app-interface native model of the saas
    files under data/ (unless it says `native: false`); without promotion.yaml, the native model
    alone when there are saas files."""

    def native() -> Model | None:
        # the one cheap check: no data/ directory, no saas file (nor git grep, nor the model's imports)
        data = root / "data"  # (promoter.native.source.DATA)
        if not data.is_dir() or data.is_symlink():
            return None
        from promoter.native.model import build
        from promoter.native.source import WorkTree

        return build(WorkTree(root, workspace))

    default = root / "promotion.yaml"
    path = config_file or default
    if not path.exists() and not path.is_symlink() and path.absolute() == default.absolute():
        model = native()
        if model is not None and not model.empty:
            return config.native_only(str(path), root, model)
    if config_file is None and not default.exists():
        raise ConfigError(
            f"no promotion.yaml in {root}: promoter init --component NAME --repo URL writes a first one "
            "(or --config FILE)"
        )
    return config.load(path, root, native)


def component(cfg: Config, name: str) -> Component:
    if name not in cfg.components:
        listed = sorted(cfg.components)
        known = ", ".join(listed[:_LISTED]) + (f" and {len(listed) - _LISTED} more" if len(listed) > _LISTED else "")
        hint = did_you_mean(name, cfg.components)
        defines = "define" if cfg.origin else "defines"  # "the saas files define", "promotion.yaml defines"
        raise UsageError(f"unknown component '{name}'{hint}; {cfg.shown} {defines}: {known or 'none'}")
    return cfg.components[name]


_LISTED = 30  # names an "unknown component" message lists (an app-interface checkout has hundreds)


def select(comp: Component, envs: Iterable[str] = (), names: Iterable[str] = ()) -> list[Target]:
    """The targets of `comp` in the given environments and with the given names (all if none)."""
    if not comp.targets:  # `targets: []`: there is nothing to promote, show or hold yet
        raise UsageError(
            f"{comp.name} has no targets yet: 'promoter discover {comp.name}' finds its pins, each with "
            "a target to add to its targets:"
        )
    envs, names = list(envs), list(names)
    known_envs = sorted({t.environment for t in comp.targets})
    known_names = [t.name for t in comp.targets]
    for e in envs:
        if e not in known_envs:
            hint = did_you_mean(e, known_envs)
            raise UsageError(f"{comp.name}: unknown environment '{e}'{hint}; valid: {', '.join(known_envs)}")
    for n in names:
        if n not in known_names:
            hint = did_you_mean(n, known_names)
            raise UsageError(f"{comp.name}: unknown target '{n}'{hint}; valid: {', '.join(known_names)}")
    return [t for t in comp.targets if (not envs or t.environment in envs) and (not names or t.name in names)]


def scan(repo: Repo, comp: Component, targets: Iterable[Target]) -> list[TargetScan]:
    """Locate every target; a target that finds no pinned value is refused (or warned when optional)."""
    scans: list[TargetScan] = []
    for target in targets:
        ts = TargetScan(target)
        problems: list[str] = []
        tags: set[str] = set()
        ts.files = repo.workspace.files_of(target)
        if not ts.files:
            problems.append(f"target '{target.name}': the glob {target.files} matches no file")
        for file in ts.files:
            if not repo.workspace.exists(file):
                problems.append(f"{file}: target '{target.name}': no such file (moved or renamed?)")
                continue
            text = repo.workspace.read(file)
            try:
                roots = repo.workspace.nodes(file) if isinstance(target.locator, YAML_LOCATORS) else None
                found = find(text, comp, target, roots)
            except LocateError as exc:
                raise Refused(f"{file}:{exc.line}: target '{target.name}': {exc.message}") from None
            except YamlSyntaxError as exc:
                raise Refused(f"{file}:{exc.line}: invalid YAML: {exc.problem} (column {exc.column})") from None
            locations, tracking = classify(text, file, comp, target, found)
            ts.locations += locations
            ts.tracking += tracking
            if not locations and not (tracking and isinstance(target.locator, SaasTargetLocator)):
                # (a native target that tracks a branch, `ref: master`, is reported, not refused)
                released = [t for t in tracking if _RELEASE_TAG.fullmatch(t.value)]
                if released and target.format != "tag":  # said plainly: not absent, of another format
                    said = ", ".join(f"'{t.value}' (a release tag?) at {file}:{t.line}" for t in released)
                    line = (
                        f"{file}: target '{target.name}' ({target.locator.describe()}): its format {target.format} "
                        f"pins commits ({_FORMATS[target.format].format(n=comp.short_length)}); found {said}: "
                        "'format: tag' pins release tags"
                    )
                    tags.add(line)
                    problems.append(line)
                    continue
                fmt = (
                    f"release tag ({target.pattern})"
                    if target.format == "tag"
                    else _FORMATS[target.format].format(n=comp.short_length)
                )
                seen = f"; found only {', '.join(repr(t.value) for t in tracking)}" if tracking else ""
                problems.append(
                    f"{file}: target '{target.name}' ({target.locator.describe()}) located no pinned {fmt}{seen}"
                )
        if problems and not target.optional:
            raise NotLocated(problems, tags)
        ts.warnings += [f"{p} (optional: skipped)" for p in problems]
        scans.append(ts)
    return scans


def plan(
    repo: Repo,
    comp: Component,
    sha: str,
    targets: list[Target],
    digest: str | None = None,
    scans: list[TargetScan] | None = None,
    release: Release | None = None,
) -> Plan:
    """What promoting `targets` to `sha` (whose image has `digest`; released as `release`, which
    `format: tag` targets pin) changes, verified, writing nothing."""
    if not FULL_SHA.fullmatch(sha):
        raise UsageError(f"'{sha}' is not a full 40-character commit sha")
    if digest is None and any(t.format == "digest" for t in targets):
        names = ", ".join(t.name for t in targets if t.format == "digest")
        raise UsageError(f"{comp.name}: targets {names} pin the image digest, which needs the registry (not --offline)")
    if release is not None and release.sha != sha:
        raise UsageError(f"{comp.name}: release {release.tag} names {release.sha}, not {sha}")
    if release is None and any(t.format == "tag" for t in targets):
        names = ", ".join(t.name for t in targets if t.format == "tag")
        raise UsageError(
            f"{comp.name}: targets {names} pin release tags: promote a release (a tag such as v1.4.2), "
            "which needs the upstream's tags (not --offline)"
        )
    scans = scans if scans is not None else scan(repo, comp, targets)
    new = {ts.target.name: _new_value(comp, ts, sha, digest, release) for ts in scans}
    by_file: dict[str, list[Edit]] = {}
    summary: list[TargetChange] = []
    warnings: list[str] = []
    for ts in scans:
        warnings += ts.warnings
        if len({version_key(v, comp.short_length) for v in ts.values}) > 1:
            listed = "; ".join(f"{loc.file}:{loc.line}: {loc.value}" for loc in ts.locations)
            warnings.append(
                f"target '{ts.target.name}' locates {len(ts.values)} different values ({listed}); if some are not "
                f"{comp.name}'s, make its locator select only the component's pin (a `path:`)"
            )
        summary.append(TargetChange(ts.target, tuple(ts.values), new[ts.target.name], len(ts.locations)))
        for file in dict.fromkeys(loc.file for loc in ts.locations):  # an optional target's missing file: none
            locs = [loc for loc in ts.locations if loc.file == file]
            text = repo.workspace.read(file)
            by_file.setdefault(file, []).extend(edits_for(text, locs, lambda loc: new[loc.target.name]))
    subscribers = [ts.target for ts in scans if ts.target.native is not None and ts.target.native.subscribe]
    if subscribers:  # app-interface subscribers: their promotion_data moves with their ref
        from promoter.native.channels import plan_edits

        moved = {e.location.target.name for es in by_file.values() for e in es}
        hashed, notes = plan_edits(repo.config, repo.workspace, [t for t in subscribers if t.name in moved], by_file)
        for file, edits in hashed.items():
            by_file.setdefault(file, []).extend(edits)
        warnings += notes
    changes = [
        change(file, repo.workspace.read(file), edits, comp, new) for file, edits in sorted(by_file.items()) if edits
    ]
    return Plan(comp, sha, summary, changes, warnings, digest, release=release)


def _new_value(comp: Component, ts: TargetScan, sha: str, digest: str | None, release: Release | None) -> str:
    """The value a target pins for the candidate: its sha, short sha or digest, or for a
    `format: tag` target the release's version written through its tag pattern."""
    if ts.target.format != "tag":
        return comp.render(sha, ts.target.format, digest)
    assert release is not None
    pattern = ts.target.pattern
    if not pattern.is_regex:
        written = pattern.render(release.semver)
        assert written is not None
        return written
    # a regex pattern writes the version in place of the one each value has: one text for all
    rendered = {v: pattern.render(release.semver, like=v) for v in ts.values}
    texts = set(rendered.values())
    if None in texts or len(texts) > 1:
        listed = ", ".join(f"{v} -> {r or '?'}" for v, r in rendered.items())
        raise Refused(
            f"{comp.name}: target '{ts.target.name}' writes {release.version} differently in its places ({listed}); "
            "give it a tag_pattern template such as 'v{semver}', which writes one text"
        )
    return next(iter(texts), release.tag) or release.tag


def apply_plan(repo: Repo, p: Plan, allow_dirty: bool = False, ours: Collection[str] = ()) -> list[str]:
    """Write the plan's files atomically; returns the files written. Uncommitted changes in them
    are refused unless `allow_dirty`, or unless they are `ours` (written earlier in the same run)."""
    files = [c.file for c in p.changes]
    pending: git.DirtyCheck | None = None

    def refuse_dirty() -> None:
        dirty = [f for f in pending.result() if f not in ours] if pending is not None else []
        if dirty:
            raise Refused(
                "uncommitted changes in files this promotion would write: "
                + ", ".join(dirty)
                + " (commit or stash them, or pass --allow-dirty)"
            )

    try:
        with apply.lock(repo.state_dir):
            # a run killed meanwhile is rolled back first (kept to be said, also if this one fails);
            # then git status, the dirty check, runs while the new texts are written to their temp
            # files and synced, and is awaited before the first rename
            late = apply.recover(repo.root, repo.state_dir)
            if late:
                repo.recovery = late
            pending = None if allow_dirty else git.DirtyCheck(repo.root, files)
            apply.write(repo.root, repo.state_dir, p.changes, before_renaming=refuse_dirty)
    finally:
        if pending is not None:
            pending.stop()
    return files


def undo_plan(repo: Repo, p: Plan) -> None:
    """Put back the files `apply_plan` wrote for `p` (all or none, like any write)."""
    from promoter.model import FileChange

    back = [FileChange(ch.file, ch.new_text, ch.old_text, ()) for ch in p.changes if not ch.created]
    with apply.lock(repo.state_dir):
        apply.write(repo.root, repo.state_dir, back)
        for ch in p.changes:
            if ch.created:  # a file the promotion created (the holds file) goes again
                (repo.root / ch.file).unlink(missing_ok=True)


@record
class ComponentStatus:
    component: Component
    scans: list[TargetScan]
    head: str | None = None
    upstream_error: str | None = None
    behind: dict[str, int | None] = field(default_factory=dict)  # deployed value -> commits behind head
    full: dict[str, str | None] = field(default_factory=dict)  # deployed value -> the commit it names
    errors: dict[str, str] = field(default_factory=dict)  # target name -> why it could not be read
    newest: Release | None = None  # release tags: the highest release it may be promoted to
    releases: dict[str, int | None] = field(default_factory=dict)  # a release tag that runs -> releases above it


def status(repo: Repo, comp: Component, targets: list[Target], upstream: Upstream | None) -> ComponentStatus:
    """Where each target stands; with `upstream`, how far each deployed value is behind its branch.
    A target that cannot be read is an error of its own: the others are still reported."""
    scans: list[TargetScan] = []
    errors: dict[str, str] = {}
    for target in targets:
        try:
            scans += scan(repo, comp, [target])
        except Refused as exc:
            errors[target.name] = str(exc)
    st = ComponentStatus(comp, scans, errors=errors)
    if upstream is None:
        return st
    try:
        st.head = upstream.head()
        for ts in st.scans:
            for value in ts.values:
                if value in st.behind:
                    continue
                full = upstream.find(value)
                st.full[value] = full
                st.behind[value] = upstream.count(full, st.head) if full else None
        if comp.released:  # how many releases within its constraint are above each release that runs
            candidates = upstream.release_candidates(st.head)
            st.newest = candidates[0] if candidates else None
            for ts in st.scans:
                for value in ts.values if ts.target.format == "tag" else ():
                    runs = comp.release_version(value)
                    st.releases[value] = None if runs is None else sum(1 for r in candidates if r.semver > runs)
    except PromoterError as exc:
        if not isinstance(exc, (ExternalError, Refused)):
            raise
        st.upstream_error = str(exc)
    return st
