"""The native model as promoter's components: one per repository url, one target per saas target.

A **component** is a resource template `url`: the same url (ignoring a trailing `/` or `.git`)
in several templates and saas files is one component. Its name is the url's last path segment;
where two urls share it, `owner-name` (then the whole path, then the host too): a function of the
set of urls alone, so the same tree always gives the same names. A **target** is named
`<saas file name>/<resource template>/<target name, else its namespace's name>`, `@<cluster>`
added where two would share a name, then `#2`, `#3` in the files' order. Its environment is its
namespace's environment's `name` (several matched by a `namespaceSelector`: joined by `+`).

With a promotion.yaml the two merge by url: its component keeps its name, policy and targets, and
gains the native targets of the saas files none of its own targets names; the others are added
under their derived names (never one promotion.yaml uses).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from promoter.locate.saas import repo_key
from promoter.model import Component, NativeProblem, SaasLocator, Target
from promoter.native.model import UNRESOLVED, Item, Model

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _name(text: str) -> str:
    """`text` as a component name (it goes into branch names): letters, digits, `.`, `_`, `-`."""
    name = _UNSAFE.sub("-", text)
    name = re.sub(r"\.{2,}", ".", name).strip("-._")
    while name.endswith(".lock"):
        name = name.removesuffix(".lock").rstrip("-._")
    return name or "component"


def _segments(key: str) -> list[str]:
    """host, then the path's segments of a repository url (scp-like `git@host:a/b` too)."""
    m = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/]*@)?(?P<host>[^/]+)/(?P<path>.*)", key)
    if m is None:
        m = re.match(r"(?:[^@]+@)?(?P<host>[^:]+):(?P<path>.*)", key)
    if m is None:
        return [key]
    return [m["host"], *(p for p in m["path"].split("/") if p)]


def names(keys: Iterable[str], reserved: Iterable[str] = ()) -> dict[str, str]:
    """A name for each repository key: its last segment, else `owner-name`, else longer, unique
    among `keys` and never one of `reserved`."""
    taken = set(reserved)
    segs = {k: _segments(k) for k in sorted(set(keys))}
    out: dict[str, str] = {}
    pending = list(segs)
    depth = 1
    while pending:
        if depth > max(len(s) for s in segs.values()):
            for k in pending:  # two keys alike in every segment (case aside): numbered, in order
                base = _name("-".join(segs[k]))
                n = 2
                while f"{base}-{n}" in taken:
                    n += 1
                out[k] = f"{base}-{n}"
                taken.add(out[k])
            break
        candidates = {k: _name("-".join(segs[k][-depth:])) for k in pending}
        counts: dict[str, int] = {}
        for c in candidates.values():
            counts[c] = counts.get(c, 0) + 1
        still = []
        for k in pending:
            c = candidates[k]
            if counts[c] == 1 and c not in taken and c.casefold() not in {t.casefold() for t in taken}:
                out[k] = c
                taken.add(c)
            else:
                still.append(k)
        pending = still
        depth += 1
    return out


def environment(item: Item) -> str:
    envs = sorted({e.name for e in item.native.environments})
    return "+".join(envs) if envs else UNRESOLVED


def targets(items: list[Item], reserved: Iterable[str] = ()) -> list[Target]:
    """One target per item, named uniquely among them and `reserved`."""
    taken = set(reserved)
    bases = [f"{i.native.saas_name}/{i.native.resource_template}/{i.leaf}" for i in items]
    counts: dict[str, int] = {}
    for b in bases:
        counts[b] = counts.get(b, 0) + 1
    named: list[str] = []
    for item, base in zip(items, bases):
        name = base
        if (counts[base] > 1 or base in taken) and item.cluster:
            name = f"{base}@{item.cluster}"
        n = 2
        unique = name
        while unique in taken:
            unique = f"{name}#{n}"
            n += 1
        taken.add(unique)
        named.append(unique)
    return [
        Target(
            name, environment(item), item.file, None, item.locator, "sha", False, item.native.line, native=item.native
        )
        for name, item in zip(named, items)
    ]


def _covers(target: Target, item: Item, glob: Callable[[str], re.Pattern[str]]) -> bool:
    """Whether a promotion.yaml target may locate the saas target `item`'s ref: it names the file
    (or a glob matching it), and its locator is not a `saas:` one for another resource template."""
    if target.file is not None and target.file != item.file:
        return False
    if target.files is not None and not glob(target.files).fullmatch(item.file):
        return False
    loc = target.locator
    return not (isinstance(loc, SaasLocator) and loc.resource_template not in (None, item.native.resource_template))


def _versions(comp: Component, listed: list[tuple[str, str, str, int]]) -> Component:
    """`comp` with the versions its url's codeComponents block or hotfix (as `blocked:`/`hotfix:`)."""
    if not listed:
        return comp
    from promoter.records import replace

    blocked = [v for kind, v, _, _ in listed if kind == "blocked" and v not in comp.blocked]
    hotfix = [v for kind, v, _, _ in listed if kind == "hotfix" and v not in comp.hotfix]
    sources = tuple((v, file, line) for _, v, file, line in listed)
    return replace(
        comp,
        blocked=comp.blocked + tuple(blocked),
        hotfix=comp.hotfix + tuple(hotfix),
        version_sources=comp.version_sources + sources,
    )


def grouped(model: Model) -> dict[str, list[Item]]:
    """The model's items by component: repository key -> its items, in the files' order."""
    out: dict[str, list[Item]] = {}
    for item in model.items:
        out.setdefault(item.key, []).append(item)
    return out


def components(model: Model) -> dict[str, Component]:
    """The whole config of a repository without promotion.yaml: every component, by name."""
    return merge({}, model)[0]


def merge(configured: dict[str, Component], model: Model) -> tuple[dict[str, Component], list[NativeProblem]]:
    """promotion.yaml's components (`configured`) and the native ones merged by url; and the
    model's problems that still concern promoter. A saas target a promotion.yaml target covers is
    that target's (its environment is promotion.yaml's): what is wrong with its namespace is not
    said. One that several promotion.yaml components of its url share (a monorepo: app and worker
    built from one repository) and none covers is given to none of them: a note says so."""
    from promoter.pipeline.workspace import glob_regex
    from promoter.records import replace

    groups = grouped(model)
    by_key: dict[str, list[Component]] = {}
    for c in configured.values():
        by_key.setdefault(repo_key(c.repo), []).append(c)
    out = dict(configured)
    settled: set[tuple[str, int]] = set()  # (file, line) of the saas targets promotion.yaml decides
    notes: list[NativeProblem] = []
    for key, comps in by_key.items():
        extra = []
        for item in groups.get(key, ()):
            if any(_covers(t, item, glob_regex) for c in comps for t in c.targets):
                settled.add((item.file, item.native.line))
            else:
                extra.append(item)
        if not extra:
            continue
        if len(comps) > 1:
            named = " and ".join(", ".join(c.name for c in comps).rsplit(", ", 1))
            for item in extra:
                settled.add((item.file, item.native.line))
                notes.append(
                    NativeProblem(
                        item.file,
                        item.native.line,
                        f"target of '{item.native.resource_template}' is promoted by no component: {named} are built "
                        f"from {repo_key(item.url)}, and no target of theirs names it",
                        item.url,
                        note=True,
                        kind="native-unassigned",
                        hint=f"give the component it deploys a target for it (file: {item.file}, "
                        f"saas: {{resource_template: {item.native.resource_template}}})",
                    )
                )
            continue
        comp = comps[0]
        added = targets(extra, (t.name for t in comp.targets))
        out[comp.name] = replace(comp, targets=comp.targets + tuple(added))
    for key, comps in by_key.items():  # the app files' blockedVersions/hotfixVersions of their url
        for comp in comps:
            out[comp.name] = _versions(out[comp.name], model.versions.get(key, []))
    fresh = {k: v for k, v in groups.items() if k not in by_key}
    named_by_key = names(fresh, configured)
    for key in sorted(fresh, key=lambda k: named_by_key[k]):
        items = fresh[key]
        made = targets(items)
        out[named_by_key[key]] = _versions(
            Component(
                named_by_key[key], items[0].url.strip(), items[0].url.strip(), None, 7, tuple(made), made[0].line
            ),
            model.versions.get(key, []),
        )
    return out, [p for p in model.problems if (p.file, p.line) not in settled] + notes
