"""`promoter check --base REV`: a change judged by the rules of its base.

The change is the working tree; REV (any git revision: a branch, `origin/master`, `HEAD~1`,
`@{upstream}`, a tag, a sha) is what it is to be merged into. Everything the judgement rests on is
read at REV, never from the change, so that a change cannot switch off the rule it breaks: the
components and their targets (each target's environment), `environments:` (after, soak,
windows), `blocked:` and `hotfix:`, and the holds (from REV's `holds:` path, as of REV).

- Every pinned value the change brings, at a place a target of REV locates (with REV's
  definition; and with the change's own definition of a target it edits or adds), is judged by
  REV's rules: order and soak, windows at the time of the check, holds, blocked. Each broken
  rule is a problem at the new value's file:line.
- A place that pinned a version at REV and holds a value that is no pin in the change (`master`,
  the sha in upper case, an empty value) is `unpinned`: it would follow a branch past every rule.
  Places are matched by file and their structural path in the YAML (a sequence item by its
  `name`, or its `namespace`'s `$ref`, else its index; a document likewise), by their order in
  the file for the dotenv and regex locators.
- An edit of the policy itself is `policy-changed`, at the changed setting's line in the change's
  config (a hold removed from REV's holds file: in that file). It takes effect once merged, as
  the base of a later change. Alone it is a note; in a change that also moves a pin it fails
  too: mixing the two is the bypass, so they go in two merge requests.
A hold that the change itself adds (a rollback written by hand) does not stop that change.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path

from promoter import durations
from promoter.errors import ConfigError, PromoterError, UsageError
from promoter.insight.lint import Problem, Rule
from promoter.locate import LocateError, find
from promoter.locate.yamlnodes import Mapping, Node, Scalar, Sequence, YamlSyntaxError, compose
from promoter.model import (
    YAML_LOCATORS,
    Component,
    Config,
    EnvironmentPolicy,
    NativeTarget,
    RollbackPolicy,
    Target,
    Trust,
    Window,
)
from promoter.pipeline import config as config_file
from promoter.pipeline import core
from promoter.pipeline.workspace import Workspace, glob_regex
from promoter.policy import holds as holds_file
from promoter.policy.clock import stamp
from promoter.policy.rules import Gate, Policy
from promoter.records import field, record, replace
from promoter.upstream.git import CatFile, Git

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from datetime import datetime

    from promoter.native.channels import Hashes
    from promoter.upstream.mirror import Upstream


# -- the base ---------------------------------------------------------------------------------------


def resolve(root: Path, rev: str) -> str:
    """The commit `rev` names in the config repository at `root`: any git revision (a branch, a
    tag, a sha, `HEAD~1`, `origin/master`, `@{upstream}`); a UsageError naming it otherwise."""
    if rev.startswith("-"):
        raise UsageError(
            f"--base '{rev}' starts with '-', which git would read as an option; "
            "name a commit: a branch, tag or sha, HEAD~1, origin/master"
        )
    if not rev.strip() or "\0" in rev or "\n" in rev:
        raise UsageError(f"--base {rev!r} names no commit; give a branch, tag or sha, or HEAD~1, origin/master")
    proc = Git(root).run("rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}", check=False)
    if proc.returncode != 0:
        said = [line.removeprefix("fatal: ").strip() for line in proc.stderr.splitlines() if line.strip()]
        detail = f" ({said[-1]})" if said and not said[-1].startswith("Needed a single revision") else ""
        raise UsageError(
            f"--base '{rev}' names no commit of the config repository{detail}; give a branch, tag or sha "
            "of it, or an expression such as HEAD~1 or origin/master (git fetch first for a remote's)"
        )
    return proc.stdout.strip()


class Tree:
    """The config repository's files at one commit, read through one `git cat-file --batch`."""

    def __init__(self, root: Path, sha: str) -> None:
        self.git = Git(root)
        self.sha = sha
        self._cat: CatFile | None = None
        self._listing: list[str] | None = None
        self._nodes: dict[str, list[Node]] = {}
        self._read: dict[str, bytes | None] = {}

    def nodes(self, path: str, text: str) -> list[Node]:
        """The YAML documents of `path` (whose text is `text`), composed once."""
        if path not in self._nodes:
            self._nodes[path] = compose(text)
        return self._nodes[path]

    def read(self, path: str) -> bytes | None:
        """The bytes of the file at `path` (repo-relative), None when there is none; read once
        (a saas file holds hundreds of targets)."""
        if path in self._read:
            return self._read[path]
        if self._cat is None:
            self._cat = CatFile(self.git.cwd)
        got = self._cat.read([f"{self.sha}:{path}"])[0]
        self._read[path] = got[2] if got is not None and got[1] == "blob" else None
        return self._read[path]

    def files(self) -> list[str]:
        if self._listing is None:
            out = self.git.run("ls-tree", "-r", "-z", "--name-only", "--full-tree", self.sha).stdout
            self._listing = [f for f in out.split("\0") if f]
        return self._listing

    def close(self) -> None:
        if self._cat is not None:
            self._cat.close()
            self._cat = None

    def __enter__(self) -> Tree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@record(frozen=True)
class Base:
    """What a change is judged by: the config and the holds at the base revision."""

    rev: str  # as the user named it
    sha: str
    config: Config
    config_file: str  # the config file, relative to the repository root
    holds: list[holds_file.Hold] = field(default_factory=list)


def config_path(repo: core.Repo) -> str:
    """The config file's path relative to the repository root (where it is read at a revision)."""
    try:
        return Path(repo.config.path).resolve().relative_to(repo.root.resolve()).as_posix()
    except ValueError:
        raise ConfigError(
            "is outside the repository: check --base reads the config as it was at the base revision, "
            "so it must be a file of the repository",
            repo.config.path,
        ) from None


def load_base(repo: core.Repo, rev: str, sha: str, tree: Tree) -> Base:
    """The base's config and holds; a ConfigError naming the revision when it has no config, or
    one that does not load (never the change's rules instead). In an app-interface checkout the
    base's saas files are its config (merged with its promotion.yaml, when it has one), read at
    the base as well."""
    from promoter.native.model import Model, build
    from promoter.native.source import Revision

    def native() -> Model:
        return build(Revision(repo.root, sha, tree.read, tree.nodes))

    rel = None if repo.config.origin == "native" else config_path(repo)
    data = tree.read(rel) if rel is not None else None
    if data is None:
        model = native()
        if model.empty:
            raise ConfigError(
                f"no {rel or 'promotion.yaml and no saas file'} at {rev}: check --base judges a change by the "
                "rules of its base, and that revision has none; give the revision the change is to be merged into"
            )
        config = config_file.native_only(f"{rev}:(the saas files)", repo.root, model)
    else:
        config = config_file.load_text(data, f"{rev}:{rel}", repo.root, tree.read, native)
    holds: list[holds_file.Hold] = []
    raw = tree.read(config.holds)
    if raw is not None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError("not UTF-8 text", f"{rev}:{config.holds}") from None
        holds = holds_file.validate(holds_file.parse(text, f"{rev}:{config.holds}"), config, f"{rev}:{config.holds}")
    return Base(rev, sha, config, rel or "", holds)


def base_policy(base: Base, comp: Component, root: Path, now: datetime, upstream: Upstream | None) -> Policy:
    """The rules a change to `comp`'s pins is judged by: the base's environments, holds and
    component (blocked, hotfix), at `now`. (The one place to hand `base.sha` on, for what ran.)"""
    return Policy(base.config, comp, root, now, list(base.holds), upstream, revision=base.sha)


# -- the judgement ------------------------------------------------------------------------------------


def audit(
    repo: core.Repo,
    base: str,
    offline: bool = False,
    upstream_of: Callable[[Component], Upstream] | None = None,
) -> list[Problem]:
    """Every problem of the working tree's change against the revision `base`: the pins it
    changes that the base's rules refuse, the pins it turns into non-pins, and its edits of the
    policy (notes, or problems when the change also moves a pin)."""
    sha = resolve(repo.root, base)
    with Tree(repo.root, sha) as tree:
        b = load_base(repo, base, sha, tree)
        pins = _Pins(repo, b, tree, None if offline else (upstream_of or _upstream))
        problems = pins.judge()
    return problems + policy_changes(repo, b, pins.moved)


def _upstream(comp: Component) -> Upstream:
    from promoter.upstream.mirror import Upstream

    return Upstream(comp)


@record(frozen=True)
class _Place:
    file: str
    line: int
    value: str
    pinned: bool
    key: tuple[object, ...]  # how it is matched between base and change: file, and path or rank


@record
class _Located:
    """One target's places in one tree, and the files it could not read there: file -> (line, why)."""

    places: list[_Place] = field(default_factory=list)
    errors: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def pins(self) -> set[str]:
        return {p.value for p in self.places if p.pinned}


def _places(text: str, file: str, comp: Component, target: Target, roots: list[Node] | None) -> list[_Place]:
    yaml = isinstance(target.locator, YAML_LOCATORS)
    if yaml and roots is None:
        roots = compose(text)
    found = find(text, comp, target, roots)
    path_of = _structure_of(roots) if yaml and roots is not None else None
    return [
        _Place(
            file,
            f.line,
            f.value,
            comp.pins(target, f.value),
            (file, *path_of(f.start)) if path_of is not None else (file, "#", rank),
        )
        for rank, f in enumerate(found)
    ]


_STRUCTURES: dict[int, tuple[list[Node], Callable[[int], tuple[object, ...]]]] = {}


def _structure_of(roots: list[Node]) -> Callable[[int], tuple[object, ...]]:
    """`_structure` of a composed file, made once however many targets it holds (the files
    are kept while their structure is: an id is not reused meanwhile)."""
    kept = _STRUCTURES.get(id(roots))
    if kept is None or kept[0] is not roots:
        kept = _STRUCTURES[id(roots)] = (roots, _structure(roots))
        while len(_STRUCTURES) > 1024:
            del _STRUCTURES[next(iter(_STRUCTURES))]
    return kept[1]


def _structure(roots: list[Node]) -> Callable[[int], tuple[object, ...]]:
    """The structural path of the scalar at an offset: each document and sequence item by its
    identity (`_idents`), each mapping value by its key. Walked without recursion."""
    collected: list[tuple[int, tuple[object, ...]]] = []
    stack: list[tuple[Node, tuple[object, ...]]] = [(r, (i,)) for r, i in zip(roots, _idents(roots))]
    while stack:
        node, path = stack.pop()
        if isinstance(node, Scalar):
            collected.append((node.start, path))
        elif isinstance(node, Mapping):
            for k, v in node.pairs:
                stack.append((v, (*path, k.value if isinstance(k, Scalar) else ("?", k.start))))
        elif isinstance(node, Sequence):
            stack += [(item, (*path, i)) for item, i in zip(node.items, _idents(node.items))]
    collected.sort(key=lambda c: c[0])
    starts = [c[0] for c in collected]

    def path_of(offset: int) -> tuple[object, ...]:
        i = bisect_right(starts, offset) - 1
        return collected[i][1] if i >= 0 else ("?", offset)

    return path_of


def _idents(items: list[Node]) -> list[object]:
    """How items of a sequence (or documents of a file) are told apart: by their `name`, else by
    their `namespace` (its `$ref`: a saas target), the n-th of that name; else by their index."""
    out: list[object] = []
    seen: dict[tuple[str, str], int] = {}
    for index, item in enumerate(items):
        ident = _ident(item)
        if ident is None:
            out.append(index)
            continue
        n = seen.get(ident, 0)
        seen[ident] = n + 1
        out.append((*ident, n))
    return out


def _ident(node: Node) -> tuple[str, str] | None:
    for key in ("name", "namespace"):
        pair = _pair(node, key)
        value = pair[1] if pair is not None else None
        if isinstance(value, Mapping):
            ref = _pair(value, "$ref")
            value = ref[1] if ref is not None else None
        if isinstance(value, Scalar) and value.value:
            return (key, value.value)
    return None


def _at_base(tree: Tree, comp: Component, target: Target) -> _Located:
    out = _Located()
    if target.file is not None:
        files = [target.file]
    else:
        assert target.files is not None
        pattern = glob_regex(target.files)
        files = [f for f in tree.files() if pattern.fullmatch(f)]
    for file in files:
        data = tree.read(file)
        if data is None:
            continue
        try:
            text = data.decode("utf-8")
            roots = tree.nodes(file, text) if isinstance(target.locator, YAML_LOCATORS) else None
            out.places += _places(text, file, comp, target, roots)
        except UnicodeDecodeError:
            out.errors[file] = (1, "not UTF-8 text")
        except LocateError as exc:
            out.errors[file] = (exc.line, exc.message)
        except YamlSyntaxError as exc:
            out.errors[file] = (exc.line, f"invalid YAML: {exc.problem}")
    return out


def _in_tree(ws: Workspace, comp: Component, target: Target) -> _Located:
    out = _Located()
    for file in ws.files_of(target):
        try:
            if not ws.exists(file):
                continue
            text = ws.read(file)
            roots = ws.nodes(file) if isinstance(target.locator, YAML_LOCATORS) else None
            out.places += _places(text, file, comp, target, roots)
        except PromoterError as exc:  # out of the repository, too large, not UTF-8
            out.errors[file] = (1, str(exc))
        except LocateError as exc:
            out.errors[file] = (exc.line, exc.message)
        except YamlSyntaxError as exc:
            out.errors[file] = (exc.line, f"invalid YAML: {exc.problem}")
    return out


def _how(comp: Component, target: Target) -> tuple[object, ...]:
    """What decides the places a target locates (not its name or environment)."""
    return (comp.repo, comp.short_length, target.file, target.files, target.locator, target.format)


class _Pins:
    """The pins a change moves, each judged by the base's rules."""

    def __init__(
        self, repo: core.Repo, base: Base, tree: Tree, upstream_of: Callable[[Component], Upstream] | None
    ) -> None:
        from promoter.policy import clock

        self.repo = repo
        self.base = base
        self.tree = tree
        self.upstream_of = upstream_of
        self.now = clock.now()
        self.moved = False  # a pin changed, appeared, or turned into a non-pin
        self.judged: set[tuple[str, int]] = set()  # (file, line) of the new pins judged as a base target's
        self._policies: dict[str, Policy] = {}
        self._hashes: Hashes | None = None  # publishers' target_config_hash, as the change leaves the files

    def policy(self, comp: Component) -> Policy:
        if comp.name not in self._policies:
            upstream = self.upstream_of(comp) if self.upstream_of is not None else None
            self._policies[comp.name] = base_policy(self.base, comp, self.repo.root, self.now, upstream)
        return self._policies[comp.name]

    def judge(self) -> list[Problem]:
        problems: list[Problem | _Group] = []
        groups: dict[tuple[str, str, str, str], _Group] = {}

        def place(policy: Policy, target: Target, p: _Place) -> None:
            """The new pin at `p`, judged with the other places that pin the same version for the
            same environment: one problem lists them all."""
            # (an app-interface subscriber is judged on its own: its channels are its own rules)
            own = target.name if target.native is not None and target.native.subscribe else ""
            key = (policy.component.name, target.environment, p.value, own)
            if key not in groups:
                groups[key] = _Group(policy, p.value, [])
                problems.append(groups[key])
            groups[key].places.append((target, p.file, p.line))

        base, change = self.base.config, self.repo.config
        ws = self.repo.workspace
        for bcomp in base.components.values():
            ccomp = change.components.get(bcomp.name)
            for target in bcomp.targets:
                before, after = _at_base(self.tree, bcomp, target), _in_tree(ws, bcomp, target)
                known = before.pins
                new = [p for p in after.places if p.pinned and p.value not in known]
                lost = self._unpinned(bcomp, target, before, after)
                ctarget = next((t for t in ccomp.targets if t.name == target.name), None) if ccomp else None
                olds, nows = [before], [after]
                if ccomp is not None and ctarget is not None and _how(ccomp, ctarget) != _how(bcomp, target):
                    # the change locates this target elsewhere or otherwise: what it finds there counts too
                    before2, after2 = _at_base(self.tree, ccomp, ctarget), _in_tree(ws, ccomp, ctarget)
                    known |= before2.pins
                    seen = {(p.file, p.line) for p in new}
                    new += [
                        p for p in after2.places if p.pinned and p.value not in known and (p.file, p.line) not in seen
                    ]
                    olds.append(before2)
                    nows.append(after2)
                if known and not lost and not any(n.pins for n in nows):
                    # it pinned a version at the base, and locates no pin now but a non-pin of its own
                    was = {(p.key, p.value) for o in olds for p in o.places if not p.pinned}
                    fresh = [p for n in nows for p in n.places if not p.pinned and (p.key, p.value) not in was]
                    if fresh:
                        old = next(p for o in olds for p in o.places if p.pinned)
                        lost.append(self._lost(bcomp, target, fresh[0], old.value))
                problems += lost
                for p in new:
                    place(self.policy(bcomp), target, p)
                if new and ccomp is not None:
                    problems += self._promotion_data(ccomp, ctarget or target, new[0].value)
                self.judged |= {(p.file, p.line) for p in new}
                self.moved = self.moved or bool(new or lost)
        for ccomp in change.components.values():  # targets the base does not have
            known_comp = base.components.get(ccomp.name)
            names = {t.name for t in known_comp.targets} if known_comp is not None else set()
            judged_as = known_comp or replace(ccomp, hotfix=())  # a component new to the base skips nothing
            for ctarget in ccomp.targets:
                if ctarget.name in names:
                    continue
                known = _at_base(self.tree, ccomp, ctarget).pins
                new = [p for p in _in_tree(ws, ccomp, ctarget).places if p.pinned and p.value not in known]
                for p in new:
                    if (p.file, p.line) not in self.judged:  # a place a target of the base judged already
                        place(self.policy(judged_as), ctarget, p)
                if new:
                    problems += self._promotion_data(ccomp, ctarget, new[0].value)
                self.moved = self.moved or bool(new)
        rev = self.base.rev
        return [
            q
            for item in problems
            for q in (_judge(item.policy, item.places, item.value, rev) if isinstance(item, _Group) else [item])
        ]

    def _promotion_data(self, comp: Component, target: Target, value: str) -> list[Problem]:
        """An app-interface subscriber the change moves: each target_config_hash of its promotion_data
        must be its publisher's as the change leaves the files (saasherder's validation compares it
        with what the publisher deployed). One that cannot be computed is a note: not judged."""
        if target.native is None or not target.native.subscribe:
            return []
        from promoter.native.channels import Hashes, hash_locations

        ws = self.repo.workspace
        file = target.native.file
        if self._hashes is None:
            self._hashes = Hashes(ws)
        try:
            located, _ = hash_locations(self.repo.config, self._hashes, target, ws.read(file), ws.nodes(file))
        except (PromoterError, YamlSyntaxError) as exc:
            return [
                Problem(
                    file,
                    target.native.line,
                    f"{comp.name}: target '{target.name}' now pins {value}, and whether its promotion_data is current "
                    f"is not judged: {exc}",
                    f"promoter promote {comp.name} {value} --target {target.name} writes the ref and the "
                    "target_config_hash together, or says why it cannot",
                    "promotion-data-unchecked",
                    comp.name,
                    target.name,
                    target.environment,
                    value,
                    value if len(value) == 40 else None,
                    note=True,
                )
            ]
        return [
            Problem(
                loc.file,
                loc.line,
                f"{comp.name}: target '{target.name}' now pins {value}, and its promotion_data holds "
                f"target_config_hash {loc.value}, not {want}, the hash of its publisher '{pub.name}' as the change "
                "leaves it: "
                "saasherder's validation would fail the merge request",
                f"write {want} there (promoter promote {comp.name} {value} --target {target.name} writes the ref and "
                "the hash together)",
                "promotion-data-stale",
                comp.name,
                target.name,
                target.environment,
                value,
                value if len(value) == 40 else None,
            )
            for loc, want, pub in located
            if loc.value != want
        ]

    def _unpinned(self, comp: Component, target: Target, before: _Located, after: _Located) -> list[Problem]:
        """Each place that pinned a version at the base and holds a non-pin in the change (or no
        longer reads)."""
        at_base = {p.key: p for p in before.places}
        out = [
            self._lost(comp, target, p, old.value)
            for p in after.places
            if not p.pinned and (old := at_base.get(p.key)) is not None and old.pinned
        ]
        for file, (line, why) in after.errors.items():
            olds = [p for p in before.places if p.file == file and p.pinned]
            if olds:
                out.append(
                    Problem(
                        file,
                        line,
                        f"{comp.name}: target '{target.name}' no longer locates its pin here: {why} "
                        f"(at {self.base.rev} it pinned {olds[0].value})",
                        "write the pinned version back as a plain value the target locates",
                        "unpinned",
                        comp.name,
                        target.name,
                        target.environment,
                        olds[0].value,
                        olds[0].value if len(olds[0].value) == 40 else None,
                    )
                )
        return out

    def _lost(self, comp: Component, target: Target, place: _Place, old: str) -> Problem:
        shown = place.value if len(place.value) <= 60 else place.value[:59] + "…"
        fmt = (
            "a 40-hex sha"
            if target.format == "sha"
            else "a sha256 digest"
            if target.format == "digest"
            else f"a release tag written {target.pattern}"
            if target.format == "tag"
            else (f"a {comp.short_length}-hex short sha")
        )
        return Problem(
            place.file,
            place.line,
            f"{comp.name}: target '{target.name}' no longer pins a version here: '{shown}' is no pin "
            f"(at {self.base.rev} it pinned {old}); {target.environment} would follow it past every rule",
            f"write a pinned version back here ({fmt}, lower case): at {self.base.rev} it was {old}; "
            f"`promoter plan {comp.name} --env {target.environment}` names the newest version that may go now",
            "unpinned",
            comp.name,
            target.name,
            target.environment,
            old,
            old if len(old) == 40 else None,
        )


@record
class _Group:
    """The places of a change that pin one new version for one environment of a component: judged
    once (the rules depend on the environment and the version alone), a problem each."""

    policy: Policy
    value: str
    places: list[tuple[Target, str, int]]  # (target, file, line), in the order found


def _hint(gate: Gate, comp: Component, env: str, value: str, rev: str) -> str:
    """What to do about one broken rule, naming the real component, environment and version."""
    short = comp.short(value) if len(value) == 40 else value
    if gate.action == "held":
        return (
            f"release the hold in a change of its own first (promoter release {comp.name} --env {env} --push), "
            "or wait for it to end"
        )
    if gate.action == "window":
        when = f" ({stamp(gate.until)})" if gate.until else ""
        return f"merge it when the promotion window of {env} opens{when}"
    if gate.action == "blocked":
        return f"pin another version: {short} is listed in `blocked:` at {rev}"
    if gate.rule == "after" and gate.publisher:  # an app-interface channel's publisher
        return (
            f"promote {short} to {gate.publisher} first (promoter promote {comp.name} {short} --target "
            f"{gate.publisher}), or pin a version it runs"
        )
    if gate.rule == "after" and gate.before:
        return (
            f"promote {short} to {gate.before} first (promoter promote {comp.name} {short} --env {gate.before}) "
            f"and let it soak there, or pin a version {gate.before} ran"
        )
    if gate.action == "soaking":
        when = f" (until {stamp(gate.until)})" if gate.until else ""
        return f"wait until it has soaked{when}, or pin a version that has"
    return ""


def _judge(policy: Policy, places: list[tuple[Target, str, int]], value: str, rev: str) -> list[Problem]:
    """A problem for each place that now pins `value` for one environment, listing every rule of
    the base the version breaks there (none when it breaks none): the first says each rule and
    what to do; the others, the same, refer to it."""
    comp = policy.component
    target, file, line = places[0]
    env = target.environment
    sha = value if len(value) == 40 else (policy.upstream.find(value) if policy.upstream else None)
    if sha is None:  # offline, or a value the upstream cannot name: the rules that need no upstream
        gates = [g for g in (policy.held(env), policy.window(env, value)) if g]
        blocked = next((p for p in comp.blocked if p.startswith(value) or value.startswith(p)), None)
        if blocked:
            gates.insert(0, Gate("blocked", env, f"{comp.name}: {value} is blocked (`blocked: [{blocked}]`)"))
    else:
        gates = policy.gates([target], sha, verify=False)
    if not gates:
        return []
    rules = tuple(
        Rule(f"policy-{g.rule if g.rule == 'after' else g.action}", g.reason, _hint(g, comp, env, sha or value, rev))
        for g in gates
    )

    def said(reason: str) -> str:  # the component is named once, at the head of the problem
        return reason.removeprefix(f"{comp.name}: ")

    def where(t: Target) -> str:
        return f"{comp.name}: target '{t.name}' ({env}) now pins {value}"

    if len(rules) == 1:
        message = f"{where(target)}: {said(rules[0].message)}"
    else:
        message = f"{where(target)}, which {len(rules)} rules of the policy at {rev} refuse:"
        message += "".join(f"\n- {said(r.message)}" for r in rules)
    hints = [r.hint for r in rules if r.hint]
    if any(r.kind in ("policy-blocked", "policy-after", "policy-soaking") for r in rules):
        hints.append(f"`promoter plan {comp.name} --env {env}` names the newest version that may go now")
    first = Problem(
        file, line, message, "\n".join(dict.fromkeys(hints)), rules[0].kind, comp.name, target.name, env, value, sha,
        rules=rules,
    )  # fmt: skip
    kinds = ", ".join(r.kind for r in rules)
    same = f"the same rule ({kinds})" if len(rules) == 1 else f"the same {len(rules)} rules ({kinds})"
    also = f"as {file}:{line} does: refused by {same}"
    return [first] + [
        replace(first, file=f, line=n, target=t.name, message=f"{where(t)}, {also}", hint=f"as for {file}:{line}")
        for t, f, n in places[1:]
    ]


# -- the policy's own changes --------------------------------------------------------------------


class _Lines:
    """Lines of the change's config file: where a setting is, or the nearest enclosing one."""

    def __init__(self, text: str) -> None:
        try:
            docs = compose(text)
        except YamlSyntaxError:  # pragma: no cover - it loaded a moment ago
            docs = []
        self.doc: Node | None = docs[0] if docs else None

    def __call__(self, *path: str | tuple[str, str]) -> int:
        """The line of the last key (or named item, `("name", value)`) of `path` that exists."""
        node, line = self.doc, 1
        for step in path:
            if isinstance(step, str):
                pair = _pair(node, step)
                if pair is None:
                    break
                line, node = pair[0].line, pair[1]
            else:
                key, value = step
                items = node.items if isinstance(node, Sequence) else []
                item = next((i for i in items if _text((_pair(i, key) or (i, None))[1]) == value), None)
                if item is None:
                    break
                line, node = item.line, item
        return line


def _pair(node: Node | None, key: str) -> tuple[Node, Node] | None:
    if not isinstance(node, Mapping):
        return None
    return next(((k, v) for k, v in node.pairs if isinstance(k, Scalar) and k.value == key), None)


def _text(node: Node | None) -> str | None:
    return node.value if isinstance(node, Scalar) else None


def _listed(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(values) + "]"


def policy_changes(repo: core.Repo, base: Base, moved: bool) -> list[Problem]:
    """Every difference of policy between the base's config and holds and the change's, each at
    the changed setting's line in the change (the nearest enclosing one when it was removed):
    notes, unless the change also `moved` a pin."""
    old, new = base.config, repo.config
    file = config_path(repo) if new.origin != "native" else ""
    lines = _Lines(repo.workspace.read(file) if file and repo.workspace.exists(file) else "")
    rev = base.rev
    out: list[Problem] = []
    hint = (
        "this change also moves a pin: split it into two merge requests, the policy change first; once it is "
        "merged, the promotion is judged by the new policy"
        if moved
        else "review it: it applies once merged, to the changes based on it"
    )

    def changed(
        line: int,
        comp: str,
        what: str,
        env: str | None = None,
        target: str | None = None,
        native: NativeTarget | None = None,
        deployment: bool = False,
        at: tuple[str, int] | None = None,
    ) -> None:
        """A change of policy at `line` of the config file, or at `native`'s line in its saas
        file. A `deployment` (a saas file's target or component added or removed) is only a
        note: it is the saas files' everyday business, and a pin it brings is judged by the
        base's rules all the same."""
        if at is None and native is not None:
            at = (native.file, native.line)
        out.append(
            Problem(
                at[0] if at is not None else file,
                at[1] if at is not None else line,
                f"{comp}: policy change: {what} (this change is judged by the policy at {rev})",
                "review it: a deployment of the saas files added or removed" if deployment else hint,
                "policy-changed",
                comp,
                target,
                env,
                note=not moved or deployment,
            )
        )

    def first(comp: Component) -> NativeTarget | None:
        """The first saas target of a component of the saas files alone."""
        natives = [t.native for t in comp.targets if t.native is not None]
        return natives[0] if natives and len(natives) == len(comp.targets) else None

    def users(env: str) -> list[str]:
        comps = [c for cfg in (new, old) for c in cfg.components.values()]
        named = [c.name for c in comps if any(t.environment == env for t in c.targets)]
        return list(dict.fromkeys(named)) or list(dict.fromkeys(c.name for c in comps))

    for env in dict.fromkeys([*old.environments, *new.environments]):
        for what, line in _environment_changes(env, old.environments.get(env), new.environments.get(env), lines):
            for comp in users(env):
                changed(line, comp, what, env)
    if old.holds != new.holds:
        for comp in dict.fromkeys([*old.components, *new.components]):
            changed(lines("holds"), comp, f"holds: {old.holds} -> {new.holds} (holds are read from {old.holds})")
    for name in dict.fromkeys([*old.components, *new.components]):
        b, c = old.components.get(name), new.components.get(name)
        if c is None:
            assert b is not None
            gone = first(b)
            changed(lines("components"), name, f"component '{name}' is removed", native=gone, deployment=bool(gone))
            continue
        if b is None:
            fresh = first(c)
            changed(
                lines("components", name), name, f"component '{name}' is added", native=fresh, deployment=bool(fresh)
            )
            continue
        for what, key in _component_changes(b, c):
            # a version an app file's codeComponents give (blockedVersions, hotfixVersions): there
            moved_versions = set(getattr(b, key)) ^ set(getattr(c, key)) if key in ("blocked", "hotfix") else set()
            at = next(((f, n) for v, f, n in (*c.version_sources, *b.version_sources) if v in moved_versions), None)
            changed(lines("components", name, key), name, what, at=at)
        for t in b.targets:
            ct = next((x for x in c.targets if x.name == t.name), None)
            if ct is None:
                said = f"target '{t.name}' is removed" + (f" (at {rev}: {t.native.file}:{t.line})" if t.native else "")
                changed(
                    lines("components", name, "targets"),
                    name,
                    said,
                    t.environment,
                    native=t.native,
                    deployment=bool(t.native),
                )
                continue
            if ct.environment != t.environment:
                changed(
                    lines("components", name, "targets", ("name", t.name), "environment"),
                    name,
                    f"target '{t.name}': environment {t.environment} -> {ct.environment}",
                    t.environment,
                    t.name,
                    native=ct.native,  # its namespace (or that namespace's environment) changed
                )
            rules = _channel_changes(t, ct)
            if rules is not None and ct.native is not None:  # its `promotion:` block, at its line
                at = (ct.native.file, ct.native.promotion.line if ct.native.promotion else ct.native.line)
                changed(0, name, f"target '{t.name}': promotion {rules}", t.environment, t.name, at=at)
        for ct in c.targets:
            if all(t.name != ct.name for t in b.targets):
                changed(
                    ct.line, name, f"target '{ct.name}' is added", ct.environment, ct.name, ct.native, bool(ct.native)
                )
    out += _holds_removed(repo, base, moved)
    return out


def _environment_changes(
    env: str, b: EnvironmentPolicy | None, c: EnvironmentPolicy | None, lines: _Lines
) -> list[tuple[str, int]]:
    what = f"environment '{env}'"
    if b is None and c is None:
        return []
    if c is None:
        assert b is not None
        rules = _rules(b)
        return [(f"{what}: its rules are removed ({rules})" if rules else f"{what} is removed", lines("environments"))]
    if b is None:
        rules = _rules(c)
        return [(f"{what}: rules added ({rules})" if rules else f"{what} is added", lines("environments", env))]
    out: list[tuple[str, int]] = []
    if b.after != c.after:
        out.append((f"{what}: after {_listed(b.after)} -> {_listed(c.after)}", lines("environments", env, "after")))
    if b.soak != c.soak:
        out.append(
            (
                f"{what}: soak {durations.format(b.soak)} -> {durations.format(c.soak)}",
                lines("environments", env, "soak"),
            )
        )
    old_windows = [replace(w, line=0) for w in b.windows]
    new_windows = [replace(w, line=0) for w in c.windows]
    for w in b.windows:
        if replace(w, line=0) not in new_windows:
            out.append((f"{what}: window {_window(w)} is removed", lines("environments", env, "windows")))
    for w in c.windows:
        if replace(w, line=0) not in old_windows:
            out.append((f"{what}: window {_window(w)} is added", w.line or lines("environments", env, "windows")))
    old_checks = [replace(v, line=0) for v in b.verify]
    new_checks = [replace(v, line=0) for v in c.verify]
    for v in b.verify:
        if replace(v, line=0) not in new_checks:
            out.append((f"{what}: verify {v.describe()} is removed", lines("environments", env, "verify")))
    for v in c.verify:
        if replace(v, line=0) not in old_checks:
            out.append((f"{what}: verify {v.describe()} is added", v.line or lines("environments", env, "verify")))
    if _rollback_rule(b.rollback) != _rollback_rule(c.rollback):
        out.append(
            (
                f"{what}: rollback {_rollback_said(b.rollback)} -> {_rollback_said(c.rollback)}",
                (c.rollback.line if c.rollback else 0) or lines("environments", env, "rollback"),
            )
        )
    return out


def _rollback_rule(r: RollbackPolicy | None) -> RollbackPolicy | None:
    return replace(r, line=0) if r is not None else None


def _rollback_said(r: RollbackPolicy | None) -> str:
    return f"on {r.on}, grace {durations.format(r.grace)}" if r is not None else "none"


def _channel_rules(t: Target) -> tuple[object, ...]:
    """What an app-interface target's `promotion:` block and `disable:` decide about when it moves
    (the lines aside; promotion_data is data, not a rule)."""
    n = t.native
    if n is None:
        return ()
    p = n.promotion
    if p is None:
        return ((), (), False, None, None, n.disabled)
    channels = tuple(sorted(set(p.publish))), tuple(sorted(set(p.subscribe)))  # (order and repeats aside)
    return (*channels, p.auto, p.soak_days, p.schedule, n.disabled)


def _channel_changes(b: Target, c: Target) -> str | None:
    """How the change alters what decides when an app-interface target moves, said plainly."""
    old, new = _channel_rules(b), _channel_rules(c)
    if old == new or not old or not new:
        return None
    names = ("publish", "subscribe", "auto", "soakDays", "schedule", "disabled")
    said = [f"{name} {_shown(o)} -> {_shown(n)}" for name, o, n in zip(names, old, new, strict=True) if o != n]
    return "; ".join(said)


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return _listed(tuple(str(v) for v in value))
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _rules(p: EnvironmentPolicy) -> str:
    parts = [f"after {_listed(p.after)}"] if p.after else []
    parts += [f"soak {durations.format(p.soak)}"] if p.soak else []
    parts += [f"window {_window(w)}" for w in p.windows]
    parts += [f"verify {v.describe()}" for v in p.verify]
    return ", ".join(parts)


def _window(w: Window) -> str:
    return f"{w.kind} '{w.cron}' {w.timezone} {durations.format(w.duration)}"


def _component_changes(b: Component, c: Component) -> list[tuple[str, str]]:
    """(what changed, its key) for each policy setting of a component."""
    out: list[tuple[str, str]] = []
    for key in ("blocked", "hotfix", "depends_on"):
        old, new = getattr(b, key), getattr(c, key)
        removed = [v for v in old if v not in new]
        added = [v for v in new if v not in old]
        said = [f"{', '.join(removed)} removed"] if removed else []
        said += [f"{', '.join(added)} added"] if added else []
        if said:
            out.append((f"{key}: {'; '.join(said)} ({_listed(old)} -> {_listed(new)})", key))
    if b.min_age != c.min_age:
        out.append((f"min_age {durations.format(b.min_age)} -> {durations.format(c.min_age)}", "min_age"))
    for key in ("image", "tag", "branch"):
        old, new = getattr(b, key), getattr(c, key)
        if old != new:
            out.append((f"{key} {old or 'none'} -> {new or 'none'}", key))
    if _trust_rule(b.trust) != _trust_rule(c.trust):
        out.append((f"trust {_trust_said(b.trust)} -> {_trust_said(c.trust)}", "trust"))
    return out


def _trust_rule(t: Trust | None) -> Trust | None:
    """A component's `trust:` without the lines it was read at: what it demands."""
    return replace(t, line=0, key_line=0, trusted_root_line=0, tlog_key_line=0) if t is not None else None


def _trust_said(t: Trust | None) -> str:
    if t is None:
        return "none"
    who = f"key {t.key}" if t.key else f"identity {t.identity or t.identity_regexp} (issuer {t.issuer})"
    return f"({who}{', provenance' if t.provenance else ''}, tlog {t.tlog}, source {t.source})"


def _holds_removed(repo: core.Repo, base: Base, moved: bool) -> list[Problem]:
    """The base's holds that the change removes (or rewrites) in the base's holds file."""
    if not base.holds:
        return []
    path = base.config.holds
    kept: list[holds_file.Hold] = []
    line = 1
    if repo.workspace.exists(path):
        text = repo.workspace.read(path)
        kept = holds_file.parse(text, path)
        line = _Lines(text)("holds")
    same = {replace(h, line=0) for h in kept}
    out = []
    for h in base.holds:
        if replace(h, line=0) in same:
            continue
        envs = ", ".join(h.environments) or "every environment"
        who = f" by {h.author}" if h.author else ""
        until = f" until {stamp(h.until)}" if h.until else ""
        out.append(
            Problem(
                path,
                line,
                f"{h.component or '?'}: policy change: the hold on {envs}{who} since {stamp(h.since)}{until} "
                f"({h.reason}) is removed or changed (it is at {base.rev}:{path}:{h.line}; this change is "
                f"judged by the holds at {base.rev})",
                f"release a hold in a change of its own (promoter release {h.component or 'COMPONENT'}"
                + "".join(f" --env {e}" for e in h.environments)
                + " --push); "
                + ("split this change: the release first, then the promotion" if moved else "review it"),
                "policy-changed",
                h.component or "?",
                None,
                h.environments[0] if len(h.environments) == 1 else None,
                note=not moved,
            )
        )
    return out
