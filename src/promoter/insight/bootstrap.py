"""A first `promotion.yaml` for a component, found from zero (`promoter init`).

The component is given with no targets (`targets: []`) to `discover`, which then reads every
tracked file for what could be one of its pins: saas files whose `resourceTemplates` build from
its repo, its image references (with `image`), and any value of 40 hex digits or of
`short_length` that is a commit of its upstream (asked of the mirror in one `git cat-file
--batch-check`). Each distinct suggested target becomes one target of the config, with a name
unique in the component and the `environment:` guessed from where it is (`snippets.guess_environment`).
The text is checked by loading it as a config and locating every target before it is returned.
Nothing here writes the config or prints.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from promoter.errors import ConfigError, UsageError
from promoter.insight.discover import Discovery, Finding, discover
from promoter.insight.snippets import guess_environment
from promoter.model import Component, Config
from promoter.pipeline import config, core
from promoter.pipeline.workspace import Workspace
from promoter.records import record
from promoter.upstream import git
from promoter.upstream.mirror import Unreachable, Upstream

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any


@record
class Start:
    """What `init` writes: the config's text, its targets (as data) and what they were found in."""

    text: str
    targets: list[dict[str, Any]]
    discovery: Discovery


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 1
    while out in taken:
        n += 1
        out = f"{name}-{n}"
    return out


def _targets(comp: Component, found: Discovery) -> list[dict[str, Any]]:
    """One target per distinct suggestion (discover named it after its file and what it pins, and
    guessed its environment), each with a name unique in the component."""
    first: dict[str, Finding] = {}
    for f in found.findings:
        if f.component == comp.name:
            first.setdefault(f.snippet, f)
    taken: set[str] = set()
    out: list[dict[str, Any]] = []
    for f in first.values():
        suggestion = dict(f.target)
        name = _unique(suggestion.pop("name"), taken)
        taken.add(name)
        out.append({"name": name, **suggestion})
    return out


def _component_doc(
    name: str, repo: str, fetch: str | None, branch: str | None, image: str | None, targets: list[dict[str, Any]]
) -> dict[str, Any]:
    doc: dict[str, Any] = {"repo": repo}
    for key, value in (("fetch", fetch), ("branch", branch), ("image", image)):
        if value is not None:
            doc[key] = value
    doc["targets"] = targets
    return doc


def _text(name: str, doc: dict[str, Any], summary: str) -> str:
    body = yaml.safe_dump(
        {"version": 1, "components": {name: doc}}, sort_keys=False, default_flow_style=False, width=1 << 20
    )
    return (
        f"# promotion.yaml written by `promoter init`: {summary}.\n"
        "# Check the environments it guessed, then: promoter check && promoter status\n" + body
    )


def _load(root: Path, text: str) -> Config:
    """`text` read as a config file (not yet written where it belongs)."""
    with tempfile.TemporaryDirectory(prefix="promoter-init-") as tmp:
        path = Path(tmp) / "promotion.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            return config.load(path, root)
        except ConfigError as exc:  # a bad name or URL given to init: said without the temp file
            raise UsageError(str(exc).replace(f"{path}:", "promotion.yaml:", 1)) from None


def starting_config(
    root: Path,
    name: str,
    repo: str,
    fetch: str | None = None,
    branch: str | None = None,
    image: str | None = None,
    upstream_of: Callable[[Component], Upstream] | None = None,
) -> Start:
    """A config for component `name` (its canonical `repo` URL; `fetch`, `branch` and `image` as
    in promotion.yaml) with a target for every pin of it found in the repository at `root`."""
    root = git.toplevel(root)
    skeleton = _text(name, _component_doc(name, repo, fetch, branch, image, []), "no targets yet")
    cfg = _load(root, skeleton)
    repository = core.Repo(root, git.git_dir(root), cfg, Workspace(root))
    comp = cfg.components[name]
    try:
        found = discover(repository, [comp], upstream_of=upstream_of)
    except Unreachable as exc:  # init asks the upstream which values are its commits
        what = "pass" if fetch is None else "check"
        raise Unreachable(  # on a line of its own: git's error may take several
            f"{exc}\ninit reads the upstream to tell which values are its commits: {what} --fetch PATH_OR_URL "
            "(a local clone of it, or a URL this machine can reach)"
        ) from None
    targets = _targets(comp, found)
    files = sorted({t["file"] for t in targets})
    summary = f"{len(targets)} target{'s' if len(targets) != 1 else ''} for the pins of {name} in {len(files)} file"
    summary += "s" if len(files) != 1 else ""
    text = _text(name, _component_doc(name, repo, fetch, branch, image, targets), summary)
    written = _load(root, text)
    for target in written.components[name].targets:  # each locates its pins, as discover tried it
        core.scan(repository, written.components[name], [target])
    return Start(text, targets, found)


__all__ = ["Start", "guess_environment", "starting_config"]
