"""app-interface's promotion channels, read from the saas files (saasherder's and SAPM's model).

A target whose `promotion.publish` names a channel is a **publisher** of it; one whose
`promotion.subscribe` names channels is a **subscriber**: it comes after every publisher of every
channel it subscribes to (a disabled or deleted publisher is one too: it runs nothing, so it holds
its subscribers back, as saasherder's validation and SAPM both do).
Channels join targets of any component: the publishers of a channel are looked up across the
whole config, in the files' order.

When a subscriber moves, its `promotion.promotion_data` is rewritten with it: for each channel
it subscribes to, each `{parent_saas, target_config_hash, type: parent_saas_config}` item gets
the `target_config_hash` of the publisher of that channel in the saas file named `parent_saas`,
computed as the qontract-reconcile the repository pins computes it (`native.confighash`), from
the files as they will be once the promotion is merged. An item that cannot be made current
refuses the subscriber (`CannotCompute`): a hash that cannot be computed, a `parent_saas` that
publishes no such channel, a publisher whose own `promotion_data` moves in the same promotion.
Nothing is added: a channel without `promotion_data` stays without (saasherder then relies on
the publisher's success alone), said as a note when `redeployOnPublisherConfigChange` asks for
one (SAPM would add it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from promoter.errors import Refused
from promoter.locate.base import LocateError, yaml_value
from promoter.locate.saas import repo_key, target_identity
from promoter.locate.yamlnodes import Mapping, Node, Scalar, Sequence
from promoter.model import Component, Config, Edit, Location, SaasTargetLocator, Target
from promoter.native.source import get, ref_path, scalar

TYPE_CHECKING = False  # typing is not imported at run time (start-up is measured)
if TYPE_CHECKING:
    from promoter.pipeline.workspace import Workspace

HASH = "target_config_hash"  # the kind of a Location that is a subscriber's promotion_data hash

Publisher = tuple[Component, Target]

_INDEX: dict[int, tuple[Config, dict[str, list[Publisher]]]] = {}


def publishers(config: Config) -> dict[str, list[Publisher]]:
    """channel -> its publishers (component, target), in the config's order, disabled ones too;
    made once per config."""
    kept = _INDEX.get(id(config))
    if kept is not None and kept[0] is config:
        return kept[1]
    out: dict[str, list[Publisher]] = {}
    for comp in config.components.values():
        for t in comp.targets:
            if t.native is None:
                continue
            for channel in t.native.publish:
                out.setdefault(channel, []).append((comp, t))
    _INDEX[id(config)] = (config, out)
    while len(_INDEX) > 8:
        del _INDEX[next(iter(_INDEX))]
    return out


def followed(config: Config, target: Target) -> list[tuple[str, list[Publisher]]]:
    """The channels `target` subscribes to, each with its publishers (none: the channel has no
    publisher, and the target can never move by it); `target` itself is never its own publisher."""
    if target.native is None:
        return []
    index = publishers(config)
    return [
        (channel, [(c, t) for c, t in index.get(channel, ()) if t is not target])
        for channel in dict.fromkeys(target.native.subscribe)
    ]


# -- where a target is in its file -------------------------------------------------------------------


def _templates(roots: list[Node]) -> Iterable[tuple[int, Mapping]]:
    for root in roots[:1]:
        rts = get(root, "resourceTemplates")
        if isinstance(rts, Sequence):
            for i, rt in enumerate(rts.items):
                if isinstance(rt, Mapping):
                    yield i, rt


def item(roots: list[Node], target: Target) -> tuple[int, int, Mapping] | None:
    """(resource template index, target index, the target's mapping) of a native target in its
    file's documents: the item its locator names (a saas-file-target file: its root, with the
    indexes (-1, -1))."""
    loc = target.locator
    if not isinstance(loc, SaasTargetLocator) or target.native is None:
        return None
    if loc.resource_template is None:
        root = roots[0] if roots else None
        return (-1, -1, root) if isinstance(root, Mapping) else None
    key = repo_key(target.native.url)
    seen = 0
    for i, rt in _templates(roots):
        if scalar(get(rt, "name")) != loc.resource_template or repo_key(scalar(get(rt, "url")) or "") != key:
            continue
        targets = get(rt, "targets")
        for j, t in enumerate(targets.items if isinstance(targets, Sequence) else ()):
            if not isinstance(t, Mapping):
                continue
            try:
                identity = target_identity(t)
            except LocateError:
                continue
            if identity == (loc.namespace, loc.name, loc.selector):
                if seen == loc.occurrence:
                    return i, j, t
                seen += 1
    return None


def indexes(workspace: Workspace, target: Target) -> tuple[int, int]:
    """Where a publisher is in its saas file: (resource template, target), the indexes
    qontract-reconcile's target config is computed at; Refused when it cannot be found."""
    assert target.native is not None
    native = target.native
    if native.file == native.saas_file:
        found = item(workspace.nodes(native.file), target)
        if found is not None:
            return found[0], found[1]
    else:  # written apart: the `- $ref:` item of its saas file that names its file
        for i, rt in _templates(workspace.nodes(native.saas_file)):
            if scalar(get(rt, "name")) != native.resource_template:
                continue
            targets = get(rt, "targets")
            for j, t in enumerate(targets.items if isinstance(targets, Sequence) else ()):
                if ref_path(scalar(get(t, "$ref")) or "") == native.file:
                    return i, j
    raise Refused(f"{native.file}:{native.line}: target '{target.name}' is no longer where the saas file said")


# -- promotion_data --------------------------------------------------------------------------------------


def _hash_items(promotion: Node | None) -> Iterable[tuple[str, Mapping, Scalar | None]]:
    """(channel, the data item, its target_config_hash node) of each parent_saas_config item."""
    data = get(promotion, "promotion_data")
    for entry in data.items if isinstance(data, Sequence) else ():
        channel = scalar(get(entry, "channel"))
        items = get(entry, "data")
        if channel is None or not isinstance(items, Sequence):
            continue
        for d in items.items:
            if isinstance(d, Mapping) and scalar(get(d, "type")) == "parent_saas_config":
                node = get(d, HASH)
                yield channel, d, node if isinstance(node, Scalar) else None


class Hashes:
    """The `target_config_hash` of publishers, computed once each from the files `workspace`
    reads (as they will be once the promotion is merged), by the recipe of the qontract-reconcile
    version its `.env` pins."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._docs: dict[str, object] = {}
        self._hashes: dict[tuple[str, int], str | Refused] = {}
        self._version: str | Refused | None = None

    def _load(self, path: str) -> object:
        if path not in self._docs:
            import yaml

            loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # as qontract-validator parses
            exists = self.workspace.exists(path)
            self._docs[path] = yaml.load(self.workspace.read(path), Loader=loader) if exists else None
        return self._docs[path]

    def read(self, ref: str) -> object:
        """confighash's `Reader`: a `$ref` of the data tree, parsed."""
        path = ref_path(ref)
        if path is None:
            raise ValueError("it leads out of data/")
        return self._load(path)

    def version(self) -> str:
        from promoter.native.confighash import CannotCompute, reconcile_version_from_dotenv

        if self._version is None:
            try:
                if not self.workspace.exists(".env"):
                    raise CannotCompute(
                        "the repository has no .env pinning RECONCILE_IMAGE_TAG, the qontract-reconcile version "
                        "whose recipe the hash follows"
                    )
                self._version = reconcile_version_from_dotenv(self.workspace.read(".env"))
            except Refused as exc:
                self._version = exc
        if isinstance(self._version, Refused):
            raise self._version
        return self._version

    def of(self, publisher: Target) -> str:
        """The publisher's target_config_hash; CannotCompute (or another Refused) when it cannot be."""
        from promoter.native.confighash import CannotCompute, target_config_hash

        assert publisher.native is not None
        key = (publisher.native.file, publisher.native.line)
        if key not in self._hashes:
            try:
                saas_file = publisher.native.saas_file
                rt, t = indexes(self.workspace, publisher)
                doc = self._load(saas_file)
                if not isinstance(doc, dict):
                    raise CannotCompute(f"{saas_file} is no YAML mapping")
                self._hashes[key] = target_config_hash(doc, rt, t, self.read, self.version(), where=saas_file)
            except Refused as exc:
                self._hashes[key] = exc
            except Exception as exc:  # a file PyYAML cannot read: said, never a traceback
                self._hashes[key] = CannotCompute(f"{publisher.native.saas_file}: {type(exc).__name__}: {exc}")
        got = self._hashes[key]
        if isinstance(got, Refused):
            raise got
        return got


def hash_locations(
    config: Config, hashes: Hashes, target: Target, text: str, roots: list[Node]
) -> tuple[list[tuple[Location, str, Target]], list[str]]:
    """For a subscriber that moves: each `target_config_hash` of its `promotion_data` with the
    hash it must hold now and the publisher it is of ((location, new value, publisher), the
    current ones too), and notes; Refused (CannotCompute) when one cannot be made current."""
    from promoter.native.confighash import CannotCompute

    assert target.native is not None
    file = target.native.file
    found = item(roots, target)
    if found is None:
        raise Refused(f"{file}:{target.native.line}: target '{target.name}' is no longer where it was read")
    promotion = get(found[2], "promotion")
    channels = dict(followed(config, target))
    out: list[tuple[Location, str, Target]] = []
    with_data: set[str] = set()
    for channel, d, node in _hash_items(promotion):
        if channel not in channels:
            continue  # the data of a channel it no longer subscribes to: not its publishers' to rewrite
        with_data.add(channel)
        parent = scalar(get(d, "parent_saas"))
        at = f"{file}:{(node or d).line}: target '{target.name}'"
        if node is None:
            raise CannotCompute(f"{at}: promotion_data of channel '{channel}' has an item without a {HASH} string")
        pubs = [t for _, t in channels[channel] if t.native is not None and t.native.saas_name == parent]
        if not pubs:
            names = sorted({t.native.saas_name for _, t in channels[channel] if t.native is not None})
            said = f"its publishers are in {', '.join(names)}" if names else "nothing publishes it"
            raise CannotCompute(
                f"{at}: promotion_data of channel '{channel}' names parent_saas '{parent}', and no target of a "
                f"saas file of that name publishes '{channel}' ({said}); write the name of the saas file of its "
                "publisher there"
            )
        publisher = pubs[0]  # (SAPM takes a channel's first publisher)
        try:
            value = hashes.of(publisher)
        except Refused as exc:
            why = str(exc).removeprefix("cannot compute target_config_hash: ")
            raise Refused(
                f"{at} cannot move: the {HASH} of its publisher '{publisher.name}' (channel '{channel}') cannot be "
                f"computed: {why}; promoter does not move it rather than leave a stale hash (saasherder's "
                "validation would fail the merge request)"
            ) from None
        try:
            f = yaml_value(text, node, HASH)
        except LocateError as exc:
            raise Refused(f"{file}:{exc.line}: target '{target.name}': {exc.message}") from None
        column = f.start - (text.rfind("\n", 0, f.start) + 1) + 1
        loc = Location(target, file, f.line, column, f.start, f.end, f.value, f.plain_yaml, HASH)
        out.append((loc, value, publisher))
    notes = []
    if target.native.promotion is not None and target.native.promotion.redeploy_on_publisher_config_change:
        for channel in channels:
            if channel not in with_data:
                notes.append(
                    f"{file}:{target.native.line}: target '{target.name}' has no promotion_data for channel "
                    f"'{channel}': promoter adds none (saasherder then relies on the publisher's success alone)"
                )
    return out, notes


def _lookup(values: dict[tuple[int, int], str]) -> Callable[[Location], str]:
    return lambda loc: values[(loc.start, loc.end)]


def plan_edits(
    config: Config, workspace: Workspace, subscribers: list[Target], edits: dict[str, list[Edit]]
) -> tuple[dict[str, list[Edit]], list[str]]:
    """The promotion_data edits that go with a plan whose pin `edits` (file -> edits) move the
    native `subscribers`: file -> their edits (quoted where YAML needs it), and notes. The hashes
    are computed from the files with the pin edits made (what will be merged); a publisher whose
    own promotion_data moves in the same plan refuses its subscriber (its hash depends on that
    promotion's order: promote it first)."""
    from promoter.pipeline.edit import edits_for, splice
    from promoter.pipeline.workspace import Workspace

    after = {f: splice(workspace.read(f), es) for f, es in edits.items() if es}
    hashes = Hashes(Workspace(workspace.root, after))
    out: dict[str, list[Edit]] = {}
    notes: list[str] = []
    used: list[tuple[Target, Target]] = []  # (subscriber, publisher) of each hash written
    rewritten: set[tuple[str, int]] = set()
    for target in subscribers:
        assert target.native is not None
        file = target.native.file
        text = workspace.read(file)
        located, said = hash_locations(config, hashes, target, text, workspace.nodes(file))
        notes += said
        values = {(loc.start, loc.end): value for loc, value, _ in located}
        made = edits_for(text, [loc for loc, _, _ in located], _lookup(values))
        if made:
            out.setdefault(file, []).extend(made)
            rewritten.add((file, target.native.line))
        changed = {(e.location.start, e.location.end) for e in made}
        used += [(target, p) for loc, _, p in located if (loc.start, loc.end) in changed]
    for target, publisher in used:
        assert publisher.native is not None
        if (publisher.native.file, publisher.native.line) in rewritten:
            raise Refused(
                f"{target.native.file if target.native else '?'}:{target.native.line if target.native else 0}: target "
                f"'{target.name}' follows '{publisher.name}', whose own promotion_data this promotion rewrites: its "
                f"target_config_hash is the one it has once that is merged; promote '{publisher.name}' first, then "
                f"'{target.name}'"
            )
    return out, notes
