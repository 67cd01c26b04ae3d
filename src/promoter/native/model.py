"""The app-interface native model: every target of every saas file, read from the repository.

A **saas file** is a YAML file under `data/` whose `$schema` is `/app-sre/saas-file-1.yml` or
`/app-sre/saas-file-2.yml`. Each item of its `resourceTemplates[].targets[]` is a target: inline,
or `- $ref: /path.yml` to a `saas-file-target-1` file that holds it (then the `ref` is written
there). A target deploys the template's `url` at its `ref` to its namespace (`namespace.$ref`, a
namespace file) or to every namespace its `namespaceSelector` matches; the namespace's
`environment.$ref` names an environment file, whose `name` is the target's environment.

Nothing here asks a server (qontract-server's GraphQL API): the files are the model. Namespace,
environment and cluster files are read once per run, and only the few fields used, from the
YAML event stream (`source.fields`). What cannot be resolved (a `$ref` to no file, a saas file
that is no valid YAML) is a `NativeProblem` at its file:line; the rest of the model stands.
"""

from __future__ import annotations

import re

from promoter.errors import Refused
from promoter.locate.base import LocateError
from promoter.locate.saas import repo_key, target_identity
from promoter.locate.yamlnodes import Mapping, Node, Scalar, Sequence, YamlSyntaxError
from promoter.model import NativeEnvironment, NativeProblem, NativeTarget, Promotion, PromotionData, SaasTargetLocator
from promoter.native.source import SAAS_SCHEMAS, Source, fields, get, ref_path, scalar, strings
from promoter.records import field, record

UNRESOLVED = "unresolved"  # the environment of a target whose namespace or environment cannot be found
# where a component's upstream may be fetched from: a URL git fetches over the network (never a
# local path, never a remote helper such as ext::, which runs commands)
_FETCHABLE = re.compile(r"(?:https?|ssh|git)://[^\s/]+/\S+|[\w.-]+@[\w.-]+:\S+")


@record(frozen=True)
class Item:
    """One target of the model: where its ref is, how to find it again, and where it deploys."""

    url: str  # the resource template's url, as written
    file: str  # the file holding its `ref` (the saas file, or its saas-file-target file)
    locator: SaasTargetLocator
    native: NativeTarget
    leaf: str  # what names it within its template: the target's name, or its namespace's
    cluster: str | None = None  # its namespace's cluster (to tell apart two namespaces of one name)

    @property
    def key(self) -> str:
        """The component it belongs to: the url without a trailing / or .git."""
        return repo_key(self.url)


@record
class Model:
    items: list[Item] = field(default_factory=list)
    problems: list[NativeProblem] = field(default_factory=list)
    saas_files: list[str] = field(default_factory=list)  # every saas file read
    # the `blockedVersions` and `hotfixVersions` of the apps' `codeComponents[]`, by repository key:
    # key -> [("blocked" or "hotfix", version, app file, line)], each once, in the files' order
    versions: dict[str, list[tuple[str, str, str, int]]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """No saas file (none that could be read either): no app-interface checkout."""
        return not self.saas_files and not self.problems


@record(frozen=True)
class _Namespace:
    file: str
    name: str
    environment: NativeEnvironment | None
    cluster: str | None
    problem: str | None = None  # why its environment is unknown


class _Resolver:
    """Namespace, environment and cluster files, each read once (a few fields of each)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._namespaces: dict[str, _Namespace | str] = {}  # file -> namespace, or why not
        self._environments: dict[str, NativeEnvironment | str] = {}
        self._clusters: dict[str, str | None] = {}

    def _fields(self, file: str, wanted: set[tuple[str, ...]]) -> dict[tuple[str, ...], str] | str:
        text = self.source.text(file)
        if text is None:
            return f"{file}: no such file"
        try:
            return fields(text, wanted)
        except YamlSyntaxError as exc:
            return f"{file}:{exc.line}: invalid YAML: {exc.problem}"

    def namespace(self, ref: str) -> _Namespace | str:
        file = ref_path(ref)
        if file is None:
            return f"namespace $ref '{ref}' names no file of the data tree"
        if file not in self._namespaces:
            got = self._fields(file, {("name",), ("environment", "$ref"), ("cluster", "$ref")})
            if isinstance(got, str):
                self._namespaces[file] = f"namespace {got}"
            else:
                name = got.get(("name",)) or file.rsplit("/", 1)[-1].rsplit(".", 1)[0]
                env_ref = got.get(("environment", "$ref"))
                cluster_ref = got.get(("cluster", "$ref"))
                env: NativeEnvironment | str = (
                    self.environment(env_ref) if env_ref else f"namespace {file} names no environment"
                )
                self._namespaces[file] = _Namespace(
                    file,
                    name,
                    env if isinstance(env, NativeEnvironment) else None,
                    self.cluster(cluster_ref) if cluster_ref else None,
                    env if isinstance(env, str) else None,
                )
        return self._namespaces[file]

    def environment(self, ref: str) -> NativeEnvironment | str:
        file = ref_path(ref)
        if file is None:
            return f"environment $ref '{ref}' names no file of the data tree"
        if file not in self._environments:
            got = self._fields(file, {("name",), ("labels", "type")})
            if isinstance(got, str):
                self._environments[file] = f"environment {got}"
            elif not got.get(("name",)):
                self._environments[file] = f"environment {file} has no name"
            else:
                self._environments[file] = NativeEnvironment(got[("name",)], got.get(("labels", "type")), file)
        return self._environments[file]

    def cluster(self, ref: str) -> str | None:
        file = ref_path(ref)
        if file is None:
            return None
        if file not in self._clusters:
            got = self._fields(file, {("name",)})
            parent = file.rsplit("/", 2)[-2] if file.count("/") >= 2 else None
            self._clusters[file] = got.get(("name",), parent) if isinstance(got, dict) else parent
        return self._clusters[file]


def build(source: Source) -> Model:
    """The native model of the repository `source` reads: every target of every saas file."""
    model = Model()
    resolver = _Resolver(source)
    apps: set[str] = set()  # the app files whose codeComponents were read
    selectors: list[tuple[int, Mapping, str, int]] = []  # (item index, selector node, file, line)
    for file in source.saas_files():
        try:
            docs = source.nodes(file)
        except YamlSyntaxError as exc:
            if _claims_saas_schema(source.raw(file)):
                model.problems.append(
                    NativeProblem(file, exc.line, f"invalid YAML: {exc.problem}; its targets are not read")
                )
            continue
        except Refused as exc:  # not UTF-8, too large, out of the repository
            if _claims_saas_schema(source.raw(file)):
                model.problems.append(NativeProblem(file, 1, f"{exc}; its targets are not read"))
            continue
        root = docs[0] if docs else None
        if not isinstance(root, Mapping) or scalar(get(root, "$schema")) not in SAAS_SCHEMAS:
            continue  # it names the schema elsewhere: no saas file
        model.saas_files.append(file)
        _saas_file(source, resolver, model, file, root, selectors)
        app = ref_path(scalar(get(get(root, "app"), "$ref")) or "")
        if app is not None and app not in apps:
            apps.add(app)
            _code_components(source, model, app)
    if selectors:
        from promoter.native import selectors as select

        select.resolve(source, resolver, model, selectors)
    return model


def _code_components(source: Source, model: Model, app: str) -> None:
    """The blocked and hotfix versions an app file's `codeComponents[]` give their urls (the app of
    a saas file: what saasherder and SAPM read them from). A file that cannot be read gives none."""
    try:
        docs = source.nodes(app)
    except (YamlSyntaxError, Refused):
        return
    items = get(docs[0] if docs else None, "codeComponents")
    for cc in items.items if isinstance(items, Sequence) else ():
        url = scalar(get(cc, "url"))
        if url is None:
            continue
        listed = model.versions.setdefault(repo_key(url), [])
        for kind, key in (("blocked", "blockedVersions"), ("hotfix", "hotfixVersions")):
            node = get(cc, key)
            for v in node.items if isinstance(node, Sequence) else ():
                if (
                    isinstance(v, Scalar)
                    and v.value.strip()
                    and (kind, v.value.strip()) not in {(k, x) for k, x, _, _ in listed}
                ):
                    listed.append((kind, v.value.strip(), app, v.line))


def _claims_saas_schema(data: bytes | None) -> bool:
    """Whether a file that cannot be read says it is a saas file (a line `$schema: ...saas-file-N`)."""
    pattern = rb"(?m)^[\"']?\$schema[\"']?[ \t]*:[ \t]*[\"']?/app-sre/saas-file-[12]\.yml"
    return data is not None and re.search(pattern, data[: 1 << 20]) is not None


def _saas_file(
    source: Source,
    resolver: _Resolver,
    model: Model,
    file: str,
    root: Mapping,
    selectors: list[tuple[int, Mapping, str, int]],
) -> None:
    saas_name = scalar(get(root, "name")) or file.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    templates = get(root, "resourceTemplates")
    if not isinstance(templates, Sequence):
        return
    seen: dict[tuple[str, str, tuple[str | None, str | None, tuple[str, ...]]], int] = {}
    for rt in templates.items:
        if not isinstance(rt, Mapping):
            continue
        rt_name, url = scalar(get(rt, "name")), scalar(get(rt, "url"))
        if not rt_name or not url:
            model.problems.append(
                NativeProblem(file, rt.line, "a resource template without a name or url: its targets are not read")
            )
            continue
        if not _FETCHABLE.fullmatch(url.strip()):
            model.problems.append(
                NativeProblem(
                    file,
                    rt.line,
                    f"resource template '{rt_name}': url '{url}' is not a repository URL promoter fetches "
                    "(https://, ssh://, git:// or user@host:path); its targets are not read",
                )
            )
            continue
        targets = get(rt, "targets")
        if not isinstance(targets, Sequence):
            continue
        for item in targets.items:
            if not isinstance(item, Mapping):
                continue
            crossref = scalar(get(item, "$ref"))
            if crossref is not None and len(item.pairs) == 1:
                _target_file(source, resolver, model, file, saas_name, rt_name, url, item, crossref, selectors)
                continue
            try:
                identity = target_identity(item)
            except LocateError:  # an alias or a duplicated key: the locator says so where it is used
                identity = (scalar(get(get(item, "namespace"), "$ref")), scalar(get(item, "name")), ())
            key = (rt_name, repo_key(url), identity)
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            locator = SaasTargetLocator(rt_name, identity[0], identity[1], identity[2], occurrence)
            _add(model, resolver, file, saas_name, rt_name, url, file, item, locator, selectors)


def _target_file(
    source: Source,
    resolver: _Resolver,
    model: Model,
    saas_file: str,
    saas_name: str,
    rt_name: str,
    url: str,
    item: Mapping,
    ref: str,
    selectors: list[tuple[int, Mapping, str, int]],
) -> None:
    """A target written apart (`- $ref: /path.yml` to a saas-file-target file)."""
    file = ref_path(ref)
    problem = None
    root: Node | None = None
    if file is None:
        problem = f"target $ref '{ref}' names no file of the data tree"
    else:
        try:
            docs = source.nodes(file)
            root = docs[0] if docs else None
        except YamlSyntaxError as exc:
            problem = f"target {file}:{exc.line}: invalid YAML: {exc.problem}"
        except Refused:
            problem = f"target $ref '{ref}': no such file"
    if problem is not None or file is None or not isinstance(root, Mapping):
        model.problems.append(
            NativeProblem(
                saas_file, item.line, f"resource template '{rt_name}': {problem or f'{file} holds no target'}", url
            )
        )
        return
    _add(model, resolver, saas_file, saas_name, rt_name, url, file, root, SaasTargetLocator(None), selectors)


def _add(
    model: Model,
    resolver: _Resolver,
    saas_file: str,
    saas_name: str,
    rt_name: str,
    url: str,
    file: str,
    item: Mapping,
    locator: SaasTargetLocator,
    selectors: list[tuple[int, Mapping, str, int]],
) -> None:
    ns_ref = scalar(get(get(item, "namespace"), "$ref"))
    name = scalar(get(item, "name"))
    namespaces: tuple[str, ...] = ()
    environments: tuple[NativeEnvironment, ...] = ()
    leaf = name
    cluster = None
    if ns_ref is not None:
        ns = resolver.namespace(ns_ref)
        if isinstance(ns, str):
            model.problems.append(NativeProblem(file, item.line, f"target of '{rt_name}': {ns}", url))
            leaf = leaf or ns_ref.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        else:
            namespaces = (ns.file,)
            leaf = leaf or ns.name
            cluster = ns.cluster
            if ns.environment is not None:
                environments = (ns.environment,)
            else:
                model.problems.append(NativeProblem(file, item.line, f"target of '{rt_name}': {ns.problem}", url))
    selector = get(item, "namespaceSelector")
    if ns_ref is None and isinstance(selector, Mapping):
        selectors.append((len(model.items), selector, file, item.line))
        leaf = leaf or "namespaceSelector"
    elif ns_ref is None:
        model.problems.append(
            NativeProblem(file, item.line, f"target of '{rt_name}' has neither namespace nor namespaceSelector", url)
        )
        leaf = leaf or "target"
    native = NativeTarget(
        saas_file,
        saas_name,
        rt_name,
        url,
        file,
        item.line,
        ns_ref,
        namespaces,
        environments,
        scalar(get(item, "ref")),
        _promotion(model, file, item),
        _true(get(item, "disable")) or _true(get(item, "delete")),
    )
    model.items.append(Item(url, file, locator, native, leaf or "target", cluster))


def _true(node: Node | None) -> bool:
    return isinstance(node, Scalar) and not node.style and node.value in ("true", "True", "TRUE")


def _promotion(model: Model, file: str, item: Mapping) -> Promotion | None:
    """A target's `promotion:` block as written (its semantics: native.channels, policy.channels)."""
    key, node = next(((k, v) for k, v in item.pairs if isinstance(k, Scalar) and k.value == "promotion"), (None, None))
    if key is None or node is None:
        return None
    if not isinstance(node, Mapping):
        model.problems.append(NativeProblem(file, node.line, "promotion: must be a mapping; it is not read"))
        return None
    soak = scalar(get(node, "soakDays"))
    redeploy = get(node, "redeployOnPublisherConfigChange")
    data: list[PromotionData] = []
    items = get(node, "promotion_data")
    for entry in items.items if isinstance(items, Sequence) else ():
        channel = scalar(get(entry, "channel"))
        if channel is None:
            continue
        payload = get(entry, "data")
        rows = []
        for d in payload.items if isinstance(payload, Sequence) else ():
            if isinstance(d, Mapping):
                rows.append(
                    tuple((k.value, v.value) for k, v in d.pairs if isinstance(k, Scalar) and isinstance(v, Scalar))
                )
        data.append(PromotionData(channel, entry.line, tuple(rows)))
    return Promotion(
        key.line,
        strings(get(node, "publish")),
        strings(get(node, "subscribe")),
        _true(get(node, "auto")),
        int(soak) if soak is not None and soak.isdigit() else None,
        scalar(get(node, "schedule")),
        None if redeploy is None else _true(redeploy),
        tuple(data),
    )
