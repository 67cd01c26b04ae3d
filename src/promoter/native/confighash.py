"""app-interface's `target_config_hash`, computed as qontract-reconcile computes it.

When a subscriber target moves, App-SRE's bot writes, for each channel it follows,
`promotion.promotion_data[].data[]` = `{parent_saas, target_config_hash, type: parent_saas_config}`:
the hash of the *publisher* target's config as qontract-reconcile's saasherder saw it when the
publisher deployed. saasherder's promotion validation compares that hash with the one the publisher
stored; a stale one fails the merge request. This module computes it from the repository's files,
or refuses (`CannotCompute`) where it cannot; it never guesses.

The hash
--------
`sha256(json.dumps(config, sort_keys=True))`, first 16 hex digits, Python's default separators
(`", "`, `": "`) and ASCII escapes. `config` is the publisher target as saasherder's GraphQL query
returns it (every key the query asks for, `null` where the file has no value), with:

- `namespace` reduced to `{name, cluster: {name, serverUrl}, app: {name}}` (saasherder's
  `sanitize_namespace`: environment, labels and every other namespace or cluster field are dropped);
- `saas_file_parameters`, `rt_parameters` (the saas file's and the resource template's `parameters`),
  `saas_file_managed_resource_types`, `url` and `path` (the resource template's: a target `path`
  key, where the query has one, is overwritten by it) added.

`parameters`, `saas_file_parameters` and `rt_parameters` are JSON *text*, not objects: qontract-server
serializes its JSON scalar with JavaScript's `JSON.stringify` (no spaces, keys in file order but
array-index keys such as `"10"` first, JavaScript number formatting) over the bundle
qontract-validator made with PyYAML's SafeLoader. From the typed rewrite (353ff7cc2) saasherder
re-serializes that text with Python's `json.dumps(..., separators=(",", ":"))` (non-ASCII escaped,
Python float formatting).

The target keys, by qontract-reconcile version (the recipes)
-------------------------------------------------------------
- R1, from 2ea43e5ba (2022-01-03): `namespace ref promotion parameters disable delete` and
  `upstream{instance{name}, name}`;
- R2, from d8405c19f (2022-03-17): R1 and `secretParameters[{name, secret{path, field, version,
  format}}]`;
- R3, from a3dcc41da (2022-05-24): R2 with `upstream{instance{name, serverUrl}, name}` (a8d936a78,
  2022-07-21, queries the target's `path` too, which the resource template's overwrites: same hash);
- R4, from 528d46c7c (2022-09-12): R3 and `name` (the target's); d74c16688 reverted it to R3 the same
  day, d56f51c03 (2022-09-13) made it R4 again;
- R5, from 8c9e94007 (2022-10-03): R4 and `image{org{name, instance{url}}, name}`;
- T1, from 353ff7cc2 (2023-03-16, the typed saasherder; also ad71eaad6..691d65954^ and
  82932b3f0..48cb206af^, 2023-03-14/15, two attempts reverted): R5's keys, the parameters written
  again by Python.

`promotion` is `{auto, publish, subscribe, promotion_data[{channel, data[{type, parent_saas,
target_config_hash}]}]}` in every recipe. Covered: the 1190 commits of `master` from 2ea43e5ba
(2022-01-03) to a538da70c (2023-04-06), except 31ca9ea4f..cdf98b1a1^ (2023-04-05, namespace
selectors, reverted). Before 2ea43e5ba there was no stable hash; from 45321557f (2023-04-06) targets
gained `namespaceSelector` and `provider`, and later versions more: those versions are refused,
naming the version and this range. The version is the one the repository pins (`.env`'s
`RECONCILE_IMAGE_TAG`, read by `reconcile_version_from_dotenv`): a 7 to 40 hex digit prefix of a
commit listed in `_reconcile_commits`.

What is read from which file
----------------------------
- the publisher saas file (`$schema: /app-sre/saas-file-2.yml`): its `parameters` and
  `managedResourceTypes`; the resource template's `url`, `path`, `parameters`; the target's keys
  above. A target given as a `$ref` (a saas target file) is read through `read` too;
- the namespace file (`target.namespace.$ref`): `name`, and through its own `$ref`s the cluster
  file (`name`, `serverUrl`) and the app file (`name`);
- the Jenkins instance file (`target.upstream.instance.$ref`): `name` (and `serverUrl` from R3);
- the Quay org file (`target.image.org.$ref`, R5 and T1): `name`, and its instance file: `url`.

How sure: R2 and R3 reproduce the 17 real bot promotions of April-May 2022 (16 and 1 of them, the
17th being the R2/R3 change itself), and R2 reproduces 23 of the 26 `promotion_data` hashes of the
whole app-interface tree at 2022-05-11 (the other 3 publishers changed config since). R1, R4, R5
and T1 are read from qontract-reconcile's code (each differs from a checked one by the keys named
above); the JSON text is checked against node's `JSON.stringify`. saas-file-1 files (gone from
qontract-reconcile on 2022-04-22) are refused.

Every document (the saas file given, those `read` returns) must be parsed as qontract-validator
parses it: PyYAML's SafeLoader (`yaml.safe_load`), mapping order kept. A value the bundle cannot hold
(a date, `.nan`), a `$ref` that cannot be read, a field of the wrong type or a version outside the
table is refused with the file, the key and the reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping

from promoter.errors import Refused
from promoter.text import one_line

TYPE_CHECKING = False  # typing is not imported at run time (start-up is measured)
if TYPE_CHECKING:
    from typing import NoReturn

Reader = Callable[[str], object]
"""Reads a document by its `$ref` as written (`/services/x/namespaces/y.yml`, under the repository's
`data/`) and returns it parsed (see the module's doc); raises, or returns None, when it cannot."""

SAAS_FILE_SCHEMA = "/app-sre/saas-file-2.yml"


def repository_reader(root: str) -> Reader:
    """A `Reader` of the checkout at `root`: `$ref` `/x/y.yml` is `root/data/x/y.yml`, parsed as
    qontract-validator parses it (PyYAML's SafeLoader, libyaml's where built). None for a file that
    is not there; a `$ref` that leads out of `data/` (`..`, a symbolic link) raises."""
    import os

    import yaml

    loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = os.path.realpath(os.path.join(root, "data"))

    def read(ref: str) -> object:
        path = os.path.realpath(os.path.join(data, ref.lstrip("/")))
        if os.path.commonpath([data, path]) != data:
            raise ValueError(f"{one_line(ref)[:200]} leads out of data/")
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=loader)  # a SafeLoader

    return read


class CannotCompute(Refused):
    """The hash cannot be computed: the target is refused rather than given a stale hash."""

    def __init__(self, why: str) -> None:
        super().__init__(f"cannot compute target_config_hash: {why}")
        self.why = why


class Recipe:
    """Which keys a qontract-reconcile version puts in a target config (see the module's doc)."""

    __slots__ = ("image", "name", "python_parameters", "secret_parameters", "since", "target_name", "upstream_url")

    def __init__(
        self,
        name: str,
        since: str,
        *,
        secret_parameters: bool = True,
        upstream_url: bool = True,
        target_name: bool = True,
        image: bool = True,
        python_parameters: bool = False,
    ) -> None:
        self.name = name
        self.since = since
        self.secret_parameters = secret_parameters
        self.upstream_url = upstream_url
        self.target_name = target_name
        self.image = image
        self.python_parameters = python_parameters

    def __repr__(self) -> str:
        return f"Recipe({self.name}, since {self.since})"


R1 = Recipe("R1", "2ea43e5ba", secret_parameters=False, upstream_url=False, target_name=False, image=False)
R2 = Recipe("R2", "d8405c19f", upstream_url=False, target_name=False, image=False)
R3 = Recipe("R3", "a3dcc41da", target_name=False, image=False)
R4 = Recipe("R4", "528d46c7c", image=False)
R5 = Recipe("R5", "8c9e94007")
T1 = Recipe("T1", "353ff7cc2", python_parameters=True)
RECIPES = (R1, R2, R3, R4, R5, T1)

# (first commit, recipe from there on; None: not covered), in the order of _reconcile_commits.COMMITS
_BOUNDARIES: tuple[tuple[str, Recipe | None], ...] = (
    ("2ea43e5ba965", R1),
    ("d8405c19fbce", R2),
    ("a3dcc41da3b0", R3),
    ("528d46c7c9ad", R4),
    ("d74c166882eb", R3),  # revert of 528d46c7c
    ("d56f51c03ec5", R4),
    ("8c9e94007e1a", R5),
    ("ad71eaad636c", T1),  # typed saasherder, reverted by the next
    ("691d6595422e", R5),
    ("82932b3f03b2", T1),  # again, reverted by the next
    ("48cb206af0c6", R5),
    ("353ff7cc2181", T1),
    ("31ca9ea4f55a", None),  # namespaceSelector and provider, reverted by the next
    ("cdf98b1a1a1b", T1),
)
COVERED = (
    "the 1190 commits of qontract-reconcile's master from 2ea43e5 (2022-01-03) to a538da7 (2023-04-06), "
    "except 31ca9ea..cdf98b1^ (2023-04-05)"
)


def reconcile_version_from_dotenv(text: str, where: str = ".env") -> str:
    """The qontract-reconcile version a repository pins: `RECONCILE_IMAGE_TAG=` in its `.env`."""
    found: str | None = None
    for line in text.splitlines():
        words = line.strip().removeprefix("export ").lstrip()
        name, eq, value = words.partition("=")
        if eq and name.strip() == "RECONCILE_IMAGE_TAG":
            found = value.split("#", 1)[0].strip().strip("'\"")
    if found is None:
        raise CannotCompute(
            f"{where} pins no qontract-reconcile version (no RECONCILE_IMAGE_TAG=); the recipe of the "
            "hash depends on it"
        )
    return found


def recipe_for(version: str, source: str = "RECONCILE_IMAGE_TAG") -> Recipe:
    """The recipe of qontract-reconcile `version` (a 7 to 40 hex digit commit prefix), or CannotCompute."""
    from promoter.native._reconcile_commits import COMMITS, LONGER

    tag = version.strip().lower()
    shown = one_line(version)[:60]
    if not 7 <= len(tag) <= 40 or any(c not in "0123456789abcdef" for c in tag):
        raise CannotCompute(f"{source} {shown!r} is not a qontract-reconcile commit (7 to 40 hex digits)")
    commits = COMMITS.split()
    matches = [i for i, commit in enumerate(commits) if commit.startswith(tag[:12])]
    if not matches:
        raise CannotCompute(
            f"qontract-reconcile {shown} ({source}) is not a version whose target_config_hash recipe promoter knows: "
            f"it knows {COVERED}; promoter refuses the target rather than guess (let App-SRE's bot promote it, "
            "or write promotion_data by hand)"
        )
    index = matches[0]
    needed = LONGER.get(commits[index], 7)
    if len(tag) < needed:
        raise CannotCompute(
            f"qontract-reconcile {shown} ({source}) names more than one commit of qontract-reconcile "
            f"({commits[index][:needed]}... and another); pin at least {needed} hex digits"
        )
    recipe: Recipe | None = None
    for first, then in _BOUNDARIES:
        if commits.index(first) <= index:
            recipe = then
    if recipe is None:
        raise CannotCompute(
            f"qontract-reconcile {shown} ({source}) is from 31ca9ea..cdf98b1^ (2023-04-05, saas namespace selectors), "
            f"whose target config promoter does not compute; it knows {COVERED}"
        )
    return recipe


def config_hash(config: Mapping[str, object]) -> str:
    """saasherder's hash of a target config: sha256 of its sorted-key JSON, 16 hex digits."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def target_config_hash(
    saas_file: Mapping[str, object],
    rt_index: int,
    target_index: int,
    read: Reader,
    reconcile_version: str,
    *,
    where: str = "the saas file",
    version_source: str = "RECONCILE_IMAGE_TAG",
) -> str:
    """The `target_config_hash` of target `target_index` of resource template `rt_index` of `saas_file`
    (parsed, named `where` in messages), as the qontract-reconcile version the repository pins computes it."""
    return config_hash(
        target_config(
            saas_file, rt_index, target_index, read, recipe_for(reconcile_version, version_source), where=where
        )
    )


def target_config(
    saas_file: Mapping[str, object],
    rt_index: int,
    target_index: int,
    read: Reader,
    recipe: Recipe,
    *,
    where: str = "the saas file",
) -> dict[str, object]:
    """The target config `recipe` hashes (see the module's doc), or CannotCompute."""
    return _Builder(read, recipe, where).target_config(saas_file, rt_index, target_index)


class _Builder:
    """The target config of one recipe; `at` names the key being read (file, then YAML path)."""

    def __init__(self, read: Reader, recipe: Recipe, where: str) -> None:
        self.read = read
        self.recipe = recipe
        self.where = where

    def fail(self, at: str, why: str) -> NoReturn:
        raise CannotCompute(f"{at.removesuffix(': ')}: {why}")

    # -- GraphQL's view of the bundle: $refs followed, scalars typed --------------------------------

    def follow(self, value: object, at: str) -> object:
        """`value`, or the document it references (qontract-server resolves `{$ref: path}` anywhere,
        and a list whose items are all references)."""
        if isinstance(value, list) and value and all(_ref(item) is not None for item in value):
            return [self.document(_ref(item) or "", f"{at}[{n}]") for n, item in enumerate(value)]
        ref = _ref(value)
        return value if ref is None else self.document(ref, at)

    def document(self, ref: str, at: str) -> Mapping[str, object]:
        shown = one_line(ref)[:200]
        if not ref.startswith("/") or "$" in ref or "#" in ref:
            self.fail(at, f"$ref {shown!r} is not a plain path under data/ (promoter follows no JSON pointer)")
        try:
            doc = self.read(ref)
        except Exception as e:  # the reader is the caller's: any failure is a file that cannot be read
            self.fail(at, f"$ref {shown} cannot be read ({type(e).__name__}: {one_line(str(e))[:200]})")
        if doc is None:
            self.fail(at, f"$ref {shown} names no file of the repository")
        if not isinstance(doc, Mapping):
            self.fail(at, f"$ref {shown} is not a YAML mapping")
        return doc

    def get(self, obj: Mapping[str, object], key: str, at: str) -> object:
        return self.follow(obj.get(key), _join(at, key))

    def mapping(
        self, obj: Mapping[str, object], key: str, at: str, *, required: bool = False
    ) -> Mapping[str, object] | None:
        value = self.get(obj, key, at)
        if value is None and not required:
            return None
        if not isinstance(value, Mapping):
            self.fail(_join(at, key), f"is {_kind(value)}, a mapping is needed")
        return value

    def string(self, obj: Mapping[str, object], key: str, at: str, *, required: bool = False) -> str | None:
        value = self.get(obj, key, at)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            self.fail(_join(at, key), f"is {_kind(value)}, app-interface's schema wants a string")
        return value

    def boolean(self, obj: Mapping[str, object], key: str, at: str) -> bool | None:
        value = self.get(obj, key, at)
        if value is not None and not isinstance(value, bool):
            self.fail(_join(at, key), f"is {_kind(value)}, app-interface's schema wants true or false")
        return value

    def integer(self, obj: Mapping[str, object], key: str, at: str) -> int | None:
        value = self.get(obj, key, at)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
            self.fail(_join(at, key), f"is {_kind(value)}, GraphQL wants a 32-bit integer")
        return value

    def strings(self, obj: Mapping[str, object], key: str, at: str) -> list[str] | None:
        value = self.get(obj, key, at)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(_join(at, key), f"is {_kind(value)}, a list of strings is needed")
        return list(value)

    def items(self, obj: Mapping[str, object], key: str, at: str) -> list[tuple[str, Mapping[str, object]]] | None:
        """A list of mappings, each with where it is."""
        value = self.get(obj, key, at)
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail(_join(at, key), f"is {_kind(value)}, a list is needed")
        out: list[tuple[str, Mapping[str, object]]] = []
        for n, item in enumerate(value):
            item_at = f"{_join(at, key)}[{n}]"
            if not isinstance(item, Mapping):
                self.fail(item_at, f"is {_kind(item)}, a mapping is needed")
            out.append((item_at, item))
        return out

    def parameters(self, obj: Mapping[str, object], at: str) -> str | None:
        """A JSON scalar (`parameters`) as the recipe's saasherder holds it: JSON text."""
        value = obj.get("parameters")
        where = _join(at, "parameters")
        if value is None:
            return None
        if _ref(value) is not None:
            self.fail(where, "is a $ref, which promoter does not follow for parameters")
        if not isinstance(value, Mapping):
            self.fail(where, f"is {_kind(value)}, app-interface's schema wants a mapping")
        try:
            text = js_json(value)
        except _NotJson as e:
            self.fail(f"{where}{e.at}", e.why)
        if self.recipe.python_parameters:
            return json.dumps(json.loads(text), separators=(",", ":"))
        return text

    # -- the target config ----------------------------------------------------------------------

    def target_config(self, saas_file: Mapping[str, object], rt_index: int, target_index: int) -> dict[str, object]:
        top = f"{self.where}: "
        if saas_file.get("$schema") != SAAS_FILE_SCHEMA:
            shown = one_line(str(saas_file.get("$schema")))[:100]
            self.fail(
                top, f"$schema is {shown!r}, not {SAAS_FILE_SCHEMA} (the only saas file schema promoter computes)"
            )
        templates = self.items(saas_file, "resourceTemplates", top) or []
        if not 0 <= rt_index < len(templates):
            self.fail(top, f"has no resourceTemplates[{rt_index}]")
        rt_at, rt = templates[rt_index]
        raw_targets = rt.get("targets")
        if (
            isinstance(raw_targets, list)
            and any(_ref(t) is not None for t in raw_targets)
            and not all(_ref(t) is not None for t in raw_targets)
        ):
            self.fail(_join(rt_at, "targets"), "mixes $ref targets with inline ones (qontract-server resolves neither)")
        targets = self.items(rt, "targets", rt_at) or []
        if not 0 <= target_index < len(targets):
            self.fail(rt_at, f"has no targets[{target_index}]")
        at, target = targets[target_index]
        if isinstance(raw_targets, list):
            at = _via(raw_targets[target_index], at)
        recipe = self.recipe

        config: dict[str, object] = {
            "namespace": self.namespace(target, at),
            "ref": self.string(target, "ref", at, required=True),
            "promotion": self.promotion(target, at),
            "parameters": self.parameters(target, at),
            "upstream": self.upstream(target, at),
            "disable": self.boolean(target, "disable", at),
            "delete": self.boolean(target, "delete", at),
        }
        if recipe.secret_parameters:
            config["secretParameters"] = self.secret_parameters(target, at)
        if recipe.target_name:
            config["name"] = self.string(target, "name", at)
        if recipe.image:
            config["image"] = self.image(target, at)
        config["saas_file_parameters"] = self.parameters(saas_file, top)
        config["saas_file_managed_resource_types"] = self.strings(saas_file, "managedResourceTypes", top)
        config["url"] = self.string(rt, "url", rt_at, required=True)
        config["path"] = self.string(rt, "path", rt_at, required=True)
        config["rt_parameters"] = self.parameters(rt, rt_at)
        return config

    def namespace(self, target: Mapping[str, object], at: str) -> dict[str, object]:
        ns = self.mapping(target, "namespace", at, required=True)
        assert ns is not None
        ns_at = _via(target.get("namespace"), _join(at, "namespace"))
        cluster = self.mapping(ns, "cluster", ns_at, required=True)
        app = self.mapping(ns, "app", ns_at, required=True)
        assert cluster is not None and app is not None
        cluster_at = _via(ns.get("cluster"), _join(ns_at, "cluster"))
        app_at = _via(ns.get("app"), _join(ns_at, "app"))
        return {
            "name": self.string(ns, "name", ns_at, required=True),
            "cluster": {
                "name": self.string(cluster, "name", cluster_at, required=True),
                "serverUrl": self.string(cluster, "serverUrl", cluster_at, required=True),
            },
            "app": {"name": self.string(app, "name", app_at, required=True)},
        }

    def promotion(self, target: Mapping[str, object], at: str) -> dict[str, object] | None:
        promotion = self.mapping(target, "promotion", at)
        if promotion is None:
            return None
        p_at = _join(at, "promotion")
        data: list[dict[str, object]] | None = None
        channels = self.items(promotion, "promotion_data", p_at)
        if channels is not None:
            data = []
            for c_at, channel in channels:
                items = self.items(channel, "data", c_at)
                data.append(
                    {
                        "channel": self.string(channel, "channel", c_at),
                        "data": None if items is None else [self.promotion_item(i_at, item) for i_at, item in items],
                    }
                )
        return {
            "auto": self.boolean(promotion, "auto", p_at),
            "publish": self.strings(promotion, "publish", p_at),
            "subscribe": self.strings(promotion, "subscribe", p_at),
            "promotion_data": data,
        }

    def promotion_item(self, at: str, item: Mapping[str, object]) -> dict[str, object]:
        kind = self.string(item, "type", at, required=True)
        if kind != "parent_saas_config":
            self.fail(
                _join(at, "type"),
                f"is {one_line(str(kind))[:60]!r}; the only promotion data type is parent_saas_config",
            )
        return {
            "type": kind,
            "parent_saas": self.string(item, "parent_saas", at),
            "target_config_hash": self.string(item, "target_config_hash", at),
        }

    def secret_parameters(self, target: Mapping[str, object], at: str) -> list[dict[str, object]] | None:
        items = self.items(target, "secretParameters", at)
        if items is None:
            return None
        out: list[dict[str, object]] = []
        for s_at, item in items:
            secret = self.mapping(item, "secret", s_at, required=True)
            assert secret is not None
            secret_at = _via(item.get("secret"), _join(s_at, "secret"))
            out.append(
                {
                    "name": self.string(item, "name", s_at, required=True),
                    "secret": {
                        "path": self.string(secret, "path", secret_at, required=True),
                        "field": self.string(secret, "field", secret_at, required=True),
                        "version": self.integer(secret, "version", secret_at),
                        "format": self.string(secret, "format", secret_at),
                    },
                }
            )
        return out

    def upstream(self, target: Mapping[str, object], at: str) -> dict[str, object] | None:
        upstream = self.mapping(target, "upstream", at)
        if upstream is None:
            return None
        u_at = _join(at, "upstream")
        instance = self.mapping(upstream, "instance", u_at, required=True)
        assert instance is not None
        i_at = _via(upstream.get("instance"), _join(u_at, "instance"))
        seen: dict[str, object] = {"name": self.string(instance, "name", i_at, required=True)}
        if self.recipe.upstream_url:
            seen["serverUrl"] = self.string(instance, "serverUrl", i_at, required=True)
        return {"instance": seen, "name": self.string(upstream, "name", u_at, required=True)}

    def image(self, target: Mapping[str, object], at: str) -> dict[str, object] | None:
        image = self.mapping(target, "image", at)
        if image is None:
            return None
        im_at = _join(at, "image")
        org = self.mapping(image, "org", im_at, required=True)
        assert org is not None
        org_at = _via(image.get("org"), _join(im_at, "org"))
        instance = self.mapping(org, "instance", org_at, required=True)
        assert instance is not None
        inst_at = _via(org.get("instance"), _join(org_at, "instance"))
        return {
            "org": {
                "name": self.string(org, "name", org_at, required=True),
                "instance": {"url": self.string(instance, "url", inst_at, required=True)},
            },
            "name": self.string(image, "name", im_at, required=True),
        }


def _ref(value: object) -> str | None:
    """The path of a reference (a mapping whose only key is `$ref`, as qontract-server tells them)."""
    if isinstance(value, Mapping) and len(value) == 1:
        ref = value.get("$ref")
        if isinstance(ref, str):
            return ref
    return None


def _via(value: object, at: str) -> str:
    """Where the keys of `value` are: the root of the file it references, or `at` itself."""
    ref = _ref(value)
    return at if ref is None else f"{one_line(ref)[:200]} (the $ref at {at}): "


def _join(at: str, key: str) -> str:
    """The place of `key` in the mapping at `at` (a file's root ends with ': ')."""
    return f"{at}{key}" if at.endswith(": ") else f"{at}.{key}"


def _kind(value: object) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({one_line(value)[:60]!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"a {type(value).__name__}"


# -- JavaScript's JSON.stringify over qontract-validator's bundle -------------------------------------


class _NotJson(Exception):
    def __init__(self, at: str, why: str) -> None:
        super().__init__(why)
        self.at = at
        self.why = why


_ESCAPES = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"}


def js_json(value: object) -> str:
    """`JSON.stringify(JSON.parse(json.dumps(value)))`: the text qontract-server serves for a JSON
    field whose file value PyYAML's SafeLoader parsed as `value`. Raises _NotJson for what the bundle
    cannot hold (qontract-validator's `json.dumps` fails, or writes what `JSON.parse` rejects)."""
    out: list[str] = []
    _js(value, "", out)
    return "".join(out)


def _js(value: object, at: str, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(_js_int(value, at))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _NotJson(at, f"is {value!r}, which JSON cannot hold (qontract-server would not load the bundle)")
        out.append(_js_number(value))
    elif isinstance(value, str):
        out.append(_js_string(value))
    elif isinstance(value, list | tuple):
        out.append("[")
        for n, item in enumerate(value):
            if n:
                out.append(",")
            _js(item, f"{at}[{n}]", out)
        out.append("]")
    elif isinstance(value, Mapping):
        out.append("{")
        for n, (key, item) in enumerate(_js_members(value, at)):
            if n:
                out.append(",")
            out.append(_js_string(key))
            out.append(":")
            _js(item, f"{at}.{key}", out)
        out.append("}")
    else:  # a date, a timestamp, binary, a set: qontract-validator's json.dumps fails on it
        raise _NotJson(
            at,
            f"is a {type(value).__name__} ({one_line(str(value))[:60]}), which the bundle cannot hold; "
            "quote it to make it a string",
        )


def _js_members(mapping: Mapping[object, object], at: str) -> list[tuple[str, object]]:
    """The members in the order JavaScript keeps them: array-index keys ascending, then the others in
    file order. Keys as Python's json.dumps writes them (`1` -> "1", `true` -> "true", `~` -> "null")."""
    members: dict[str, object] = {}
    for key, item in mapping.items():
        if isinstance(key, str):
            name = key
        elif key is None or isinstance(key, bool):
            name = json.dumps(key)
        elif isinstance(key, int):
            name = str(key)
        elif isinstance(key, float):
            name = repr(key)
        else:
            raise _NotJson(at, f"has a key of type {type(key).__name__}, which the bundle cannot hold")
        if name in members:
            raise _NotJson(at, f"has the key {one_line(name)[:60]!r} twice (once not as a string)")
        members[name] = item
    indexes = sorted((int(k), k) for k in members if _array_index(k))
    return [(k, members[k]) for _, k in indexes] + [(k, v) for k, v in members.items() if not _array_index(k)]


def _array_index(key: str) -> bool:
    return key.isascii() and key.isdigit() and (key == "0" or key[0] != "0") and int(key) < 2**32 - 1


def _js_string(text: str) -> str:
    """A string as JSON.stringify writes it, as the Python text saasherder receives (UTF-16 surrogate
    pairs joined, lone surrogates escaped)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # surrogates: the slow way below
        pass
    else:  # Python escapes what JavaScript escapes, as JavaScript does, once there is no surrogate
        return json.dumps(text, ensure_ascii=False)
    units = text.encode("utf-16-le", "surrogatepass")
    out = ['"']
    n = 0
    count = len(units) // 2
    while n < count:
        unit = int.from_bytes(units[2 * n : 2 * n + 2], "little")
        if 0xD800 <= unit <= 0xDBFF and n + 1 < count:
            low = int.from_bytes(units[2 * n + 2 : 2 * n + 4], "little")
            if 0xDC00 <= low <= 0xDFFF:
                out.append(chr(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)))
                n += 2
                continue
        if unit in _ESCAPES:
            out.append(_ESCAPES[unit])
        elif unit < 0x20 or 0xD800 <= unit <= 0xDFFF:
            out.append(f"\\u{unit:04x}")
        else:
            out.append(chr(unit))
        n += 1
    out.append('"')
    return "".join(out)


def _js_int(value: int, at: str) -> str:
    """An integer as JavaScript prints it once JSON.parse made it a double (exact up to 2**53)."""
    if -(2**53) <= value <= 2**53:
        return str(value)
    try:
        return _js_number(float(value))
    except OverflowError:
        raise _NotJson(at, "is an integer too large for JavaScript (qontract-server would serve null)") from None


def _js_number(value: float) -> str:
    """JavaScript's Number.prototype.toString (ECMA-262 Number::toString) of a finite double."""
    if value == 0:
        return "0"
    if value < 0:
        return "-" + _js_number(-value)
    mantissa, _, exponent = repr(value).partition("e")  # repr: the shortest digits that round-trip
    whole, _, fraction = mantissa.partition(".")
    significant = (whole + fraction).lstrip("0")
    leading_zeros = len(whole + fraction) - len(significant)
    digits = significant.rstrip("0")
    # value = 0.digits * 10**n, as ECMA-262 writes it: k digits, the point n places after the first
    k, n = len(digits), len(whole) + int(exponent or 0) - leading_zeros
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    return (digits if k == 1 else digits[0] + "." + digits[1:]) + "e" + sign + str(abs(e))
