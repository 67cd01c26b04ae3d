"""Checks a candidate must pass before anything is written: upstream, dependencies, image.

Each check either returns quietly (with notes worth showing) or raises `Refused` saying what
to do. They need the upstream (and the registry); under --offline the CLI skips them and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from promoter.durations import format as duration
from promoter.errors import PromoterError, Refused
from promoter.model import Component, Config, KeyLocator, PathLocator, Release, SaasLocator, TargetScan
from promoter.upstream.mirror import Upstream

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from promoter.upstream.registry import Registry

IMAGE_LOOKBACK = 20


def deployed(scans: Iterable[TargetScan]) -> dict[str, list[str]]:
    """Each deployed commit value (sha or short; digests left out) and the targets running it."""
    out: dict[str, list[str]] = {}
    for ts in scans:
        if ts.target.format == "digest":
            continue
        for value in ts.values:
            out.setdefault(value, []).append(ts.target.name)
    return out


def candidate(
    up: Upstream,
    sha: str,
    scans: list[TargetScan],
    *,
    allow_downgrade: bool = False,
    allow_unmerged: bool = False,
    now: float | None = None,
    read: Callable[[str], str] | None = None,
    release: Release | None = None,
    ran: dict[str, str] | None = None,
) -> list[str]:
    """Refuse a candidate that is off the branch, older than what runs, or too fresh; and refuse
    a target that pins commits of the upstream and values that are none (it located another
    component's pins too: promoting would rewrite them). `read` gives a file's text, for the
    `path:` that selects only the component's pin. A `release` is older than a release tag that
    runs when its version is lower, or its commit is in the history of that tag's. `ran` gives the
    commit a deployed value names when it is not what the upstream says now (a moved tag: the
    commit it named when it was promoted)."""
    comp = up.component
    short = release.tag if release is not None else comp.short(sha)
    notes: list[str] = []
    branch = up.branch()
    head = up.head()
    if not up.is_ancestor(sha, head):
        if not allow_unmerged:
            raise Refused(
                f"{comp.name}: {short} is not on {branch} (not in the history of its head {comp.short(head)}); "
                "pass --allow-unmerged to promote it anyway"
            )
        notes.append(f"{short} is not on {branch} (--allow-unmerged)")
    known = {value: (ran or {}).get(value) or up.find(value) for value in deployed(scans)}
    _foreign_pins(comp, scans, known, read)
    running: dict[str, list[str]] = {}  # full sha -> the targets running it
    for value, names in deployed(scans).items():
        full = known[value]
        if full is None:
            notes.append(f"{value} (run by {', '.join(names)}) is not a commit of the upstream; no downgrade check")
        else:
            running.setdefault(full, []).extend(n for n in names if n not in running.get(full, []))
    if release is not None:  # a lower version than a release tag that runs: a rollback, wherever its commit is
        for value, names in deployed(scans).items():
            runs = comp.release_version(value)
            if runs is None or not release.semver < runs:
                continue
            if not allow_downgrade:
                raise Refused(
                    f"{comp.name}: {release.tag} is a lower version than {value}, which {', '.join(names)} already "
                    "run: that would be a rollback; pass --allow-downgrade to do it"
                )
            notes.append(f"rolling back {', '.join(names)} from {value} (--allow-downgrade)")
    for full, targets in running.items():
        if full != sha and up.is_ancestor(sha, full):
            if not allow_downgrade:
                raise Refused(
                    f"{comp.name}: {short} is older than {comp.short(full)}, which {', '.join(targets)} already "
                    "run: that would be a rollback; pass --allow-downgrade to do it"
                )
            said = f"rolling back {', '.join(targets)} from"
            if not any(n.startswith(said) for n in notes):
                notes.append(f"{said} {comp.short(full)} (--allow-downgrade)")
    fresh = too_fresh(up, sha, now)
    if fresh is not None:
        raise Refused(fresh)
    return notes


def too_fresh(up: Upstream, sha: str, now: float | None = None) -> str | None:
    """Why `sha` has not been on the branch for the component's `min_age` yet (None: it has)."""
    comp = up.component
    if not comp.min_age:
        return None
    age = int((now if now is not None else datetime.now(UTC).timestamp()) - up.commit_time(sha))
    if age >= comp.min_age:
        return None
    return (
        f"{comp.name}: {comp.short(sha)} landed {duration(max(age, 0))} ago; min_age is {duration(comp.min_age)}: "
        f"{duration(comp.min_age - max(age, 0))} to go"
    )


def _foreign_pins(
    comp: Component, scans: list[TargetScan], known: dict[str, str | None], read: Callable[[str], str] | None
) -> None:
    """Refuse a target whose pinned values are partly commits of the upstream and partly not."""
    for ts in scans:
        if ts.target.format == "digest":
            continue
        ours = [loc for loc in ts.locations if known.get(loc.value)]
        foreign = [loc for loc in ts.locations if not known.get(loc.value)]
        if not ours or not foreign:
            continue
        listed = "; ".join(f"{loc.file}:{loc.line}: {loc.value}" for loc in foreign)
        hint = ""
        if read is not None and isinstance(ts.target.locator, KeyLocator | SaasLocator | PathLocator):
            from promoter.locate import LocateError
            from promoter.locate.jsonpath import key_path
            from promoter.locate.yamlnodes import YamlSyntaxError, compose

            loc = ours[0]
            try:
                found = key_path(read(loc.file), compose(read(loc.file)), loc.start)
            except (PromoterError, YamlSyntaxError, LocateError):
                found = None
            if found is not None:
                hint = f"; select only the component's pin, for example with `path: '{found[1]}'`"
        raise Refused(
            f"{comp.name}: target '{ts.target.name}' ({ts.target.locator.describe()}) also locates values that "
            f"are not commits of {comp.repo}, which a promotion would overwrite: {listed}{hint}"
        )


def dependencies(
    config: Config,
    comp: Component,
    sha: str,
    up: Upstream,
    upstream_of: Callable[[Component], Upstream],
    scan_of: Callable[[Component], list[TargetScan]],
    promoted_with: Iterable[str] = (),
) -> list[str]:
    """Refuse while a dependency has commits, older than the candidate, not deployed to its targets."""
    notes: list[str] = []
    when = up.commit_time(sha)
    for name in comp.depends_on:
        if name in promoted_with:
            notes.append(f"{name} is promoted first in this run")
            continue
        dep = config.components[name]
        dep_up = upstream_of(dep)
        head = dep_up.head()
        runs = []
        for value in deployed(scan_of(dep)):
            full = dep_up.find(value)
            if full is None:
                notes.append(f"{name}: deployed {value} is not a commit of its upstream; cannot tell what is pending")
            else:
                runs.append(full)
        pending = [(s, t) for s, t in dep_up.missing(head, runs) if t <= when]
        if pending:
            newest, at = pending[0]
            stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise Refused(
                f"promote {name} first: {len(pending)} commit{'s' if len(pending) != 1 else ''} pending, "
                f"newest {dep.short(newest)} {stamp} (or pass --ignore-deps)"
            )
    return notes


def image(
    comp: Component, sha: str, registry: Registry, wait: float | None = None, release: Release | None = None
) -> str | None:
    """The digest of the candidate's image; refused when it does not exist (after `wait` seconds)."""
    if comp.image is None:
        return None
    tag = comp.image_tag(sha, release)
    digest = registry.digest(comp.image, tag)
    if digest is None and wait:
        digest = registry.wait(comp.image, tag, timeout=wait)
    if digest is None:
        raise Refused(
            f"{comp.name}: image {comp.image}:{tag} does not exist (not built yet?); "
            "wait for the build, or pass --wait 10m to poll for it"
        )
    return digest


def newest_with_image(up: Upstream, registry: Registry, lookback: int = IMAGE_LOOKBACK) -> tuple[str, str, list[str]]:
    """The newest commit of the branch whose image exists: (sha, digest, the newer shas skipped)."""
    comp = up.component
    assert comp.image is not None
    skipped: list[str] = []
    for sha in up.first_parents(up.head(), lookback):
        digest = registry.digest(comp.image, comp.image_tag(sha))
        if digest is not None:
            return sha, digest, skipped
        skipped.append(sha)
    raise Refused(f"{comp.name}: none of the last {len(skipped)} commits of {up.branch()} has an image in {comp.image}")


# -- release tags -----------------------------------------------------------------------------------


def release_for(up: Upstream, rev: str) -> Release:
    """The release a REV names for a component pinned by release tags: a tag (`v1.5.0`) or a
    version (`1.5.0`), within the component's `constraint` (a pre-release named is asked for);
    or a commit (a sha, a branch): the highest release on exactly that commit within the
    constraint, refused when it has none."""
    comp = up.component
    named = up.release_named(rev)
    if named is not None:
        if not comp.allows(named.semver, asked=True):
            raise Refused(
                f"{comp.name}: {named.tag} is outside its constraint '{comp.constraint}'; "
                "choose a release within it, or change the constraint"
            )
        return named
    sha = up.resolve(rev)
    on_it = up.releases_at(sha)
    allowed = [r for r in on_it if comp.allows(r.semver)]
    if allowed:
        return allowed[0]
    tags = sorted(t for t, s in up.tags().items() if s == sha)
    if on_it:
        said = ", ".join(r.tag for r in on_it)
        why = (
            f"its releases {said} are pre-releases (name one to promote it)"
            if comp.constraint is None
            else f"its releases {said} are outside the constraint '{comp.constraint}'"
        )
    elif tags:
        why = f"its tags {', '.join(tags)} name no semantic version"
    else:
        why = "no release tag names it"
    raise Refused(
        f"{comp.name}: {rev} is commit {comp.short(sha)}, and {why}; {comp.name} is pinned by release tags: "
        "give a release (such as v1.5.0)"
    )


def moved(up: Upstream, release: Release, promoted: dict[str, str]) -> str | None:
    """Why `release`'s tag is known to have moved (None when it is not): a fetch of the mirror
    saw it name another commit before, or a promotion of the config repository pinned it when
    it named another commit (its `Promoted-Tag:` trailer)."""
    comp = up.component
    seen = up.moved_tags().get(release.tag)
    if seen:
        before, after, when = seen[-1]
        return (
            f"{comp.name}: tag {release.tag} moved from {comp.short(before)} to {comp.short(after)} "
            f"(the mirror {up.path} saw it at {when}); a moved release is not promoted: ask its owners which "
            f"commit it is, and promote another release (or remove {up.path / 'promoter-moved-tags'} once checked)"
        )
    then = promoted.get(release.tag)
    if then is not None and then != release.sha:
        return (
            f"{comp.name}: tag {release.tag} names {comp.short(release.sha)} now, but named {comp.short(then)} when "
            f"it was promoted (its Promoted-Tag trailer in the config repository): it moved; a moved release is "
            "not promoted: ask its owners which commit it is, and promote another release"
        )
    return None
